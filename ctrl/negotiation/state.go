package negotiation

import (
	"fmt"
	"math"
)

// Result is one seed key, identical at both ends of a direction. Its String
// shows the fingerprint, never the seed bytes; the receiver owns Seed and
// should Zero it once the session keys are derived.
type Result struct {
	Seed         Seed
	Attempt      uint32  // the attempt that produced the seed
	Blocks       int     // blocks reconciled into the seed
	KeptBits     int     // reconciled bits L hashed into the seed
	Disagreement float64 // corrected disagreements ÷ KeptBits
	LeakedBits   int     // syndrome + reply + tag bits counted as leaked
	Bound        int     // leftover-hash bound for L and LeakedBits (≥ SeedBits)
	Failures     int     // failed blocks and verifications since the previous seed
}

func (r *Result) String() string {
	return fmt.Sprintf("%v attempt=%d blocks=%d kept=%d disagreement=%.4f leaked=%d bound=%d failures=%d",
		r.Seed, r.Attempt, r.Blocks, r.KeptBits, r.Disagreement, r.LeakedBits, r.Bound, r.Failures)
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
	LeakedBits     int // bits counted as leaked by the seeds made
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
// the ratio of the leak to the Slepian-Wolf limit (1 is ideal).
func (s Stats) Efficiency() float64 {
	e := s.Disagreement()
	if e == 0 || s.Kept == 0 {
		return math.Inf(1)
	}
	return float64(s.SyndromeBits) / (float64(s.Kept) * binaryEntropy(e))
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
	blocks   int    // blocks opened, failed ones included (next block index)
	used     int    // blocks reconciled into bits
	bits     []byte // reconciled bits, one per byte
	leaked   int    // syndrome + reply bits of the used blocks
	errs     int    // corrected disagreements of the used blocks
	failures int    // failures since the previous seed (kept across attempts)
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
	*a = attempt{id: a.id, bits: a.bits[:0], failures: a.failures}
}

// next wipes the attempt and starts attempt id+1.
func (a *attempt) next() {
	a.wipe()
	a.id++
}

func (a *attempt) result(p Params, seed *Seed) *Result {
	r := &Result{
		Seed: *seed, Attempt: a.id, Blocks: a.used, KeptBits: len(a.bits),
		LeakedBits: a.leaked + TagBits, Failures: a.failures,
	}
	r.Bound = Bound(p, r.KeptBits, r.LeakedBits)
	if r.KeptBits > 0 {
		r.Disagreement = float64(a.errs) / float64(r.KeptBits)
	}
	return r
}

// complete reports whether the attempt may be closed: the bound, with the
// tag counted, allows SeedBits.
func (a *attempt) complete(p Params) bool {
	return Bound(p, len(a.bits), a.leaked+TagBits) >= SeedBits
}
