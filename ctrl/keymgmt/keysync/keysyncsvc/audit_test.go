package keysyncsvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

// auditBackend is the fake backend with an audit log of two events.
type auditBackend struct {
	*apitest.Backend
	mu  sync.Mutex
	got []keysyncsvc.SyncAuditQuery
}

func (b *auditBackend) SyncAudit(_ context.Context, q keysyncsvc.SyncAuditQuery) (keysyncsvc.SyncAudit, error) {
	b.mu.Lock()
	b.got = append(b.got, q)
	b.mu.Unlock()
	if q.Kind == "delete" {
		return keysyncsvc.SyncAudit{}, fmt.Errorf("%w: kind %q", api.ErrBadRequest, q.Kind)
	}
	t0 := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	return keysyncsvc.SyncAudit{Events: []keysyncsvc.SyncEvent{
		{Seq: 1, Time: t0, Kind: "import", Count: 3, FileFP: "00112233445566778899aabbccddeeff"},
		{Seq: 2, Time: t0.Add(time.Minute), Kind: "bind", Identity: "dev1", App: "vpn.example", KeyID: "key-a", KeyFP: "0123456789abcdef"},
	}, Truncated: q.Limit == 2}, nil
}

func TestSyncAuditRoute(t *testing.T) {
	fake := &auditBackend{Backend: apitest.New()}
	sock := apitest.Serve(t, fake, api.ServerOptions{})
	c := api.Dial(sock)
	defer c.Close()
	ctx := context.Background()

	since := time.Date(2026, 11, 22, 4, 0, 0, 0, time.FixedZone("", 3600))
	q := keysyncsvc.SyncAuditQuery{Since: since, Until: since.Add(time.Hour), Kind: "bind", Identity: "dev 1", App: "vpn.example", KeyID: "key-a", Limit: 2}
	a, err := keysyncsvc.NewClient(c).SyncAudit(ctx, q)
	if err != nil || len(a.Events) != 2 || !a.Truncated || a.Events[1].KeyFP != "0123456789abcdef" {
		t.Fatalf("SyncAudit = %+v, %v", a, err)
	}
	got := fake.got[len(fake.got)-1]
	if !got.Since.Equal(q.Since) || !got.Until.Equal(q.Until) || got.Kind != q.Kind || got.Identity != q.Identity ||
		got.App != q.App || got.KeyID != q.KeyID || got.Limit != 2 {
		t.Fatalf("backend got %+v, want %+v", got, q)
	}
	if _, err := keysyncsvc.NewClient(c).SyncAudit(ctx, keysyncsvc.SyncAuditQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := fake.got[len(fake.got)-1]; got != (keysyncsvc.SyncAuditQuery{}) {
		t.Fatalf("empty query reached the backend as %+v", got)
	}
	if _, err := keysyncsvc.NewClient(c).SyncAudit(ctx, keysyncsvc.SyncAuditQuery{Kind: "delete"}); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "delete") {
		t.Fatalf("bad kind: %v", err)
	}

	// Raw requests with malformed parameters.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	calls := len(fake.got)
	for _, tc := range []struct{ query, want string }{
		{"since=yesterday", "RFC 3339"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{"limit=0", "limit"},
		{"limit=10001", "1..10000"},
		{"limit=x", "limit"},
		{"kid=1", "unknown query parameter"},
		{"kind=bind&kind=push", "2 times"},
	} {
		resp, err := hc.Get("http://otkd/v1/sync/audit?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("?%s: %d %s, want 400 naming %q", tc.query, resp.StatusCode, body, tc.want)
		}
	}
	if len(fake.got) != calls {
		t.Fatalf("malformed queries reached the backend")
	}
	resp, err := hc.Post("http://otkd/v1/sync/audit", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

// TestSyncAuditUnavailable: a backend without an audit log answers 503.
func TestSyncAuditUnavailable(t *testing.T) {
	c := api.Dial(apitest.Serve(t, apitest.New(), api.ServerOptions{}))
	defer c.Close()
	if _, err := keysyncsvc.NewClient(c).SyncAudit(context.Background(), keysyncsvc.SyncAuditQuery{}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("SyncAudit = %v, want ErrUnavailable", err)
	}
}
