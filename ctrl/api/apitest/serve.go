package apitest

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// Routes returns the feature routes a fake daemon b serves, as the daemon
// mounts its services': the keyring's, key sync's and custody's, each
// served by b when b implements that feature's backend, and answering 503
// otherwise (as a daemon with the feature off).
func Routes(b any) []api.Routes {
	kb, _ := b.(keyringsvc.Backend)
	sb, _ := b.(keysyncsvc.Backend)
	mb, _ := b.(mpcsvc.MPCBackend)
	return []api.Routes{
		api.RoutesFunc(func(r *api.Router) { keyringsvc.Routes(r, kb) }),
		api.RoutesFunc(func(r *api.Router) { keysyncsvc.Routes(r, sb) }),
		api.RoutesFunc(func(r *api.Router) { mpcsvc.Routes(r, mb) }),
	}
}

// SockDir returns a short temporary directory: unix socket paths are
// limited to 107 bytes and t.TempDir embeds the test name.
func SockDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "otkapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Serve runs a server for b (and its feature routes, Routes, added to
// opts') on a fresh socket until the test ends, and returns its path.
func Serve(t testing.TB, b api.Backend, opts api.ServerOptions) string {
	t.Helper()
	path := filepath.Join(SockDir(t), "otkd.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	opts.Routes = append(Routes(b), opts.Routes...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.NewServer(b, opts).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

// Raw makes one request over the socket at path and returns status,
// header and body.
func Raw(t testing.TB, path, method, target, body string) (int, http.Header, []byte) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer hc.CloseIdleConnections()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://otkd"+target, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}
