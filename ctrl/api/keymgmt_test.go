package api_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
)

func TestKeyringRoutes(t *testing.T) {
	fake := apitest.New()
	c := api.Dial(serve(t, fake, api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()

	st, err := c.KeyringStatus(ctx, "")
	if err != nil || len(st.Rings) != 2 || st.Pool != "default" {
		t.Fatalf("KeyringStatus = %+v, %v", st, err)
	}
	k, err := c.KeyringConnect(ctx, "", 7)
	if err != nil || k.Consumer != 7 || k.Fingerprint == "" {
		t.Fatalf("KeyringConnect = %+v, %v", k, err)
	}
	again, err := c.KeyringLookup(ctx, "", 7)
	if err != nil || !reflect.DeepEqual(again, k) {
		t.Fatalf("KeyringLookup = %+v, %v; want %+v", again, err, k)
	}
	if err := c.KeyringDisconnect(ctx, "", 7); err != nil {
		t.Fatal(err)
	}
	if err := c.KeyringRefill(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	errCases := []struct {
		name   string
		call   func() error
		status int
		is     error
	}{
		{"disconnect unknown", func() error { return c.KeyringDisconnect(ctx, "", 7) }, http.StatusNotFound, api.ErrNotFound},
		{"lookup unknown", func() error { _, err := c.KeyringLookup(ctx, "", 8); return err }, http.StatusNotFound, api.ErrNotFound},
		{"exhausted", func() error { _, err := c.KeyringConnect(ctx, "", apitest.Exhausted); return err }, http.StatusConflict, api.ErrConflict},
		{"consumer 0", func() error { _, err := c.KeyringConnect(ctx, "", 0); return err }, http.StatusBadRequest, api.ErrBadRequest},
		{"refill in window", func() error { return c.KeyringRefill(ctx, "", 0) }, http.StatusConflict, api.ErrConflict},
		{"refill no ring", func() error { return c.KeyringRefill(ctx, "", 9) }, http.StatusBadRequest, api.ErrBadRequest},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *api.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want status %d", err, tc.status)
			}
		})
	}
	want := []string{"keyring connect default 7", "keyring disconnect default 7", "keyring refill default 1"}
	if got := fake.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("backend saw %q, want %q", got, want)
	}
}

func TestSyncRoutes(t *testing.T) {
	fake := apitest.New()
	path := serve(t, fake, api.ServerOptions{})
	c := api.Dial(path)
	defer c.Close()
	ctx := context.Background()

	if _, err := c.SyncImport(ctx, []byte("garbage")); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("malformed file: %v", err)
	}
	big := make([]byte, 64<<10) // larger than the JSON body limit: import takes raw files
	copy(big, apitest.KeyFileMagic)
	if n, err := c.SyncImport(ctx, big); err != nil || n != len(apitest.KeyIDs) {
		t.Fatalf("SyncImport = %d, %v", n, err)
	}
	if _, err := c.SyncImport(ctx, big); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("second import: %v", err)
	}
	if err := c.SyncRegister(ctx, "imsi:1", "other.app"); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("unknown app: %v", err)
	}
	if _, err := c.SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], ""); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unregistered identity: %v", err)
	}
	if err := c.SyncRegister(ctx, "imsi:1", apitest.App); err != nil {
		t.Fatal(err)
	}
	b, err := c.SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], "")
	if err != nil || b.KeyID != apitest.KeyIDs[0] || b.App != apitest.App || b.DeliveryID == "" {
		t.Fatalf("SyncRequest = %+v, %v", b, err)
	}
	if b2, err := c.SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], ""); err != nil || b2 != b {
		t.Fatalf("repeated request = %+v, %v", b2, err)
	}
	out, err := c.SyncOutbox(ctx)
	if err != nil || len(out) != 1 || out[0].DeliveryID != b.DeliveryID {
		t.Fatalf("SyncOutbox = %+v, %v", out, err)
	}

	// Malformed JSON bodies and methods.
	for _, tc := range []struct {
		method, target, body string
		status               int
	}{
		{"POST", "/v1/sync/register", `{"identity":"x","app":"y","extra":1}`, http.StatusBadRequest},
		{"POST", "/v1/sync/request", `not json`, http.StatusBadRequest},
		{"GET", "/v1/sync/register", ``, http.StatusMethodNotAllowed},
		{"POST", "/v1/keyring/consumers/x/connect", `{}`, http.StatusBadRequest},
		{"POST", "/v1/keyring", `{}`, http.StatusMethodNotAllowed},
	} {
		status, _, body := raw(t, path, tc.method, tc.target, tc.body)
		if status != tc.status || !strings.Contains(string(body), `"code"`) {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, status, body, tc.status)
		}
	}
}

// TestKeyringPoolRoutes: ?pool= picks the pool; the same consumer id in
// two pools is two consumers; without ?pool= a daemon with several pools
// answers 400 naming them, an unknown pool 404 naming them, and a pool
// name that is not [a-z0-9-] 400 before reaching the backend.
func TestKeyringPoolRoutes(t *testing.T) {
	fake := apitest.New()
	fake.SetPools("vpn", "web")
	c := api.Dial(serve(t, fake, api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()

	if ps, err := c.KeyringPools(ctx); err != nil || !reflect.DeepEqual(ps, []string{"vpn", "web"}) {
		t.Fatalf("KeyringPools = %v, %v", ps, err)
	}
	kv, err := c.KeyringConnect(ctx, "vpn", 7)
	if err != nil || kv.Pool != "vpn" {
		t.Fatalf("connect 7 in vpn: %+v, %v", kv, err)
	}
	kw, err := c.KeyringConnect(ctx, "web", 7)
	if err != nil || kw.Pool != "web" || kw.ID == kv.ID {
		t.Fatalf("connect 7 in web: %+v, %v (vpn: %+v)", kw, err, kv)
	}
	if err := c.KeyringDisconnect(ctx, "vpn", 7); err != nil {
		t.Fatal(err)
	}
	if k, err := c.KeyringLookup(ctx, "web", 7); err != nil || k.ID != kw.ID {
		t.Fatalf("web's 7 after vpn's 7 disconnected: %+v, %v", k, err)
	}
	if st, err := c.KeyringStatus(ctx, "web"); err != nil || st.Pool != "web" {
		t.Fatalf("status of web: %+v, %v", st, err)
	}
	for _, tc := range []struct {
		name, pool string
		status     int
		want       string
	}{
		{"no pool named", "", http.StatusBadRequest, "2 keyring pools (vpn, web)"},
		{"unknown pool", "mail", http.StatusNotFound, `no keyring pool "mail" here; pools: vpn, web`},
		{"bad pool name", "../x", http.StatusBadRequest, `pool "../x": want 1..32 of [a-z0-9-]`},
		{"upper case", "VPN", http.StatusBadRequest, `pool "VPN"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.KeyringConnect(ctx, tc.pool, 8)
			var ae *api.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want status %d saying %q", err, tc.status, tc.want)
			}
		})
	}
	if calls := strings.Join(fake.Calls(), "; "); strings.Contains(calls, " 8") {
		t.Errorf("refused requests reached the backend: %s", calls)
	}
}
