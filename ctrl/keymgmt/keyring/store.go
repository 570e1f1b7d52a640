package keyring

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/shm"
)

// Store records (all integers big-endian, first byte a record version):
//
//	rings/<ring:1>         1 | keys:4 | epoch:8 | seedID:8 | sealed seed:60
//	slots/<ring:1><slot:4> 1 | state:1 | consumer:8
//	bindings/<consumer:8>  1 | ring:1 | slot:4 | epoch:8 | seedID:8 | keyID:8
//
// A slot without a record is free. A refill rewrites the ring record and
// deletes the ring's slot records in one transaction.
const recVersion = 1

const (
	ringRecLen = 1 + 4 + 8 + 8 + sealedLen
	slotRecLen = 1 + 1 + 8
	bindRecLen = 1 + 1 + 4 + 8 + 8 + 8
)

func encodeRing(epoch, seedID uint64, keys uint32, sealed []byte) []byte {
	b := []byte{recVersion}
	b = binary.BigEndian.AppendUint32(b, keys)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint64(b, seedID)
	return append(b, sealed...)
}

func (k *Keyring) sealAD(ring int, epoch, seedID uint64) []byte {
	ad := []byte("otkd keyring seed\x00" + k.cfg.Pool + "\x00")
	ad = append(ad, byte(ring))
	ad = binary.BigEndian.AppendUint64(ad, epoch)
	return binary.BigEndian.AppendUint64(ad, seedID)
}

func slotKey(ring int, slot uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(ring)}, slot)
}

func slotRecord(state uint8, consumer uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{recVersion, state}, consumer)
}

func (k *Keyring) putBinding(tx kstore.Tx, b *binding) error {
	if err := tx.Put(k.bSlots, slotKey(b.ring, b.slot), slotRecord(slotBound, b.consumer)); err != nil {
		return err
	}
	w := []byte{recVersion, byte(b.ring)}
	w = binary.BigEndian.AppendUint32(w, b.slot)
	w = binary.BigEndian.AppendUint64(w, b.epoch)
	w = binary.BigEndian.AppendUint64(w, b.seedID)
	w = binary.BigEndian.AppendUint64(w, b.keyID)
	return tx.Put(k.bBind, binary.BigEndian.AppendUint64(nil, b.consumer), w)
}

func (k *Keyring) putRetired(tx kstore.Tx, b *binding) error {
	if err := tx.Put(k.bSlots, slotKey(b.ring, b.slot), slotRecord(slotRetired, b.consumer)); err != nil {
		return err
	}
	return tx.Delete(k.bBind, binary.BigEndian.AppendUint64(nil, b.consumer))
}

