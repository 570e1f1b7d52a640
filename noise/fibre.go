package noise

import (
	"encoding/binary"
	"math"
)

// The simulated fibre's Gaussian noise and the exponential deviates of its bit errors,
// both from uniform 32-bit words (Channel draws them from AES-128-CTR, see Channel).
//
// Why otkd computes these itself: the fibre model needs ≈ 163 M normal deviates a
// second per direction at line rate, added to float32 samples in caller-owned buffers,
// deterministic under a seed and identical on every engine. No Go library offers a
// vectorised normal generator: math/rand/v2's NormFloat64 is a scalar ziggurat that
// yields one float64 per call, and the scalar ziggurat over PCG this package used
// before cost ≈ 1.8 ns a sample, 3.6 µs of the channel model's 4.9 µs a frame. So the
// deviates come from the closed-form method below, written once in Go
// (fibreNoiseGeneric, expDeviate) and once per vector kernel (fibre_amd64.s), with
// bit-identical results.
//
// # Exponential deviates: E = −ln u
//
// A word w gives x = w >> 1 (31 bits) and u = (x + ½)/2^31 ∈ (0, 1), never 0 nor 1.
// −ln u is computed in float32 from one of two exact representations of u, so that
// it keeps its relative precision at both ends (E near 0 matters for the gaps of a
// small bit error rate, E large for the tails of the normal):
//
//	u < ¾  (x < 3·2^29):  f = float32(x) + ½, u = f·2^−31 = 2^k·m with m ∈ [√½, √2):
//	                       ln u = k·ln 2 + 2·atanh(s), s = (m − 1)/(m + 1)
//	u ≥ ¾:                 d = 1 − u = (x′ + ½)/2^31, x′ = 2^31 − 1 − x < 2^29:
//	                       ln u = ln(1 − d) = 2·atanh(s), s = −d/(2 − d)
//
// In both cases |s| ≤ 0.172, and 2·atanh(s) = 2s·(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9)
// with a truncation error below 3e−9 relative. ln 2 is split into a 9-bit head (so
// that k·ln2hi is exact) and a tail. TestExpDeviateAccuracy measures the relative
// error against float64 −ln u over the whole range: a few float32 ulps. E ranges over
// [−ln(1 − 2^−32), −ln 2^−32] ≈ [2.3e−10, 22.2]: P(E > t) = e^−t exactly on the grid of
// u, so the law is Exp(1) up to that grid and float32 rounding.
//
// # Normal deviates: Box–Muller
//
// A block of gaussBlock = 32 samples takes 32 words: word k (k < 16) is the radius
// word of pair k, word 16 + k its angle word, and pair k gives samples k and 16 + k
// (the layout lets a 16-lane kernel take a whole block, and an 8-lane kernel half a
// block, in straight vector loads). With E from the radius word and the angle word b:
//
//	r = √(2E)                          (a Rayleigh radius: P(r > t) = e^(−t²/2))
//	θ = (2⌊b/8⌋ + 1)·π/2^32 ∈ (0, π/4)  (29 bits, the centre of each step)
//	(c, s) = (cos θ, sin θ)            Taylor polynomials to θ^10 and θ^9
//	bit 0 of b swaps c and s; bits 1 and 2 negate the first and second
//
// The eight symmetries of the square map the octant (0, π/4) onto the whole circle,
// one octant each, so the angle is uniform on [0, 2π) and (r·c, r·s) is a pair of
// independent N(0, 1) deviates (Box and Muller, 1958): the law is exact up to the
// 2^−31 and 2^−29 grids of the uniforms and float32 rounding. |z| ≤ √(2·22.2) ≈ 6.7;
// P(|z| > 6.7) ≈ 2e−11 of the law is cut. Sample i then gets soft[i] += (σ·r)·c′ (or
// ·s′), with the sign of the symmetry.
//
// Every step is one float32 operation in a fixed order with an explicit conversion
// wherever a product feeds a sum, so that no compiler fuses them (FMA); division and
// square root are IEEE correctly rounded; integer-to-float conversions round to
// nearest even. The kernels run the same operations lane by lane and give
// bit-identical samples (TestFibreKernelAgainstGeneric, TestExpDeviatesKernelAgainstGeneric).

// gaussBlock is the number of samples of one Box–Muller block, and of words it takes.
const gaussBlock = 32

// The constants of expDeviate and fibreNoiseGeneric, as float32. The kernels read the
// very same values from fibreConstTable.
const (
	ldHalf    float32 = 0.5
	ldScale   float32 = 0x1p-31 // u = f·2^−31
	ldTwo     float32 = 2
	ldOne     float32 = 1
	ldA3      float32 = 1.0 / 3
	ldA5      float32 = 1.0 / 5
	ldA7      float32 = 1.0 / 7
	ldA9      float32 = 1.0 / 9
	ldLn2Hi   float32 = 0.693359375         // 355/512: k·ln2hi is exact for |k| < 2^15
	ldLn2Lo   float32 = -2.12194440e-4      // ln 2 − ln2hi
	bmAngle   float32 = math.Pi / (1 << 32) // θ = (2j + 1)·π/2^32
	bmSin3    float32 = -1.0 / 6
	bmSin5    float32 = 1.0 / 120
	bmSin7    float32 = -1.0 / 5040
	bmSin9    float32 = 1.0 / 362880
	bmCos2    float32 = -1.0 / 2
	bmCos4    float32 = 1.0 / 24
	bmCos6    float32 = -1.0 / 720
	bmCos8    float32 = 1.0 / 40320
	bmCos10   float32 = -1.0 / 3628800
	ldSqrt2Mb         = 0x3504F3  // mantissa bits of float32(√2)
	ldUpper           = 3 << 29   // x ≥ ldUpper: u ≥ ¾
	ldMask31          = 1<<31 - 1 // x′ = ldMask31 − x
)

