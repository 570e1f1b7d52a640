package fleet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/cluster/fleet"
)

type fakeFleet struct {
	mu  sync.Mutex
	got []time.Duration
}

func (f *fakeFleet) Fleet(_ context.Context, after time.Duration) (fleet.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, after)
	return fleet.Build([]fleet.Node{{Name: "a"}}, map[string]bool{"a": true}, time.Unix(0, 0).UTC(), after), nil
}

// TestFleetRoute: the client's threshold reaches the backend; a bad or
// unknown query parameter is 400 naming it and never reaches it; a
// daemon whose store is not etcd answers 503 saying what to set.
func TestFleetRoute(t *testing.T) {
	fake := &fakeFleet{}
	sock := apitest.Serve(t, apitest.New(), api.ServerOptions{Routes: []api.Routes{api.RoutesFunc(func(r *api.Router) { fleet.Routes(r, fake) })}})
	c := api.Dial(sock)
	defer c.Close()
	ctx := context.Background()
	v, err := fleet.NewClient(c).Fleet(ctx, 90*time.Second)
	if err != nil || len(v.Nodes) != 1 || v.Nodes[0].Name != "a" || time.Duration(v.StaleAfter) != 90*time.Second {
		t.Fatalf("Fleet = %+v, %v", v, err)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	for _, q := range []string{"stale_after=soon", "stale_after=10ms", "stale_after=8760h", "stale_after=1m&stale_after=2m", "limit=3", "stale_after=-1s"} {
		resp, err := hc.Get("http://otkd/v1/fleet?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "stale_after") {
			t.Errorf("?%s: %d %s, want 400 naming stale_after", q, resp.StatusCode, body)
		}
	}
	if len(fake.got) != 1 {
		t.Fatalf("bad queries reached the backend: %v", fake.got)
	}

	off := apitest.Serve(t, apitest.New(), api.ServerOptions{Routes: []api.Routes{fleet.New(fleet.Options{})}})
	c2 := api.Dial(off)
	defer c2.Close()
	if _, err := fleet.NewClient(c2).Fleet(ctx, 0); !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), `store = \"etcd\"`) && !strings.Contains(err.Error(), `store = "etcd"`) {
		t.Fatalf("a daemon without etcd: %v", err)
	}
}
