package mpcsvc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// mpcFake is a api.Backend with MPC: it embeds nil interfaces for the rest.
type mpcFake struct {
	api.Backend
	backups []mpcsvc.MPCBackup
	data    [][]byte
}

func (f *mpcFake) MPCStatus(context.Context) (mpcsvc.MPCStatus, error) {
	return mpcsvc.MPCStatus{Index: 1, Threshold: 2, Nodes: 3, Epoch: 1, ClusterKey: "00112233aabbccdd"}, nil
}
func (f *mpcFake) MPCInit(context.Context) (mpcsvc.MPCRound, error) {
	return mpcsvc.MPCRound{}, errors.Join(api.ErrForbidden, errors.New("an operator request"))
}
func (f *mpcFake) MPCRefresh(context.Context) (mpcsvc.MPCRound, error) {
	return mpcsvc.MPCRound{Kind: "refresh", Epoch: 2, Qualified: []int{1, 2, 3}}, nil
}
func (f *mpcFake) MPCBackup(_ context.Context, label string, data []byte) (mpcsvc.MPCBackup, error) {
	b := mpcsvc.MPCBackup{ID: "0123456789abcdef", Label: label, Size: len(data), Created: time.Unix(1, 0)}
	f.backups = append(f.backups, b)
	f.data = append(f.data, data)
	return b, nil
}
func (f *mpcFake) MPCExport(_ context.Context, what, pool, label string) (mpcsvc.MPCBackup, error) {
	switch {
	case what == "keyring" && pool == "video":
		return mpcsvc.MPCBackup{ID: "0011223344556677", Label: label + "@" + pool, Size: 100}, nil
	case what == "keyring":
		return mpcsvc.MPCBackup{}, errors.Join(api.ErrConflict, errors.New("no keyring"))
	}
	return mpcsvc.MPCBackup{ID: "fedcba9876543210", Label: label, Size: 100}, nil
}
func (f *mpcFake) MPCPeers(context.Context) ([]mpcsvc.MPCPeerState, error) {
	return []mpcsvc.MPCPeerState{{Index: 1, Name: "n1", Reachable: true, Epoch: 1}}, nil
}
func (f *mpcFake) MPCBackupDelete(_ context.Context, id string) error {
	for i, b := range f.backups {
		if b.ID == id {
			f.backups = append(f.backups[:i], f.backups[i+1:]...)
			return nil
		}
	}
	return api.ErrNotFound
}
func (f *mpcFake) MPCBackups(context.Context) ([]mpcsvc.MPCBackup, error) { return f.backups, nil }
func (f *mpcFake) MPCBackupGet(_ context.Context, id string) (mpcsvc.MPCBackup, error) {
	for _, b := range f.backups {
		if b.ID == id {
			b.Ciphertext = []byte{4, 5}
			return b, nil
		}
	}
	return mpcsvc.MPCBackup{}, api.ErrNotFound
}

func TestMPCRoutes(t *testing.T) {
	f := &mpcFake{}
	c := api.Dial(apitest.Serve(t, f, api.ServerOptions{}))
	defer c.Close()
	ctx := t.Context()
	if st, err := mpcsvc.NewClient(c).MPCStatus(ctx); err != nil || st.ClusterKey != "00112233aabbccdd" || st.Peers == nil {
		t.Fatalf("%+v %v", st, err)
	}
	if p, err := mpcsvc.NewClient(c).MPCPeers(ctx); err != nil || len(p) != 1 || !p[0].Reachable {
		t.Fatalf("peers: %+v %v", p, err)
	}
	if _, err := mpcsvc.NewClient(c).MPCInit(ctx); !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "an operator request") {
		t.Fatalf("init: %v", err)
	}
	if r, err := mpcsvc.NewClient(c).MPCRefresh(ctx); err != nil || r.Epoch != 2 {
		t.Fatalf("refresh: %+v %v", r, err)
	}
	if _, err := mpcsvc.NewClient(c).MPCBackup(ctx, "seed 1", []byte("x")); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("bad label: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCBackup(ctx, "", nil); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("empty backup: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCBackup(ctx, "", make([]byte, mpcsvc.MaxMPCBackupBytes+1)); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("large backup: %v", err)
	}
	b, err := mpcsvc.NewClient(c).MPCBackup(ctx, "seed-1", []byte("secret"))
	if err != nil || b.Label != "seed-1" || string(f.data[0]) != "secret" {
		t.Fatalf("backup: %+v %v", b, err)
	}
	if l, err := mpcsvc.NewClient(c).MPCBackups(ctx); err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	if g, err := mpcsvc.NewClient(c).MPCBackupGet(ctx, b.ID); err != nil || len(g.Ciphertext) != 2 {
		t.Fatalf("get: %+v %v", g, err)
	}
	if _, err := mpcsvc.NewClient(c).MPCBackupGet(ctx, "x"); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCBackupGet(ctx, "ffffffffffffffff"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if e, err := mpcsvc.NewClient(c).MPCExport(ctx, "seeds", "", "s-1"); err != nil || e.Label != "s-1" || e.ID != "fedcba9876543210" {
		t.Fatalf("export: %+v %v", e, err)
	}
	if _, err := mpcsvc.NewClient(c).MPCExport(ctx, "keyring", "", ""); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("export without a keyring: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCExport(ctx, "bogus", "", ""); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "want what=seeds") {
		t.Fatalf("export of an unknown kind: %v", err)
	}
	// The pool travels as pool=; a seeds export takes none, and a bad
	// name is refused before the backend.
	if e, err := mpcsvc.NewClient(c).MPCExport(ctx, "keyring", "video", "k"); err != nil || e.Label != "k@video" {
		t.Fatalf("keyring export of pool video: %+v %v", e, err)
	}
	if _, err := mpcsvc.NewClient(c).MPCExport(ctx, "seeds", "video", ""); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "seeds of every pool") {
		t.Fatalf("seeds export with a pool: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCExport(ctx, "keyring", "Bad Pool", ""); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), `pool "Bad Pool"`) {
		t.Fatalf("keyring export of a bad pool name: %v", err)
	}
	if _, err := mpcsvc.NewClient(c).MPCExport(ctx, "seeds", "", "a b"); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("export with a bad label: %v", err)
	}
	if err := mpcsvc.NewClient(c).MPCBackupDelete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := mpcsvc.NewClient(c).MPCBackupDelete(ctx, b.ID); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestMPCUnavailable: a daemon without [mpc] answers its routes 503
// naming the key that enables it.
func TestMPCUnavailable(t *testing.T) {
	noMPC := struct{ api.Backend }{}
	s := api.NewServer(noMPC, api.ServerOptions{Routes: apitest.Routes(noMPC)})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/mpc", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "[mpc] enabled") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
