package keysyncsvc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

func TestSyncRoutes(t *testing.T) {
	fake := apitest.New()
	path := apitest.Serve(t, fake, api.ServerOptions{})
	c := api.Dial(path)
	defer c.Close()
	ctx := context.Background()

	if _, err := keysyncsvc.NewClient(c).SyncImport(ctx, []byte("garbage")); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("malformed file: %v", err)
	}
	big := make([]byte, 64<<10) // larger than the JSON body limit: import takes raw files
	copy(big, apitest.KeyFileMagic)
	if n, err := keysyncsvc.NewClient(c).SyncImport(ctx, big); err != nil || n != len(apitest.KeyIDs) {
		t.Fatalf("SyncImport = %d, %v", n, err)
	}
	if _, err := keysyncsvc.NewClient(c).SyncImport(ctx, big); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("second import: %v", err)
	}
	if err := keysyncsvc.NewClient(c).SyncRegister(ctx, "imsi:1", "other.app"); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("unknown app: %v", err)
	}
	if _, err := keysyncsvc.NewClient(c).SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], ""); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unregistered identity: %v", err)
	}
	if err := keysyncsvc.NewClient(c).SyncRegister(ctx, "imsi:1", apitest.App); err != nil {
		t.Fatal(err)
	}
	b, err := keysyncsvc.NewClient(c).SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], "")
	if err != nil || b.KeyID != apitest.KeyIDs[0] || b.App != apitest.App || b.DeliveryID == "" {
		t.Fatalf("SyncRequest = %+v, %v", b, err)
	}
	if b2, err := keysyncsvc.NewClient(c).SyncRequest(ctx, "imsi:1", apitest.KeyIDs[0], ""); err != nil || b2 != b {
		t.Fatalf("repeated request = %+v, %v", b2, err)
	}
	out, err := keysyncsvc.NewClient(c).SyncOutbox(ctx)
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
		status, _, body := apitest.Raw(t, path, tc.method, tc.target, tc.body)
		if status != tc.status || !strings.Contains(string(body), `"code"`) {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, status, body, tc.status)
		}
	}
}
