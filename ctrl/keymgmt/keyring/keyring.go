package keyring

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/keys/kdf"
	"github.com/otkd/otkd/shm"
)

// Publisher is where bound keys are published for the consumers' plugins;
// *shm.Writer satisfies it.
type Publisher interface {
	Put(k *shm.Key) error
	Bind(consumer, id uint64) error
	Retire(id uint64) error
}

var _ Publisher = (*shm.Writer)(nil)

// SeedSource hands out negotiated seeds for refills. Both ends of a link
// must get the same seed (and id) for the same refill; the keyring copies
// the seed and never zeroes the caller's copy.
type SeedSource interface {
	Seed() (seed *keys.Seed, seedID uint64, err error)
}

// SeedFinder is a SeedSource that can also find a seed by its id. End B
// needs one to fill its rings as end A's fill messages say (Config.Follow):
// seed ids name the same seed at both ends. An error (the seed has not
// arrived here yet) makes the fill wait for the peer's resend.
type SeedFinder interface {
	SeedSource
	SeedByID(seedID uint64) (*keys.Seed, error)
}

// Config configures a keyring pool. Fields marked required have no default.
type Config struct {
	// Pool names the consumer pool (required); its state lives in the
	// store under "keyring/<Pool>/...".
	Pool string
	// Rings is R, 2..MaxRings (required).
	Rings int
	// Window is W (required); see ComputePlan for the rule that relates
	// it to the longest session.
	Window time.Duration
	// Origin: window n starts at Origin + n·W; zero means the Unix epoch.
	// Both ends must use the same Origin, Window and Rings.
	Origin time.Time
	// KeysPerRing, 2..MaxKeysPerRing (required): both ends' halves.
	KeysPerRing int
	// Side is this end's half of every ring: 0 (end A) allocates the even
	// slots, 1 (end B) the odd ones, so the two ends never hand out the
	// same key to different consumers.
	Side int
	// Port and Dir label the keys in the shared-memory store.
	Port uint16
	Dir  shm.Dir
	// Alg of the keys; 0 means shm.AlgZUC128. ZUC-128 and SM4 keys are 16
	// bytes, ZUC-256 keys 32.
	Alg shm.Alg
	// KEK seals the ring seeds at rest (16 bytes, required; not kept).
	KEK []byte
	// OnSync, if set, carries messages to the peer: binds and unbinds of
	// local connects and disconnects, fills (end A), releases (end B) and
	// acks. It is called outside the keyring's lock, one call at a time,
	// in sequence order, and again with the same messages after Resend; it
	// should not block, and must not call ApplySync (of this keyring or of
	// a peer keyring in the same process) before returning: queue the
	// message instead. With OnSync set the keyring keeps every message
	// in its store until the peer acknowledges it.
	OnSync func(SyncMsg)
	// Follow (end B only): this end never picks seeds; it fills a ring
	// when end A's fill message says so, with the seed of that id from
	// its SeedSource, which must be a SeedFinder. Without Follow both ends
	// pick seeds themselves and a fill message from A is only checked.
	Follow bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c *Config) check() error {
	switch {
	case CheckPool(c.Pool) != nil:
		return fmt.Errorf("%w: %v", ErrConfig, CheckPool(c.Pool))
	case c.Rings < 2 || c.Rings > MaxRings:
		return fmt.Errorf("%w: %d rings, want 2..%d", ErrConfig, c.Rings, MaxRings)
	case c.Window <= 0:
		return fmt.Errorf("%w: window %v", ErrConfig, c.Window)
	case c.KeysPerRing < 2 || c.KeysPerRing > MaxKeysPerRing:
		return fmt.Errorf("%w: %d keys per ring, want 2..%d", ErrConfig, c.KeysPerRing, MaxKeysPerRing)
	case c.Side != 0 && c.Side != 1:
		return fmt.Errorf("%w: side %d, want 0 or 1", ErrConfig, c.Side)
	case c.Dir > shm.DirBtoA:
		return fmt.Errorf("%w: direction %d", ErrConfig, c.Dir)
	case c.Follow && c.Side != 1:
		return fmt.Errorf("%w: only end B (side 1) follows end A's fills", ErrConfig)
	}
	return nil
}

