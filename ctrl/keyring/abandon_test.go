package keyring

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/otkd/otkd/ctrl/kstore"
	"github.com/otkd/otkd/shm"
)

// TestFailedPublishUnbindsAtPeer: a connect whose binding was persisted
// and sent to the peer but whose key could not be published retires the
// slot and tells the peer (an unbind of the same key after the bind), so
// the peer's ring does not keep a binding this end gave up.
func TestFailedPublishUnbindsAtPeer(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	e.k.Close()
	k, err := Open(e.cfg, e.db, failPut{e.w}, e.src)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "map full") {
		t.Fatalf("connect with a failing map: %v", err)
	}
	e.smu.Lock()
	var ms []SyncMsg
	for _, m := range e.syncs {
		if m.Op != OpFill && m.Consumer == 1 {
			ms = append(ms, m)
		}
	}
	e.smu.Unlock()
	if len(ms) != 2 || ms[0].Op != OpBind || ms[1].Op != OpUnbind || ms[1].KeyID != ms[0].KeyID || ms[1].Seq <= ms[0].Seq {
		t.Fatalf("messages for consumer 1: %v, want bind then unbind of the same key", ms)
	}
	if err := k.Disconnect(1); !errors.Is(err, ErrNotBound) {
		t.Fatalf("consumer 1 still bound after the failed connect: %v", err)
	}
}

// switchStore fails Batch while fail is set.
type switchStore struct {
	kstore.Store
	fail *atomic.Bool
}

func (s switchStore) Batch(fn func(kstore.Tx) error) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.Store.Batch(fn)
}

// putFailsStore fails Put and, from then on, the store too: the undo of
// the failed connect cannot be persisted.
type putFailsStore struct {
	Publisher
	fail *atomic.Bool
}

func (p putFailsStore) Put(*shm.Key) error {
	p.fail.Store(true)
	return errors.New("map full")
}

// TestFailedUndoSurfacesAndIsRepaired: a connect whose publish fails and
// whose undo the store refuses reports both errors; the consumer is busy
// (neither connectable nor bound to a new key) until Maintain retries the
// undo, or, after a restart, bound to its key as persisted, published in
// the map and known to the peer, never bound to a key it cannot read.
func TestFailedUndoSurfacesAndIsRepaired(t *testing.T) {
	setup := func(t *testing.T) (*env, *Keyring, *atomic.Bool) {
		e := newEnv(t, 2, 16, 0)
		e.maintain()
		e.k.Close()
		fail := new(atomic.Bool)
		k, err := Open(e.cfg, switchStore{e.db, fail}, putFailsStore{e.w, fail}, e.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Connect(1)
		if err == nil || !strings.Contains(err.Error(), "map full") || !strings.Contains(err.Error(), "disk full") {
			k.Close()
			t.Fatalf("connect with a failing map and store: %v, want both failures named", err)
		}
		if _, err := k.Connect(1); !errors.Is(err, ErrBusy) {
			t.Errorf("connect while the undo is pending: %v, want ErrBusy", err)
		}
		if err := k.Disconnect(1); !errors.Is(err, ErrBusy) {
			t.Errorf("disconnect while the undo is pending: %v, want ErrBusy", err)
		}
		if _, err := k.Maintain(); err == nil || !strings.Contains(err.Error(), "consumer 1") {
			t.Errorf("maintain with the store still failing: %v, want the undo's error", err)
		}
		return e, k, fail
	}
	t.Run("retried", func(t *testing.T) {
		e, k, fail := setup(t)
		fail.Store(false)
		if _, err := k.Maintain(); err != nil {
			t.Fatalf("maintain with the store back: %v", err)
		}
		if err := k.Disconnect(1); !errors.Is(err, ErrNotBound) {
			t.Fatalf("consumer 1 after the undo: %v, want ErrNotBound", err)
		}
		e.smu.Lock()
		var ops []SyncOp
		for _, m := range e.syncs {
			if m.Consumer == 1 {
				ops = append(ops, m.Op)
			}
		}
		e.smu.Unlock()
		if len(ops) != 2 || ops[0] != OpBind || ops[1] != OpUnbind {
			t.Fatalf("messages for consumer 1: %v, want bind then unbind", ops)
		}
		k.Close()
		var err error
		if e.k, err = Open(e.cfg, e.db, e.w, e.src); err != nil {
			t.Fatal(err)
		}
		if _, err := e.k.Lookup(1); !errors.Is(err, ErrNotBound) {
			t.Fatalf("consumer 1 after a restart: %v, want ErrNotBound", err)
		}
		if info := e.connect(1); info.Slot != 2 {
			t.Fatalf("slot %d after the undo, want 2 (slot 0 never reused)", info.Slot)
		}
	})
	t.Run("restart", func(t *testing.T) {
		e, k, _ := setup(t)
		k.Close()
		var err error
		if e.k, err = Open(e.cfg, e.db, e.w, e.src); err != nil {
			t.Fatal(err)
		}
		info, err := e.k.Lookup(1)
		if err != nil {
			t.Fatalf("consumer 1 after a restart: %v, want bound as persisted", err)
		}
		key, err := e.bound(1)
		if err != nil || key.ID != info.KeyID {
			t.Fatalf("key of consumer 1 in the map after a restart: id %016x, %v; want %016x", key.ID, err, info.KeyID)
		}
		e.smu.Lock()
		defer e.smu.Unlock()
		for _, m := range e.syncs {
			if m.Consumer == 1 && m.Op == OpUnbind {
				t.Fatalf("unbind sent for a binding that stands: %v", m)
			}
		}
	})
}
