package keyring

import (
	"errors"
	"fmt"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

// Applying the peer's messages (ApplySync). Each apply is idempotent: a
// message applied before a crash, whose sequence number did not reach the
// store, is applied again without effect.

// rejectf is a permanent refusal of m.
func rejectf(m SyncMsg, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrPeer, m, fmt.Sprintf(format, a...))
}

// msgRing returns m's ring if it holds the fill m names and m's slot;
// caller holds mu.
func (k *Keyring) msgRing(m SyncMsg) (*ring, error) {
	if int(m.Ring) >= len(k.rings) {
		return nil, rejectf(m, "no such ring")
	}
	r := k.rings[m.Ring]
	switch {
	case !r.filled || r.epoch != m.Epoch || r.seedID != m.SeedID:
		return nil, rejectf(m, "this end holds epoch %d seed %016x", r.epoch, r.seedID)
	case int(m.Slot) >= len(r.slots):
		return nil, rejectf(m, "no slot %d", m.Slot)
	}
	return r, nil
}

// peerRing is msgRing for a slot of the peer's half.
func (k *Keyring) peerRing(m SyncMsg) (*ring, error) {
	r, err := k.msgRing(m)
	if err == nil && int(m.Slot%2) == k.cfg.Side {
		return nil, rejectf(m, "slot not in the peer's half")
	}
	return r, err
}

// applyBind binds m's consumer to m's key. A consumer bound here to
// another key is the tie-break: end A keeps its binding (and records the
// peer's slot as used); end B yields to A's.
func (k *Keyring) applyBind(m SyncMsg) error {
	k.mu.Lock()
	r, err := k.peerRing(m)
	if err != nil {
		k.mu.Unlock()
		return err
	}
	if b, ok := k.binds[m.Consumer]; ok {
		switch {
		case b.busy:
			k.mu.Unlock()
			return fmt.Errorf("%w: consumer %d is connecting or disconnecting", ErrBusy, m.Consumer)
		case b.ring == int(m.Ring) && b.slot == m.Slot && b.keyID == m.KeyID:
			k.mu.Unlock()
			return nil // applied before
		case k.cfg.Side == 0:
			k.mu.Unlock()
			return k.keepOwn(m)
		}
		b.busy = true
		k.mu.Unlock()
		return k.yield(b, m)
	}
	if r.slots[m.Slot] != slotFree {
		k.mu.Unlock()
		return rejectf(m, "slot already used")
	}
	b := &binding{consumer: m.Consumer, ring: int(m.Ring), slot: m.Slot, epoch: r.epoch, seedID: r.seedID, busy: true}
	r.slots[m.Slot] = slotBound
	r.bound++
	k.binds[m.Consumer] = b
	seed := r.seed
	k.mu.Unlock()
	defer clear(seed[:])
	_, err = k.complete(b, &seed, m.KeyID)
	return err
}

// keepOwn is end A's side of the tie-break: m (B's bind of a consumer A
// bound to another key) is not applied, but m's slot is recorded as used
// here, as B handed its key out. B yields when A's bind reaches it.
func (k *Keyring) keepOwn(m SyncMsg) error {
	if err := k.markUsed(m); err != nil {
		return err
	}
	k.mu.Lock()
	k.stats.TieBreaks++
	k.mu.Unlock()
	return nil
}

// markUsed records m's slot (of the peer's half) as used and released:
// its key was handed out at the peer, so it is never bound here.
func (k *Keyring) markUsed(m SyncMsg) error {
	k.mu.Lock()
	r, err := k.peerRing(m)
	if err != nil {
		k.mu.Unlock()
		return err
	}
	switch r.slots[m.Slot] {
	case slotRetired:
		k.mu.Unlock()
		return nil
	case slotBound:
		k.mu.Unlock()
		return rejectf(m, "slot bound here to another consumer")
	}
	r.slots[m.Slot] = slotRetired // no refill while mu is held; undone below on failure
	k.mu.Unlock()
	err = k.st.Batch(func(tx kstore.Tx) error {
		return tx.Put(k.bSlots, slotKey(int(m.Ring), m.Slot), slotRecord(slotRetired, m.Consumer))
	})
	if err != nil {
		k.mu.Lock()
		if r.filled && r.epoch == m.Epoch && r.seedID == m.SeedID {
			r.slots[m.Slot] = slotFree
		}
		k.mu.Unlock()
		return fmt.Errorf("keyring: persisting used slot %d of ring %d: %w", m.Slot, m.Ring, err)
	}
	return nil
}