func keyLen(a shm.Alg) (int, error) {
	switch a {
	case shm.AlgZUC128, shm.AlgSM4:
		return 16, nil
	case shm.AlgZUC256:
		return 32, nil
	}
	return 0, fmt.Errorf("%w: algorithm %d", ErrConfig, a)
}

// Slot states.
const (
	slotFree    = 0
	slotBound   = 1 // bound, or being bound/unbound (see binding.busy)
	slotRetired = 2 // used once, retired and zeroised; never reused
)

// ring is one keyring in memory.
type ring struct {
	filled bool
	epoch  uint64 // window index it was filled for
	seedID uint64
	seed   keys.Seed
	slots  []uint8
	bound  int
	next   int // no free slot of this side below next
}

// binding is a consumer's key.
type binding struct {
	consumer uint64
	ring     int
	slot     uint32
	epoch    uint64
	seedID   uint64
	keyID    uint64 // 0 until derived
	busy     bool   // a connect or disconnect is in flight
}

// Stats counts keyring events since Open.
type Stats struct {
	Connects     uint64
	Disconnects  uint64
	Refills      uint64
	Exhausted    uint64 // connects refused with ErrExhausted
	NotReady     uint64 // connects refused with ErrNotFilled
	PeerBinds    uint64
	PeerRejected uint64
	// PeerDuplicates: peer messages handled before (resent), dropped.
	PeerDuplicates uint64
	// TieBreaks: a consumer bound to different keys at the two ends, settled
	// for end A's key (docs/keyring.md, "Tie-break").
	TieBreaks uint64
	// PeerFills: rings filled as end A's fill message said (end B).
	PeerFills uint64
	// SyncResent: messages handed to OnSync again by Resend.
	SyncResent uint64
}

// Keyring is one consumer pool's set of time-windowed keyrings. Its
// methods are safe for concurrent use: allocation is decided under one
// mutex, while persisting (kstore Batch: concurrent connects share an
// fsync) and publishing run outside it.
type Keyring struct {
	cfg     Config
	st      kstore.Store
	pub     Publisher
	src     SeedSource
	seal    *sealer
	origin  time.Time
	keyLen  int
	bRings  []byte
	bSlots  []byte
	bBind   []byte
	bSync   []byte
	bOut    []byte
	bSeeds  []byte
	mu      sync.Mutex
	rings   []*ring
	binds   map[uint64]*binding
	stats   Stats
	closed  bool
	nowFunc func() time.Time
	// unretired holds ids of released keys whose Retire failed; refill
	// retries them first, as its slot records are their only other trace.
	unretired map[uint64]bool

	// Sync state (outbox.go); under mu unless noted.
	stream     uint64     // own outbox stream id
	acked      uint64     // the peer acknowledged up to this seq
	sent       uint64     // handed to OnSync up to this seq in this round
	out        []SyncMsg  // unacknowledged messages, in seq order
	outTouched time.Time  // last ack progress, resend or first message
	kept       []keptSeed // KeepSeed's, oldest first
	inStream   uint64     // the peer's stream
	inLast     uint64     // its last seq handled here
	sendMu     sync.Mutex // one pump at a time
	recvMu     sync.Mutex // one ApplySync at a time
}

// Open loads the pool's state from st and republishes every bound key
// into pub (retiring keys whose release did not reach pub before a
// crash). st, pub and src stay owned by the caller.
func Open(cfg Config, st kstore.Store, pub Publisher, src SeedSource) (*Keyring, error) {
	if cfg.Alg == 0 {
		cfg.Alg = shm.AlgZUC128
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	kl, err := keyLen(cfg.Alg)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(cfg.KEK)
	if err != nil {
		return nil, err
	}
	k := &Keyring{
		cfg: cfg, st: st, pub: pub, src: src, seal: s, keyLen: kl,
		origin: originOf(cfg.Origin), binds: map[uint64]*binding{}, unretired: map[uint64]bool{},
		bRings:  []byte("keyring/" + cfg.Pool + "/rings"),
		bSlots:  []byte("keyring/" + cfg.Pool + "/slots"),
		bBind:   []byte("keyring/" + cfg.Pool + "/bindings"),
		bSync:   []byte("keyring/" + cfg.Pool + "/sync"),
		bOut:    []byte("keyring/" + cfg.Pool + "/outbox"),
		bSeeds:  []byte("keyring/" + cfg.Pool + "/seeds"),
		nowFunc: cfg.Now,
	}
	k.cfg.KEK = nil
	if k.nowFunc == nil {
		k.nowFunc = time.Now
	}
	for range cfg.Rings {
		k.rings = append(k.rings, &ring{slots: make([]uint8, cfg.KeysPerRing)})
	}
	if cfg.Follow {
		if _, ok := src.(SeedFinder); !ok {
			return nil, fmt.Errorf("%w: Follow needs a SeedSource that is a SeedFinder", ErrConfig)
		}
	}
	if err := k.load(); err != nil {
		k.wipe()
		return nil, err
	}
	if err := k.loadSync(); err != nil {
		k.wipe()
		return nil, err
	}
	if err := k.loadKept(); err != nil {
		k.wipe()
		return nil, err
	}
	if err := k.republish(); err != nil {
		k.wipe()
		return nil, err
	}
	return k, nil
}

// Close zeroises the seeds held in memory. The store and publisher are
// left open; bound keys stay published for the next Open.
func (k *Keyring) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return ErrClosed
	}
	k.closed = true
	k.wipe()
	return nil
}

