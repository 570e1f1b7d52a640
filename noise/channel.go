package noise

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// Channel is the simulated fibre of one direction: additive Gaussian noise on the soft
// samples, and per-frame decisions on loss, reordering and error bursts, all drawn from
// the Profile. The simulated line and the UDP line's receiver use it.
//
// Channel is a simulation only. Its randomness is a PCG generator (math/rand/v2), fast
// and deterministic under its seed so that tests reproduce, and not cryptographic:
// nothing secret may come from it (the receiver's secret noise is Local's job).
//
// A Channel is not safe for concurrent use; use one per direction. None of its methods
// allocates.
type Channel struct {
	p     Profile
	sigma float32
	rng   rand.PCG
	spare uint64 // unused half of the last PCG output, for word32, if have
	have  bool
}

// NewChannel returns the channel of one direction for profile p, seeded with seed (give
// the two directions different seeds). It returns p's validation error if p is invalid.
func NewChannel(p Profile, seed uint64) (*Channel, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &Channel{p: p, sigma: float32(p.FibreSigma)}
	c.rng.Seed(seed, 0x6f746b642d666962) // "otkd-fib": fixed second word of PCG state
	return c, nil
}

// Profile returns the channel's profile.
func (c *Channel) Profile() Profile { return c.p }

// Latency is the profile's one-way delay in frames; a frame's total delay is
// Latency() + ReorderDelay().
func (c *Channel) Latency() int { return c.p.Latency }

// AddFibreNoise adds N(0, FibreSigma²) to every sample of soft.
func (c *Channel) AddFibreNoise(soft []Sample) {
	if c.sigma == 0 {
		return
	}
	i := 0
	for ; i+2 <= len(soft); i += 2 {
		w := c.rng.Uint64()
		z0, ok0 := zigFast(uint32(w))
		if !ok0 {
			z0 = zigSlow(uint32(w), c)
		}
		z1, ok1 := zigFast(uint32(w >> 32))
		if !ok1 {
			z1 = zigSlow(uint32(w>>32), c)
		}
		soft[i] += float32(c.sigma * z0)
		soft[i+1] += float32(c.sigma * z1)
	}
	if i < len(soft) {
		soft[i] += float32(c.sigma * gaussian(c.word32(), c))
	}
}

// word32 gives the ziggurat's slow path its extra words.
func (c *Channel) word32() uint32 {
	if c.have {
		c.have = false
		return uint32(c.spare >> 32)
	}
	c.spare = c.rng.Uint64()
	c.have = true
	return uint32(c.spare)
}

// chance reports true with probability q.
func (c *Channel) chance(q float64) bool {
	if q <= 0 {
		return false
	}
	return float64(c.rng.Uint64()>>11)*(1.0/(1<<53)) < q
}

// below returns a number in [0, n) (multiply-high; its bias ≤ n/2^64 does not matter
// to a simulation).
func (c *Channel) below(n uint64) uint64 {
	hi, _ := bits.Mul64(c.rng.Uint64(), n)
	return hi
}

// Lose decides whether the next frame is lost (probability Loss).
func (c *Channel) Lose() bool { return c.chance(c.p.Loss) }

// ReorderDelay returns how many frames the next frame is held back beyond Latency: 0
// when it stays in order; with probability Reorder, uniform in [1, ReorderDepth].
func (c *Channel) ReorderDelay() int {
	if !c.chance(c.p.Reorder) {
		return 0
	}
	return 1 + int(c.below(uint64(c.p.ReorderDepth)))
}

// Burst decides whether the frame in buf gets an error burst (probability Burst) and if
// so replaces each of min(BurstLen, len(buf)) consecutive bytes at a uniform random
// offset with a different random value. It returns the offset and the length of the burst
// (0, 0 when none), so the caller can also disturb the soft samples of those bytes.
func (c *Channel) Burst(buf []byte) (off, n int) {
	if len(buf) == 0 || !c.chance(c.p.Burst) {
		return 0, 0
	}
	n = min(c.p.BurstLen, len(buf))
	off = int(c.below(uint64(len(buf) - n + 1)))
	for i := off; i < off+n; i++ {
		buf[i] ^= byte(1 + c.below(255)) // a non-zero XOR: every byte changes
	}
	return off, n
}

// BER returns the bit error rate of a hard decision on the simulated fibre
// alone: Q(d/σ) with d half the distance between the levels, 0 for a
// noiseless fibre.
func (c *Channel) BER() float64 {
	if c.p.FibreSigma == 0 {
		return 0
	}
	d := float64(c.p.Level1-c.p.Level0) / 2
	return 0.5 * math.Erfc(d/c.p.FibreSigma/math.Sqrt2)
}

// BitErrors flips each bit of buf independently with probability BER(), the
// errors a receiver's hard decision makes on the bytes the line carries
// without soft samples, and returns how many it flipped. It draws one
// geometric gap per error, so a frame costs a few dozen draws, not one per
// bit.
func (c *Channel) BitErrors(buf []byte) int {
	p := c.BER()
	if p <= 0 {
		return 0
	}
	lq := math.Log1p(-p)
	nbits := 8 * len(buf)
	n := 0
	for pos := -1; ; {
		u := (float64(c.rng.Uint64()>>11) + 0.5) * (1.0 / (1 << 53)) // (0, 1)
		pos += 1 + int(math.Log(u)/lq)
		if pos >= nbits || pos < 0 {
			return n
		}
		buf[pos/8] ^= 0x80 >> (pos % 8)
		n++
	}
}
