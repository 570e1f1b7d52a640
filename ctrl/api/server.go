package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/otkd/otkd/internal/httpsrv"
)

// ServerOptions configure a Server. The zero value is usable.
type ServerOptions struct {
	// WriteUIDs are the peer uids allowed to write (every POST). Nil means
	// the daemon's own uid and root; an empty non-nil slice allows no one.
	WriteUIDs []uint32
	// Timeout bounds each backend call (its context deadline). Default 60 s.
	Timeout time.Duration
	// MaxBodyBytes bounds a request body. Default 4 KiB.
	MaxBodyBytes int64
	// Logger receives an audit line per write operation and the HTTP
	// server's own errors. Default: discard.
	Logger *slog.Logger
	// Routes add the routes of the daemon's features (each a service:
	// its own paths, types and backend) beside the daemon's own.
	Routes []Routes
}

// Routes adds a feature's routes to a server.
type Routes interface {
	Routes(r *Router)
}

// RoutesFunc adapts a function to Routes.
type RoutesFunc func(r *Router)

// Routes calls f.
func (f RoutesFunc) Routes(r *Router) { f(r) }

// Router registers a feature's routes on a Server; every route gets the
// server's checks in order (method, write permission for a POST, body),
// then its Op under the backend deadline, and its errors become the
// package's error bodies (package doc, "Errors").
type Router struct{ s *Server }

// Route serves pattern (a net/http ServeMux pattern) for method (GET also
// answers HEAD; POST takes no body but {}): fn's status and body, as JSON.
func (r *Router) Route(pattern, method string, fn Op) { r.s.mux.Handle(pattern, r.s.route(method, fn)) }

// RouteBody serves pattern for a POST that takes a body: a JSON object
// (limit 0: at most ServerOptions.MaxBodyBytes) or raw bytes up to limit,
// which fn reads with RequestBody or DecodeBody.
func (r *Router) RouteBody(pattern string, limit int64, fn Op) {
	r.s.mux.Handle(pattern, r.s.routeBody(limit, fn))
}

// Defaults of ServerOptions.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxBodyBytes = 4 << 10
)

// Server serves a Backend over HTTP. It is safe for concurrent use.
type Server struct {
	b        Backend
	timeout  time.Duration
	maxBody  int64
	writers  map[uint32]bool
	log      *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler // mux behind the path check
	features []Routes
}

// NewServer returns a server for b.
func NewServer(b Backend, opts ServerOptions) *Server {
	s := &Server{b: b, timeout: opts.Timeout, maxBody: opts.MaxBodyBytes, log: opts.Logger, writers: map[uint32]bool{}, features: opts.Routes}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	uids := opts.WriteUIDs
	if uids == nil {
		uids = []uint32{uint32(os.Getuid()), 0}
	}
	for _, u := range uids {
		s.writers[u] = true
	}
	s.routes()
	return s
}

// Serve accepts connections on l until ctx is done, then shuts down
// gracefully (in-flight requests get a few seconds) and closes l. It returns
// nil after a shutdown asked for by ctx, else the error that stopped it.
// Writes are authorised by the peer credentials of l's connections, so l
// should be a unix socket listener (see Listen); on any other listener every
// write is forbidden.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ConnContext:       withPeerCred,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return httpsrv.Run(ctx, hs, 5*time.Second, func() error { return hs.Serve(l) })
}

// Handler returns the routes as a plain handler (for embedding in tests or
// another server). Writes through it are forbidden unless the request
// context carries peer credentials, as Serve's connections do.
func (s *Server) Handler() http.Handler { return s.handler }

// httpError is an error response on its way out.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// Op is one route's work: it returns the success status and body. An
// error gets its status from the sentinel it wraps (ErrBadRequest, …), or
// is one made by Errorf.
type Op func(ctx context.Context, r *http.Request) (int, any, error)

