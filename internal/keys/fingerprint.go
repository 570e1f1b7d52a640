package keys

import (
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"

	"github.com/emmansun/gmsm/sm3"
)

// FingerprintLabel prefixes the key bytes in the fingerprint hash. It is
// the label of the fingerprint that ACTIVATE, ACK and NACK carry (wire
// format v2), so it names session keys; every other key uses it too, so
// that one scheme names them all.
const FingerprintLabel = "otkd v1 session key"

// Fingerprint is the public name of a key: the first 8 bytes of
// SM3(FingerprintLabel ‖ key bytes). It reveals nothing usable about the
// key and is the only thing about it that may be logged or printed.
type Fingerprint [8]byte

// FingerprintOf returns the fingerprint of the key bytes b (any length:
// session keys, ring keys, seeds, imported keys).
func FingerprintOf(b []byte) Fingerprint { return labelled(FingerprintLabel, b) }

// String returns the fingerprint as 16 lowercase hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// ID returns the key id of the fingerprint: its 8 bytes as a big-endian
// uint64, 1 when that is 0 (0 means "no key" in the shm store and in the
// keyring's messages). Printed as %016x, a key's id is its fingerprint.
func (f Fingerprint) ID() uint64 {
	id := binary.BigEndian.Uint64(f[:])
	if id == 0 {
		id = 1
	}
	return id
}

// IDOf returns the id of the key bytes b: FingerprintOf(b).ID().
func IDOf(b []byte) uint64 { return FingerprintOf(b).ID() }

// Digest returns the first 8 bytes, in hex, of SM3(label ‖ parts…): the
// fingerprint scheme for what is not one key (a handshake's key set, a
// backup's plaintext), each under a label of its own so that no digest of
// one kind can be taken for another, nor for a key's fingerprint.
func Digest(label string, parts ...[]byte) string {
	h := sm3.New()
	h.Write([]byte(label))
	for _, p := range parts {
		h.Write(p)
	}
	var sum [sm3.Size]byte
	h.Sum(sum[:0])
	defer clear(sum[:])
	return hex.EncodeToString(sum[:8])
}

// labelled is Digest's hash as a Fingerprint.
func labelled(label string, b []byte) Fingerprint {
	h := sm3.New()
	h.Write([]byte(label))
	h.Write(b)
	var sum [sm3.Size]byte
	h.Sum(sum[:0])
	var f Fingerprint
	copy(f[:], sum[:])
	clear(sum[:])
	return f
}

// PublicDigest returns SM3 over the uncompressed encoding 0x04 ‖ X ‖ Y
// (32 bytes each) of an SM2 public key: the full digest that a key sync
// file names its recipient by (docs/keysync.md).
func PublicDigest(pub *ecdsa.PublicKey) [32]byte {
	var pt [65]byte
	pt[0] = 4
	pub.X.FillBytes(pt[1:33])
	pub.Y.FillBytes(pt[33:65])
	return sm3.Sum(pt[:])
}

// PublicFingerprint names an SM2 public key (a pinned peer key, a custody
// node's key, the cluster key) in logs and output: the first 8 bytes of
// PublicDigest in hex; "none" for a missing key and "invalid" for a point
// that is not on its curve.
func PublicFingerprint(pub *ecdsa.PublicKey) string {
	if pub == nil || pub.X == nil || pub.Y == nil {
		return "none"
	}
	if pub.Curve == nil || !pub.Curve.IsOnCurve(pub.X, pub.Y) {
		return "invalid"
	}
	d := PublicDigest(pub)
	return hex.EncodeToString(d[:8])
}
