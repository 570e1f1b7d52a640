package negotiation

import (
	"math"
	"math/rand/v2"
)

// simProfile models the round algebra of docs/protocol.md ("The round protocol") for one
// direction. Per round each receiver draws its local noise deviation
// uniformly in [LocalLo, LocalHi]; a negotiation bit sent at level ±Level
// crosses the fibre (Gaussian, deviation Fibre), gets the receiver's local
// noise and is decided by sign. The initiator's count is
// E1 = popcount(errA(XB2) ⊕ errB(XA1)) and the responder's
// E2 = popcount(errB(XA2) ⊕ errA(XB1)) over M-bit arrays: the four error
// patterns are independent given the two deviations, and each bit of E is an
// error of exactly one of the two receivers, so E1 and E2 are independent
// Binomial(M, p) with p = pA(1−pB) + pB(1−pA), pX = Q(Level/√(Fibre²+σX²)).
// The correlation of the two counts comes only from the shared (σA, σB).
type simProfile struct {
	Level, Fibre      float64
	LocalLo, LocalHi  float64
	M                 int
	Faithful          bool    // draw every bit's Gaussian noise instead of the binomial
	RoundLossFraction float64 // rounds missing at the responder only
}

func defaultSim() simProfile {
	return simProfile{Level: 1, Fibre: 0.3, LocalLo: 0.3, LocalHi: 0.8, M: 496}
}

type simulator struct {
	p   simProfile
	rng *rand.Rand
	id  uint32
}

func newSim(p simProfile, seed uint64) *simulator {
	return &simulator{p: p, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func qfunc(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// round returns the next round id and the initiator's and responder's counts.
func (s *simulator) round() (uint32, int, int) {
	p := s.p
	sa := p.LocalLo + (p.LocalHi-p.LocalLo)*s.rng.Float64()
	sb := p.LocalLo + (p.LocalHi-p.LocalLo)*s.rng.Float64()
	s.id++
	if p.Faithful {
		return s.id, s.xorCount(sa, sb), s.xorCount(sb, sa)
	}
	pa := qfunc(p.Level / math.Hypot(p.Fibre, sa))
	pb := qfunc(p.Level / math.Hypot(p.Fibre, sb))
	q := pa*(1-pb) + pb*(1-pa)
	return s.id, s.binomial(p.M, q), s.binomial(p.M, q)
}

// xorCount draws popcount(err_x(array1) ⊕ err_y(array2)) bit by bit.
func (s *simulator) xorCount(sx, sy float64) int {
	n := 0
	for range s.p.M {
		e1 := s.decideWrong(sx)
		e2 := s.decideWrong(sy)
		if e1 != e2 {
			n++
		}
	}
	return n
}

// decideWrong sends a random level, adds fibre and local noise, decides.
func (s *simulator) decideWrong(local float64) bool {
	level := s.p.Level
	if s.rng.IntN(2) == 0 {
		level = -level
	}
	v := level + s.p.Fibre*s.rng.NormFloat64() + local*s.rng.NormFloat64()
	return (v > 0) != (level > 0)
}

// binomial draws Binomial(n, q) by inversion.
func (s *simulator) binomial(n int, q float64) int {
	u := s.rng.Float64()
	pmf := math.Pow(1-q, float64(n))
	cdf := pmf
	k := 0
	for cdf < u && k < n {
		pmf *= float64(n-k) / float64(k+1) * q / (1 - q)
		k++
		cdf += pmf
	}
	return k
}
