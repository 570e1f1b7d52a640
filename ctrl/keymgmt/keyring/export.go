package keyring

import (
	"time"

	"github.com/otkd/otkd/internal/keys"
)

// StateRing is a ring in State.
type StateRing struct {
	Ring   int
	Filled bool
	Epoch  uint64
	SeedID uint64
	Keys   int
	Seed   keys.Seed // zero when not filled
}

// StateBinding is a bound consumer in State.
type StateBinding struct {
	Consumer uint64
	Ring     int
	Slot     uint32
	Epoch    uint64
	SeedID   uint64
	KeyID    uint64
}

// StateSeed is a seed with its id: a kept seed (KeepSeed) in State, or
// a seed of the link a caller holds for the keyring (At: when it came;
// zero when unknown).
type StateSeed struct {
	ID   uint64
	At   time.Time
	Seed keys.Seed
}

// State is a copy of the keyring's state for a backup: rings with their
// seeds, bindings and kept seeds. It holds key material: the caller zeroes
// it with Zero.
type State struct {
	Pool     string
	Window   time.Duration
	Rings    []StateRing
	Bindings []StateBinding
	Kept     []StateSeed
}

// Zero clears the seeds.
func (s *State) Zero() {
	for i := range s.Rings {
		s.Rings[i].Seed.Zero()
	}
	for i := range s.Kept {
		s.Kept[i].Seed.Zero()
	}
}

// Export copies the keyring's state under its lock (ErrClosed after
// Close).
func (k *Keyring) Export() (*State, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	st := &State{Pool: k.cfg.Pool, Window: k.cfg.Window}
	for i, r := range k.rings {
		sr := StateRing{Ring: i, Filled: r.filled, Epoch: r.epoch, SeedID: r.seedID, Keys: len(r.slots)}
		if r.filled {
			sr.Seed = r.seed
		}
		st.Rings = append(st.Rings, sr)
	}
	for _, b := range k.binds {
		st.Bindings = append(st.Bindings, StateBinding{Consumer: b.consumer, Ring: b.ring, Slot: b.slot,
			Epoch: b.epoch, SeedID: b.seedID, KeyID: b.keyID})
	}
	for _, s := range k.kept {
		st.Kept = append(st.Kept, StateSeed{ID: s.id, Seed: s.seed})
	}
	return st, nil
}