// yield is end B's side of the tie-break: B releases its own binding old
// of m's consumer (slot used, key retired and zeroised), binds the
// consumer to A's key, publishes it in the shm slot and tells A (release
// message) in the same transaction. old is marked busy by the caller.
func (k *Keyring) yield(old *binding, m SyncMsg) error {
	var key shm.Key
	defer key.Zero()
	nb, r, err := k.claimPeerSlot(old, m, &key)
	if err != nil {
		return err
	}
	unclaim := func() {
		k.mu.Lock()
		r.slots[m.Slot] = slotFree
		r.bound--
		old.busy = false
		k.mu.Unlock()
	}
	// Publish A's key first (binding it moves the consumer off its old key
	// in the map): if the map cannot take it, nothing changed here, and the
	// message is not acknowledged, so A's resend tries again.
	if err := k.publish(&key); err != nil {
		if rerr := k.pub.Retire(key.ID); rerr == nil || errors.Is(rerr, shm.ErrNotFound) {
			_ = k.pub.Bind(m.Consumer, old.keyID)
		}
		unclaim()
		return fmt.Errorf("keyring: publishing key %016x for consumer %d (tie-break not applied, to be retried): %w", key.ID, m.Consumer, err)
	}
	rel := old.syncMsg(OpRelease)
	queued, err := k.persistYield(old, nb, &rel)
	if err != nil {
		// Put the map back as the store has it: the consumer on its old key.
		_ = k.pub.Bind(m.Consumer, old.keyID)
		k.retirePublished(key.ID)
		unclaim()
		return fmt.Errorf("keyring: persisting tie-break of consumer %d: %w", m.Consumer, err)
	}
	k.mu.Lock()
	or := k.rings[old.ring]
	or.slots[old.slot] = slotRetired
	or.bound--
	k.binds[m.Consumer] = nb
	k.stats.TieBreaks++
	k.stats.PeerBinds++
	nb.busy = false
	if queued {
		k.addOut(rel)
	}
	k.mu.Unlock()
	k.pump()
	k.retirePublished(old.keyID)
	return nil
}

// claimPeerSlot derives into key the key of m's slot (end A's binding),
// checks it is the one A bound, and marks the slot bound for the new
// binding it returns (busy). On error old is no longer busy and nothing
// changed.
func (k *Keyring) claimPeerSlot(old *binding, m SyncMsg, key *shm.Key) (*binding, *ring, error) {
	fail := func(err error) (*binding, *ring, error) {
		old.busy = false
		k.mu.Unlock()
		return nil, nil, err
	}
	k.mu.Lock()
	r, err := k.peerRing(m)
	if err == nil && r.slots[m.Slot] != slotFree {
		err = rejectf(m, "slot already used")
	}
	if err != nil {
		return fail(err)
	}
	seed := r.seed
	k.mu.Unlock()
	defer clear(seed[:])
	nb := &binding{consumer: m.Consumer, ring: int(m.Ring), slot: m.Slot, epoch: m.Epoch, seedID: m.SeedID, busy: true}
	err = k.makeKey(key, nb, &seed, m.KeyID)
	if err == nil && key.ID != m.KeyID {
		err = rejectf(m, "this end derives key %016x (seeds differ)", key.ID)
	}
	k.mu.Lock()
	if err != nil {
		return fail(err)
	}
	if r.slots[m.Slot] != slotFree || !r.filled || r.epoch != m.Epoch || r.seedID != m.SeedID {
		return fail(rejectf(m, "slot already used"))
	}
	nb.keyID = key.ID
	r.slots[m.Slot] = slotBound
	r.bound++
	k.mu.Unlock()
	return nb, r, nil
}

// persistYield stores, in one transaction, old as retired, nb, and (when
// old's slot is of this end's half, so A does not know it) the release
// message for A; queued says whether the message entered the outbox.
func (k *Keyring) persistYield(old, nb *binding, rel *SyncMsg) (queued bool, err error) {
	err = k.st.Batch(func(tx kstore.Tx) error {
		if err := k.putRetired(tx, old); err != nil {
			return err
		}
		if err := k.putBinding(tx, nb); err != nil || int(old.slot%2) != k.cfg.Side {
			return err // a binding of A's half was A's: nothing to tell A
		}
		var err error
		queued, err = k.enqueue(tx, rel)
		return err
	})
	return queued, err
}

