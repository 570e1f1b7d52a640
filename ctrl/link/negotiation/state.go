package negotiation

import (
	"fmt"
	"math"

	"github.com/otkd/otkd/internal/keys"
)

// Result is one seed key, identical at both ends of a direction. Its String
// shows the fingerprint, never the seed bytes; the receiver owns Seed and
// should Zero it once the session keys are derived.
//
// An attempt yields Seeds seeds (one in the one-shot mode), hashed together
// from the same L bits: its Results share every field but Seed and Index.
type Result struct {
	Seed         keys.Seed
	Attempt      uint32  // the attempt that produced the seed
	Index        int     // the seed's index in its attempt, 0 … Seeds−1
	Seeds        int     // seeds of the attempt (Seeds·SeedBits ≤ Bound)
	Blocks       int     // blocks reconciled into the attempt
	KeptBits     int     // reconciled bits L hashed into the attempt's seeds
	Disagreement float64 // corrected disagreements ÷ KeptBits
	LeakedBits   int     // reconciliation + tag bits counted as leaked
	Bound        int     // leftover-hash bound for L and LeakedBits (≥ Seeds·SeedBits)
	Failures     int     // failed blocks and verifications since the previous attempt's seeds
}

func (r *Result) String() string {
	return fmt.Sprintf("%v attempt=%d seed=%d/%d blocks=%d kept=%d disagreement=%.4f leaked=%d bound=%d failures=%d",
		r.Seed, r.Attempt, r.Index, r.Seeds, r.Blocks, r.KeptBits, r.Disagreement, r.LeakedBits, r.Bound, r.Failures)
}

// Stats are one end's counters for a direction; both ends of a healthy
// direction agree on all but Rounds.
type Stats struct {
	Rounds         int // counts added
	Blocks         int // blocks sifted
	Kept           int // kept bits after the intersection, all blocks
	Reconciled     int // kept bits of blocks that decoded
	Errors         int // disagreements corrected (before reconciliation)
	SyndromeBits   int // syndrome and reply bits published, all blocks
	Steps          int // syndrome messages (Syndrome, Step), all blocks
	LeakedBits     int // bits counted as leaked by the verified attempts (reconciliation + tag)
	CreditedBits   int // ⌊EntropyPerBit·L⌋ of the verified attempts
	AmplifyBits    int // ⌈2·log2(1/Epsilon)⌉ of the verified attempts
	Verified       int // attempts whose tags matched (each made ≥ 1 seed)
	Seeds          int
	DecodeFailures int // blocks dropped because decoding failed
	VerifyFailures int // attempts dropped because the tags differed
	Abandoned      int // attempts dropped at MaxBlocks without satisfying the bound
}

// Disagreement is the measured disagreement rate before reconciliation.
func (s Stats) Disagreement() float64 {
	if s.Reconciled == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Reconciled)
}

// Efficiency is f = published reconciliation bits ÷ (kept bits · h(e)),
// the ratio of the leak to the Slepian-Wolf limit (1 is ideal); +Inf before
// any disagreement was corrected.
func (s Stats) Efficiency() float64 {
	e := s.Disagreement()
	if e == 0 || s.Kept == 0 {
		return math.Inf(1)
	}
	return float64(s.SyndromeBits) / (float64(s.Kept) * binaryEntropy(e))
}

// StepsPerBlock is syndrome messages per block (0 before the first block):
// the round trips reconciliation takes.
func (s Stats) StepsPerBlock() float64 {
	if s.Blocks == 0 {
		return 0
	}
	return float64(s.Steps) / float64(s.Blocks)
}

// RoundsPerSeed is counts added ÷ seeds made (0 before the first seed).
func (s Stats) RoundsPerSeed() float64 {
	if s.Seeds == 0 {
		return 0
	}
	return float64(s.Rounds) / float64(s.Seeds)
}

// BoundTerms are the leftover-hash bound's terms averaged per seed, in
// bits: Credited = Reconciliation + Tag + Amplification + Output + Slack,
// where Output is SeedBits and Slack what the attempts' bounds left unused.
type BoundTerms struct {
	Credited       float64 // ⌊η·L⌋: min-entropy credited to the reconciled bits
	Reconciliation float64 // syndrome and reply bits published
	Tag            float64 // verification tag bits
	Amplification  float64 // ⌈2·log2(1/ε)⌉ of the leftover hash lemma
	Output         float64 // SeedBits
	Slack          float64 // credited but not extracted
}

