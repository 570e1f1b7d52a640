// Package negotiation turns the per-round error counts of one direction of
// the otkd key negotiation into identical 256-bit seed keys at both ends, and
// expands seeds into ZUC-128 session keys.
//
// The package is pure logic: no goroutines, no I/O, no clock. Each direction
// has an Initiator (the end that owns the direction's rounds) and a Responder
// (the other end). They exchange typed messages (Sift, SiftReply, Syndrome,
// SyndromeReply, Verify, VerifyReply) that the caller carries over the
// interaction channel. Every message has MarshalBinary/UnmarshalBinary with
// strict validation; a malformed or out-of-order message is rejected with an
// error and leaves the machine's state unchanged.
//
// Pipeline of one seed attempt (sequential; one block in flight at a time):
//
//	Initiator                                  Responder
//	  Add(round, count) ...                      Add(round, count) ...
//	  N counts -> block: mean, std, guard band
//	  Sift{lo, span, kept bitmap}      ---->     own mean/std/guard band,
//	                                   <----     SiftReply{intersection}
//	  bits = count > mean
//	  Syndrome{t, BCH syndromes}       ---->     add syndromes, BM + Chien,
//	                                   <----     SyndromeReply{ok, corrected}
//	  ... more blocks until the leftover-hash bound allows 256 bits ...
//	  Verify{nonce, tag, Toeplitz seed} ---->    compare HMAC-SM3 tag,
//	                                   <----     VerifyReply{match}
//	  Result{Seed}                               Result{Seed}
//
// A block whose decoding fails is dropped (its rounds are consumed); a failed
// verification drops the whole attempt and the next one starts with a new
// attempt number. Nothing derived from a failed attempt is ever returned.
// The design and the numbers are in docs/postprocessing.md.
//
// The machines are not safe for concurrent use; the caller serialises calls
// (one goroutine per direction is the intended use).
package negotiation
