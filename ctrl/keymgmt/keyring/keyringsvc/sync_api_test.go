package keyringsvc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

// syncBackend is the fake backend with a keyring sync.
type syncBackend struct{ *apitest.Backend }

func (b *syncBackend) KeyringSync(context.Context, string) (keyringsvc.KeyringSync, error) {
	return keyringsvc.KeyringSync{Pool: "default", Side: "B", Stream: "00000000000000aa", Acked: 4, Pending: 2,
		PeerStream: "00000000000000bb", PeerHandled: 9, TieBreaks: 1, PeerFills: 3}, nil
}

// TestKeyringSyncRoute: GET /v1/keyring/sync carries the backend's state;
// a backend without a keyring sync answers 503.
func TestKeyringSyncRoute(t *testing.T) {
	c := api.Dial(apitest.Serve(t, &syncBackend{Backend: apitest.New()}, api.ServerOptions{}))
	defer c.Close()
	ks, err := keyringsvc.NewClient(c).KeyringSync(context.Background(), "")
	want := keyringsvc.KeyringSync{Pool: "default", Side: "B", Stream: "00000000000000aa", Acked: 4, Pending: 2,
		PeerStream: "00000000000000bb", PeerHandled: 9, TieBreaks: 1, PeerFills: 3}
	if err != nil || ks != want {
		t.Fatalf("KeyringSync = %+v, %v; want %+v", ks, err, want)
	}
	plain := api.Dial(apitest.Serve(t, apitest.New(), api.ServerOptions{}))
	defer plain.Close()
	if _, err := keyringsvc.NewClient(plain).KeyringSync(context.Background(), ""); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("without a keyring sync: %v", err)
	}
}
