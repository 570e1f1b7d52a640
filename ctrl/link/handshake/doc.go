// Package handshake runs the SM2 authenticated key exchange that gives an otkd
// link a session: its first session keys and the epochs they are sent under.
//
// Two ends of one fibre port take part: A, the initiator, and B, the
// responder. Each end holds its own SM2 private key and the pinned SM2 public
// key of its peer, both from configuration, and each has a user id such as
// "otkd:<node-name>". The handshake's messages travel in the clear, over the
// handshake lane of null-cipher frames (docs/protocol.md), which may lose,
// repeat, reorder or forge them: nothing in a message is trusted before the
// confirmation values check out, and no message the package refuses changes
// a handshake in progress. This package only builds and checks messages: it
// does no I/O, keeps no timers and starts no goroutines; the caller bounds a
// handshake with a timeout.
//
// # Protocol
//
// The exchange is the SM2 key exchange of GB/T 32918.3-2016 (GM/T 0003.3),
// with the optional key confirmation S_A/S_B, carried in three messages:
//
//	A (initiator)                                        B (responder)
//	r_A random, R_A = [r_A]G, nonce_A random
//	        Hello:   v, 1, nonce_A, ID_A, R_A
//	        ─────────────────────────────────────────────►
//	                                   check ID_A, R_A; r_B, R_B, nonce_B
//	                                   V = [h·t_B](P_A + [x̄_1]R_A)
//	                                   S_B = tag(0x02, V, TH_reply)
//	        Reply:   v, 2, nonce_A, nonce_B, ID_B, R_B, epoch_B, S_B
//	        ◄─────────────────────────────────────────────
//	check nonce_A, ID_B, R_B
//	U = [h·t_A](P_B + [x̄_2]R_B)
//	check S_B; S_A = tag(0x03, U, TH_confirm)
//	        Confirm: v, 3, nonce_A, nonce_B, epoch_A, S_A
//	        ─────────────────────────────────────────────►
//	keys ready                            check nonces and S_A; keys ready
//
// U and V are the same point when both ends hold the right keys. The point is
// computed by gmsm's ecdh.PrivateKey.SM2MQV; the shared key K (32 bytes) by
// ecdh.PublicKey.SM2SharedKey, i.e. the standard KDF(x‖y‖Z_A‖Z_B), where Z_A
// and Z_B are the standard user hashes over each end's id and static key.
//
// Transcript binding. The confirmation values follow the standard,
//
//	tag(p, V, TH) = SM3(p ‖ y_V ‖ SM3(x_V ‖ Z_A ‖ Z_B ‖ x_1 ‖ y_1 ‖ x_2 ‖ y_2 ‖ TH))
//
// with one extension: the inner hash also covers a transcript hash TH, so the
// version bytes, types and nonces (which the standard does not cover) are
// authenticated too, and so are epoch_B and epoch_A, the epochs under which
// B and A send their first keys (so a session's first keys need no
// unauthenticated activation message). TH is SM3 over the label "otkd
// handshake v1 transcript" (the label is unchanged in protocol version 2)
// and all message bytes so far, up to but excluding the tag being computed:
// TH_reply covers Hello and Reply without S_B; TH_confirm covers Hello, the
// whole Reply and Confirm without S_A. With TH empty the formula is the
// standard one.
//
// Keys. From K and TH_confirm, with HKDF (RFC 5869) over HMAC-SM3:
//
//	PRK        = HKDF-Extract(salt = "otkd v1 handshake", K)
//	AB         = HKDF-Expand(PRK, "otkd v1 key A->B"    ‖ 0x00 ‖ TH_confirm, 16)
//	BA         = HKDF-Expand(PRK, "otkd v1 key B->A"    ‖ 0x00 ‖ TH_confirm, 16)
//	LinkSecret = HKDF-Expand(PRK, "otkd v1 link secret" ‖ 0x00 ‖ TH_confirm, 32)
//
// AB is the ZUC-128 key of direction 0 (A→B), sent under epoch_A, and BA
// that of direction 1 (B→A), sent under epoch_B ([Keys.EpochAB],
// [Keys.EpochBA]); LinkSecret is a salt for later derivations. K and PRK are
// zeroised after use.
//
// # Wire format (version 2)
//
// All fields have fixed sizes except the id, which has a one-byte length.
// A message is exactly its fields: trailing bytes are an error.
//
//	offset  size  field
//	Hello (A→B), 100+len(ID_A) bytes
//	0       1     version = 2
//	1       1     type = 1
//	2       32    nonce_A
//	34      1     len(ID_A), 1..128
//	35      n     ID_A, printable ASCII 0x21..0x7e
//	35+n    65    R_A, uncompressed point 0x04 ‖ x ‖ y on the SM2 curve
//	Reply (B→A), 165+len(ID_B) bytes
//	0       1     version = 2
//	1       1     type = 2
//	2       32    nonce_A (echo)
//	34      32    nonce_B
//	66      1     len(ID_B), 1..128
//	67      n     ID_B
//	67+n    65    R_B
//	132+n   1     epoch_B, 1..255: B's first TX epoch
//	133+n   32    S_B
//	Confirm (A→B), 99 bytes
//	0       1     version = 2
//	1       1     type = 3
//	2       32    nonce_A (echo)
//	34      32    nonce_B (echo)
//	66      1     epoch_A, 1..255: A's first TX epoch
//	67      32    S_A
//
// # Errors and states
//
// A message with another version byte (version 1 included) gets
// [ErrVersion]; a message that does not parse gets a [*FieldError] (which
// matches [ErrMalformed]) naming the field; a message that parses but is not
// expected now (wrong type for the role, or anything after the end) gets
// [ErrState]; a message whose id, nonce echo or confirmation value is wrong,
// or whose point gives no shared secret, gets [ErrAuth]. An error changes
// nothing: the handshake keeps waiting for the message it expects, so an
// attacker who injects messages can delay a handshake (until the caller's
// timeout) but never end it, and a message that arrives after the end
// leaves the keys in place. Result returns the keys once done, ErrState
// before.
//
// Who detects what. If either end has the wrong pinned key (or id) for the
// other, A detects it when S_B does not verify (or ID_B differs) and returns
// [ErrAuth]; it sends no Confirm, so B never derives keys either. A B with the
// wrong id for A detects it at the Hello. A tampered Hello or Reply is caught
// by A at the Reply; a tampered Confirm is caught by B. In the last case A has
// already derived keys: as in any protocol whose last message can be lost, A
// knows that B holds the keys only once B uses them. The caller must therefore
// treat A's keys as pending until it receives an authentic frame under B's
// new key (ctrl/link does exactly that) and keep its running session until
// then.
//
// Retransmission and restart. The lane repeats messages, and B is robust to
// it: a Hello byte-identical to the one B already answered is answered again
// with the same Reply (no new randomness, no new state). A different Hello
// while B waits for Confirm gets [ErrState] and leaves that handshake as it
// is; it may come from a restarted A or from an attacker, and the caller
// decides whether to start a new [Responder] for it ([PeekType] tells a
// Hello without parsing it). If B restarts, A's Reply never comes or carries
// a foreign nonce_A ([ErrAuth]); the caller times out and starts a new
// [Initiator]. Each handshake uses fresh ephemeral keys and nonces, so a
// message replayed from an earlier handshake fails the nonce echo or the
// confirmation.
//
// Secrets. Key bytes never appear in errors or in any fmt output: [Keys],
// [SessionKey], [Secret], [Identity], [Initiator] and [Responder] implement
// fmt.Formatter and print at most a fingerprint ([Keys.Fingerprint]).
//
// Initiator and Responder are not safe for concurrent use; one goroutine (the
// channel's) drives each.
package handshake
