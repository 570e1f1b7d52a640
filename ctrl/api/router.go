package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// What the routes of several features share: the keyring pool a request
// names (?pool=), and requests with a body.

// ResolvePool returns the pool name names among pools: name itself if it
// is one of them, the only pool for "". Otherwise the error (ErrNotFound,
// or ErrBadRequest for "" with several pools, ErrUnavailable with none)
// names the pools.
func ResolvePool(name string, pools []string) (string, error) {
	switch {
	case len(pools) == 0:
		return "", fmt.Errorf("%w: no keyring pool: set [keyring] enabled = true (or add [[keyring]] pools) in the configuration", ErrUnavailable)
	case name == "" && len(pools) == 1:
		return pools[0], nil
	case name == "":
		return "", fmt.Errorf("%w: this daemon runs %d keyring pools (%s): name one (otkctl --pool NAME)", ErrBadRequest, len(pools), strings.Join(pools, ", "))
	case slices.Contains(pools, name):
		return name, nil
	}
	return "", fmt.Errorf("%w: no keyring pool %q here; pools: %s", ErrNotFound, name, strings.Join(pools, ", "))
}

// PoolParam is the request's ?pool= ("": the only pool).
func PoolParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if len(q["pool"]) > 1 {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "pool given %d times", len(q["pool"]))
	}
	v := q.Get("pool")
	if v != "" && !poolNameRE.MatchString(v) {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "pool %q: want 1..32 of [a-z0-9-], not starting or ending with '-'", v)
	}
	return v, nil
}

var poolNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// PoolQuery is the query string naming pool ("" for the only pool).
func PoolQuery(pool string) string {
	if pool == "" {
		return ""
	}
	return "?pool=" + url.QueryEscape(pool)
}

// bodyKey carries a request body read by routeBody to the op.
type bodyKey struct{}

func RequestBody(ctx context.Context) []byte {
	b, _ := ctx.Value(bodyKey{}).([]byte)
	return b
}

// routeBody is route for a POST that takes a body: a JSON object
// (limit 0: at most ServerOptions.MaxBodyBytes) or raw bytes up to limit.
func (s *Server) routeBody(limit int64, fn Op) http.Handler {
	if limit <= 0 {
		limit = s.maxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"method %s not allowed on %s (allowed: POST)", r.Method, r.URL.Path))
			return
		}
		if err := s.authorize(r); err != nil {
			writeError(w, err)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body exceeds %d bytes", limit))
			} else {
				writeError(w, errorf(http.StatusBadRequest, CodeMalformedBody, "reading the request body: %v", err))
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), bodyKey{}, b), s.timeout)
		defer cancel()
		status, body, err := s.call(ctx, fn, r)
		if err != nil {
			writeError(w, s.backendError(err))
			return
		}
		writeJSON(w, status, body)
	})
}

// DecodeBody decodes the JSON object of a routeBody request into v.
func DecodeBody(ctx context.Context, v any) error {
	dec := json.NewDecoder(bytes.NewReader(RequestBody(ctx)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: data after the JSON object")
	}
	return nil
}

// DoBody is Do for a POST with a body of content type ctype.
func (c *Client) DoBody(ctx context.Context, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://otkd"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	return c.roundTrip(req, out)
}
