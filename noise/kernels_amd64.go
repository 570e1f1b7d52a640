//go:build amd64 && !noasm

package noise

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX512 selects the AVX-512 add-and-decide kernel (kernels_amd64.s). It needs
// AVX-512 F (gathers, compares into masks) and GFNI (the bit reversal of the packed
// decisions); tests switch it off to run the pure-Go twin.
var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512GFNI

// addDecide16AVX512 is the kernel: for n samples (n a positive multiple of 16) it writes
// the fast-path decisions, packed MSB-first, to out[0:n/8] and the fast path's
// rejections to rej[0:n/16] (bit l of rej[g]: sample 16g+l needs zigSlow; its bit in
// out is then meaningless).
//
//go:noescape
func addDecide16AVX512(soft *Sample, ks *byte, n int, sigma, thr float32, out *byte, rej *uint16)

// addAndDecide16 runs the kernel on len(soft) samples, a positive multiple of 16; ks,
// out and rej have at least the matching lengths.
func addAndDecide16(soft []Sample, ks []byte, sigma, thr float32, out []byte, rej []uint16) {
	n := len(soft)
	_, _, _ = ks[4*n-1], out[n/8-1], rej[n/16-1]
	addDecide16AVX512(&soft[0], &ks[0], n, sigma, thr, &out[0], &rej[0])
	raceRead(unsafe.Pointer(&soft[0]), 4*n)
	raceRead(unsafe.Pointer(&ks[0]), 4*n)
	raceWrite(unsafe.Pointer(&out[0]), n/8)
	// rej is always the caller's stack array: only this goroutine touches it, so it is
	// not announced, which keeps it off the heap in race builds.
}