func (k *Keyring) wipe() {
	for _, r := range k.rings {
		clear(r.seed[:])
	}
	for i := range k.kept {
		clear(k.kept[i].seed[:])
	}
}

// window returns the index of the window holding now.
func (k *Keyring) window() (int64, error) {
	return windowIndex(k.origin, k.cfg.Window, k.nowFunc())
}

func (k *Keyring) windowStart(n uint64) time.Time {
	return k.origin.Add(time.Duration(n) * k.cfg.Window)
}

// target is the window index ring i should be filled for at window n: n
// itself for the current ring, else the ring's next window.
func (k *Keyring) target(n int64, i int) uint64 {
	R := int64(k.cfg.Rings)
	return uint64(n + (int64(i)-n%R+R)%R)
}

// KeyInfo describes a consumer's key without its bytes.
type KeyInfo struct {
	Consumer  uint64
	KeyID     uint64 // the key's id in the shared-memory store
	Ring      int
	Slot      uint32
	Epoch     uint64 // window index the ring was filled for
	SeedID    uint64
	Alg       shm.Alg
	ValidFrom time.Time // start of the ring's window
	ValidTo   time.Time // start of the ring's next turn
}

func (k *Keyring) info(b *binding) KeyInfo {
	return KeyInfo{
		Consumer: b.consumer, KeyID: b.keyID, Ring: b.ring, Slot: b.slot,
		Epoch: b.epoch, SeedID: b.seedID, Alg: k.cfg.Alg,
		ValidFrom: k.windowStart(b.epoch),
		ValidTo:   k.windowStart(b.epoch + uint64(k.cfg.Rings)),
	}
}

// syncMsg is the peer message for b.
func (b *binding) syncMsg(op SyncOp) SyncMsg {
	return SyncMsg{Op: op, Ring: uint8(b.ring), Slot: b.slot, Consumer: b.consumer,
		KeyID: b.keyID, Epoch: b.epoch, SeedID: b.seedID}
}

// Connect binds consumer to an unbound key of the ring whose window holds
// now, persists the binding and publishes the key (bound to consumer) in
// the shared-memory store. A consumer already bound gets its key's info
// again. Keys are never reused: an exhausted ring is ErrExhausted. A ring
// not filled for the current window is filled first when this end picks
// seeds (not Follow) and the ring has no bindings; when it cannot be, the
// connect fails with ErrNotFilled. Both refusals are a *WaitError that
// says why and until when.
func (k *Keyring) Connect(consumer uint64) (KeyInfo, error) {
	if consumer == 0 {
		return KeyInfo{}, ErrConsumer
	}
	defer k.pump() // also a fill made for this connect
	b, seed, err := k.reserve(consumer)
	var be *boundError
	if errors.As(err, &be) {
		return be.info, nil
	}
	if err != nil {
		return KeyInfo{}, err
	}
	defer clear(seed[:])
	info, err := k.complete(b, seed, 0)
	if err != nil {
		return KeyInfo{}, err
	}
	return info, nil
}

