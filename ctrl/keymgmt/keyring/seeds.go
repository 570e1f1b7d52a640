package keyring

import (
	"encoding/binary"
	"fmt"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
)

// Kept seeds: end B keeps the recent seeds of the link (KeepSeed) sealed in
// its store, so that a fill message of end A naming a seed made before B
// restarted can still be applied. Bucket keyring/<pool>/seeds:
//
//	arrival:8 → 1 | seed id:8 | sealed seed:60
//
// sealed under the KEK with additional data "otkd keyring kept seed" 0x00
// pool 0x00 seed-id.

// MaxKeptSeeds bounds the seeds KeepSeed keeps; the oldest go first.
const MaxKeptSeeds = 32

const keptRecLen = 1 + 8 + sealedLen

type keptSeed struct {
	n    uint64 // arrival number (the record's key)
	id   uint64
	seed keys.Seed
}

func (k *Keyring) keptAD(id uint64) []byte {
	ad := []byte("otkd keyring kept seed\x00" + k.cfg.Pool + "\x00")
	return binary.BigEndian.AppendUint64(ad, id)
}

// KeepSeed keeps a copy of a seed of the link (sealed in the store) for
// the fill messages that name it by id; the caller keeps and zeroes its
// copy. Keeping a seed already kept does nothing. End B's controller
// calls it for every seed of the direction the rings are filled from.
func (k *Keyring) KeepSeed(id uint64, seed *keys.Seed) error {
	if id == 0 || seed == nil {
		return fmt.Errorf("%w: seed id 0 or no seed", ErrConfig)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return ErrClosed
	}
	for _, s := range k.kept {
		if s.id == id {
			return nil
		}
	}
	sealed, err := k.seal.seal(seed, k.keptAD(id))
	if err != nil {
		return fmt.Errorf("keyring: sealing kept seed %016x: %w", id, err)
	}
	var n uint64
	drop := max(0, len(k.kept)+1-MaxKeptSeeds)
	err = k.st.Update(func(tx kstore.Tx) error {
		var err error
		if n, err = tx.NextSeq(k.bSeeds); err != nil {
			return err
		}
		for _, s := range k.kept[:drop] {
			if err := tx.Delete(k.bSeeds, binary.BigEndian.AppendUint64(nil, s.n)); err != nil {
				return err
			}
		}
		v := binary.BigEndian.AppendUint64([]byte{recVersion}, id)
		return tx.Put(k.bSeeds, binary.BigEndian.AppendUint64(nil, n), append(v, sealed...))
	})
	if err != nil {
		return fmt.Errorf("keyring: keeping seed %016x: %w", id, err)
	}
	for i := range k.kept[:drop] {
		clear(k.kept[i].seed[:])
	}
	k.kept = append(k.kept[drop:], keptSeed{n: n, id: id, seed: *seed})
	return nil
}

// loadKept reads the kept seeds back; caller is Open.
func (k *Keyring) loadKept() error {
	return k.st.View(func(tx kstore.Tx) error {
		return tx.ForEach(k.bSeeds, func(key, v []byte) error {
			if len(key) != 8 || len(v) != keptRecLen || v[0] != recVersion {
				return corrupt("kept seed record %x", key)
			}
			s := keptSeed{n: binary.BigEndian.Uint64(key), id: binary.BigEndian.Uint64(v[1:])}
			if err := k.seal.open(&s.seed, v[9:], k.keptAD(s.id)); err != nil {
				return fmt.Errorf("kept seed %016x: %w", s.id, err)
			}
			k.kept = append(k.kept, s)
			return nil
		})
	})
}

// knownSeed copies into seed the seed of id that a filled ring or the
// kept seeds hold, if any. Caller holds mu.
func (k *Keyring) knownSeed(id uint64, seed *keys.Seed) bool {
	for _, r := range k.rings {
		if r.filled && r.seedID == id {
			*seed = r.seed
			return true
		}
	}
	for i := len(k.kept) - 1; i >= 0; i-- {
		if k.kept[i].id == id {
			*seed = k.kept[i].seed
			return true
		}
	}
	return false
}
