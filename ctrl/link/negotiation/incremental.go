package negotiation

import (
	"math"
	"math/bits"
)

// Incremental reconciliation (the default mode): a block of K kept bits is
// one shortened binary BCH chunk over GF(2^m), m = fieldBits(K). The
// initiator publishes the odd power sums S_1, S_3, … of its bits a few at a
// time (Step messages): t0 in the first step, Params.Step in each later
// one, at most incCap(K) in all. After each step the responder adds its own
// power sums (leaving those of the disagreement pattern e), completes the
// even ones (S_2j = S_j²), runs Berlekamp-Massey and accepts the locator Λ
// only when it is consistent and confirmed:
//
//   - deg Λ = L, its linear complexity, L ≤ t (t odd sums received);
//   - Λ has exactly L distinct roots α^{−i} with 0 ≤ i < K (a Chien
//     search over the block's positions only);
//   - m·t − log2 Σ_{i≤L} C(K, i) ≥ Params.Confirm (confirmed).
//
// What gives a false "decoded": the responder accepts ê ≠ e only if ê and e
// share the 2t syndromes, i.e. e ⊕ ê is a word of the BCH code of designed
// distance 2t+1, so w(e) ≥ 2t+1−L > t. For such a heavy e the 2t syndromes
// fall on the syndrome of one of the Σ_{i≤L} C(K,i) patterns of weight ≤ L
// with probability about that number ÷ 2^{m·t} (the syndromes of patterns
// beyond the correction radius spread evenly over the 2^{m·t} values;
// TestFalseDecodeRate measures it), so the third condition bounds a false
// acceptance at 2^−Confirm per step taken. A pattern of weight ≤ t is
// always found exactly. The verification tag catches what gets through.
//
// Leak of a block, counted in full at both ends: m bits per odd sum sent,
// one status bit per reply (decoded or not: the sequence of replies is a
// prefix-free code of the stopping step) and, when decoded, the corrected
// count in bits.Len(t) bits.

// DefaultConfirm is the confirmation margin used when Params.Confirm is 0.
const DefaultConfirm = 20

// DefaultFirstStep is the quantile used when Params.FirstStep is 0.
const DefaultFirstStep = 0.3

// maxIncT bounds the odd sums of one block (a u16 on the wire).
const maxIncT = 4095

// incCap is the most odd sums a block of k bits may publish: beyond
// ⌊η·k/m⌋ a block would leak more than it is credited, so it fails there.
func incCap(p Params, k int) int {
	if k == 0 {
		return 0
	}
	return min(maxIncT, k, max(1, int(p.EntropyPerBit*float64(k))/fieldBits(k)))
}

// incLeak is what a decoded block publishes: m bits per odd sum, one status
// bit per reply and the corrected count (≤ t).
func incLeak(m, t, replies int) int { return m*t + replies + bits.Len(uint(t)) }

// log2Ball returns log2 Σ_{i≤l} C(n, i).
func log2Ball(n, l int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	acc := math.Inf(-1) // natural log of the sum
	for i := 0; i <= min(l, n); i++ {
		v := lg(n) - lg(i) - lg(n-i)
		hi, lo := max(acc, v), min(acc, v)
		acc = hi + math.Log1p(math.Exp(lo-hi))
	}
	return acc / math.Ln2
}

// confirmed reports whether a consistent decoding of l disagreements from t
// odd sums over GF(2^m) in a block of n bits may be accepted.
func confirmed(n, m, t, l, confirm int) bool {
	return float64(m*t)-log2Ball(n, l) >= float64(confirm)
}

// acceptAt is the number of odd sums at which a block of n bits with w
// disagreements is accepted: the smallest t ≥ w that confirms w.
func acceptAt(n, w, confirm int) int {
	m := fieldBits(n)
	t := max(w, 1)
	for !confirmed(n, m, t, w, confirm) {
		t++
	}
	return t
}

// firstStep returns t0 for a block of k bits at disagreement rate q: the
// number of odd sums that suffice with probability ≥ quantile when the
// disagreements are Binomial(k, q), within [1, capT].
func firstStep(k int, q, quantile float64, confirm, capT int) int {
	if k == 0 {
		return 0
	}
	pmf := math.Exp(float64(k) * math.Log1p(-q)) // P(w = 0)
	cdf := pmf
	w := 0
	for cdf < quantile && w < k {
		pmf *= float64(k-w) / float64(w+1) * q / (1 - q)
		w++
		cdf += pmf
	}
	return max(1, min(capT, acceptAt(k, w, confirm)))
}

// incDecoder is the responder's view of one block in incremental mode.
type incDecoder struct {
	f   *field
	n   int      // kept bits K
	syn []uint16 // odd power sums of the disagreement pattern: S_1, S_3, …
}

func newIncDecoder(k int) *incDecoder {
	return &incDecoder{f: gf(fieldBits(k)), n: k}
}

// add folds the initiator's next odd sums (S_{2k+1} from k = len(d.syn))
// into the disagreement pattern's, using this end's bits.
func (d *incDecoder) add(bits []byte, remote []uint16) {
	own := make([]uint16, len(remote))
	d.f.oddSums(own, bits, len(d.syn))
	for i := range own {
		own[i] ^= remote[i]
	}
	d.syn = append(d.syn, own...)
}

// decode returns the positions to flip when the sums received so far give
// a consistent, confirmed decoding (see the file comment), else ok = false.
func (d *incDecoder) decode(confirm int) (pos []int, ok bool) {
	t := len(d.syn)
	full := make([]uint16, 2*t) // full[j-1] = S_j
	for k, s := range d.syn {
		full[2*k] = s
	}
	for j := 2; j <= 2*t; j += 2 {
		full[j-1] = d.f.mul(full[j/2-1], full[j/2-1])
	}
	loc, ok := d.f.berlekampMassey(full, t)
	if !ok {
		return nil, false
	}
	l := len(loc) - 1
	if !confirmed(d.n, d.f.m, t, l, confirm) {
		return nil, false
	}
	if l == 0 {
		return nil, true
	}
	pos, ok = d.f.roots(loc, d.n, l)
	if !ok || len(pos) != l {
		return nil, false
	}
	return pos, true
}
