package negotiation

import (
	"fmt"
	"math"

	"github.com/otkd/otkd/internal/keys"
)

// SeedBits is the length of a seed key (keys.SeedBits): seeds key ZUC-256.
const SeedBits = keys.SeedBits

// TagBits is the length of the verification tag (truncated HMAC-SM3).
const TagBits = 64

// Params configures one direction's post-processing. Both ends of a
// direction must use equal Params: the Responder re-checks the leftover-hash
// bound with its own copy and rejects a Verify that does not satisfy it. The
// zero value is not valid; start from DefaultParams and change fields.
type Params struct {
	// N is the number of counts per block. Default 4400 (chosen by
	// measurement, docs/postprocessing.md §2). It must be at least
	// 2·SeedBits and at most MaxBlockRounds.
	N int
	// Alpha sets the guard band: counts within mean ± Alpha·std are dropped.
	// Default 0.5.
	Alpha float64
	// Epsilon is the privacy-amplification distance from uniform allowed by
	// the leftover hash lemma. Default and maximum 2^-64.
	Epsilon float64
	// EntropyPerBit is the min-entropy, as seen by an eavesdropper, credited
	// to each kept bit before anything is published. Default 0.5 (see
	// docs/postprocessing.md for the justification). In (0, 1].
	EntropyPerBit float64
	// InitialQBER is the disagreement assumed before any block has been
	// reconciled. Default 0.01. In (0, 0.25].
	InitialQBER float64
	// TargetFailure (one-shot) is the decoding failure probability per
	// block that the initiator aims at when it picks the BCH strength.
	// Default 1e-3.
	TargetFailure float64
	// MaxBlocks bounds the blocks accumulated in one seed attempt (adaptive
	// n). When it is reached without satisfying the bound the attempt is
	// abandoned. Default 16. An attempt also ends (closed with the seeds it
	// allows, or abandoned) when one more block could make its Verify
	// exceed MaxMessageSize.
	MaxBlocks int

	// The fields below have a usable zero value (the default), so that
	// Params built field by field (a configuration file) stay valid.

	// Reconciliation selects the reconciliation protocol: Incremental (the
	// zero value and default) or OneShot (wire format v1 as first
	// published: one syndrome per block, one seed per attempt). A responder
	// refuses the other mode's messages with ErrMismatch.
	Reconciliation Reconciliation
	// Confirm (incremental) is the confirmation margin in bits: the
	// responder accepts a decoding of L disagreements from t odd sums only
	// when m·t − log2 Σ_{i≤L} C(K,i) ≥ Confirm, which bounds a false
	// "decoded" at about 2^−Confirm per step. 0 means DefaultConfirm;
	// otherwise 8 … 64.
	Confirm int
	// Step (incremental) is the number of odd sums each step after the
	// first publishes. 0 means 1; at most 64. The responder checks it.
	Step int
	// FirstStep (incremental) sets the first step's size t0: the number of
	// odd sums that suffice with this probability under the initiator's
	// disagreement estimate. 0 means DefaultFirstStep; otherwise in (0, 1).
	FirstStep float64
	// MinSeeds (incremental) is the number of seeds an attempt waits for:
	// it closes once the bound allows MinSeeds·SeedBits bits (or, with at
	// least one seed, when MaxBlocks or the Verify message size is
	// reached), and yields ⌊Bound/SeedBits⌋ seeds. 0 means
	// DefaultMinSeeds; otherwise 1 … MaxSeeds.
	MinSeeds int
	// MaxSeeds (incremental) caps the seeds of one attempt; bound left
	// over is not extracted. 0 means DefaultMaxSeeds; otherwise 1 … 64.
	// The link controller keeps its 4 newest responder seeds to find the
	// key a peer announces, so an attempt must not yield more than 4.
	MaxSeeds int
}

// Reconciliation is a reconciliation protocol (Params.Reconciliation).
type Reconciliation uint8