// reserve picks and marks a slot for consumer under the lock and returns a
// copy of the ring's seed. For a consumer already bound it returns a
// *boundError with the existing info.
func (k *Keyring) reserve(consumer uint64) (*binding, *keys.Seed, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, nil, ErrClosed
	}
	if b, ok := k.binds[consumer]; ok {
		if b.busy {
			return nil, nil, fmt.Errorf("%w: consumer %d is connecting or disconnecting", ErrBusy, consumer)
		}
		return nil, nil, &boundError{info: k.info(b)}
	}
	n, err := k.window()
	if err != nil {
		return nil, nil, err
	}
	i := int(n % int64(k.cfg.Rings))
	r := k.rings[i]
	if !r.filled || r.epoch != uint64(n) {
		if err := k.fillCurrent(i, n); err != nil {
			k.stats.NotReady++
			return nil, nil, err
		}
	}
	s := r.alloc(k.cfg.Side)
	if s < 0 {
		k.stats.Exhausted++
		return nil, nil, k.waitError(ErrExhausted, i, n, fmt.Sprintf("all %d keys of this end used", r.half(k.cfg.Side)), "")
	}
	b := &binding{consumer: consumer, ring: i, slot: uint32(s), epoch: r.epoch, seedID: r.seedID, busy: true}
	r.slots[s] = slotBound
	r.bound++
	k.binds[consumer] = b
	seed := new(keys.Seed)
	*seed = r.seed
	return b, seed, nil
}

// fillCurrent fills ring i, which serves the current window n but is not
// filled for it, at once if this end may (it picks seeds and the ring has
// no bindings), so that a new pool or a ring whose refill found no seed
// serves as soon as the link has one. Otherwise, or if that fails, it
// returns the *WaitError of ErrNotFilled. Caller holds mu.
func (k *Keyring) fillCurrent(i int, n int64) error {
	r := k.rings[i]
	switch {
	case k.cfg.Follow:
		return k.waitError(ErrNotFilled, i, n, "end A's fill of this ring for this window has not arrived", "its fill message arrives")
	case r.bound > 0:
		return k.waitError(ErrNotFilled, i, n, fmt.Sprintf("%d keys of its fill for window %d are still bound", r.bound, r.epoch),
			"they disconnect")
	}
	if err := k.refill(i, uint64(n)); err != nil {
		var se *seedError
		if errors.As(err, &se) {
			return k.waitError(ErrNotFilled, i, n, se.err.Error(), "the link has a seed")
		}
		return k.waitError(ErrNotFilled, i, n, err.Error(), "")
	}
	return nil
}

// waitError describes a connect that must wait; caller holds mu.
func (k *Keyring) waitError(err error, i int, n int64, reason, sooner string) *WaitError {
	next := uint64(n) + 1
	return &WaitError{Err: err, Ring: i, Window: n, Reason: reason, Sooner: sooner,
		Until: k.windowStart(next), NextRing: int(next % uint64(k.cfg.Rings))}
}

// boundError carries the info of a consumer that is already bound; Connect
// turns it into a successful answer.
type boundError struct{ info KeyInfo }

func (e *boundError) Error() string { return "keyring: consumer already bound" }

// alloc returns the first free slot of side, or -1.
func (r *ring) alloc(side int) int {
	start := r.next
	if start%2 != side {
		start++
	}
	for s := start; s < len(r.slots); s += 2 {
		if r.slots[s] == slotFree {
			r.next = s + 2
			return s
		}
	}
	r.next = len(r.slots)
	return -1
}

// half is the number of slots of side.
func (r *ring) half(side int) int { return (len(r.slots) + 1 - side) / 2 }

