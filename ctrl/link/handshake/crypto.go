package handshake

import (
	"crypto/hkdf"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm3"
)

// Labels of the transcript hash and of the key schedule (package doc, "Keys").
const (
	transcriptLabel = "otkd handshake v1 transcript"
	kdfSalt         = "otkd v1 handshake"
	labelAB         = "otkd v1 key A->B"
	labelBA         = "otkd v1 key B->A"
	labelLink       = "otkd v1 link secret"
)

// sharedKeyLen is the length of K asked from the standard KDF.
const sharedKeyLen = 32

// Confirmation prefixes of GB/T 32918.3: 0x02 for S_B, 0x03 for S_A.
const (
	prefixSB = 0x02
	prefixSA = 0x03
)

// transcript returns SM3(label ‖ parts...).
func transcript(parts ...[]byte) []byte {
	h := sm3.New()
	h.Write([]byte(transcriptLabel))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// confirmTag computes SM3(prefix ‖ y_V ‖ SM3(x_V ‖ Z_A ‖ Z_B ‖ x_1 ‖ y_1 ‖ x_2
// ‖ y_2 ‖ th)), the standard confirmation extended by the transcript hash.
func confirmTag(prefix byte, v *ecdh.PublicKey, zA, zB []byte, rA, rB *ecdh.PublicKey, th []byte) [TagSize]byte {
	vb := v.Bytes()
	defer clear(vb)
	ra, rb := rA.Bytes(), rB.Bytes()
	inner := sm3.New()
	inner.Write(vb[1:33])
	inner.Write(zA)
	inner.Write(zB)
	inner.Write(ra[1:])
	inner.Write(rb[1:])
	inner.Write(th)
	ih := inner.Sum(nil)
	outer := sm3.New()
	outer.Write([]byte{prefix})
	outer.Write(vb[33:65])
	outer.Write(ih)
	var tag [TagSize]byte
	outer.Sum(tag[:0])
	return tag
}

// zValue returns the standard user hash Z of id and its static key.
func zValue(pub *ecdh.PublicKey, id string) ([]byte, error) {
	return pub.SM2ZA(sm3.New(), []byte(id))
}

// deriveKeys expands the shared key k, bound to the transcript hash th, into
// the handshake's Keys. It does not modify k.
func deriveKeys(k, th []byte) (*Keys, error) {
	newHash := func() hash.Hash { return sm3.New() }
	prk, err := hkdf.Extract(newHash, k, []byte(kdfSalt))
	if err != nil {
		return nil, fmt.Errorf("handshake: key schedule: %w", err)
	}
	defer clear(prk)
	out := new(Keys)
	outs := []struct {
		label string
		dst   []byte
	}{{labelAB, out.AB[:]}, {labelBA, out.BA[:]}, {labelLink, out.LinkSecret[:]}}
	for _, o := range outs {
		b, err := hkdf.Expand(newHash, prk, o.label+"\x00"+string(th), len(o.dst))
		if err != nil {
			out.Zero()
			return nil, fmt.Errorf("handshake: key schedule: %w", err)
		}
		copy(o.dst, b)
		clear(b)
	}
	return out, nil
}