// fibreConsts is the number of float32 constants the kernels read from fibreConstTable.
const fibreConsts = 20

// fibreConstTable hands the kernels the float32 constants in this order (the layout
// kernels_amd64.s indexes).
var fibreConstTable = [fibreConsts]float32{
	ldHalf, ldScale, ldTwo, ldOne, ldA3, ldA5, ldA7, ldA9, ldLn2Hi, ldLn2Lo,
	bmAngle, bmSin3, bmSin5, bmSin7, bmSin9, bmCos2, bmCos4, bmCos6, bmCos8, bmCos10,
}

// expDeviate returns −ln u for the word w, u = ((w >> 1) + ½)/2^31: an Exp(1) deviate
// (see the comment above).
func expDeviate(w uint32) float32 {
	x := w >> 1
	var num, den, k float32
	if x >= ldUpper {
		d := float32(float32(int32(ldMask31-x))+ldHalf) * ldScale
		num, den = -d, ldTwo-d
	} else {
		b := math.Float32bits(float32(int32(x)) + ldHalf)
		e := int32(b>>23) - (127 + 31)
		mb := b & 0x7FFFFF
		if mb >= ldSqrt2Mb {
			mb |= 0x3F000000 // m/2 ∈ [√½, 1)
			e++
		} else {
			mb |= 0x3F800000 // m ∈ [1, √2)
		}
		m := math.Float32frombits(mb)
		num, den, k = m-ldOne, m+ldOne, float32(e)
	}
	s := num / den
	z := float32(s * s)
	p := float32(ldA9 * z)
	p = float32((p + ldA7) * z)
	p = float32((p + ldA5) * z)
	p = float32((p + ldA3) * z)
	p += ldOne
	l := float32((s + s) * p)
	l += float32(k * ldLn2Lo)
	l += float32(k * ldLn2Hi)
	return -l
}

// boxMuller returns the two deviates of the pair with radius word a and angle word b.
func boxMuller(a, b uint32, sigma float32) (z1, z2 float32) {
	e := expDeviate(a)
	r := float32(math.Sqrt(float64(e + e)))
	x := float32(float32(int32(b>>2|1)) * bmAngle)
	x2 := float32(x * x)
	p := float32(bmSin9 * x2)
	p = float32((p + bmSin7) * x2)
	p = float32((p + bmSin5) * x2)
	p = float32((p + bmSin3) * x2)
	s := x + float32(x*p)
	q := float32(bmCos10 * x2)
	q = float32((q + bmCos8) * x2)
	q = float32((q + bmCos6) * x2)
	q = float32((q + bmCos4) * x2)
	q = float32((q + bmCos2) * x2)
	c := ldOne + q
	if b&1 != 0 {
		c, s = s, c
	}
	rs := float32(sigma * r)
	z1 = math.Float32frombits(math.Float32bits(float32(rs*c)) ^ (b>>1&1)<<31)
	z2 = math.Float32frombits(math.Float32bits(float32(rs*s)) ^ (b>>2&1)<<31)
	return z1, z2
}

// fibreNoiseGeneric adds σ·N(0, 1) to each sample of soft, block by block: block j
// takes words[128j : 128j+128] (32 little-endian words) and samples soft[32j : 32j+32];
// a last partial block of m < 32 samples still takes 32 words and adds the first m of
// its 32 deviates. words holds 128·⌈len(soft)/32⌉ bytes. It is the pure-Go twin of the
// fibre kernels.
func fibreNoiseGeneric(soft []Sample, words []byte, sigma float32) {
	for len(soft) > 0 {
		w := words[:4*gaussBlock]
		var z [gaussBlock]float32
		for k := range gaussBlock / 2 {
			z[k], z[k+gaussBlock/2] = boxMuller(binary.LittleEndian.Uint32(w[4*k:]),
				binary.LittleEndian.Uint32(w[4*(k+gaussBlock/2):]), sigma)
		}
		m := min(len(soft), gaussBlock)
		for i := range m {
			soft[i] += z[i]
		}
		soft, words = soft[m:], words[4*gaussBlock:]
	}
}

// expDeviatesGeneric sets out[i] = expDeviate(word i of words) (little endian); words
// holds 4·len(out) bytes. It is the pure-Go twin of the exponential kernels.
func expDeviatesGeneric(out []float32, words []byte) {
	for i := range out {
		out[i] = expDeviate(binary.LittleEndian.Uint32(words[4*i:]))
	}
}