// complete derives b's key, checks it against wantID (0: no check),
// publishes the key and then persists the binding (and, for a local
// connect, the bind message for the peer). Publishing comes first: a key
// the map cannot take (full, or its own store failing) leaves nothing
// behind, no binding stored at either end and nothing sent; a binding that
// cannot be stored is taken out of the map again. Either way the
// reservation is released. A crash between the publish and the store
// leaves a pending key in the map that no binding names: Open retires it
// (retireOrphans).
func (k *Keyring) complete(b *binding, seed *keys.Seed, wantID uint64) (KeyInfo, error) {
	var key shm.Key
	defer key.Zero()
	if err := k.makeKey(&key, b, seed, wantID); err != nil {
		k.undo(b)
		return KeyInfo{}, err
	}
	if wantID != 0 && key.ID != wantID {
		k.undo(b)
		return KeyInfo{}, fmt.Errorf("%w: consumer %d: key id %016x, this end derives %016x (seeds differ)", ErrPeer, b.consumer, wantID, key.ID)
	}
	b.keyID = key.ID // b is not shared while busy
	if err := k.publish(&key); err != nil {
		k.unpublish(b)
		return KeyInfo{}, fmt.Errorf("keyring: publishing key %016x for consumer %d (nothing stored, nothing sent): %w", key.ID, b.consumer, err)
	}
	msg, queued, err := k.persist(func(tx kstore.Tx) error { return k.putBinding(tx, b) }, b, OpBind, wantID == 0)
	if err != nil {
		k.unpublish(b)
		return KeyInfo{}, fmt.Errorf("keyring: persisting binding of consumer %d: %w", b.consumer, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if queued {
		k.addOut(msg)
	}
	b.busy = false
	if wantID != 0 {
		k.stats.PeerBinds++
	} else {
		k.stats.Connects++
	}
	return k.info(b), nil
}

// persist stores put's change and, with notify, b's message op for the
// peer in one transaction of the store's batch (concurrent connects and
// disconnects share an fsync), so the change and the message that reports
// it are stored together or not at all; queued says whether the message
// entered the outbox (enqueue).
func (k *Keyring) persist(put func(kstore.Tx) error, b *binding, op SyncOp, notify bool) (msg SyncMsg, queued bool, err error) {
	err = k.st.Batch(func(tx kstore.Tx) error {
		if err := put(tx); err != nil || !notify {
			return err
		}
		msg = b.syncMsg(op)
		var err error
		queued, err = k.enqueue(tx, &msg)
		return err
	})
	return msg, queued, err
}

// unpublish takes b's key out of the map (if it got in) and releases b's
// reservation: nothing of b was stored. A key the map will not retire now
// (its store failing) is not bound to anyone the store knows, so the next
// Open retires it.
func (k *Keyring) unpublish(b *binding) {
	if err := k.pub.Retire(b.keyID); err != nil && !errors.Is(err, shm.ErrNotFound) {
		k.mu.Lock()
		k.unretired[b.keyID] = true
		k.mu.Unlock()
	}
	k.undo(b)
}

func (k *Keyring) publish(key *shm.Key) error {
	consumer := key.Consumer
	key.Consumer = 0
	if err := k.pub.Put(key); err != nil {
		return err
	}
	return k.pub.Bind(consumer, key.ID)
}

// makeKey fills key with b's ring key, unbound in shm terms but with
// Consumer set for publish. Its id is the key's (keys.IDOf), or want when
// want is the legacy id of the same key (legacyKeyID: a binding or a peer
// message of an earlier otkd); want 0 asks for none.
func (k *Keyring) makeKey(key *shm.Key, b *binding, seed *keys.Seed, want uint64) error {
	var m [32]byte
	defer clear(m[:])
	kdf.RingKey(m[:k.keyLen], seed, uint8(b.ring), b.epoch, b.slot)
	if err := key.SetMaterial(m[:k.keyLen]); err != nil {
		return err
	}
	key.ID = keys.IDOf(m[:k.keyLen])
	if want != 0 && want != key.ID && want == legacyKeyID(m[:k.keyLen]) {
		key.ID = want
	}
	key.Port, key.Dir, key.Epoch = k.cfg.Port, k.cfg.Dir, uint8(b.epoch)
	key.State, key.Alg = shm.StatePending, k.cfg.Alg
	key.ValidFrom = k.windowStart(b.epoch).UnixNano()
	key.ValidTo = k.windowStart(b.epoch + uint64(k.cfg.Rings)).UnixNano()
	key.Consumer = b.consumer
	return nil
}

// undo releases a reservation that never reached the store.
func (k *Keyring) undo(b *binding) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := k.rings[b.ring]
	r.slots[b.slot] = slotFree
	r.bound--
	r.next = min(r.next, int(b.slot))
	delete(k.binds, b.consumer)
}

// Disconnect unbinds consumer, records its slot as used for good and
// retires (zeroises) the key in the shared-memory store.
func (k *Keyring) Disconnect(consumer uint64) error {
	return k.disconnect(consumer, 0, true)
}

func (k *Keyring) disconnect(consumer, wantID uint64, notify bool) error {
	if consumer == 0 {
		return ErrConsumer
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return ErrClosed
	}
	b, ok := k.binds[consumer]
	switch {
	case !ok:
		k.mu.Unlock()
		return fmt.Errorf("%w: consumer %d", ErrNotBound, consumer)
	case b.busy:
		k.mu.Unlock()
		return fmt.Errorf("%w: consumer %d is connecting or disconnecting", ErrBusy, consumer)
	case wantID != 0 && b.keyID != wantID:
		k.mu.Unlock()
		return fmt.Errorf("%w: consumer %d is bound to key %016x, not %016x", ErrPeer, consumer, b.keyID, wantID)
	}
	b.busy = true
	k.mu.Unlock()
	// Persist first: after a crash here the restart retires the key.
	msg, queued, err := k.persist(func(tx kstore.Tx) error { return k.putRetired(tx, b) }, b, OpUnbind, notify)
	if err != nil {
		k.mu.Lock()
		b.busy = false
		k.mu.Unlock()
		return fmt.Errorf("keyring: persisting release of consumer %d: %w", consumer, err)
	}
	k.mu.Lock()
	r := k.rings[b.ring]
	r.slots[b.slot] = slotRetired
	r.bound--
	delete(k.binds, consumer)
	k.stats.Disconnects++
	if queued {
		k.addOut(msg)
	}
	k.mu.Unlock()
	k.pump()
	if err := k.pub.Retire(b.keyID); err != nil && !errors.Is(err, shm.ErrNotFound) {
		k.mu.Lock()
		k.unretired[b.keyID] = true
		k.mu.Unlock()
		return fmt.Errorf("keyring: retiring key %016x of consumer %d (released in the store; retried before the next refill and at the next Open): %w", b.keyID, consumer, err)
	}
	return nil
}

// Refill fills ring i with keys derived from a fresh seed (SeedSource.Seed
// is called under the keyring's lock). The ring must have no bindings. Outside its window it is filled for its next window;
// in its window only when it is not yet filled for this window (start-up,
// or after bindings outlived the plan), else ErrInWindow.
func (k *Keyring) Refill(i int) error {
	defer k.pump()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return ErrClosed
	}
	if k.cfg.Follow {
		return fmt.Errorf("%w: ring %d", ErrFollower, i)
	}
	if i < 0 || i >= len(k.rings) {
		return fmt.Errorf("%w: ring %d, this pool has rings 0..%d", ErrNoRing, i, len(k.rings)-1)
	}
	n, err := k.window()
	if err != nil {
		return err
	}
	r := k.rings[i]
	if r.bound > 0 {
		return fmt.Errorf("%w: ring %d has %d bindings", ErrBusy, i, r.bound)
	}
	t := k.target(n, i)
	if t == uint64(n) && r.filled && r.epoch == t {
		return fmt.Errorf("%w: ring %d is in use for window %d", ErrInWindow, i, n)
	}
	return k.refill(i, t)
}