const (
	// Incremental publishes BCH power sums a few at a time until the
	// responder decodes consistently; several seeds per attempt.
	Incremental Reconciliation = 0
	// OneShot publishes one BCH syndrome per block sized from the
	// disagreement estimate; one seed per attempt.
	OneShot Reconciliation = 1
)

func (r Reconciliation) String() string {
	switch r {
	case Incremental:
		return "incremental"
	case OneShot:
		return "one-shot"
	}
	return fmt.Sprintf("Reconciliation(%d)", uint8(r))
}

// DefaultMinSeeds and DefaultMaxSeeds are the defaults of Params.MinSeeds
// and Params.MaxSeeds.
const (
	DefaultMinSeeds = 1
	DefaultMaxSeeds = 4
)

// maxSeedsWire bounds the seeds of one attempt (a u8 on the wire, and the
// Release index below it).
const maxSeedsWire = 64

func (p Params) maxSeeds() int {
	if p.MaxSeeds == 0 {
		return DefaultMaxSeeds
	}
	return p.MaxSeeds
}

func (p Params) confirm() int {
	if p.Confirm == 0 {
		return DefaultConfirm
	}
	return p.Confirm
}

func (p Params) step() int {
	if p.Step == 0 {
		return 1
	}
	return p.Step
}

func (p Params) firstStep() float64 {
	if p.FirstStep == 0 {
		return DefaultFirstStep
	}
	return p.FirstStep
}

func (p Params) minSeeds() int {
	if p.MinSeeds == 0 {
		return DefaultMinSeeds
	}
	return p.MinSeeds
}

// MaxBlockRounds bounds Params.N and the round-id span of one block.
const MaxBlockRounds = 16384

// DefaultParams returns the default profile (docs/postprocessing.md).
func DefaultParams() Params {
	return Params{
		N:             4400,
		Alpha:         0.5,
		Epsilon:       math.Ldexp(1, -64),
		EntropyPerBit: 0.5,
		InitialQBER:   0.01,
		TargetFailure: 1e-3,
		MaxBlocks:     16,
	}
}

// Validate reports whether p is usable; the error wraps ErrParams.
func (p Params) Validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s = %v out of range", ErrParams, field, v)
	}
	switch {
	case p.N < 2*SeedBits || p.N > MaxBlockRounds:
		return bad("N", p.N)
	case !(p.Alpha >= 0 && p.Alpha <= 3):
		return bad("Alpha", p.Alpha)
	case !(p.Epsilon > 0 && p.Epsilon <= math.Ldexp(1, -64)):
		return bad("Epsilon", p.Epsilon)
	case !(p.EntropyPerBit > 0 && p.EntropyPerBit <= 1):
		return bad("EntropyPerBit", p.EntropyPerBit)
	case !(p.InitialQBER > 0 && p.InitialQBER <= 0.25):
		return bad("InitialQBER", p.InitialQBER)
	case !(p.TargetFailure > 0 && p.TargetFailure < 1):
		return bad("TargetFailure", p.TargetFailure)
	case p.MaxBlocks < 1 || p.MaxBlocks > maxBlocksLimit:
		return bad("MaxBlocks", p.MaxBlocks)
	case p.Reconciliation != Incremental && p.Reconciliation != OneShot:
		return bad("Reconciliation", p.Reconciliation)
	case p.Confirm != 0 && (p.Confirm < 8 || p.Confirm > 64):
		return bad("Confirm", p.Confirm)
	case p.Step < 0 || p.Step > 64:
		return bad("Step", p.Step)
	case !(p.FirstStep >= 0 && p.FirstStep < 1):
		return bad("FirstStep", p.FirstStep)
	case p.MaxSeeds < 0 || p.MaxSeeds > maxSeedsWire:
		return bad("MaxSeeds", p.MaxSeeds)
	case p.MinSeeds < 0 || p.minSeeds() > p.maxSeeds():
		return bad("MinSeeds", p.MinSeeds)
	}
	return nil
}

// maxBlocksLimit keeps an attempt's bit string within maxAttemptBits.
const maxBlocksLimit = 64
