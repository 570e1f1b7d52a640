package keyring

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/shm"
)

// Connects that cannot publish. A connect publishes its key before it
// stores the binding or tells the peer, so one the map refuses leaves no
// binding at either end (the run: 142 of 200 parallel connects
// failed with "no free key slot" after their bindings were stored and
// sent, and the two ends then disagreed on 2 of 58 bindings).

// msgsFor returns the bind and unbind messages e sent for consumer c.
func msgsFor(e *env, c uint64) []SyncMsg {
	e.smu.Lock()
	defer e.smu.Unlock()
	var out []SyncMsg
	for _, m := range e.syncs {
		if m.Consumer == c && (m.Op == OpBind || m.Op == OpUnbind) {
			out = append(out, m)
		}
	}
	return out
}

// TestFullMapConnectLeavesNothing: end A's map has 8 slots; 24 consumers
// connect at A at once (a real shm writer refuses the ninth key). Each
// connect that fails has sent nothing and stored nothing; after the sync
// every consumer is bound to the same key at both ends or at neither, also
// after a restart of A.
func TestFullMapConnectLeavesNothing(t *testing.T) {
	a := newEnv(t, 2, 64, 0, func(e *env) { e.slots = 8 })
	b := newEnv(t, 2, 64, 1, func(e *env) { e.clk = a.clk; e.cfg.Follow = true })
	p := &pair{t: t, a: a, b: b}
	a.maintain()
	p.flush()

	const n = 24
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	for c := uint64(1); c <= n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[c] = a.k.Connect(c)
		}()
	}
	wg.Wait()
	failed := 0
	for c := uint64(1); c <= n; c++ {
		if errs[c] == nil {
			continue
		}
		failed++
		if !errors.Is(errs[c], shm.ErrFull) {
			t.Errorf("consumer %d: %v, want shm.ErrFull", c, errs[c])
		}
		if ms := msgsFor(a, c); len(ms) != 0 {
			t.Errorf("consumer %d: connect failed, yet A sent %v", c, ms)
		}
	}
	if failed != n-8 {
		t.Fatalf("%d of %d connects failed, want %d (8 slots)", failed, n, n-8)
	}
	p.flush()
	check := func(when string) {
		t.Helper()
		agree := 0
		for c := uint64(1); c <= n; c++ {
			p.same(c, errs[c] == nil)
			agree++
		}
		t.Logf("%s: %d connects failed with a full map; %d of %d consumers agree at both ends", when, failed, agree, n)
	}
	check("after the sync")
	a.reopen()
	check("after A restarts")
	p.flush()
}

// TestFullMapAtPeerIsRetried: end B's map is full when A's binds arrive.
// B applies none of them and acknowledges none (they are not lost and not
// half-applied); once B's map has room, A's resend binds them at B too.
func TestFullMapAtPeerIsRetried(t *testing.T) {
	a := newEnv(t, 2, 64, 0)
	b := newEnv(t, 2, 64, 1, func(e *env) { e.clk = a.clk; e.cfg.Follow = true; e.slots = 8 })
	p := &pair{t: t, a: a, b: b}
	a.maintain()
	p.flush()
	for c := uint64(101); c <= 108; c++ { // B's own consumers fill its map
		b.connect(c)
	}
	for c := uint64(1); c <= 4; c++ {
		a.connect(c)
	}
	errs := p.deliver(a, b)
	if len(errs) == 0 {
		t.Fatal("B applied binds its full map cannot hold")
	}
	for _, err := range errs {
		if !errors.Is(err, shm.ErrFull) && !errors.Is(err, ErrSyncOrder) {
			t.Errorf("B: %v, want shm.ErrFull (or the messages after it, out of order)", err)
		}
	}
	p.deliver(b, a)
	a.pending(4) // none acknowledged
	for c := uint64(1); c <= 4; c++ {
		if _, err := b.k.Lookup(c); !errors.Is(err, ErrNotBound) {
			t.Fatalf("consumer %d at B with a full map: %v, want not bound", c, err)
		}
	}
	// Room at B: four of its consumers leave.
	for c := uint64(101); c <= 104; c++ {
		if err := b.k.Disconnect(c); err != nil {
			t.Fatal(err)
		}
	}
	p.flush()
	a.k.Resend()
	p.flush()
	for c := uint64(1); c <= 4; c++ {
		p.same(c, true)
	}
	a.pending(0)
}

// TestFailedStoreUnpublishes: a connect whose binding cannot be stored
// takes its key out of the map again and sends nothing.
func TestFailedStoreUnpublishes(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	e.k.Close()
	fail := new(atomic.Bool)
	k, err := Open(e.cfg, switchStore{e.db, fail}, e.w, e.src)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	fail.Store(true)
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("connect with a failing store: %v", err)
	}
	if key, err := e.bound(1); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("consumer 1's key in the map after a failed store: %v %v", key, err)
	}
	if ms := msgsFor(e, 1); len(ms) != 0 {
		t.Fatalf("sent %v for a connect that failed", ms)
	}
	fail.Store(false)
	if info, err := k.Connect(1); err != nil || info.Slot != 0 {
		t.Fatalf("connect once the store works: %+v %v", info, err)
	}
}

// failBind fails Bind: the key is in the map (Put worked) but not bound.
type failBind struct{ Publisher }

func (failBind) Bind(uint64, uint64) error { return errors.New("bind refused") }

// TestFailedBindRetiresKey: a key that got into the map but could not be
// bound is retired (zeroised) again.
func TestFailedBindRetiresKey(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	e.k.Close()
	k, err := Open(e.cfg, e.db, failBind{e.w}, e.src)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "bind refused") {
		t.Fatalf("connect with a failing bind: %v", err)
	}
	if st := e.w.Keys(); len(st) != 0 {
		t.Fatalf("keys left in the map: %+v", st)
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

// TestOrphanRetiredAtOpen: a crash between a connect's publish and its
// store leaves a pending key bound in the map that no binding names; the
// next Open retires it (and leaves the keys of bindings and other ports
// alone).
func TestOrphanRetiredAtOpen(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	kept := e.connect(1)
	e.k.Close()
	orphan := &shm.Key{ID: 0xdead, Port: e.cfg.Port, Dir: e.cfg.Dir, State: shm.StatePending, Alg: shm.AlgZUC128, Consumer: 9}
	other := &shm.Key{ID: 0xbeef, Port: e.cfg.Port + 1, Dir: e.cfg.Dir, State: shm.StateActive, Alg: shm.AlgZUC128}
	for _, k := range []*shm.Key{orphan, other} {
		k.SetMaterial([]byte("0123456789abcdef"))
		if err := e.w.Put(k); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if e.k, err = Open(e.cfg, e.db, e.w, e.src); err != nil {
		t.Fatal(err)
	}
	var k shm.Key
	if err := e.r.KeyByID(orphan.ID, &k); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("orphan key after Open: %v %v", k, err)
	}
	for _, id := range []uint64{kept.KeyID, other.ID} {
		if err := e.r.KeyByID(id, &k); err != nil {
			t.Fatalf("key %x retired at Open: %v", id, err)
		}
	}
	if got := fmt.Sprint(e.k.Lookup(1)); !strings.Contains(got, fmt.Sprint(kept.KeyID)) {
		t.Fatalf("consumer 1 after Open: %s", got)
	}
}
