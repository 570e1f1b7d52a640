// Package negotiation turns the per-round error counts of one direction of
// the otkd key negotiation into identical 256-bit seed keys at both ends, and
// expands seeds into ZUC-128 session keys.
//
// The package is pure logic: no goroutines, no I/O, no clock. Each direction
// has an Initiator (the end that owns the direction's rounds) and a Responder
// (the other end). They exchange typed messages that the caller carries over
// the interaction channel: whatever Handle returns goes to the other end. A
// Handle call returns at most one Result. Every message has
// MarshalBinary/UnmarshalBinary with strict validation; a malformed or
// out-of-order message is rejected with an error and leaves the machine's
// state unchanged.
//
// Two reconciliation modes (Params.Reconciliation, equal at both ends; a
// responder refuses the other mode's messages with ErrMismatch naming it):
//
// Incremental (default): the block of K kept bits is one shortened BCH code
// over GF(2^m), m = ⌈log2(K+1)⌉; the initiator sends its odd power sums a
// few at a time and the responder answers after each step whether its
// decoding is consistent (Berlekamp-Massey locator of degree L with L roots
// among the block's positions) and confirmed (m·t − log2 Σ_{i≤L} C(K,i) ≥
// Params.Confirm, which bounds a false "decoded" at 2^−Confirm per step);
// an attempt yields ⌊Bound/256⌋ seeds (at most Params.MaxSeeds), the first
// at the VerifyReply, each further one after a Release exchange:
//
//	Initiator                                  Responder
//	  Add(round, count) ...                      Add(round, count) ...
//	  N counts -> block: mean, std, guard band
//	  Sift{lo, span, kept bitmap}      ---->     own mean/std/guard band,
//	                                   <----     SiftReply{intersection}
//	  bits = count > mean
//	  Step{K, first 0, t0 odd sums}    ---->     add own sums, BM + Chien,
//	                                   <----     StepReply{more}
//	  Step{K, first t0, Step sums}     ---->     ... until decoded or the cap
//	                                   <----     StepReply{decoded, corrected}
//	  ... more blocks until the bound allows MinSeeds seeds ...
//	  VerifySeeds{n, nonce, tag, Toeplitz} ---->  compare HMAC-SM3 tag,
//	                                   <----     VerifyReply{match}   Result{seed 0}
//	  Result{seed 0}, Release{1}       ---->                          Result{seed 1}
//	                                   <----     ReleaseReply{1}
//	  Result{seed 1} ...
//
// OneShot (wire format v1 as first published): one Syndrome per block with
// t sized from the disagreement estimate, SyndromeReply, one seed per
// attempt (Verify, VerifyReply).
//
// A block whose decoding fails is dropped (its rounds are consumed); a failed
// verification drops the whole attempt and the next one starts with a new
// attempt number. Nothing derived from a failed attempt is ever returned.
// Every published reconciliation bit and the stopping step are counted as
// leaked, the responder recounts them and re-checks the leftover-hash bound
// under its own Params. The design, the measurements and the wire format are
// in docs/postprocessing.md.
//
// The machines are not safe for concurrent use; the caller serialises calls
// (one goroutine per direction is the intended use).
package negotiation
