package keyringsvc

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

// ringEnd is one end of the keyring as otkd run wires it: a seedSource on
// an injected clock, a real store and shm map, and its outgoing messages.
type ringEnd struct {
	seeds *seedSource
	ring  *keyring.Keyring
	w     *shm.Writer
	mu    sync.Mutex
	out   [][]byte
}

func newRingEnd(t *testing.T, side int, window time.Duration, now func() time.Time) *ringEnd {
	t.Helper()
	return newPoolEnd(t, "default", side, window, now)
}

// newPoolEnd is newRingEnd for pool name.
func newPoolEnd(t *testing.T, name string, side int, window time.Duration, now func() time.Time) *ringEnd {
	t.Helper()
	dir := t.TempDir()
	e := &ringEnd{seeds: newSeedSource()}
	e.seeds.now = now
	st, err := kstore.Open(filepath.Join(dir, "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if e.w, err = shm.Create(shm.Options{Path: filepath.Join(dir, "keys"), Slots: 64, Heartbeat: -1}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.w.Close() })
	e.ring, err = keyring.Open(keyring.Config{
		Pool: name, Rings: 2, Window: window, KeysPerRing: 8, Side: side, Follow: side == 1,
		KEK: bytes.Repeat([]byte{3}, 16), Now: now,
		OnSync: func(m keyring.SyncMsg) { e.mu.Lock(); e.out = append(e.out, m.Marshal()); e.mu.Unlock() },
	}, st, e.w, e.seeds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.ring.Close() })
	return e
}

// deliver hands from's messages to to, as the link and the keyring worker
// do, and returns the errors.
func (from *ringEnd) deliver(to *ringEnd) []error {
	from.mu.Lock()
	out := from.out
	from.out = nil
	from.mu.Unlock()
	var errs []error
	for _, b := range out {
		var m keyring.SyncMsg
		err := m.Unmarshal(b)
		if err == nil {
			err = to.ring.ApplySync(m)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// TestRingFillSkew: a seed reaches end A half a second before a window
// boundary and end B half a second after. B never picks a seed: following
// A's fill message it fills from the same one, and a consumer bound at A
// gets the same key at B.
func TestRingFillSkew(t *testing.T) {
	const w = 10 * time.Second
	base := time.Unix(1_000_000, 0) // a window boundary
	var mu sync.Mutex
	now := base.Add(-3 * time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	a, b := newRingEnd(t, 0, w, clock), newRingEnd(t, 1, w, clock)
	seed := func(v byte, atA, atB time.Time) uint64 {
		var s keys.Seed
		s[0] = v
		a.seeds.add(link.SeedEvent{Direction: keys.AtoB, Seed: &s, At: atA})
		b.seeds.add(link.SeedEvent{Direction: keys.AtoB, Seed: &s, At: atB})
		return (&s).ID()
	}
	seed(1, base.Add(-9*time.Second), base.Add(-9*time.Second))
	late := seed(2, base.Add(-time.Second/2), base.Add(time.Second/2)) // the skew
	set(base.Add(time.Second))
	if _, err := a.ring.Maintain(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.ring.Maintain(); n != 0 || err != nil {
		t.Fatalf("B fills by itself: %d, %v", n, err)
	}
	for range 3 {
		if errs := append(a.deliver(b), b.deliver(a)...); errs != nil {
			t.Fatal(errs)
		}
	}
	sa, _ := a.ring.Status()
	sb, _ := b.ring.Status()
	for i := range sa.Rings {
		if ra, rb := sa.Rings[i], sb.Rings[i]; !rb.Filled || ra.Epoch != rb.Epoch || ra.SeedID != rb.SeedID || ra.SeedID != late {
			t.Fatalf("ring %d: A %+v, B %+v (late seed %016x)", i, ra, rb, late)
		}
	}
	ka, err := a.ring.Connect(7)
	if err != nil {
		t.Fatal(err)
	}
	if errs := a.deliver(b); errs != nil {
		t.Fatal(errs)
	}
	kb, err := b.ring.Lookup(7)
	if err != nil || kb.KeyID != ka.KeyID {
		t.Fatalf("B holds %+v (%v), A bound %+v", kb, err, ka)
	}

	// A seed B has not got yet: the fill waits (not acknowledged) and is
	// applied when it is resent after the seed arrived.
	set(base.Add(w + time.Second))
	if err := a.ring.Disconnect(7); err != nil {
		t.Fatal(err)
	}
	var s3 keys.Seed
	s3[0] = 3
	a.seeds.add(link.SeedEvent{Direction: keys.AtoB, Seed: &s3, At: base.Add(w - time.Second)})
	if _, err := a.ring.Maintain(); err != nil { // ring 0 for window base+2w, from seed 3
		t.Fatal(err)
	}
	errs := a.deliver(b)
	if len(errs) != 1 || !errors.Is(errs[0], errSeedNotHere) {
		t.Fatalf("fill with a seed B lacks: %v", errs)
	}
	b.seeds.add(link.SeedEvent{Direction: keys.AtoB, Seed: &s3, At: base.Add(w)})
	if n := a.ring.Resend(); n == 0 {
		t.Fatal("nothing to resend")
	}
	for range 3 {
		if errs := append(a.deliver(b), b.deliver(a)...); errs != nil {
			t.Fatal(errs)
		}
	}
	sa, _ = a.ring.Status()
	sb, _ = b.ring.Status()
	if ra, rb := sa.Rings[0], sb.Rings[0]; ra.SeedID != (&s3).ID() || rb.SeedID != ra.SeedID || rb.Epoch != ra.Epoch {
		t.Fatalf("ring 0: A %+v, B %+v", ra, rb)
	}
	if a.ring.SyncPending() != 0 {
		t.Fatalf("%d messages unacknowledged", a.ring.SyncPending())
	}
	ya, yb := keyringSyncOf("default", a.ring), keyringSyncOf("default", b.ring)
	if ya.Side != "A" || yb.Side != "B" || ya.Pending != 0 || yb.PeerStream != ya.Stream || yb.PeerHandled != ya.Acked ||
		yb.PeerFills != 3 || yb.PeerBinds != 1 || ya.PeerStream != "" {
		t.Fatalf("sync state: A %+v, B %+v", ya, yb)
	}
}

// TestSeedByID: the held seed of an id, a copy; an unknown id is
// errSeedNotHere.
func TestSeedByID(t *testing.T) {
	s := newSeedSource()
	var sd keys.Seed
	sd[0] = 5
	s.add(link.SeedEvent{Direction: keys.AtoB, Seed: &sd, At: time.Unix(1, 0)})
	got, err := s.SeedByID((&sd).ID())
	if err != nil || *got != sd {
		t.Fatalf("SeedByID = %v, %v", got, err)
	}
	got[0] = 9
	if again, _ := s.SeedByID((&sd).ID()); again[0] != 5 {
		t.Fatal("SeedByID returned the held seed, not a copy")
	}
	if _, err := s.SeedByID(1); !errors.Is(err, errSeedNotHere) {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestFollowerRefillConflict: asking end B to refill is a conflict for the
// API, with the keyring's reason.
func TestFollowerRefillConflict(t *testing.T) {
	err := ringErr(fmt.Errorf("%w: ring 1", keyring.ErrFollower))
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "end A's fill messages") {
		t.Fatalf("ringErr(ErrFollower) = %v", err)
	}
}
