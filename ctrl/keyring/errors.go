package keyring

import "errors"

// Limits.
const (
	// MaxRings bounds Config.Rings.
	MaxRings = 64
	// MaxKeysPerRing bounds Config.KeysPerRing (slot numbers are uint32 on
	// the wire; this keeps a ring's state small).
	MaxKeysPerRing = 1 << 16
)

// Errors. Each is wrapped with the consumer, ring or key id concerned;
// never with key bytes.
var (
	// ErrConfig: a malformed Config, schedule or plan input.
	ErrConfig = errors.New("keyring: bad configuration")
	// ErrNoRing: a ring index outside 0..Config.Rings-1 (Refill).
	ErrNoRing = errors.New("keyring: no such ring")
	// ErrConsumer: consumer id 0 (ids are non-zero).
	ErrConsumer = errors.New("keyring: consumer id must be non-zero")
	// ErrExhausted: the current ring has no unbound key left on this
	// end's half. Keys are never reused; wait for the next window or plan
	// larger rings. Counted in Stats.Exhausted.
	ErrExhausted = errors.New("keyring: keyring exhausted")
	// ErrNotFilled: the current ring was not filled for the current
	// window (it still had bindings when it should have been refilled, or
	// no seed was available). Counted in Stats.NotReady.
	ErrNotFilled = errors.New("keyring: keyring not filled for this window")
	// ErrNotBound: the consumer holds no key.
	ErrNotBound = errors.New("keyring: consumer not bound")
	// ErrBusy: the ring still has bindings (refill), or a connect or
	// disconnect of the same consumer is in progress.
	ErrBusy = errors.New("keyring: busy")
	// ErrInWindow: refilling the ring whose window holds now, while it is
	// already filled for this window, would change keys under the peer.
	ErrInWindow = errors.New("keyring: ring is in its window")
	// ErrSyncMsg: a malformed sync message.
	ErrSyncMsg = errors.New("keyring: malformed sync message")
	// ErrPeer: a well-formed peer binding that does not match this end's
	// keyring (other epoch or seed, a slot of this end's half, a slot
	// already used, a key id this end does not derive).
	ErrPeer = errors.New("keyring: peer binding rejected")
	// ErrCorrupt: the store holds records this package cannot read.
	ErrCorrupt = errors.New("keyring: corrupt store record")
	// ErrFollower: end B that follows end A's fills (Config.Follow) was
	// asked to refill a ring itself.
	ErrFollower = errors.New("keyring: this end fills its rings as end A's fill messages say")
	// ErrClosed: the keyring was closed.
	ErrClosed = errors.New("keyring: closed")
)
