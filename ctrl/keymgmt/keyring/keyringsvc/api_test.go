package keyringsvc_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

func TestKeyringRoutes(t *testing.T) {
	fake := apitest.New()
	c := api.Dial(apitest.Serve(t, fake, api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()

	st, err := keyringsvc.NewClient(c).KeyringStatus(ctx, "")
	if err != nil || len(st.Rings) != 2 || st.Pool != "default" {
		t.Fatalf("KeyringStatus = %+v, %v", st, err)
	}
	k, err := keyringsvc.NewClient(c).KeyringConnect(ctx, "", 7)
	if err != nil || k.Consumer != 7 || k.Fingerprint == "" {
		t.Fatalf("KeyringConnect = %+v, %v", k, err)
	}
	again, err := keyringsvc.NewClient(c).KeyringLookup(ctx, "", 7)
	if err != nil || !reflect.DeepEqual(again, k) {
		t.Fatalf("KeyringLookup = %+v, %v; want %+v", again, err, k)
	}
	if err := keyringsvc.NewClient(c).KeyringDisconnect(ctx, "", 7); err != nil {
		t.Fatal(err)
	}
	if err := keyringsvc.NewClient(c).KeyringRefill(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	errCases := []struct {
		name   string
		call   func() error
		status int
		is     error
	}{
		{"disconnect unknown", func() error { return keyringsvc.NewClient(c).KeyringDisconnect(ctx, "", 7) }, http.StatusNotFound, api.ErrNotFound},
		{"lookup unknown", func() error { _, err := keyringsvc.NewClient(c).KeyringLookup(ctx, "", 8); return err }, http.StatusNotFound, api.ErrNotFound},
		{"exhausted", func() error { _, err := keyringsvc.NewClient(c).KeyringConnect(ctx, "", apitest.Exhausted); return err }, http.StatusConflict, api.ErrConflict},
		{"consumer 0", func() error { _, err := keyringsvc.NewClient(c).KeyringConnect(ctx, "", 0); return err }, http.StatusBadRequest, api.ErrBadRequest},
		{"refill in window", func() error { return keyringsvc.NewClient(c).KeyringRefill(ctx, "", 0) }, http.StatusConflict, api.ErrConflict},
		{"refill no ring", func() error { return keyringsvc.NewClient(c).KeyringRefill(ctx, "", 9) }, http.StatusBadRequest, api.ErrBadRequest},
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

// TestKeyringPoolRoutes: ?pool= picks the pool; the same consumer id in
// two pools is two consumers; without ?pool= a daemon with several pools
// answers 400 naming them, an unknown pool 404 naming them, and a pool
// name that is not [a-z0-9-] 400 before reaching the backend.
func TestKeyringPoolRoutes(t *testing.T) {
	fake := apitest.New()
	fake.SetPools("vpn", "web")
	c := api.Dial(apitest.Serve(t, fake, api.ServerOptions{}))
	defer c.Close()
	ctx := context.Background()

	if ps, err := keyringsvc.NewClient(c).KeyringPools(ctx); err != nil || !reflect.DeepEqual(ps, []string{"vpn", "web"}) {
		t.Fatalf("KeyringPools = %v, %v", ps, err)
	}
	kv, err := keyringsvc.NewClient(c).KeyringConnect(ctx, "vpn", 7)
	if err != nil || kv.Pool != "vpn" {
		t.Fatalf("connect 7 in vpn: %+v, %v", kv, err)
	}
	kw, err := keyringsvc.NewClient(c).KeyringConnect(ctx, "web", 7)
	if err != nil || kw.Pool != "web" || kw.ID == kv.ID {
		t.Fatalf("connect 7 in web: %+v, %v (vpn: %+v)", kw, err, kv)
	}
	if err := keyringsvc.NewClient(c).KeyringDisconnect(ctx, "vpn", 7); err != nil {
		t.Fatal(err)
	}
	if k, err := keyringsvc.NewClient(c).KeyringLookup(ctx, "web", 7); err != nil || k.ID != kw.ID {
		t.Fatalf("web's 7 after vpn's 7 disconnected: %+v, %v", k, err)
	}
	if st, err := keyringsvc.NewClient(c).KeyringStatus(ctx, "web"); err != nil || st.Pool != "web" {
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
			_, err := keyringsvc.NewClient(c).KeyringConnect(ctx, tc.pool, 8)
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
