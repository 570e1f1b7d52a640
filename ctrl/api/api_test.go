package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
)

func sockDir(t *testing.T) string { return apitest.SockDir(t) }

// serve runs a server for b on a fresh socket until the test ends.
func serve(t *testing.T, b api.Backend, opts api.ServerOptions) string {
	return apitest.Serve(t, b, opts)
}

// raw makes one request over the socket and returns status, header and body.
func raw(t *testing.T, path, method, target, body string) (int, http.Header, []byte) {
	return apitest.Raw(t, path, method, target, body)
}

// noKeyBytes fails if out contains the key bytes of any fake key, raw, in
// hex (either case) or in base64.
func noKeyBytes(t *testing.T, what string, out []byte) {
	t.Helper()
	for _, k := range apitest.ShmKeys() {
		m := apitest.KeyMaterial(k.ID)
		for _, form := range [][]byte{m, m[:8], []byte(hex.EncodeToString(m)), []byte(hex.EncodeToString(m[:8])),
			[]byte(strings.ToUpper(hex.EncodeToString(m[:8]))), []byte(base64.StdEncoding.EncodeToString(m))} {
			if bytes.Contains(out, form) {
				t.Fatalf("%s contains key bytes of key %d (%q)", what, k.ID, form)
			}
		}
		k.Zero()
	}
}

