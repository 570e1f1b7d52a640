package noise

import "encoding/binary"

// Dispatch between the vector kernels and their pure-Go references.
//
// addAndDecide runs the AVX-512 kernel (kernels_amd64.s) on the whole groups of sixteen
// samples and addAndDecideGeneric on the rest. The kernel computes the ziggurat's fast
// path for sixteen samples at once and returns the indices of the samples that failed
// its acceptance test; Go then runs zigMissed for those samples in index order, exactly
// as addAndDecideGeneric does, so both take the same extra words from src in the same
// order and the decisions are bit-identical (TestAddAndDecideKernelAgainstGeneric).

// vecChunk is the number of samples one kernel call handles at most: the indices of a
// call's rejected samples (room for all of them and the kernel's slack) live on the
// caller's stack.
const vecChunk = 1024

// addAndDecide is addAndDecideGeneric on the fastest engine available: same arguments,
// same contract, same results.
func addAndDecide(soft []Sample, ks []byte, sigma, thr float32, out []byte, src wordSource) {
	n := len(soft)
	if useAVX512 && n >= 16 {
		ks, out = ks[:4*n], out[:(n+7)/8] // the kernel trusts these lengths
		n16 := n &^ 15
		var rej [vecChunk + 16]int32
		for off := 0; off < n16; off += vecChunk {
			c := min(vecChunk, n16-off)
			o := out[off/8 : off/8+c/8]
			w := ks[4*off : 4*(off+c)]
			r := addAndDecide16(soft[off:off+c], w, sigma, thr, o, rej[:])
			fixRejected(soft[off:off+c], w, sigma, thr, o, r, src)
		}
		soft, ks, out = soft[n16:], ks[4*n16:], out[n16/8:]
	}
	addAndDecideGeneric(soft, ks, sigma, thr, out, src)
}

// fixRejected redoes with zigSlow, in index order, the samples whose words the kernel's
// fast path rejected (rej: their indices, increasing).
func fixRejected(soft []Sample, ks []byte, sigma, thr float32, out []byte, rej []int32, src wordSource) {
	for _, k := range rej {
		w := binary.LittleEndian.Uint32(ks[4*k:])
		z := zigMissed(w, src)
		m := byte(0x80) >> (k & 7)
		out[k>>3] = out[k>>3]&^m | -decide(soft[k]+float32(sigma*z), thr)&m
	}
}

// Kernel names the add-and-decide engine in use: "avx512" or "generic" (no AVX-512,
// -tags noasm, or OTKD_NOASM=noise).
func Kernel() string {
	if useAVX512 {
		return "avx512"
	}
	return "generic"
}
