package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/shm"
)

// pair is end A and end B (Follow) on one clock, with the sync messages
// each sends held until the test delivers (or drops) them.
type pair struct {
	t    *testing.T
	a, b *env
}

func newPair(t *testing.T, rings, keys int, follow bool) *pair {
	a := newEnv(t, rings, keys, 0)
	b := newEnv(t, rings, keys, 1, func(e *env) {
		e.clk = a.clk
		e.cfg.Follow = follow
	})
	return &pair{t: t, a: a, b: b}
}

// take removes the messages e has sent so far.
func (e *env) take() []SyncMsg {
	e.smu.Lock()
	defer e.smu.Unlock()
	ms := e.syncs
	e.syncs = nil
	return ms
}

// deliver carries from's pending messages (over the wire encoding) to to
// and returns the errors ApplySync returned.
func (p *pair) deliver(from, to *env) []error {
	p.t.Helper()
	var errs []error
	for _, m := range from.take() {
		var got SyncMsg
		if err := got.Unmarshal(m.Marshal()); err != nil {
			p.t.Fatalf("%v does not survive the wire: %v", m, err)
		}
		if err := to.k.ApplySync(got); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// flush delivers both ways until no message is left, and fails on any
// error.
func (p *pair) flush() {
	p.t.Helper()
	for range 10 {
		errs := append(p.deliver(p.a, p.b), p.deliver(p.b, p.a)...)
		if len(errs) > 0 {
			p.t.Fatalf("sync: %v", errs)
		}
		if len(p.a.syncs) == 0 && len(p.b.syncs) == 0 {
			return
		}
	}
	p.t.Fatal("sync messages keep coming")
}

// same checks that consumer c is bound to the same key at both ends (store
// and shm) or unbound at both.
func (p *pair) same(c uint64, bound bool) KeyInfo {
	p.t.Helper()
	ia, errA := p.a.k.Lookup(c)
	ib, errB := p.b.k.Lookup(c)
	if !bound {
		if !errors.Is(errA, ErrNotBound) || !errors.Is(errB, ErrNotBound) {
			p.t.Fatalf("consumer %d: A %v / %v, B %v / %v; want unbound at both", c, ia, errA, ib, errB)
		}
		return KeyInfo{}
	}
	if errA != nil || errB != nil || ia.KeyID != ib.KeyID || ia.Slot != ib.Slot || ia.Ring != ib.Ring {
		p.t.Fatalf("consumer %d: A %+v (%v), B %+v (%v)", c, ia, errA, ib, errB)
	}
	for _, e := range []*env{p.a, p.b} {
		k, err := e.bound(c)
		if err != nil || k.ID != ia.KeyID {
			p.t.Fatalf("consumer %d: side %d publishes %v (%v), want key %016x", c, e.cfg.Side, k, err, ia.KeyID)
		}
	}
	return ia
}

func (e *env) pending(want int) {
	e.t.Helper()
	if n := e.k.SyncPending(); n != want {
		e.t.Fatalf("side %d: %d messages wait for an ack, want %d", e.cfg.Side, n, want)
	}
}

// TestSyncReliable: messages lost with a session are sent again, in
// order, and none is applied twice, also across restarts of either end.
func TestSyncReliable(t *testing.T) {
	p := newPair(t, 2, 16, true)
	p.a.maintain()
	p.flush() // B fills as A did; A's fills are acknowledged
	p.a.pending(0)

	// Two binds lost while the port restarts, then A restarts too.
	p.a.connect(1)
	p.a.connect(2)
	p.a.take()
	p.a.pending(2)
	p.a.reopen()
	p.a.pending(2)
	if err := p.a.k.Disconnect(2); err != nil {
		t.Fatal(err)
	}
	// The next message takes the backlog along, in order; lost again.
	if ms := p.a.take(); len(ms) != 3 || ms[0].Seq+2 != ms[2].Seq || ms[2].Op != OpUnbind {
		t.Fatalf("sent after the restart: %v", ms)
	}
	if n := p.a.k.Resend(); n != 3 {
		t.Fatalf("Resend = %d, want 3", n)
	}
	p.flush()
	p.same(1, true)
	p.same(2, false)
	p.a.pending(0)
	if sa, sb := p.a.k.SyncState(), p.b.k.SyncState(); sa.Pending != 0 || sa.Acked != 5 || sb.PeerStream != sa.Stream || sb.PeerHandled != 5 {
		t.Fatalf("sync state A %+v, B %+v", sa, sb)
	}
	if s := p.b.k.Stats(); s.PeerBinds != 2 || s.Disconnects != 1 || s.PeerRejected != 0 {
		t.Fatalf("B's stats %+v", s)
	}

	// The acks are lost: A sends again, B drops what it handled and acks.
	p.a.connect(3)
	if errs := p.deliver(p.a, p.b); errs != nil {
		t.Fatal(errs)
	}
	p.b.take()
	p.a.pending(1)
	if n := p.a.k.Resend(); n != 1 {
		t.Fatalf("Resend = %d", n)
	}
	p.flush()
	p.a.pending(0)
	if s := p.b.k.Stats(); s.PeerBinds != 3 || s.PeerDuplicates != 1 {
		t.Fatalf("B's stats %+v", s)
	}

	// B restarts after applying, before its ack left: still applied once.
	p.a.connect(4)
	p.deliver(p.a, p.b)
	p.b.take()
	p.b.reopen()
	p.a.k.Resend()
	p.flush()
	p.same(4, true)
	if s := p.b.k.Stats(); s.PeerBinds != 0 || s.PeerDuplicates != 1 {
		t.Fatalf("B's stats after its restart %+v", s)
	}

	// Out of order: the later message waits for the earlier one.
	p.a.connect(5)
	p.a.connect(6)
	ms := p.a.take()
	if err := p.b.k.ApplySync(ms[1]); !errors.Is(err, ErrSyncOrder) {
		t.Fatalf("message #%d before #%d: %v", ms[1].Seq, ms[0].Seq, err)
	}
	for _, m := range ms {
		if err := p.b.k.ApplySync(m); err != nil {
			t.Fatal(err)
		}
	}
	p.flush()
	p.same(5, true)
	p.same(6, true)
	// Applying a message again (a crash before its seq was stored) changes
	// nothing.
	for _, m := range ms {
		if err := p.b.k.apply(m); err != nil {
			t.Fatalf("apply %v again: %v", m, err)
		}
	}
	p.same(6, true)

	// A lost message nobody noticed: ResendStale after the ack timeout.
	p.a.connect(7)
	p.a.take()
	if n := p.a.k.ResendStale(time.Minute); n != 0 {
		t.Fatalf("ResendStale before the timeout: %d", n)
	}
	p.a.clk.add(time.Minute)
	if n := p.a.k.ResendStale(time.Minute); n != 1 {
		t.Fatalf("ResendStale after the timeout: %d", n)
	}
	p.flush()
	p.same(7, true)
	if n := p.a.k.ResendStale(0); n != 0 {
		t.Fatalf("ResendStale with nothing pending: %d", n)
	}

	// Bad acks are refused and change nothing.
	p.a.connect(8)
	p.a.take()
	for _, ack := range []SyncMsg{{Pool: "p", Op: OpAck, Stream: p.b.k.stream, Seq: 1}, {Pool: "p", Op: OpAck, Stream: p.a.k.stream, Seq: 1 << 40}} {
		if err := p.a.k.ApplySync(ack); !errors.Is(err, ErrPeer) {
			t.Fatalf("%v: %v", ack, err)
		}
	}
	p.a.pending(1)
}

// TestTieBreak: a consumer that connects at both ends before either bind
// arrives ends up with end A's key at both; B's key is retired (zeroised
// in its shm map) and its slot used for good at both ends.
func TestTieBreak(t *testing.T) {
	for _, order := range []string{"A's bind first", "B's bind first", "B disconnects first"} {
		t.Run(order, func(t *testing.T) {
			p := newPair(t, 2, 16, true)
			p.a.maintain()
			p.flush()
			var ka, kb KeyInfo
			if order == "A's bind first" {
				ka, kb = p.a.connect(7), p.b.connect(7)
			} else {
				kb, ka = p.b.connect(7), p.a.connect(7)
			}
			if ka.KeyID == kb.KeyID {
				t.Fatal("both ends picked the same key")
			}
			switch order {
			case "A's bind first":
				if errs := p.deliver(p.a, p.b); errs != nil {
					t.Fatal(errs)
				}
			case "B disconnects first":
				if err := p.b.k.Disconnect(7); err != nil {
					t.Fatal(err)
				}
			}
			p.flush()
			got := p.same(7, true)
			if got.KeyID != ka.KeyID {
				t.Fatalf("consumer 7 holds %016x, want A's key %016x", got.KeyID, ka.KeyID)
			}
			var k shm.Key
			if err := p.b.r.KeyByID(kb.KeyID, &k); !errors.Is(err, shm.ErrNotFound) {
				t.Fatalf("B's own key still in its map: %v %v", k, err)
			}
			for _, e := range []*env{p.a, p.b} {
				st, _ := e.k.Status()
				r := st.Rings[kb.Ring]
				if r.Bound != 1 || r.Retired != 1 {
					t.Fatalf("side %d ring %d: %+v; want A's binding and B's used slot", e.cfg.Side, kb.Ring, r)
				}
				if order != "B disconnects first" && st.Stats.TieBreaks != 1 {
					t.Fatalf("side %d: %+v", e.cfg.Side, st.Stats)
				}
			}
			if n := p.b.connect(8); n.Slot == kb.Slot {
				t.Fatalf("B's released slot %d handed out again", n.Slot)
			}
			if err := p.b.k.Disconnect(7); err != nil {
				t.Fatal(err)
			}
			p.flush()
			p.same(7, false)
			p.a.pending(0)
			p.b.pending(0)
		})
	}
}

// TestFillFollowsEndA: with a seed that reached B only after the window
// boundary (and B's own pick skewed), B still fills every ring as A did,
// because it follows A's fill messages by seed id.
func TestFillFollowsEndA(t *testing.T) {
	p := newPair(t, 2, 16, true)
	p.b.src.next = 100                      // B's own pick would differ
	p.b.src.hide = map[uint64]bool{2: true} // and A's second seed is late at B
	p.a.maintain()                          // ring 0 ← seed 1, ring 1 ← seed 2
	if n, err := p.b.k.Maintain(); n != 0 || err != nil {
		t.Fatalf("follower's Maintain = %d, %v", n, err)
	}
	if err := p.b.k.Refill(1); !errors.Is(err, ErrFollower) {
		t.Fatalf("follower's Refill = %v", err)
	}
	errs := p.deliver(p.a, p.b)
	if len(errs) != 1 || permanent(errs[0]) {
		t.Fatalf("fill with a seed not here yet: %v; want one temporary error", errs)
	}
	p.deliver(p.b, p.a)
	p.a.pending(1)
	ka := p.a.connect(3)
	if errs := p.deliver(p.a, p.b); len(errs) != 1 || !errors.Is(errs[0], ErrSyncOrder) {
		t.Fatalf("bind behind the waiting fill: %v", errs)
	}
	p.b.src.mu.Lock()
	p.b.src.hide = nil // the seed arrives
	p.b.src.mu.Unlock()
	p.a.k.Resend()
	p.flush()
	sa, _ := p.a.k.Status()
	sb, _ := p.b.k.Status()
	for i := range sa.Rings {
		ra, rb := sa.Rings[i], sb.Rings[i]
		if !ra.Filled || ra.Epoch != rb.Epoch || ra.SeedID != rb.SeedID || rb.SeedID != uint64(i+1) {
			t.Fatalf("ring %d: A %+v, B %+v", i, ra, rb)
		}
	}
	if got := p.same(3, true); got.KeyID != ka.KeyID {
		t.Fatal("consumer 3's key differs")
	}
	if sb.Stats.PeerFills != 2 {
		t.Fatalf("B's stats %+v", sb.Stats)
	}

	// Next window: ring 1, which B filled late, serves B's connects too.
	p.a.clk.add(time.Hour)
	kb := p.b.connect(4)
	p.flush()
	if got := p.same(4, true); got.KeyID != kb.KeyID || got.Ring != 1 {
		t.Fatalf("consumer 4: %+v", got)
	}

	// A fill for a window that has ended is refused and acknowledged.
	old := SyncMsg{Pool: "p", Op: OpFill, Stream: p.a.k.stream, Seq: p.b.k.inLast + 1, Ring: 0, Epoch: sa.Rings[0].Epoch - 2, SeedID: 9}
	if err := p.b.k.ApplySync(old); !errors.Is(err, ErrPeer) {
		t.Fatalf("stale fill: %v", err)
	}
	if ms := p.b.take(); len(ms) != 1 || ms[0].Op != OpAck || ms[0].Seq != old.Seq {
		t.Fatalf("stale fill answered with %v", ms)
	}
	// End A does not take fills.
	bad := SyncMsg{Pool: "p", Op: OpFill, Stream: 99, Seq: 1, Ring: 0, Epoch: 0, SeedID: 9}
	if err := p.a.k.ApplySync(bad); !errors.Is(err, ErrPeer) {
		t.Fatalf("fill sent to A: %v", err)
	}
}

// TestNoFollowSkew: without Follow, a skewed seed pick is what the fill
// message exposes: B refuses A's fill and binds (ErrPeer), acknowledged.
func TestNoFollowSkew(t *testing.T) {
	p := newPair(t, 2, 16, false)
	p.b.src.next = 100
	p.a.maintain()
	p.b.maintain()
	p.a.connect(3)
	errs := p.deliver(p.a, p.b)
	if len(errs) != 3 {
		t.Fatalf("errors %v; want 2 fills and 1 bind refused", errs)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrPeer) {
			t.Fatal(err)
		}
	}
	p.flush()
	p.a.pending(0)
	if s := p.b.k.Stats(); s.PeerRejected != 3 {
		t.Fatalf("B's stats %+v", s)
	}
}

// TestFollowNeedsFinder: Follow is end B's, with a SeedFinder.
func TestFollowNeedsFinder(t *testing.T) {
	cfg := Config{Pool: "p", Rings: 2, Window: hour, KeysPerRing: 4, Side: 0, KEK: testKEK, Follow: true}
	if _, err := Open(cfg, nil, nil, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("Follow at end A: %v", err)
	}
}

// TestSyncConcurrent: connects and disconnects from many goroutines at
// both ends, messages carried by goroutines that drop some of them, and
// resends racing with all of it: in the end both ends agree on every
// consumer and nothing waits for an ack.
func TestSyncConcurrent(t *testing.T) {
	type wire struct {
		mu   sync.Mutex
		msgs []SyncMsg
		n    int
	}
	var toB, toA wire
	push := func(w *wire) func(SyncMsg) {
		return func(m SyncMsg) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.n++
			if w.n%7 != 0 { // every 7th message is lost
				w.msgs = append(w.msgs, m)
			}
		}
	}
	a := newEnv(t, 2, 512, 0, func(e *env) { e.cfg.OnSync = push(&toB) })
	b := newEnv(t, 2, 512, 1, func(e *env) { e.clk = a.clk; e.cfg.Follow = true; e.cfg.OnSync = push(&toA) })
	carry := func(w *wire, to *env) {
		w.mu.Lock()
		ms := w.msgs
		w.msgs = nil
		w.mu.Unlock()
		for _, m := range ms {
			if err := to.k.ApplySync(m); err != nil && permanent(err) {
				t.Errorf("side %d: %v", to.cfg.Side, err)
			}
		}
	}
	a.maintain()
	stop := make(chan struct{})
	var carriers sync.WaitGroup
	for _, c := range []struct {
		w  *wire
		to *env
	}{{&toB, b}, {&toA, a}} {
		carriers.Add(1)
		go func() {
			defer carriers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				carry(c.w, c.to)
				a.k.Resend()
				b.k.Resend()
			}
		}()
	}
	for _, e := range []*env{a, b} { // B can connect once A's fill reached it
		for _, err := e.k.Connect(1000 + uint64(e.cfg.Side)); err != nil; _, err = e.k.Connect(1000 + uint64(e.cfg.Side)) {
			runtime.Gosched()
		}
	}
	var workers sync.WaitGroup
	for w := range 8 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			e := a
			if w%2 == 1 {
				e = b
			}
			for i := range 20 {
				c := uint64(w/2*100 + i%5 + 1) // workers 2k (A) and 2k+1 (B) share consumers: ties
				if _, err := e.k.Connect(c); err != nil && !errors.Is(err, ErrBusy) {
					t.Error(err)
				}
				if i%3 == 2 {
					if err := e.k.Disconnect(c); err != nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrNotBound) {
						t.Error(err)
					}
				}
			}
		}()
	}
	workers.Wait()
	for a.k.SyncPending() > 0 || b.k.SyncPending() > 0 {
		runtime.Gosched()
	}
	close(stop)
	carriers.Wait()
	t.Logf("tie-breaks: A %d, B %d", a.k.Stats().TieBreaks, b.k.Stats().TieBreaks)
	for c := range uint64(1100) {
		ia, errA := a.k.Lookup(c)
		ib, errB := b.k.Lookup(c)
		if (errA == nil) != (errB == nil) || ia.KeyID != ib.KeyID {
			t.Fatalf("consumer %d: A %+v %v, B %+v %v", c, ia, errA, ib, errB)
		}
	}
}

