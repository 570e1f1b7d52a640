package keyring

import (
	"errors"
	"fmt"
	"time"
)

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
	// larger rings. Counted in Stats.Exhausted. Connect wraps it in a
	// *WaitError.
	ErrExhausted = errors.New("keyring: keyring exhausted")
	// ErrNotFilled: the current ring is not filled for the current window
	// and Connect could not fill it (no seed yet; it still has bindings of
	// an earlier fill; end B waiting for end A's fill). Counted in
	// Stats.NotReady. Connect wraps it in a *WaitError.
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

// WaitError is a connect refused for now (ErrNotFilled or ErrExhausted): it
// says why and until when the consumer must wait. It unwraps to Err.
type WaitError struct {
	Err    error  // ErrNotFilled or ErrExhausted
	Ring   int    // the ring of the current window
	Window int64  // the current window's index
	Reason string // why the ring cannot serve
	// Until is the start of the next window, when ring NextRing serves
	// (filled for it by then unless seeds are missing too).
	Until    time.Time
	NextRing int
	// Sooner, if set, is what ends the wait before Until ("the link has a
	// seed").
	Sooner string
}

func (e *WaitError) Error() string {
	until := e.Until.UTC().Format(time.RFC3339)
	if e.Sooner != "" {
		return fmt.Sprintf("%v: ring %d (window %d): %s; wait until %s (window %d, ring %d, begins) or until %s",
			e.Err, e.Ring, e.Window, e.Reason, until, e.Window+1, e.NextRing, e.Sooner)
	}
	return fmt.Sprintf("%v: ring %d (window %d): %s; wait until %s (window %d, ring %d, begins)",
		e.Err, e.Ring, e.Window, e.Reason, until, e.Window+1, e.NextRing)
}

// Unwrap returns ErrNotFilled or ErrExhausted.
func (e *WaitError) Unwrap() error { return e.Err }
