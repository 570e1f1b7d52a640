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

// addAndDecideGeneric adds sigma·z_i to each soft sample (z_i from word i of ks and, on
// the ziggurat's slow path, from src in index order), decides sample > thr → 1 and
// packs the bits MSB-first into out. soft is not modified. The unused low bits of a last
// partial byte are zero. ks holds 4·len(soft) bytes; out holds ⌈len(soft)/8⌉ bytes.
//
// It works in groups of eight samples, one output byte: the fast path for all eight,
// then zigSlow for the rejected ones in index order. A vector twin does the same with
// wider groups; sigma·z is rounded to float32 before the addition (no FMA), so the
// results are bit-identical.
func addAndDecideGeneric(soft []Sample, ks []byte, sigma, thr float32, out []byte, src wordSource) {
	n := len(soft)
	ks = ks[:4*n]
	full := n / 8
	for j := range full {
		out[j] = decide8((*[8]Sample)(soft[8*j:]), (*[32]byte)(ks[32*j:]), sigma, thr, src)
	}
	if rest := n - 8*full; rest > 0 {
		var s [8]Sample
		var w [32]byte
		copy(s[:], soft[8*full:])
		copy(w[:], ks[32*full:])
		// Padding lanes have word 0, which the fast path always accepts, so src is only
		// asked for the real lanes.
		out[full] = decide8(&s, &w, sigma, thr, src) & (0xff << (8 - rest))
	}
}

// decide8 is addAndDecideGeneric for one group of eight samples.
func decide8(s *[8]Sample, w *[32]byte, sigma, thr float32, src wordSource) byte {
	var b, rej byte
	for k := range 8 {
		z, ok := zigFast(binary.LittleEndian.Uint32(w[4*k:]))
		b = b<<1 | decide(s[k]+float32(sigma*z), thr)
		rej = rej<<1 | flag(!ok)
	}
	for rej != 0 {
		k := bits.LeadingZeros8(rej) // the lowest sample index first
		m := byte(0x80) >> k
		rej &^= m
		z := zigMissed(binary.LittleEndian.Uint32(w[4*k:]), src)
		b = b&^m | -decide(s[k]+float32(sigma*z), thr)&m
	}
	return b
}

// decide is the hard decision of one sample: 1 when v > thr.
func decide(v, thr float32) byte {
	if v > thr {
		return 1
	}
	return 0
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