func TestClientRoutes(t *testing.T) {
	fake := apitest.New()
	c := api.Dial(serve(t, fake, api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()

	st, err := c.Status(ctx)
	want, _ := fake.Status(ctx)
	if err != nil || !reflect.DeepEqual(st, want) {
		t.Fatalf("Status = %+v, %v; want %+v", st, err, want)
	}
	links, err := c.Links(ctx)
	wantLinks, _ := fake.Links(ctx)
	if err != nil || !reflect.DeepEqual(links, wantLinks) {
		t.Fatalf("Links = %+v, %v", links, err)
	}
	keys, err := c.Keys(ctx)
	wantKeys, _ := fake.Keys(ctx)
	if err != nil || !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("Keys = %+v, %v", keys, err)
	}
	if err := c.Negotiate(ctx, "p0"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rotate(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Calls(); !reflect.DeepEqual(got, []string{"negotiate p0", "rotate p1"}) {
		t.Fatalf("backend saw %q", got)
	}
	rep, err := c.VerifyStore(ctx)
	if err != nil || !rep.OK || rep.Matched != len(keys) || rep.Problems == nil {
		t.Fatalf("VerifyStore = %+v, %v", rep, err)
	}
}

func TestJSONShapes(t *testing.T) {
	path := serve(t, apitest.New(), api.ServerOptions{})
	cases := []struct {
		method, target string
		status         int
		list           string   // envelope field holding a list, or ""
		fields         []string // fields of the object (or of the list's first element)
	}{
		{"GET", "/v1/status", 200, "", []string{"node", "version", "pid", "started_at", "uptime_seconds", "health",
			"shm_path", "store_path", "generation", "keys", "ports"}},
		{"GET", "/v1/links", 200, "links", []string{"name", "id", "role", "line", "peer", "handshake", "tx_epoch",
			"rx_epoch", "frames_tx", "frames_rx", "fec_corrected", "fec_uncorrectable", "rounds_own", "rounds_peer",
			"seeds_own", "seeds_peer", "failures", "key_switches", "disagreement_own", "disagreement_peer",
			"last_seed", "last_switch"}},
		{"GET", "/v1/keys", 200, "keys", []string{"id", "port", "port_id", "direction", "epoch", "state", "alg",
			"len", "valid_from", "valid_to", "fingerprint"}},
		{"POST", "/v1/ports/p0/negotiate", 202, "", []string{"port", "action", "status"}},
		{"POST", "/v1/ports/p0/rotate", 202, "", []string{"port", "action", "status"}},
		{"POST", "/v1/store/verify", 200, "", []string{"ok", "store_path", "shm_path", "persisted", "published", "matched", "problems"}},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.target, func(t *testing.T) {
			status, h, body := raw(t, path, tc.method, tc.target, "")
			if status != tc.status || h.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q: %s", status, h.Get("Content-Type"), body)
			}
			noKeyBytes(t, tc.target, body)
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil {
				t.Fatal(err)
			}
			if tc.list != "" {
				l, ok := obj[tc.list].([]any)
				if !ok || len(obj) != 1 || len(l) == 0 {
					t.Fatalf("want {%q: [...]}, got %s", tc.list, body)
				}
				obj = nil // the fullest element: optional fields are left out when unset
				for _, e := range l {
					if m := e.(map[string]any); len(m) > len(obj) {
						obj = m
					}
				}
			}
			for _, f := range tc.fields {
				if _, ok := obj[f]; !ok {
					t.Errorf("field %q missing in %s", f, body)
				}
			}
			for f := range obj {
				if f != strings.ToLower(f) || strings.ContainsAny(f, " -") {
					t.Errorf("field %q is not snake_case", f)
				}
				if strings.Contains(f, "material") || f == "key" || f == "bytes" {
					t.Errorf("field %q looks like key material", f)
				}
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	path := serve(t, apitest.New(), api.ServerOptions{Timeout: 50 * time.Millisecond, MaxBodyBytes: 64})
	cases := []struct {
		name, method, target, body string
		status                     int
		code, names                string
	}{
		{"unknown route", "GET", "/v1/nope", "", 404, api.CodeNotFound, "no route GET /v1/nope"},
		{"unknown version", "GET", "/v2/status", "", 404, api.CodeNotFound, "/v2/status"},
		{"trailing slash", "GET", "/v1/status/", "", 404, api.CodeNotFound, "/v1/status/"},
		{"double slash", "GET", "/v1//status", "", 404, api.CodeNotFound, "/v1//status"},
		{"dot dot", "POST", "/v1/ports/../store/verify", "", 404, api.CodeNotFound, "/v1/ports/../store/verify"},
		{"unknown port action", "POST", "/v1/ports/p0/reboot", "", 404, api.CodeNotFound, "/v1/ports/p0/reboot"},
		{"GET on a write route", "GET", "/v1/ports/p0/negotiate", "", 405, api.CodeMethodNotAllowed, "method GET not allowed"},
		{"POST on a read route", "POST", "/v1/status", "", 405, api.CodeMethodNotAllowed, "allowed: GET, HEAD"},
		{"DELETE", "DELETE", "/v1/store/verify", "", 405, api.CodeMethodNotAllowed, "DELETE"},
		{"unknown port", "POST", "/v1/ports/p9/negotiate", "", 404, api.CodeUnknownPort, `unknown port "p9"`},
		{"bad port name", "POST", "/v1/ports/p%200/rotate", "", 400, api.CodeBadRequest, "port name"},
		{"long port name", "POST", "/v1/ports/" + strings.Repeat("p", 65) + "/rotate", "", 400, api.CodeBadRequest, "1..64"},
		{"malformed body", "POST", "/v1/ports/p0/rotate", "{not json", 400, api.CodeMalformedBody, "request body"},
		{"unknown field", "POST", "/v1/ports/p0/rotate", `{"force": true}`, 400, api.CodeMalformedBody, `unknown field "force"`},
		{"array body", "POST", "/v1/store/verify", `[1]`, 400, api.CodeMalformedBody, "request body"},
		{"trailing data", "POST", "/v1/store/verify", `{} {}`, 400, api.CodeMalformedBody, "data after"},
		{"body too large", "POST", "/v1/store/verify", "{" + strings.Repeat(" ", 100) + "}", 413, api.CodeBodyTooLarge, "exceeds 64 bytes"},
		{"conflict", "POST", "/v1/ports/busy/negotiate", "", 409, api.CodeConflict, "already running"},
		{"unavailable", "POST", "/v1/ports/down/rotate", "", 503, api.CodeUnavailable, "stopping"},
		{"backend panic", "POST", "/v1/ports/panic/rotate", "", 500, api.CodeInternal, "internal error"},
		{"backend timeout", "POST", "/v1/ports/slow/rotate", "", 504, api.CodeTimeout, "did not answer within 50ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := raw(t, path, tc.method, tc.target, tc.body)
			var eb api.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if status != tc.status || eb.Code != tc.code || !strings.Contains(eb.Error, tc.names) {
				t.Fatalf("got %d %+v, want %d %s naming %q", status, eb, tc.status, tc.code, tc.names)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", h.Get("Content-Type"))
			}
			if status == 405 && h.Get("Allow") == "" {
				t.Fatal("405 without an Allow header")
			}
		})
	}
	// The server is still healthy after all of that.
	if status, _, body := raw(t, path, "GET", "/v1/status", ""); status != 200 {
		t.Fatalf("status after errors: %d %s", status, body)
	}
}

func TestClientErrors(t *testing.T) {
	c := api.Dial(serve(t, apitest.New(), api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()
	err := c.Negotiate(ctx, "p9")
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != api.CodeUnknownPort || !errors.Is(err, api.ErrUnknownPort) {
		t.Fatalf("Negotiate(p9) = %#v", err)
	}
	if err := c.Rotate(ctx, apitest.Busy); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("Rotate(busy) = %v", err)
	}
	// ErrForbidden from any backend call is a 403, not a 500.
	if err := c.Negotiate(ctx, apitest.Locked); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != api.CodeForbidden ||
		!errors.Is(err, api.ErrForbidden) || !strings.Contains(ae.Message, "locked by its operator") {
		t.Fatalf("Negotiate(locked) = %#v", err)
	}
	// A port name that needs escaping travels intact and is refused by name.
	if err := c.Rotate(ctx, "a/b"); !errors.As(err, &ae) || ae.Code != api.CodeBadRequest || !strings.Contains(ae.Message, `"a/b"`) {
		t.Fatalf("Rotate(a/b) = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	dir := sockDir(t)
	missing := filepath.Join(dir, "none.sock")
	_, err := api.Dial(missing).Status(context.Background())
	if !errors.Is(err, api.ErrUnreachable) || !errors.Is(err, syscall.ENOENT) ||
		err.Error() != "cannot reach otkd at "+missing+": connect: no such file or directory" {
		t.Fatalf("no socket: %v", err)
	}
	stale := staleSocket(t, dir)
	if _, err := api.Dial(stale).Keys(context.Background()); !errors.Is(err, api.ErrUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stale socket: %v", err)
	}
}

// staleSocket leaves a socket file nobody listens on, as a killed daemon
// does.
func staleSocket(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	return path
}

func TestSocketModeAndGroup(t *testing.T) {
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skip("no name for the test's own group:", err)
	}
	for _, group := range []string{"", g.Name, g.Gid} {
		path := filepath.Join(sockDir(t), "otkd.sock")
		l, err := api.Listen(path, group)
		if err != nil {
			t.Fatalf("group %q: %v", group, err)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 || int(st.Gid) != os.Getgid() {
			t.Fatalf("group %q: mode %v gid %d", group, fi.Mode(), st.Gid)
		}
		if l.Addr().String() != path {
			t.Fatalf("Addr %q, want %q", l.Addr(), path)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Fatalf("directory holds %d entries, want only the socket", len(entries))
		}
		l.Close()
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Close left the socket: %v", err)
		}
	}
	if _, err := api.Listen(filepath.Join(sockDir(t), "x.sock"), "no-such-group-otkd"); err == nil || !strings.Contains(err.Error(), "no-such-group-otkd") {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	stale := staleSocket(t, sockDir(t))
	l, err := api.Listen(stale, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", stale)
	if err != nil {
		t.Fatalf("the new socket does not answer: %v", err)
	}
	c.Close()
}

func TestLiveSocketRefused(t *testing.T) {
	fake := apitest.New()
	path := serve(t, fake, api.ServerOptions{})
	_, err := api.Listen(path, "")
	if !errors.Is(err, api.ErrSocketInUse) || !strings.Contains(err.Error(), "socket in use") {
		t.Fatalf("second Listen: %v", err)
	}
	// The first daemon is untouched.
	if _, err := api.Dial(path).Status(context.Background()); err != nil {
		t.Fatalf("first daemon after a refused second: %v", err)
	}
}

func TestNotASocketLeftAlone(t *testing.T) {
	path := filepath.Join(sockDir(t), "otkd.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Listen(path, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("Listen touched a regular file")
	}
}

func TestPeerCredentials(t *testing.T) {
	me := uint32(os.Getuid())
	other := me + 12345
	cases := []struct {
		name  string
		uids  []uint32
		write bool
	}{
		{"default (own uid and root)", nil, true},
		{"own uid listed", []uint32{other, me}, true},
		{"other uid only", []uint32{other}, false},
		{"nobody", []uint32{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := apitest.New()
			c := api.Dial(serve(t, fake, api.ServerOptions{WriteUIDs: tc.uids}))
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Status(ctx); err != nil {
				t.Fatalf("a read needs no privilege: %v", err)
			}
			for name, call := range map[string]func() error{
				"negotiate": func() error { return c.Negotiate(ctx, "p0") },
				"rotate":    func() error { return c.Rotate(ctx, "p0") },
				"verify":    func() error { _, err := c.VerifyStore(ctx); return err },
			} {
				err := call()
				if tc.write && err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var ae *api.APIError
				if !tc.write && (!errors.As(err, &ae) || ae.Status != 403 || !errors.Is(err, api.ErrForbidden) ||
					!strings.Contains(ae.Message, "uid "+strconv.Itoa(int(me))+" may not")) {
					t.Fatalf("%s: %v, want 403 naming uid %d", name, err, me)
				}
			}
			if !tc.write && len(fake.Calls()) != 0 {
				t.Fatalf("a refused write reached the backend: %q", fake.Calls())
			}
		})
	}
}

func TestForbiddenBeforeBodyCheck(t *testing.T) {
	path := serve(t, apitest.New(), api.ServerOptions{WriteUIDs: []uint32{uint32(os.Getuid()) + 1}})
	status, _, body := raw(t, path, "POST", "/v1/ports/p0/rotate", "{not json")
	if status != 403 || !bytes.Contains(body, []byte(`"code":"forbidden"`)) {
		t.Fatalf("got %d %s, want 403", status, body)
	}
}

func TestShutdownRemovesSocket(t *testing.T) {
	path := filepath.Join(sockDir(t), "otkd.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.NewServer(apitest.New(), api.ServerOptions{}).Serve(ctx, l) }()
	if _, err := api.Dial(path).Status(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after shutdown: %v", err)
	}
}

func TestWritesNeedAUnixPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.NewServer(apitest.New(), api.ServerOptions{}).Serve(ctx, l) }()
	defer func() { cancel(); <-done }()
	base := "http://" + l.Addr().String()
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/v1/status", 200},
		{"POST", "/v1/ports/p0/rotate", 403},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.target, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == 403 && !bytes.Contains(body, []byte("not a unix socket connection"))) {
			t.Fatalf("%s %s over TCP: %d %s", tc.method, tc.target, resp.StatusCode, body)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}
