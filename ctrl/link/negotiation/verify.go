package negotiation

import (
	"crypto/hmac"
	"encoding/binary"

	"github.com/emmansun/gmsm/sm3"
)

// Verification tag: HMAC-SM3 truncated to TagBits, keyed with
// K = SM3("otkd/verify/v1 key" ‖ nonce) where nonce is 16 fresh random bytes
// from the initiator, over
//
//	"otkd/verify/v1" ‖ attempt (uint32 BE) ‖ L (uint32 BE) ‖ bits, MSB-first
//	‖ Toeplitz seed bytes
//
// Covering the public Toeplitz seed as well means that a corrupted seed
// fails verification instead of silently giving two different keys. The
// key is public (the nonce travels in the clear): the tag is an error
// check, not an authenticator; the nonce makes each attempt's hash function
// fresh so that no precomputed collision helps. Its TagBits count as leaked.

const (
	tagKeyLabel = "otkd/verify/v1 key"
	tagLabel    = "otkd/verify/v1"
	tagLabelV2  = "otkd/verify/v2"
	nonceSize   = 16
	tagSize     = TagBits / 8
)

func verifyTag(nonce *[nonceSize]byte, attempt uint32, x, toeplitz []byte) [tagSize]byte {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], attempt)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(x)))
	return tagOver(nonce, tagLabel, hdr[:], x, toeplitz)
}

// verifySeedsTag is the tag of a VerifySeeds: as verifyTag under label
// "otkd/verify/v2" with the seed count after L:
//
//	"otkd/verify/v2" ‖ attempt u32 ‖ L u32 ‖ seeds u8 ‖ bits ‖ Toeplitz seed bytes
func verifySeedsTag(nonce *[nonceSize]byte, attempt uint32, seeds int, x, toeplitz []byte) [tagSize]byte {
	var hdr [9]byte
	binary.BigEndian.PutUint32(hdr[:4], attempt)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(x)))
	hdr[8] = byte(seeds)
	return tagOver(nonce, tagLabelV2, hdr[:], x, toeplitz)
}

func tagOver(nonce *[nonceSize]byte, label string, hdr, x, toeplitz []byte) [tagSize]byte {
	k := sm3.New()
	k.Write([]byte(tagKeyLabel))
	k.Write(nonce[:])
	key := k.Sum(nil)
	m := hmac.New(sm3.New, key)
	m.Write([]byte(label))
	m.Write(hdr)
	packed := packMSB(x)
	m.Write(packed)
	clear(packed)
	m.Write(toeplitz)
	var tag [tagSize]byte
	copy(tag[:], m.Sum(nil))
	return tag
}

// packMSB packs bits (one per byte) MSB-first.
func packMSB(x []byte) []byte {
	out := make([]byte, (len(x)+7)/8)
	for i, b := range x {
		out[i/8] |= (b & 1) << (7 - i%8)
	}
	return out
}