// retirePublished removes a retired key from the shm store, or notes it
// for a later attempt.
func (k *Keyring) retirePublished(id uint64) {
	if err := k.pub.Retire(id); err != nil && !errors.Is(err, shm.ErrNotFound) {
		k.mu.Lock()
		k.unretired[id] = true
		k.mu.Unlock()
	}
}

// applyUnbind releases m's consumer. Already released here (the same slot
// used: the consumer also disconnected here, or the message is applied
// again), it is a no-op; so is the unbind of a binding that lost the
// tie-break here. The slot may be of either half: a consumer bound to
// end A's key disconnects at end B.
func (k *Keyring) applyUnbind(m SyncMsg) error {
	err := k.disconnect(m.Consumer, m.KeyID, false)
	if err == nil || !(errors.Is(err, ErrNotBound) || errors.Is(err, ErrPeer)) {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	r, perr := k.msgRing(m)
	if perr != nil {
		return perr
	}
	if r.slots[m.Slot] == slotRetired {
		return nil
	}
	return rejectf(m, "%v", err)
}

// applyRelease (end A) takes end B's word that it released its binding of
// m's consumer to m's key: a binding here to that key is released, else
// the slot is recorded as used.
func (k *Keyring) applyRelease(m SyncMsg) error {
	if k.cfg.Side != 0 {
		return rejectf(m, "only end B releases, and this is end B")
	}
	k.mu.Lock()
	b, ok := k.binds[m.Consumer]
	same := ok && b.ring == int(m.Ring) && b.slot == m.Slot && b.keyID == m.KeyID
	k.mu.Unlock()
	if same {
		return k.disconnect(m.Consumer, m.KeyID, false)
	}
	return k.markUsed(m)
}

// applyFill (end B) fills m's ring for m's epoch from the seed of m's id,
// as end A did. Without Follow (or a SeedFinder) it checks that the ring
// is filled alike.
func (k *Keyring) applyFill(m SyncMsg) error {
	if k.cfg.Side != 1 {
		return rejectf(m, "end A decides the fills, and this is end A")
	}
	if int(m.Ring) >= len(k.rings) || m.Epoch%uint64(len(k.rings)) != uint64(m.Ring) {
		return rejectf(m, "epoch %d is not a window of ring %d of %d", m.Epoch, m.Ring, len(k.rings))
	}
	defer k.pump()
	k.mu.Lock()
	defer k.mu.Unlock()
	r := k.rings[m.Ring]
	if r.filled && r.epoch == m.Epoch && r.seedID == m.SeedID {
		return nil
	}
	n, err := k.window()
	if err != nil {
		return err
	}
	finder, ok := k.src.(SeedFinder)
	switch {
	case m.Epoch+uint64(len(k.rings)) <= uint64(max(n, 0)):
		// Keys of window e are valid until the ring's next turn, e+R.
		return rejectf(m, "the keys of window %d have expired (now window %d)", m.Epoch, n)
	case r.filled && r.epoch > m.Epoch:
		return rejectf(m, "ring filled for the later window %d", r.epoch)
	case !k.cfg.Follow || !ok:
		return rejectf(m, "this end holds epoch %d seed %016x and does not follow end A's fills", r.epoch, r.seedID)
	case r.bound > 0:
		return fmt.Errorf("%w: fill of ring %d waits: %d bindings left", ErrBusy, m.Ring, r.bound)
	}
	if err := k.retryRetire(int(m.Ring)); err != nil {
		return err
	}
	var seed keys.Seed
	defer clear(seed[:])
	// A ring or the kept seeds may hold it (end A often fills several
	// rings from one seed; both survive a restart, unlike most sources).
	if !k.knownSeed(m.SeedID, &seed) {
		src, err := finder.SeedByID(m.SeedID)
		if err != nil {
			return fmt.Errorf("keyring: fill of ring %d: seed %016x: %w", m.Ring, m.SeedID, err)
		}
		if src == nil {
			return fmt.Errorf("keyring: fill of ring %d: seed %016x: source returned none", m.Ring, m.SeedID)
		}
		seed = *src
	}
	if err := k.refillWith(int(m.Ring), m.Epoch, &seed, m.SeedID, false); err != nil {
		return err
	}
	k.stats.PeerFills++
	return nil
}
