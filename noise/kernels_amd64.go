//go:build amd64 && !noasm

package noise

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
)

// useAVX512 selects the AVX-512 add-and-decide kernel (kernels_amd64.s), which needs
// AVX-512 F and DQ, detected once; OTKD_NOASM=noise turns it off, and tests switch it
// off to run the pure-Go twin.
var useAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) && !asmswitch.Off("noise")

// addDecide16AVX512 is the kernel: for n samples (n a positive multiple of 16) it writes
// the fast-path decisions, packed MSB-first, to out[0:n/8], and the indices of the
// samples whose words the fast path rejects (their bits in out are then meaningless),
// in increasing order, to rej; it returns their number. rej must hold n+16 entries:
// the kernel stores sixteen at a time.
//
//go:noescape
func addDecide16AVX512(soft *Sample, ks *byte, n int, sigma, thr float32, out *byte, rej *int32) int

// addAndDecide16 runs the kernel on len(soft) samples, a positive multiple of 16, and
// returns the rejected samples' indices, a prefix of rej; ks and out have at least the
// matching lengths, rej at least len(soft)+16 entries.
func addAndDecide16(soft []Sample, ks []byte, sigma, thr float32, out []byte, rej []int32) []int32 {
	n := len(soft)
	_, _, _ = ks[4*n-1], out[n/8-1], rej[n+15]
	c := addDecide16AVX512(&soft[0], &ks[0], n, sigma, thr, &out[0], &rej[0])
	raceRead(unsafe.Pointer(&soft[0]), 4*n)
	raceRead(unsafe.Pointer(&ks[0]), 4*n)
	raceWrite(unsafe.Pointer(&out[0]), n/8)
	// rej is always the caller's stack array: only this goroutine touches it, so it is
	// not announced, which keeps it off the heap in race builds.
	return rej[:c]
}
