package keyring

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
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

// TestStoreBeforeV3: a store written before sync v3 (outbox records are
// version-2 messages, 63 bytes, no pool) is the store of its pool: the
// keyring reads it back, keeps its binding and resends its messages as v3
// naming the pool. The outbox layout is spelled out here, not taken from
// the package, so a change of the stored format fails this test.
func TestStoreBeforeV3(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	info := e.connect(7)
	e.close()
	db, err := kstore.Open(filepath.Join(e.dir, "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bucket := []byte("keyring/" + e.cfg.Pool + "/outbox")
	var recs [][]byte
	db.View(func(tx kstore.Tx) error {
		return tx.ForEach(bucket, func(k, v []byte) error { recs = append(recs, append([]byte(nil), v...)); return nil })
	})
	db.Close()
	if len(recs) < 2 { // the fills, then the bind
		t.Fatalf("outbox holds %d records, want fills and a bind", len(recs))
	}
	bind := recs[len(recs)-1]
	if len(bind) != 63 || bind[0] != 2 || bind[1] != byte(OpBind) ||
		binary.BigEndian.Uint64(bind[31:]) != 7 || binary.BigEndian.Uint64(bind[39:]) != info.KeyID {
		t.Fatalf("stored bind %x is not the v2 layout of consumer 7's bind", bind)
	}
	e.syncs = nil
	e.pub = nil
	e.open()
	if got, err := e.k.Lookup(7); err != nil || got.KeyID != info.KeyID {
		t.Fatalf("consumer 7 after the reopen: %+v %v", got, err)
	}
	if n := e.k.Resend(); n != len(recs) {
		t.Fatalf("resent %d messages, want %d", n, len(recs))
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	for _, m := range e.syncs {
		b := m.Marshal()
		var got SyncMsg
		if m.Pool != e.cfg.Pool || b[0] != SyncVersion || got.Unmarshal(b) != nil || got.Pool != e.cfg.Pool {
			t.Fatalf("resent %v (%x), want v3 naming pool %q", m, b, e.cfg.Pool)
		}
	}
	if m := e.syncs[len(e.syncs)-1]; m.Op != OpBind || m.Consumer != 7 || m.KeyID != info.KeyID {
		t.Fatalf("resent %v, want consumer 7's bind", m)
	}
}