func (k *Keyring) deleteSlots(tx kstore.Tx, ring int) error {
	var keys [][]byte
	err := tx.ForEach(k.bSlots, func(key, _ []byte) error {
		if len(key) == 5 && int(key[0]) == ring {
			keys = append(keys, append([]byte(nil), key...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := tx.Delete(k.bSlots, key); err != nil {
			return err
		}
	}
	return nil
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// load rebuilds the in-memory state from the store.
func (k *Keyring) load() error {
	return k.st.View(func(tx kstore.Tx) error {
		if err := tx.ForEach(k.bRings, k.loadRing); err != nil {
			return err
		}
		if err := tx.ForEach(k.bSlots, k.loadSlot); err != nil {
			return err
		}
		return tx.ForEach(k.bBind, k.loadBinding)
	})
}

func (k *Keyring) loadRing(key, v []byte) error {
	if len(key) != 1 || int(key[0]) >= len(k.rings) {
		return corrupt("ring key %x (configured %d rings)", key, len(k.rings))
	}
	if len(v) != ringRecLen || v[0] != recVersion {
		return corrupt("ring %d record", key[0])
	}
	if n := binary.BigEndian.Uint32(v[1:]); int(n) != k.cfg.KeysPerRing {
		return fmt.Errorf("%w: ring %d was filled with %d keys, configured %d (refill after changing the size)", ErrConfig, key[0], n, k.cfg.KeysPerRing)
	}
	r := k.rings[key[0]]
	r.epoch = binary.BigEndian.Uint64(v[5:])
	r.seedID = binary.BigEndian.Uint64(v[13:])
	if err := k.seal.open(&r.seed, v[21:], k.sealAD(int(key[0]), r.epoch, r.seedID)); err != nil {
		return fmt.Errorf("ring %d: %w", key[0], err)
	}
	r.filled = true
	return nil
}

func (k *Keyring) loadSlot(key, v []byte) error {
	if len(key) != 5 || int(key[0]) >= len(k.rings) || len(v) != slotRecLen || v[0] != recVersion {
		return corrupt("slot record %x", key)
	}
	r := k.rings[key[0]]
	s := binary.BigEndian.Uint32(key[1:])
	if int(s) >= len(r.slots) || (v[1] != slotBound && v[1] != slotRetired) {
		return corrupt("slot record %x", key)
	}
	r.slots[s] = v[1]
	if v[1] == slotBound {
		r.bound++
	}
	return nil
}

func (k *Keyring) loadBinding(key, v []byte) error {
	if len(key) != 8 || len(v) != bindRecLen || v[0] != recVersion {
		return corrupt("binding record %x", key)
	}
	b := &binding{
		consumer: binary.BigEndian.Uint64(key),
		ring:     int(v[1]),
		slot:     binary.BigEndian.Uint32(v[2:]),
		epoch:    binary.BigEndian.Uint64(v[6:]),
		seedID:   binary.BigEndian.Uint64(v[14:]),
		keyID:    binary.BigEndian.Uint64(v[22:]),
	}
	if b.ring >= len(k.rings) {
		return corrupt("binding of consumer %d: ring %d", b.consumer, b.ring)
	}
	r := k.rings[b.ring]
	if int(b.slot) >= len(r.slots) || r.slots[b.slot] != slotBound || r.epoch != b.epoch || r.seedID != b.seedID {
		return corrupt("binding of consumer %d does not match ring %d", b.consumer, b.ring)
	}
	k.binds[b.consumer] = b
	return nil
}

// republish puts every bound key into the publisher again, retires the
// keys of retired slots (a release that crashed before reaching it) and
// the keys no binding names (retireOrphans).
func (k *Keyring) republish() error {
	nb := 0
	for _, r := range k.rings {
		nb += r.bound
	}
	if nb != len(k.binds) {
		return corrupt("%d bound slots, %d bindings", nb, len(k.binds))
	}
	var key shm.Key
	defer key.Zero()
	for _, b := range k.binds {
		if err := k.makeKey(&key, b, &k.rings[b.ring].seed, b.keyID); err != nil {
			return err
		}
		if key.ID != b.keyID {
			return corrupt("consumer %d: stored key id %016x, derived %016x", b.consumer, b.keyID, key.ID)
		}
		if err := k.publish(&key); err != nil {
			return fmt.Errorf("keyring: republishing key %016x of consumer %d: %w", b.keyID, b.consumer, err)
		}
	}
	for i, r := range k.rings {
		for s, st := range r.slots {
			if st != slotRetired {
				continue
			}
			b := &binding{ring: i, slot: uint32(s), epoch: r.epoch}
			if err := k.makeKey(&key, b, &r.seed, 0); err != nil {
				return err
			}
			for _, id := range []uint64{key.ID, legacyKeyID(key.Material())} {
				if err := k.pub.Retire(id); err != nil && !errors.Is(err, shm.ErrNotFound) {
					return fmt.Errorf("keyring: retiring released key %016x: %w", id, err)
				}
			}
		}
	}
	return k.retireOrphans()
}

// retireOrphans retires the pending keys of this pool's port and direction
// in the map that no binding names: left by a connect that crashed between
// its publish and its store (complete publishes first). Only keyrings
// publish pending keys, and one pool publishes in a map (ctrl/daemon/config), so
// such a key is this pool's. A publisher that cannot list its keys (not a
// *shm.Writer) is left as it is.
func (k *Keyring) retireOrphans() error {
	l, ok := k.pub.(interface{ Keys() []shm.KeyInfo })
	if !ok {
		return nil
	}
	live := map[uint64]bool{}
	for _, b := range k.binds {
		live[b.keyID] = true
	}
	for _, ki := range l.Keys() {
		if ki.State != shm.StatePending || ki.Port != k.cfg.Port || ki.Dir != k.cfg.Dir || live[ki.ID] {
			continue
		}
		if err := k.pub.Retire(ki.ID); err != nil && !errors.Is(err, shm.ErrNotFound) {
			return fmt.Errorf("keyring: retiring key %016x that no binding names: %w", ki.ID, err)
		}
	}
	return nil
}