// refill does the work of Refill with a seed from the SeedSource; caller
// holds mu.
func (k *Keyring) refill(i int, epoch uint64) error {
	if err := k.retryRetire(i); err != nil {
		return err
	}
	src, seedID, err := k.src.Seed()
	if err != nil {
		return &seedError{ring: i, err: err}
	}
	if src == nil {
		return &seedError{ring: i, err: errors.New("source returned none")}
	}
	var seed keys.Seed
	seed = *src
	defer clear(seed[:])
	return k.refillWith(i, epoch, &seed, seedID, k.cfg.Side == 0)
}

// seedError is a refill that got no seed from the SeedSource.
type seedError struct {
	ring int
	err  error
}

func (e *seedError) Error() string {
	return fmt.Sprintf("keyring: seed for ring %d: %v", e.ring, e.err)
}
func (e *seedError) Unwrap() error { return e.err }

// retryRetire retries the Retire of released keys that failed before.
func (k *Keyring) retryRetire(i int) error {
	for id := range k.unretired {
		if err := k.pub.Retire(id); err != nil && !errors.Is(err, shm.ErrNotFound) {
			return fmt.Errorf("keyring: ring %d not refilled: released key %016x still not retired: %w", i, id, err)
		}
		delete(k.unretired, id)
	}
	return nil
}

