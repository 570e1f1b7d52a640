// Package replay is the receiver's anti-replay window over the 32-bit frame
// counter (COUNT) of one key: a sliding bitmap in the manner of RFC 6479
// (as IPsec's and WireGuard's replay filters do it), sized for a frame
// link.
//
// A Filter accepts each COUNT at most once, accepts COUNTs out of order as
// long as they are less than Window behind the highest COUNT accepted so
// far, and refuses older ones. COUNT is the sender's running frame counter
// and wraps at 2^32, so COUNTs are compared in serial-number arithmetic
// (RFC 1982): n is ahead of the highest when n − highest, modulo 2^32, is
// in 1 … 2^31−1. That comparison is exact for the COUNTs of one key, which
// the sender keeps within fewer than 2^31 consecutive values
// (docs/protocol.md, "COUNT limits"): the window never mistakes an old
// frame of the key for a new one across the wrap.
//
// Call Accept only for a frame whose authentication tag verified: the
// window must never move for a forged frame. The zero Filter is ready: it
// has accepted nothing. A Filter is not safe for concurrent use (one RX
// goroutine owns it); Accept does not allocate and runs in constant time
// but for the blocks a forward jump clears (at most Blocks).
package replay

// Geometry of the window.
const (
	blockBits = 64                       // bits per block (one uint64)
	blockLog  = 6                        // log2(blockBits)
	Blocks    = 64                       // blocks in the ring (a power of two)
	Window    = (Blocks - 1) * blockBits // 4032 COUNTs behind the highest are still accepted
	mask      = Blocks - 1
)

// Verdict is what Accept says about a COUNT.
type Verdict uint8

// Verdicts.
const (
	OK     Verdict = iota // new: accepted and recorded
	Replay                // accepted before: a replay or a duplicate
	TooOld                // Window or more behind the highest COUNT accepted
)

func (v Verdict) String() string {
	switch v {
	case OK:
		return "ok"
	case Replay:
		return "replayed"
	case TooOld:
		return "too old"
	}
	return "invalid"
}

// Filter is the window of one key. The bitmap is a ring of Blocks words:
// bit n%64 of word (n/64)%Blocks stands for COUNT n while n is in the
// window. One word more than the window is kept so that moving forward only
// ever clears whole words (the RFC 6479 trick: no shifting of the bitmap).
type Filter struct {
	last    uint32 // highest COUNT accepted
	started bool   // a COUNT was accepted
	ring    [Blocks]uint64
}

// Reset empties the window, as for a key installed afresh.
func (f *Filter) Reset() { *f = Filter{} }

// Accept records COUNT n and returns OK when it is new, or leaves the
// window unchanged and returns Replay or TooOld.
func (f *Filter) Accept(n uint32) Verdict {
	blk := n >> blockLog
	switch ahead := n - f.last; {
	case !f.started:
		f.started, f.last = true, n
	case ahead != 0 && ahead < 1<<31:
		cur := f.last >> blockLog
		// Clear the words between the old highest and the new one; a jump
		// of a whole ring or more clears them all. Word numbers wrap at
		// 2^26 with COUNT.
		d := min((blk-cur)&(1<<(32-blockLog)-1), Blocks)
		for i := uint32(1); i <= d; i++ {
			f.ring[(cur+i)&mask] = 0
		}
		f.last = n
	case f.last-n >= Window:
		return TooOld
	}
	w, bit := &f.ring[blk&mask], uint64(1)<<(n&(blockBits-1))
	if *w&bit != 0 {
		return Replay
	}
	*w |= bit
	return OK
}

// Highest returns the highest COUNT accepted (0 before the first), in
// serial-number order.
func (f *Filter) Highest() uint32 { return f.last }
