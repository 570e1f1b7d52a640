package negotiation

import (
	"math"
	"math/bits"
)

// Bound returns the longest privacy-amplification output that the leftover
// hash lemma allows for kept reconciled bits of which leaked bits' worth of
// information is public:
//
//	floor(EntropyPerBit·kept) − leaked − ceil(2·log2(1/Epsilon))
//
// Min-entropy conditioned on ℓ public bits drops by at most ℓ (chain rule),
// and a universal hash to out bits is ε-close to uniform when
// out ≤ H_min − 2·log2(1/ε) (the lemma gives 2 bits of slack which are not
// claimed). A negative result means nothing can be extracted.
func Bound(p Params, kept, leaked int) int {
	h := int(math.Floor(p.EntropyPerBit * float64(kept)))
	return h - leaked - int(math.Ceil(-2*math.Log2(p.Epsilon)))
}

// syndromeLeak is the number of bits a Syndrome with t corrections per chunk
// publishes about a block of k bits.
func syndromeLeak(k, t int) int { return chunkCount(k) * t * gfBits }

// replyLeak is what a SyndromeReply publishes: one status bit and the
// number of corrected bits, at most chunks·t.
func replyLeak(k, t int) int { return 1 + bits.Len(uint(chunkCount(k)*t)) }

// blockLeak is everything a reconciled block publishes about its bits.
func blockLeak(k, t int) int { return syndromeLeak(k, t) + replyLeak(k, t) }

// binomialTail returns P(X > t) for X ~ Binomial(n, q).
func binomialTail(n, t int, q float64) float64 {
	if t >= n {
		return 0
	}
	if q <= 0 {
		return 0
	}
	pmf := math.Exp(float64(n) * math.Log1p(-q)) // P(X = 0)
	cdf := pmf
	for k := 0; k < t; k++ {
		pmf *= float64(n-k) / float64(k+1) * q / (1 - q)
		cdf += pmf
	}
	return max(0, 1-cdf)
}

// chooseT returns the smallest t such that every chunk of a k-bit block
// decodes with probability ≥ 1−target when its bits disagree independently
// with probability q (the failure budget is split over the chunks).
func chooseT(k int, q, target float64) int {
	if k == 0 {
		return 0
	}
	c := chunkCount(k)
	_, n := chunkBounds(k, 0) // the largest chunk
	limit := min(maxT, max(1, n/2))
	for t := 1; t < limit; t++ {
		if binomialTail(n, t, q) <= target/float64(c) {
			return t
		}
	}
	return limit
}

// qberEstimator keeps a conservative estimate of the disagreement rate from
// the last qberWindow reconciled blocks, starting from a prior worth
// qberPriorBits bits at Params.InitialQBER: the estimate is the pooled rate
// plus two standard errors.
type qberEstimator struct {
	errs, bits [qberWindow]int
	next, n    int
}

const (
	qberWindow    = 32
	qberPriorBits = 1024
)

func (e *qberEstimator) record(errs, bits int) {
	e.errs[e.next], e.bits[e.next] = errs, bits
	e.next = (e.next + 1) % qberWindow
	e.n = min(e.n+1, qberWindow)
}

// rate is the pooled disagreement rate (the estimate without its margin).
func (e *qberEstimator) rate(prior float64) float64 {
	E, B := prior*qberPriorBits, float64(qberPriorBits)
	for i := 0; i < e.n; i++ {
		E += float64(e.errs[i])
		B += float64(e.bits[i])
	}
	return min(0.5, E/B)
}

func (e *qberEstimator) estimate(prior float64) float64 {
	E, B := prior*qberPriorBits, float64(qberPriorBits)
	for i := 0; i < e.n; i++ {
		E += float64(e.errs[i])
		B += float64(e.bits[i])
	}
	q := E / B
	return min(0.5, q+2*math.Sqrt(q*(1-q)/B))
}
