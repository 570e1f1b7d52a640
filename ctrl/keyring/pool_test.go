package keyring

import (
	"errors"
	"strings"
	"testing"
)

// TestPoolsIsolated: two pools in one store and one shm map are
// independent: the same consumer id binds in each to a key of its own
// pool, a disconnect in one leaves the other, each reopens its own
// bindings, and a keyring refuses the sync messages of another pool.
func TestPoolsIsolated(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	cfg := e.cfg
	cfg.Pool, cfg.Port = "other", 2
	var q []SyncMsg
	cfg.OnSync = func(m SyncMsg) { q = append(q, m) }
	k2, err := Open(cfg, e.db, e.w, e.src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { k2.Close() }()
	if _, err := k2.Maintain(); err != nil {
		t.Fatal(err)
	}
	a := e.connect(7)
	b, err := k2.Connect(7)
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID == b.KeyID || a.SeedID == b.SeedID {
		t.Fatalf("same consumer in two pools got key %016x (seed %x) and %016x (seed %x)", a.KeyID, a.SeedID, b.KeyID, b.SeedID)
	}
	if err := e.k.Disconnect(7); err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Lookup(7); err != nil || got.KeyID != b.KeyID {
		t.Fatalf("pool other after a disconnect in pool p: %+v %v", got, err)
	}
	k2.Close()
	if k2, err = Open(cfg, e.db, e.w, e.src); err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Lookup(7); err != nil || got.KeyID != b.KeyID {
		t.Fatalf("pool other after a restart: %+v %v", got, err)
	}
	if _, err := e.k.Lookup(7); !errors.Is(err, ErrNotBound) {
		t.Fatalf("pool p after a restart: %v", err)
	}
	if len(q) == 0 || q[0].Pool != "other" {
		t.Fatalf("messages of pool other: %v", q)
	}
	for _, m := range q {
		err := e.k.ApplySync(m)
		if !errors.Is(err, ErrSyncMsg) || !strings.Contains(err.Error(), `pool "other"`) {
			t.Fatalf("pool p applying %v: %v, want a refusal naming the pool", m, err)
		}
	}
}

func TestCheckPool(t *testing.T) {
	for _, ok := range []string{"default", "a", "plugin-2", strings.Repeat("x", MaxPoolLen)} {
		if err := CheckPool(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a/b", "a.b", "a b", "é", strings.Repeat("x", MaxPoolLen+1)} {
		if err := CheckPool(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
