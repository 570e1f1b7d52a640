// Package framer implements otkd wire format v1 (docs/protocol.md): the
// OTU2 frame with its 510-byte extension, the clear crypto-sync fields, the
// in-place ZUC-128 EEA3 encryption of the encrypted ranges as sixteen
// segments, the G.709 row FEC and interaction-area FEC (package framer/fec)
// and the G.709 frame-synchronous scrambler.
//
// A Frame is a view over caller-owned memory (one contiguous 16 830-byte
// buffer, or four rows and the extension held apart, as a zero-copy line
// delivers them). Nothing in the package copies a frame or allocates per
// frame: Sealer.Seal and Opener.Open work in place with scratch space held
// by the Sealer or Opener, one per pipeline and direction.
//
// Transmit order: build → Seal (sync fields, encrypt, FEC over the
// ciphertext, scramble). Receive order: Open (descramble, FEC decode,
// decrypt with the current or the previous epoch's key). Open returns a typed
// error for a frame it cannot accept (ErrLostFAS, ErrUnknownEpoch,
// ErrLength) and then leaves the frame byte for byte as it was; codewords
// the FEC cannot correct are not an error but are counted in Stats and left
// as received.
//
// Key bytes never appear in errors or Stats.
package framer