// TestSyncNewStore: an end whose store is made anew starts a new stream.
// Its first messages lost in transit are not skipped: the receiver waits
// for them (ErrSyncOrder) and the resend brings them. A receiver whose
// store is new starts at the first message the sender has not had
// acknowledged.
func TestSyncNewStore(t *testing.T) {
	p := newPair(t, 2, 16, true)
	p.a.maintain()
	p.flush()
	old := p.a.k.stream

	anew := func(e *env) {
		e.close()
		if err := os.Remove(filepath.Join(e.dir, "ctrl.db")); err != nil {
			t.Fatal(err)
		}
		e.pub = nil
		e.open()
	}
	anew(p.a)
	if p.a.k.stream == old || p.a.k.stream == 0 {
		t.Fatalf("new store, stream %016x (was %016x)", p.a.k.stream, old)
	}
	p.a.maintain() // fills #1, #2: lost
	p.a.take()
	k1 := p.a.connect(1) // #3
	if errs := p.deliver(p.a, p.b); len(errs) != 1 || !errors.Is(errs[0], ErrSyncOrder) {
		t.Fatalf("#3 of a new stream before #1: %v", errs)
	}
	p.a.k.Resend()
	p.flush()
	if got := p.same(1, true); got.KeyID != k1.KeyID {
		t.Fatal("consumer 1's key differs")
	}

	anew(p.b) // B forgets its fills and A's stream
	k2 := p.a.connect(2)
	errs := p.deliver(p.a, p.b) // taken as the start of A's stream; refused (no fill), acknowledged
	if len(errs) != 1 || !errors.Is(errs[0], ErrPeer) {
		t.Fatalf("bind to a new B: %v", errs)
	}
	p.flush()
	p.a.pending(0)
	if _, err := p.b.k.Lookup(k2.Consumer); !errors.Is(err, ErrNotBound) {
		t.Fatalf("new B bound consumer 2: %v", err)
	}
}

