// Package framer implements otkd wire format v2 (docs/protocol.md): the
// OTU2 frame with its 510-byte extension, the clear crypto-sync fields, the
// in-place ZUC-128 EEA3 encryption of the encrypted ranges as sixteen
// segments, the frame tag (Poly1305-AES over the interaction messages), the
// G.709 row FEC and interaction-area FEC (package framer/fec) and the G.709
// frame-synchronous scrambler; package framer/replay is the receiver's
// anti-replay window.
//
// A Frame is a view over caller-owned memory (one contiguous 16 830-byte
// buffer, or four rows and the extension held apart, as a zero-copy line
// delivers them). Nothing in the package copies a frame or allocates per
// frame: Sealer.Seal and Opener.Open work in place with scratch space held
// by the Sealer or Opener, one per pipeline and direction (a new key costs
// one derivation of its tag material, at install time or at the first
// Seal with it).
//
// Transmit order: build → Seal (sync fields, encrypt, tag over the
// encrypted messages, FEC over the ciphertext, scramble). Receive order:
// Open (descramble, FEC decode, verify the tag in constant time, record the
// COUNT in the epoch's anti-replay window, decrypt with the current or the
// previous epoch's key).
//
// Frame workers (parallel.go): SealWorker and OpenWorker are the stateless
// halves of Seal and Open that several goroutines run at once on
// consecutive frames of one direction, with FrameKeys they share read-only;
// BIPChain with PatchBIP8 (TX) and Sequence.Admit (RX) are the small halves
// that run in frame order: the BIP-8 chain and the anti-replay window. The
// wire bytes, the frames accepted and the Stats are those of Sealer and
// Opener.
//
// Contracts of Open. A frame of epoch ≥ 1 opens only when its tag verifies
// under the key the Opener holds for that epoch and its COUNT is new for
// that key's window; the window moves only for such a frame. Open returns a
// typed error for a frame it cannot accept (ErrLostFAS, ErrUnknownEpoch,
// ErrAuth, ErrReplay, ErrLength) and then leaves the frame byte for byte as
// it was. Codewords of the rows the FEC cannot correct are not an error but
// are counted in Stats and left as received. What a tag covers: the
// direction, the epoch, COUNT and the 223 interaction message bytes. It
// does not cover the OPU payload (client data), the negotiation area or the
// clear overhead other than epoch and COUNT: an attacker on the line can
// still flip bits there unseen (docs/security.md). A null-epoch frame has
// no tag and proves nothing; callers take from it only what they
// authenticate themselves.
//
// Key bytes never appear in errors or Stats. Retired keys are zeroised
// (Opener.Install, Retire, Wipe; Sealer.Wipe); the AES round keys of the
// tag live inside crypto/aes, which cannot wipe them, and are left to the
// garbage collector.
package framer
