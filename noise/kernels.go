package noise

// Dispatch between the vector kernels and their pure-Go references.
//
// addAndDecide runs the AVX-512 kernel (kernels_amd64.s) on the whole groups of sixteen
// samples and addAndDecideGeneric on the rest. Both compute the decision by inversion
// (decide.go) operation for operation, so the decisions are bit-identical
// (TestAddAndDecideKernelAgainstGeneric).

// addAndDecide is addAndDecideGeneric on the fastest engine available: same arguments,
// same contract, same results.
func addAndDecide(soft []Sample, ks []byte, inv, thr float32, out []byte) {
	n := len(soft)
	if useAVX512 && n >= 16 {
		n16 := n &^ 15
		addAndDecide16(soft[:n16], ks[:4*n16], inv, thr, out[:n16/8])
		soft, ks, out = soft[n16:], ks[4*n16:], out[n16/8:]
		if len(soft) == 0 {
			return
		}
	}
	addAndDecideGeneric(soft, ks, inv, thr, out)
}

// Kernel names the add-and-decide engine in use: "avx512" or "generic" (no AVX-512,
// -tags noasm, or OTKD_NOASM=noise).
func Kernel() string {
	if useAVX512 {
		return "avx512"
	}
	return "generic"
}
