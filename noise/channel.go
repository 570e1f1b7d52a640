package noise

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/otkd/otkd/asm/aesctr"
)

// Channel is the simulated fibre of one direction: additive Gaussian noise on the soft
// samples, bit errors on the bytes without soft samples, and per-frame decisions on
// loss, reordering and error bursts, all drawn from the Profile. The simulated line and
// the UDP and AF_XDP lines' receivers use it.
//
// Channel is a simulation only, deterministic under its seed so that tests reproduce,
// and nothing secret may come from it (the receiver's secret noise is Local's job). It
// has two generators, both keyed from the seed:
//
//   - the fibre noise (AddFibreNoise) and the bit errors (BitErrors) take uniform 32-bit
//     words from AES-128-CTR (asm/aesctr, the VAES kernel where the CPU has it), 4 bytes
//     a sample, turned into normal and exponential deviates by fibre.go's kernels. AES
//     is used for its speed on these CPUs and its well-understood output, not for
//     secrecy: key and counter come from the seed by SplitMix64. After 2^32 − 2^10
//     blocks (64 GiB, ≈ 100 s of one direction at line rate) the stream re-keys from
//     its own next chunk, deterministically.
//   - the per-frame decisions (Lose, ReorderDelay, Burst) use a PCG (math/rand/v2).
//
// A Channel is not safe for concurrent use; use one per direction. None of its methods
// allocates (Init of the re-keyed AES stream allocates on CPUs without VAES, once per
// 64 GiB of words).
type Channel struct {
	p     Profile
	sigma float32
	lam   float64 // 1/−ln(1 − BER()): the bit errors' gap per unit of exponential deviate; 0 for none
	rng   rand.PCG

	ks    aesctr.Stream
	pos   int // next unused byte of words
	words [channelBlock]byte
	epos  int // next unused deviate of exp
	exp   [expBatch]float32
}

const (
	// channelBlock is the block of AES-CTR words a Channel draws at once: 4096 words,
	// two frames' fibre noise.
	channelBlock = 16 << 10
	// expBatch is how many exponential deviates BitErrors computes at once.
	expBatch = 64
)

// NewChannel returns the channel of one direction for profile p, seeded with seed (give
// the two directions different seeds). It returns p's validation error if p is invalid.
func NewChannel(p Profile, seed uint64) (*Channel, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &Channel{p: p, sigma: float32(p.FibreSigma)}
	c.rng.Seed(seed, 0x6f746b642d666962) // "otkd-fib": fixed second word of PCG state
	if ber := c.BER(); ber > 0 {
		c.lam = -1 / math.Log1p(-ber)
	}
	var key, iv [16]byte
	x := seed ^ 0x6f746b642d6e6f69 // "otkd-noi": a stream apart from the PCG's
	binary.LittleEndian.PutUint64(key[:8], splitMix64(&x))
	binary.LittleEndian.PutUint64(key[8:], splitMix64(&x))
	binary.LittleEndian.PutUint64(iv[:8], splitMix64(&x))
	binary.LittleEndian.PutUint32(iv[8:12], uint32(splitMix64(&x)))
	c.ks.Init(&key, &iv) // iv[12:16] = 0: the 32-bit block counter starts at 0
	c.pos, c.epos = len(c.words), len(c.exp)
	return c, nil
}

// splitMix64 advances x and returns its next output (Steele, Lea and Flood's SplitMix64).
func splitMix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// refill draws the next block of words, re-keying from the stream's own next chunk
// when its counter range runs out.
func (c *Channel) refill() {
	if c.ks.Remaining() < uint64(len(c.words))+aesctr.Chunk {
		var blk [aesctr.Chunk]byte
		c.ks.Keystream(blk[:])
		var iv [16]byte
		copy(iv[:12], blk[16:28])
		c.ks.Init((*[16]byte)(blk[:16]), &iv)
	}
	c.ks.Keystream(c.words[:])
	c.pos = 0
}

// Profile returns the channel's profile.
func (c *Channel) Profile() Profile { return c.p }

// Latency is the profile's one-way delay in frames; a frame's total delay is
// Latency() + ReorderDelay().
func (c *Channel) Latency() int { return c.p.Latency }

// AddFibreNoise adds N(0, FibreSigma²) to every sample of soft: Box–Muller deviates
// (fibre.go) in blocks of 32 samples, 32 words a block (a last partial block takes
// its 32 words too).
func (c *Channel) AddFibreNoise(soft []Sample) {
	if c.sigma == 0 {
		return
	}
	const blockBytes = 4 * gaussBlock
	for len(soft) > 0 {
		if c.pos == len(c.words) {
			c.refill()
		}
		n := min(len(soft), (len(c.words)-c.pos)/blockBytes*gaussBlock)
		nw := (n + gaussBlock - 1) / gaussBlock * blockBytes
		fibreNoise(soft[:n], c.words[c.pos:c.pos+nw], c.sigma)
		c.pos += nw
		soft = soft[n:]
	}
}

// expDeviate returns the next exponential deviate of the bit errors.
func (c *Channel) expDeviate() float32 {
	if c.epos == len(c.exp) {
		if c.pos == len(c.words) {
			c.refill()
		}
		expDeviates(c.exp[:], c.words[c.pos:c.pos+4*expBatch])
		c.pos += 4 * expBatch
		c.epos = 0
	}
	e := c.exp[c.epos]
	c.epos++
	return e
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
// geometric gap per error, ⌊E/λ⌋ correct bits with E an exponential deviate
// (fibre.go) and λ = −ln(1 − BER): P(gap ≥ k) = e^(−kλ) = (1 − BER)^k. So a
// frame costs a few dozen draws, not one per bit.
func (c *Channel) BitErrors(buf []byte) int {
	if c.lam == 0 {
		return 0
	}
	nbits := 8 * len(buf)
	n := 0
	for pos := -1; ; {
		// The next error is at pos + 1 + ⌊gap⌋; compared as floats, so that a huge
		// gap (a tiny BER) never overflows an int.
		gap := float64(c.expDeviate()) * c.lam
		if gap >= float64(nbits-1-pos) {
			return n
		}
		pos += 1 + int(gap)
		buf[pos/8] ^= 0x80 >> (pos % 8)
		n++
	}
}
