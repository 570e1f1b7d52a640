package noise

import (
	"encoding/binary"
	"math/bits"
)

// Pure-Go kernels. Each is the reference for a SIMD twin of the asm issue: same
// arguments, bit-identical results (the twin is tested against it on random and edge
// inputs). Callers check lengths; the kernels assume them.

// modulateGeneric writes l0 or l1 for each bit of bits, MSB-first, into out (len(out)
// bits are read).
func modulateGeneric(bits []byte, out []Sample, l0, l1 Sample) {
	lv := [2]Sample{l0, l1}
	n := len(out)
	full := n / 8
	for j := 0; j < full; j++ {
		b := bits[j]
		o := out[8*j : 8*j+8 : 8*j+8]
		o[0] = lv[b>>7]
		o[1] = lv[b>>6&1]
		o[2] = lv[b>>5&1]
		o[3] = lv[b>>4&1]
		o[4] = lv[b>>3&1]
		o[5] = lv[b>>2&1]
		o[6] = lv[b>>1&1]
		o[7] = lv[b&1]
	}
	for k := 8 * full; k < n; k++ {
		out[k] = lv[bits[k>>3]>>(7-k&7)&1]
	}
}

// flag is 1 for true, 0 for false, without a branch.
func flag(c bool) byte {
	if c {
		return 1
	}
	return 0
}

// xorGeneric sets dst[i] = a[i] ^ b[i]; all three have the same length.
func xorGeneric(dst, a, b []byte) {
	n := len(dst)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(a[i:])^binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < n; i++ {
		dst[i] = a[i] ^ b[i]
	}
}

// popCountGeneric counts the one bits of b, eight bytes at a time.
func popCountGeneric(b []byte) int {
	c := 0
	i := 0
	for ; i+8 <= len(b); i += 8 {
		c += bits.OnesCount64(binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < len(b); i++ {
		c += bits.OnesCount8(b[i])
	}
	return c
}

// popCountXOR3Generic counts the one bits of a ⊕ b ⊕ c; all three have the same length.
func popCountXOR3Generic(a, b, c []byte) int {
	n := len(a)
	cnt := 0
	i := 0
	for ; i+8 <= n; i += 8 {
		w := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]) ^ binary.LittleEndian.Uint64(c[i:])
		cnt += bits.OnesCount64(w)
	}
	for ; i < n; i++ {
		cnt += bits.OnesCount8(a[i] ^ b[i] ^ c[i])
	}
	return cnt
}

// decideGeneric packs the hard decisions of soft (s > thr is 1; NaN is 0) MSB-first
// into out[:⌈len(soft)/8⌉]; the unused low bits of a last partial byte are zero.
func decideGeneric(soft []Sample, thr Sample, out []byte) {
	n := len(soft)
	full := n / 8
	for j := range full {
		s := (*[8]Sample)(soft[8*j:])
		var b byte
		for _, v := range s {
			b = b<<1 | flag(v > thr)
		}
		out[j] = b
	}
	if k := n - 8*full; k > 0 {
		var b byte
		for i, v := range soft[8*full:] {
			b |= flag(v > thr) << (7 - i)
		}
		out[full] = b
	}
}
