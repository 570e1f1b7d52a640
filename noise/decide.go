package noise

import (
	"encoding/binary"
	"math"
)

// The receiver's decision with secret noise, by inversion.
//
// A sample s with noise σ·Z added, Z ~ N(0, 1), decides 1 when s + σZ > thr, that is
// when Z > t with t = (thr − s)/σ. Only that bit leaves the receiver; the noise value
// itself is never used. So instead of drawing Z and adding it, the decision is drawn
// directly from its exact distribution: P(1) = Q(t), the upper tail of the standard
// normal. With u a uniform 32-bit word and a = |t|:
//
//	t ≥ 0:  decide 1 when u < ⌊2^32·Q(a)⌋       (probability Q(t))
//	t < 0:  decide 1 when u ≥ ⌊2^32·Q(a)⌋       (probability 1 − Q(a) = Q(t))
//
// which is one keystream word per sample, no rejection and no table: the sample-wise
// law of the decisions is that of adding Gaussian noise, up to the error of Q below.
// A NaN sample (or t = 0·∞ when σ is 0 and s = thr) decides 0, as s + σZ > thr is
// false for it; ±∞ decide as their sign says.
//
// Q(a) for a ≥ 0 is Abramowitz & Stegun 26.2.17: Q(a) = φ(a)·(b1·k + b2·k² + b3·k³ +
// b4·k⁴ + b5·k⁵), k = 1/(1 + p·a), φ(a) = e^(−a²/2)/√(2π), with absolute error below
// 7.5e-8 in exact arithmetic; in float32 the alternating terms cost a few roundings
// more, and TestDecisionQ measures at most 2.8e-7 against math.Erfc. A decision's
// probability is therefore off by less than 3e-7 (the disagreement the negotiation
// works with is ~3e-3). The Gaussian factor is 2^y with y = −a²·log2(e)/2, clamped at
// −100 (then Q < 2^−33 and the threshold is 0 anyway), split into n = round(y) and
// f = y − n ∈ [−½, ½]: 2^f by a degree-6 Taylor polynomial in f·ln 2, 2^n by exact
// scaling.
//
// Every step is one float32 operation in a fixed order, with explicit conversions
// wherever a product is followed by a sum, so that no compiler fuses them (FMA): the
// AVX-512 and AVX2 kernels (kernels_amd64.s) run the same operations lane by lane
// (VMULPS, VADDPS, VDIVPS, round to nearest even, exact scaling by 2^n, truncation to
// uint32) and give bit-identical decisions (TestAddAndDecideKernelAgainstGeneric).
const (
	qP  float32 = 0.2316419
	qB1 float32 = 0.319381530
	qB2 float32 = -0.356563782
	qB3 float32 = 1.781477937
	qB4 float32 = -1.821255978
	qB5 float32 = 1.330274429

	qC    float32 = 0.3989422804014327  // 1/√(2π)
	qY    float32 = -0.7213475204444817 // −log2(e)/2
	qYMin float32 = -100

	// (ln 2)^i / i!, i = 1..6: 2^f = 1 + f·(e1 + f·(e2 + … f·e6)).
	qE1 float32 = 0.6931471805599453
	qE2 float32 = 0.2402265069591007
	qE3 float32 = 0.05550410866482158
	qE4 float32 = 0.009618129107628477
	qE5 float32 = 0.0013333558146428443
	qE6 float32 = 0.00015403530393381608

	qTwo32 float32 = 4294967296
	qRound float32 = 1 << 23 * 1.5 // adding and subtracting it rounds to an integer
)

// qConsts is the number of constants the kernel reads from qConstTable.
const qConsts = 17

// qConstTable hands the kernel the very float32 values the Go code uses, in the order
// of its registers Z12..Z29 (Z23 excepted).
var qConstTable = [qConsts]float32{qY, qYMin, qE6, qE5, qE4, qE3, qE2, qE1, 1, qC, qP,
	qB5, qB4, qB3, qB2, qB1, qTwo32}

// decisionThreshold returns ⌊2^32·Q(|t|)⌋ as the kernel computes it, for t not NaN.
func decisionThreshold(t float32) uint32 {
	y := float32(t*t) * qY
	if y < qYMin { // also −∞
		y = qYMin
	}
	n := float32(y+qRound) - qRound // nearest integer, ties to even: |y| ≤ 100 < 2^22
	f := y - n
	p := float32(f * qE6)
	p = float32((p + qE5) * f)
	p = float32((p + qE4) * f)
	p = float32((p + qE3) * f)
	p = float32((p + qE2) * f)
	p = float32((p + qE1) * f)
	p += 1
	// ·2^n, exact: the result lies in [2^−100.5, 2^0.5], a normal float32
	g := float32(p * math.Float32frombits(uint32(int32(n)+127)<<23))
	g = float32(g * qC)
	a := math.Float32frombits(math.Float32bits(t) &^ (1 << 31))
	k := 1 / float32(float32(qP*a)+1)
	r := float32(k * qB5)
	r = float32((r + qB4) * k)
	r = float32((r + qB3) * k)
	r = float32((r + qB2) * k)
	r = float32((r + qB1) * k)
	q := float32(g*r) * qTwo32
	return uint32(q)
}

// decideInv is the decision of one sample s with word w: see the comment above.
func decideInv(s Sample, w uint32, inv, thr float32) byte {
	t := float32((thr - s) * inv)
	if t != t {
		return 0
	}
	b := flag(w < decisionThreshold(t))
	if math.Float32bits(t)>>31 != 0 {
		b ^= 1
	}
	return b
}

// addAndDecideGeneric decides each soft sample under noise of standard deviation 1/inv
// (inv = 1/σ, computed once per round), sample i with keystream word i of ks (little
// endian), and packs the bits MSB-first into out. soft is not modified. The unused low
// bits of a last partial byte are zero. ks holds 4·len(soft) bytes; out holds
// ⌈len(soft)/8⌉ bytes. It is the pure-Go twin of the AVX-512 kernel.
func addAndDecideGeneric(soft []Sample, ks []byte, inv, thr float32, out []byte) {
	n := len(soft)
	ks = ks[:4*n]
	out = out[:(n+7)/8]
	for j := range out {
		var b byte
		for k := 8 * j; k < min(8*j+8, n); k++ {
			b |= decideInv(soft[k], binary.LittleEndian.Uint32(ks[4*k:]), inv, thr) << (7 - k&7)
		}
		out[j] = b
	}
}