// TestLateFill: A's fill and bind reach B only in the next window, while
// the ring's keys are still valid: B fills and binds as A did.
func TestLateFill(t *testing.T) {
	p := newPair(t, 2, 16, true)
	p.a.maintain()
	k1 := p.a.connect(1)
	p.a.take() // lost
	p.a.clk.add(time.Hour)
	p.a.k.Resend()
	p.flush()
	if got := p.same(1, true); got.KeyID != k1.KeyID || got.Epoch != k1.Epoch {
		t.Fatalf("consumer 1: %+v, A bound %+v", got, k1)
	}
}

// TestFillFromRingSeed: end B restarted (its SeedSource holds none of the
// old seeds) still applies a fill whose seed one of its rings holds.
func TestFillFromRingSeed(t *testing.T) {
	p := newPair(t, 2, 16, true)
	p.a.maintain() // ring 0 ← seed 1, ring 1 ← seed 2
	ms := p.a.take()
	if err := p.b.k.ApplySync(ms[0]); err != nil { // B fills ring 0 from seed 1
		t.Fatal(err)
	}
	p.b.reopen()
	p.b.src.mu.Lock()
	p.b.src.hide = map[uint64]bool{1: true, 2: true} // B's source forgot them
	p.b.src.mu.Unlock()
	// A refills ring 1 from seed 1 (seeds are slower than windows).
	fill := ms[1]
	fill.SeedID = 1
	if err := p.b.k.ApplySync(fill); err != nil {
		t.Fatalf("fill from the seed ring 0 holds: %v", err)
	}
	st, _ := p.b.k.Status()
	if r := st.Rings[1]; !r.Filled || r.SeedID != 1 || r.Epoch != fill.Epoch {
		t.Fatalf("ring 1: %+v", r)
	}
}