// Errorf makes the error a route answers with status and code (Code…),
// its message formatted.
func Errorf(status int, code, format string, args ...any) error {
	return errorf(status, code, format, args...)
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.Handle("/v1/status", s.route(http.MethodGet, s.status))
	s.mux.Handle("/v1/links", s.route(http.MethodGet, s.links))
	s.mux.Handle("/v1/keys", s.route(http.MethodGet, s.keys))
	s.mux.Handle("/v1/ports/{name}/negotiate", s.route(http.MethodPost, s.portAction("negotiate", Backend.Negotiate)))
	s.mux.Handle("/v1/ports/{name}/rotate", s.route(http.MethodPost, s.portAction("rotate", Backend.Rotate)))
	s.mux.Handle("/v1/store/verify", s.route(http.MethodPost, s.verify))
	for _, f := range s.features {
		f.Routes(&Router{s: s})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	}
	s.mux.HandleFunc("/", notFound)
	// ServeMux answers an unclean path ("//", "..", a trailing slash) with a
	// plain-text redirect; no route of this API has one, so it is a 404.
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || path.Clean(p) != p {
			notFound(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// route wraps fn with the checks every route shares, in this order: method,
// write permission (POST), body, then fn under the backend deadline.
func (s *Server) route(method string, fn Op) http.Handler {
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", allow)
			writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
			return
		}
		if method == http.MethodPost {
			if err := s.authorize(r); err != nil {
				writeError(w, err)
				return
			}
			if err := s.readBody(w, r); err != nil {
				writeError(w, err)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		status, body, err := s.call(ctx, fn, r)
		if err != nil {
			writeError(w, s.backendError(err))
			return
		}
		writeJSON(w, status, body)
	})
}

// call runs fn, turning a panic of the backend into an internal error so
// that one bad request cannot take the connection (or the daemon) down.
func (s *Server) call(ctx context.Context, fn Op, r *http.Request) (status int, body any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("api: backend panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			err = errorf(http.StatusInternalServerError, CodeInternal, "internal error in %s %s", r.Method, r.URL.Path)
		}
	}()
	return fn(ctx, r)
}

// authorize checks the peer's uid against the write list.
func (s *Server) authorize(r *http.Request) *httpError {
	pc, _ := r.Context().Value(credKey{}).(peerCred)
	if pc.err != nil || !pc.ok {
		reason := "no peer credentials on this connection"
		if pc.err != nil {
			reason = "peer credentials unavailable: " + pc.err.Error()
		}
		s.log.Warn("api: write refused", "path", r.URL.Path, "reason", reason)
		return errorf(http.StatusForbidden, CodeForbidden, "%s %s needs a privileged peer: %s", r.Method, r.URL.Path, reason)
	}
	if !s.writers[pc.uid] {
		s.log.Warn("api: write refused", "path", r.URL.Path, "uid", pc.uid, "pid", pc.pid)
		return errorf(http.StatusForbidden, CodeForbidden,
			"uid %d may not %s %s: writes are limited to the daemon's configured uids", pc.uid, r.Method, r.URL.Path)
	}
	s.log.Info("api: write", "path", r.URL.Path, "uid", pc.uid, "pid", pc.pid)
	return nil
}

// readBody accepts an empty body or the JSON object {} within the limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) *httpError {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body exceeds %d bytes", s.maxBody)
		}
		return errorf(http.StatusBadRequest, CodeMalformedBody, "reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	var req struct{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: %v (want {} or nothing)", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: data after the JSON object")
	}
	return nil
}

func (s *Server) backendError(err error) *httpError {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, ErrUnknownPort):
		return errorf(http.StatusNotFound, CodeUnknownPort, "%v", err)
	case errors.Is(err, ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, "%v", err)
	case errors.Is(err, ErrBadRequest):
		return errorf(http.StatusBadRequest, CodeBadRequest, "%v", err)
	case errors.Is(err, ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "%v", err)
	case errors.Is(err, ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "%v", err)
	case errors.Is(err, ErrForbidden):
		return errorf(http.StatusForbidden, CodeForbidden, "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, CodeTimeout, "otkd did not answer within %v: %v", s.timeout, err)
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
}

func (s *Server) status(ctx context.Context, _ *http.Request) (int, any, error) {
	st, err := s.b.Status(ctx)
	if st.Ports == nil {
		st.Ports = []PortSummary{}
	}
	return http.StatusOK, st, err
}

func (s *Server) links(ctx context.Context, _ *http.Request) (int, any, error) {
	ls, err := s.b.Links(ctx)
	if ls == nil {
		ls = []Link{}
	}
	return http.StatusOK, linksBody{Links: ls}, err
}

func (s *Server) keys(ctx context.Context, _ *http.Request) (int, any, error) {
	ks, err := s.b.Keys(ctx)
	if ks == nil {
		ks = []KeyInfo{}
	}
	return http.StatusOK, keysBody{Keys: ks}, err
}

func (s *Server) verify(ctx context.Context, _ *http.Request) (int, any, error) {
	rep, err := s.b.VerifyStore(ctx)
	if rep.Problems == nil {
		rep.Problems = []StoreProblem{}
	}
	return http.StatusOK, rep, err
}

func (s *Server) portAction(name string, fn func(Backend, context.Context, string) error) Op {
	return func(ctx context.Context, r *http.Request) (int, any, error) {
		port := r.PathValue("name")
		if err := checkPortName(port); err != nil {
			return 0, nil, err
		}
		if err := fn(s.b, ctx, port); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, ActionResult{Port: port, Action: name, Status: "accepted"}, nil
	}
}

// maxPortName bounds a port name in a URL.
const maxPortName = 64

func checkPortName(p string) error {
	if p == "" || len(p) > maxPortName {
		return errorf(http.StatusBadRequest, CodeBadRequest, "port name must be 1..%d bytes, got %d", maxPortName, len(p))
	}
	for _, c := range p {
		if c == '/' || !unicode.IsPrint(c) || unicode.IsSpace(c) {
			return errorf(http.StatusBadRequest, CodeBadRequest, "port name %q has a character that is not allowed", p)
		}
	}
	return nil
}

// linksBody and keysBody are the envelopes of the list routes.
type linksBody struct {
	Links []Link `json:"links"`
}

type keysBody struct {
	Keys []KeyInfo `json:"keys"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := marshal(body)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "encoding the response: %v", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *httpError) {
	b, _ := marshal(ErrorBody{Error: e.msg, Code: e.code})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	w.Write(append(b, '\n'))
}

// marshal is json.Marshal without its HTML escaping: "A->B" stays "->",
// not "\u003e" (the API is read by programs and people, never embedded in
// HTML).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
