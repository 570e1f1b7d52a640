// Package keys is otkd's key vocabulary: the types of its keys, the one
// key derivation, and the one name a key has everywhere.
//
//   - Key is a ZUC-128 session key (16 bytes): what the frame path
//     encrypts with, what the link announces and the shm store publishes.
//   - Seed is a 256-bit seed key that the negotiation makes; SessionKey and
//     RingKey expand it, deterministically, so both ends of a link derive
//     the same keys. Secret is the 32-byte link secret of a handshake;
//     LinkKey derives the rotation keys of a session from it.
//   - Direction names a direction of the link (AtoB, BtoA: EEA3 DIRECTION
//     0 and 1); Epoch numbers the keys of one direction on the wire (1…255
//     cycling; NullEpoch is the null cipher).
//   - Fingerprint is the one public name of a key: the first 8 bytes of
//     SM3("otkd v1 session key" ‖ key bytes), written as 16 lowercase hex
//     digits. It is the value ACTIVATE, ACK and NACK carry on the wire
//     (docs/protocol.md), what the logs, the API, otkctl, the shm readers
//     (Go shm.Key.Fingerprint, C otkd_shm_key_fingerprint) print, for
//     session keys, ring keys, seeds and imported keys alike. The label is
//     the wire format's: it stays.
//   - ID is a key's id in the shm store and in the keyring's messages: the
//     fingerprint read as a big-endian uint64 (1 if that is 0), so a key's
//     id printed as %016x is its fingerprint.
//
// Key bytes never leave through fmt: Key, Seed and Secret print redacted
// (a Seed as "seed:" and its fingerprint) with every verb. Callers own the
// values and zeroise them (Zero) when retired.
//
// The package is a leaf of otkd's own code: it imports only asm/zuc (the
// ZUC-256 engine of the KDF) and gmsm's SM3, so the frame path (framer),
// the shm store and its Go readers, the controller and the tools can all
// share it. It lives under internal/ because it is otkd's vocabulary, not
// an API: a plugin reads keys through package shm, whose exported names
// (shm.Dir, shm.Key.Fingerprint) are this package's.
package keys