// TestKeptSeeds: end B keeps the newest MaxKeptSeeds seeds sealed in its
// store; after a restart a fill naming one of them applies, one naming a
// seed dropped from them waits.
func TestKeptSeeds(t *testing.T) {
	p := newPair(t, 2, 16, true)
	for id := uint64(1); id <= MaxKeptSeeds+3; id++ {
		if err := p.b.k.KeepSeed(id, testSeed(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.b.k.KeepSeed(MaxKeptSeeds+3, testSeed(MaxKeptSeeds+3)); err != nil { // again: no-op
		t.Fatal(err)
	}
	p.b.reopen()
	p.b.src.mu.Lock()
	p.b.src.hide = map[uint64]bool{}
	for id := uint64(1); id <= MaxKeptSeeds+3; id++ {
		p.b.src.hide[id] = true // B's source lost them all with the restart
	}
	p.b.src.mu.Unlock()
	if n := len(p.b.k.kept); n != MaxKeptSeeds || p.b.k.kept[0].id != 4 {
		t.Fatalf("%d kept seeds after the restart, first %d", n, p.b.k.kept[0].id)
	}
	p.a.src.next = 2 // A fills ring 0 from seed 3 (dropped at B), ring 1 from seed 4 (kept)
	p.a.maintain()
	ms := p.a.take()
	if err := p.b.k.ApplySync(ms[0]); err == nil || permanent(err) {
		t.Fatalf("fill from a dropped seed: %v; want a wait", err)
	}
	// Fill ring 1 first, as a new stream would start (from its acked mark).
	m := ms[1]
	m.Acked = m.Seq - 1
	if err := p.b.k.ApplySync(m); err != nil {
		t.Fatalf("fill from a kept seed: %v", err)
	}
	st, _ := p.b.k.Status()
	if r := st.Rings[1]; r.SeedID != 4 {
		t.Fatalf("ring 1: %+v", r)
	}
	if err := p.b.k.KeepSeed(0, testSeed(1)); !errors.Is(err, ErrConfig) {
		t.Fatalf("seed id 0: %v", err)
	}
	p.b.close()
	raw, _ := os.ReadFile(filepath.Join(p.b.dir, "ctrl.db"))
	if bytes.Contains(raw, testSeed(4)[:]) {
		t.Fatal("kept seed stored in clear")
	}
}
