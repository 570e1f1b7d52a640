package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds what the client reads of one response.
const maxResponseBytes = 64 << 20

// Client talks to the daemon's API over its unix socket. It implements
// Backend. It is safe for concurrent use; the zero value is not usable, call
// Dial.
type Client struct {
	path string
	hc   *http.Client
}

var _ Backend = (*Client)(nil)

// Dial returns a client for the socket at path. It does not connect: every
// call does (reusing idle connections), and a call that finds nobody
// listening returns an error that unwraps to ErrUnreachable.
func Dial(path string) *Client {
	d := net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, "unix", path)
			if err != nil {
				return nil, &unreachableError{path: path, err: err}
			}
			return c, nil
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Path returns the socket path.
func (c *Client) Path() string { return c.path }

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// unreachableError reports a failed connect. Its text is the system
// error without the repeated path, e.g. "connect: no such file or directory".
type unreachableError struct {
	path string
	err  error
}

func (e *unreachableError) Error() string {
	var oe *net.OpError
	if errors.As(e.err, &oe) && oe.Err != nil {
		return fmt.Sprintf("%v at %s: %v", ErrUnreachable, e.path, oe.Err)
	}
	return fmt.Sprintf("%v at %s: %v", ErrUnreachable, e.path, e.err)
}

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// Status calls GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.Do(ctx, http.MethodGet, "/v1/status", &s)
	return s, err
}

// Links calls GET /v1/links.
func (c *Client) Links(ctx context.Context) ([]Link, error) {
	var b linksBody
	err := c.Do(ctx, http.MethodGet, "/v1/links", &b)
	return b.Links, err
}

// Keys calls GET /v1/keys.
func (c *Client) Keys(ctx context.Context) ([]KeyInfo, error) {
	var b keysBody
	err := c.Do(ctx, http.MethodGet, "/v1/keys", &b)
	return b.Keys, err
}

// Negotiate calls POST /v1/ports/{port}/negotiate.
func (c *Client) Negotiate(ctx context.Context, port string) error {
	return c.Do(ctx, http.MethodPost, "/v1/ports/"+url.PathEscape(port)+"/negotiate", &ActionResult{})
}

// Rotate calls POST /v1/ports/{port}/rotate.
func (c *Client) Rotate(ctx context.Context, port string) error {
	return c.Do(ctx, http.MethodPost, "/v1/ports/"+url.PathEscape(port)+"/rotate", &ActionResult{})
}

// VerifyStore calls POST /v1/store/verify. A report with problems is not an
// error: check StoreReport.OK.
func (c *Client) VerifyStore(ctx context.Context) (StoreReport, error) {
	var r StoreReport
	err := c.Do(ctx, http.MethodPost, "/v1/store/verify", &r)
	return r, err
}

// Do makes one request (a POST carries the body {}) and decodes a 2xx body
// into out, or an error body
// into an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, out any) error {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://otkd"+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.roundTrip(req, out)
}

// roundTrip sends req and decodes a 2xx body into out, or an error body
// into an *APIError.
func (c *Client) roundTrip(req *http.Request, out any) error {
	method, path := req.Method, req.URL.Path
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *unreachableError
		if errors.As(err, &ue) {
			return ue
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, b)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: malformed response: %w", method, path, err)
	}
	return nil
}

func decodeError(status int, b []byte) *APIError {
	var eb ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Code == "" {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return &APIError{Status: status, Code: CodeInternal, Message: fmt.Sprintf("HTTP %d: %s", status, msg)}
	}
	return &APIError{Status: status, Code: eb.Code, Message: eb.Error}
}