// PerSeed returns the bound's terms per seed over the verified attempts
// (zero before the first seed).
func (s Stats) PerSeed() BoundTerms {
	if s.Seeds == 0 {
		return BoundTerms{}
	}
	n := float64(s.Seeds)
	t := BoundTerms{
		Credited:       float64(s.CreditedBits) / n,
		Reconciliation: float64(s.LeakedBits-s.Verified*TagBits) / n,
		Tag:            float64(s.Verified*TagBits) / n,
		Amplification:  float64(s.AmplifyBits) / n,
		Output:         SeedBits,
	}
	t.Slack = t.Credited - t.Reconciliation - t.Tag - t.Amplification - t.Output
	return t
}

func binaryEntropy(e float64) float64 {
	if e <= 0 || e >= 1 {
		return 0
	}
	return -e*math.Log2(e) - (1-e)*math.Log2(1-e)
}

// attempt accumulates the reconciled blocks of one seed attempt.
type attempt struct {
	id       uint32
	blocks   int         // blocks opened, failed ones included (next block index)
	used     int         // blocks reconciled into bits
	bits     []byte      // reconciled bits, one per byte
	leaked   int         // syndrome + reply bits of the used blocks
	errs     int         // corrected disagreements of the used blocks
	failures int         // failures since the previous seed (kept across attempts)
	seeds    []keys.Seed // a verified attempt's seeds, until released (zeroised then)
	released int         // seeds of seeds already returned
}

// add appends a reconciled block's bits; when the buffer has to grow, the
// old one is zeroised so no copy of key material is left behind.
func (a *attempt) add(bits []byte) {
	if len(a.bits)+len(bits) > cap(a.bits) {
		grown := make([]byte, len(a.bits), 2*(len(a.bits)+len(bits)))
		copy(grown, a.bits)
		clear(a.bits)
		a.bits = grown
	}
	a.bits = append(a.bits, bits...)
}

// wipe zeroises and empties the attempt, keeping its id.
func (a *attempt) wipe() {
	clear(a.bits)
	for i := range a.seeds {
		a.seeds[i].Zero()
	}
	*a = attempt{id: a.id, bits: a.bits[:0], failures: a.failures}
}

// next wipes the attempt and starts attempt id+1.
func (a *attempt) next() {
	a.wipe()
	a.id++
}

// result describes seed index of the attempt's n seeds.
func (a *attempt) result(p Params, seed *keys.Seed, index, n int) *Result {
	r := &Result{
		Seed: *seed, Attempt: a.id, Index: index, Seeds: n, Blocks: a.used, KeptBits: len(a.bits),
		LeakedBits: a.leaked + TagBits, Failures: a.failures,
	}
	r.Bound = Bound(p, r.KeptBits, r.LeakedBits)
	if r.KeptBits > 0 {
		r.Disagreement = float64(a.errs) / float64(r.KeptBits)
	}
	return r
}

// verified records an attempt whose tags matched in s.
func (a *attempt) verified(p Params, s *Stats) {
	s.Verified++
	s.LeakedBits += a.leaked + TagBits
	s.CreditedBits += int(math.Floor(p.EntropyPerBit * float64(len(a.bits))))
	s.AmplifyBits += int(math.Ceil(-2 * math.Log2(p.Epsilon)))
}

// seedsFor is the number of seeds an attempt of l reconciled bits with
// leaked reconciliation bits may yield under p: ⌊Bound/SeedBits⌋ with the
// tag counted (at most 1 in the one-shot mode, at most Params.MaxSeeds), reduced
// until its Verify fits MaxMessageSize; 0 when the bound falls short.
func seedsFor(p Params, l, leaked int) int {
	b := Bound(p, l, leaked+TagBits)
	if b < SeedBits {
		return 0
	}
	n := min(b/SeedBits, p.maxSeeds())
	if p.Reconciliation == OneShot {
		n = 1
	}
	for n > 0 && !verifyFits(p, l, n) {
		n--
	}
	return n
}

// verifyFits reports whether the Verify (one-shot) or VerifySeeds of an
// attempt of l bits and n seeds fits MaxMessageSize.
func verifyFits(p Params, l, n int) bool {
	if p.Reconciliation == OneShot {
		return headerSize+32+toeplitzSeedBytes(l) <= MaxMessageSize
	}
	return verifySeedsFixed+(l+n*SeedBits-1+7)/8 <= MaxMessageSize
}
