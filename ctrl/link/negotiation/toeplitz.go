package negotiation

import (
	"math/bits"

	"github.com/otkd/otkd/internal/keys"
)

// Privacy amplification: the reconciled string x of L bits is hashed with
// the SeedBits×L Toeplitz matrix T[j][i] = s[i−j+SeedBits−1] defined by the
// L+SeedBits−1 bits of a public random seed s: seed bit j = ⊕_i T[j][i]·x_i.
// Random Toeplitz matrices form a universal family (for x ≠ x′ the outputs
// collide with probability 2^−SeedBits), which is what the leftover hash
// lemma needs.

// toeplitzSeedBytes is the wire size of the Toeplitz seed for L input bits.
func toeplitzSeedBytes(l int) int { return (l + SeedBits - 1 + 7) / 8 }

// packLSB packs bits (one per byte) into words, bit i at word i/64, bit i%64.
func packLSB(dst []uint64, src []byte) {
	clear(dst)
	for i, b := range src {
		dst[i/64] |= uint64(b&1) << (i % 64)
	}
}

// toeplitzHash writes the SeedBits-bit hash of x (one bit per byte) under the
// Toeplitz seed s (MSB-first bytes, L+SeedBits−1 bits) into out, seed bit j
// at byte j/8, bit 7−j%8.
func toeplitzHash(out *keys.Seed, x []byte, s []byte) { toeplitzHashN(out[:], x, s) }

// toeplitzHashN is toeplitzHash with an output of r = 8·len(out) bits
// (the incremental mode's several seeds: T[j][i] = s[i−j+r−1], s of
// L+r−1 bits).
func toeplitzHashN(out []byte, x []byte, s []byte) {
	r := 8 * len(out)
	nx := (len(x) + 63) / 64
	xw := make([]uint64, nx)
	packLSB(xw, x)
	sw := make([]uint64, (len(s)*8+63)/64+2)
	for i := 0; i < len(s)*8; i++ {
		if s[i/8]&(0x80>>(i%8)) != 0 {
			sw[i/64] |= 1 << (i % 64)
		}
	}
	clear(out)
	for j := 0; j < r; j++ {
		off := r - 1 - j
		var acc uint64
		for k, w := range xw {
			o := off + 64*k
			q, r := o/64, uint(o%64)
			acc ^= w & (sw[q]>>r | sw[q+1]<<(64-r))
		}
		if bits.OnesCount64(acc)&1 == 1 {
			out[j/8] |= 0x80 >> (j % 8)
		}
	}
	clear(xw)
}