// refillWith fills ring i for epoch from seed (copied) and, when announce
// is set (end A), queues the fill message for the peer in the same
// transaction. Caller holds mu.
func (k *Keyring) refillWith(i int, epoch uint64, seed *keys.Seed, seedID uint64, announce bool) error {
	sealed, err := k.seal.seal(seed, k.sealAD(i, epoch, seedID))
	if err != nil {
		return fmt.Errorf("keyring: sealing seed of ring %d: %w", i, err)
	}
	msg := SyncMsg{Op: OpFill, Ring: uint8(i), Epoch: epoch, SeedID: seedID}
	queued := false
	err = k.st.Update(func(tx kstore.Tx) error {
		if err := k.deleteSlots(tx, i); err != nil {
			return err
		}
		if err := tx.Put(k.bRings, []byte{byte(i)}, encodeRing(epoch, seedID, uint32(k.cfg.KeysPerRing), sealed)); err != nil || !announce {
			return err
		}
		queued, err = k.enqueue(tx, &msg)
		return err
	})
	if err != nil {
		return fmt.Errorf("keyring: persisting refill of ring %d: %w", i, err)
	}
	r := k.rings[i]
	r.filled, r.epoch, r.seedID, r.seed = true, epoch, seedID, *seed
	clear(r.slots)
	r.bound, r.next = 0, 0
	k.stats.Refills++
	if queued {
		k.addOut(msg)
	}
	return nil
}

// Maintain refills every ring that has no bindings and is not filled for
// the window it serves next (the current window for the current ring). It
// returns how many rings it refilled and the errors it met. The daemon
// calls it periodically (Run) and after Disconnect storms if it likes.
//
// An end that follows (Config.Follow) fills rings on its peer's fill
// messages only: for it Maintain does nothing else.
func (k *Keyring) Maintain() (int, error) {
	defer k.pump()
	return k.maintainRings()
}

func (k *Keyring) maintainRings() (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return 0, ErrClosed
	}
	if k.cfg.Follow {
		return 0, nil
	}
	n, err := k.window()
	if err != nil {
		return 0, err
	}
	var errs []error
	done := 0
	for i, r := range k.rings {
		t := k.target(n, i)
		if r.bound > 0 || (r.filled && r.epoch == t) {
			continue
		}
		if err := k.refill(i, t); err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

// Run calls Maintain every period until ctx ends, passing errors to
// onErr (nil: ignored).
func (k *Keyring) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := k.Maintain(); err != nil && onErr != nil && !errors.Is(err, ErrClosed) {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RingStatus describes one ring.
type RingStatus struct {
	Ring        int
	Current     bool // its window holds now
	Filled      bool
	Epoch       uint64    // window index it is filled for
	SeedID      uint64    // seed it was derived from
	WindowStart time.Time // of the window it serves now or next
	WindowEnd   time.Time
	Keys        int // slots, both halves
	Free        int // unbound, unused keys of this end's half
	Bound       int
	Retired     int
}

// Status is a pool's state.
type Status struct {
	Pool    string
	Now     time.Time
	Window  time.Duration
	Side    int
	Current int // ring whose window holds now
	Rings   []RingStatus
	Stats   Stats
}

// Status reports the rings, their windows and their key counts.
func (k *Keyring) Status() (Status, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.nowFunc()
	n, err := windowIndex(k.origin, k.cfg.Window, now)
	if err != nil {
		return Status{}, err
	}
	s := Status{Pool: k.cfg.Pool, Now: now, Window: k.cfg.Window, Side: k.cfg.Side,
		Current: int(n % int64(k.cfg.Rings)), Stats: k.stats}
	for i, r := range k.rings {
		t := k.target(n, i)
		rs := RingStatus{Ring: i, Current: i == s.Current, Filled: r.filled, Epoch: r.epoch, SeedID: r.seedID,
			WindowStart: k.windowStart(t), WindowEnd: k.windowStart(t + 1), Keys: len(r.slots)}
		for j, st := range r.slots {
			switch {
			case st == slotBound:
				rs.Bound++
			case st == slotRetired:
				rs.Retired++
			case r.filled && j%2 == k.cfg.Side:
				rs.Free++
			}
		}
		s.Rings = append(s.Rings, rs)
	}
	return s, nil
}

// Stats returns the event counters.
func (k *Keyring) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Lookup returns consumer's key info.
func (k *Keyring) Lookup(consumer uint64) (KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.binds[consumer]
	if !ok || b.busy {
		return KeyInfo{}, fmt.Errorf("%w: consumer %d", ErrNotBound, consumer)
	}
	return k.info(b), nil
}
