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

// addDecideInvAVX512 is the kernel: for n samples (n a positive multiple of 16) it writes
// the decisions by inversion (decide.go), packed MSB-first, to out[0:n/8].
//
//go:noescape
func addDecideInvAVX512(soft *Sample, ks *byte, n int, inv, thr float32, out *byte, consts *[qConsts]float32)

// addAndDecide16 runs the kernel on len(soft) samples, a positive multiple of 16; ks and
// out have at least the matching lengths.
func addAndDecide16(soft []Sample, ks []byte, inv, thr float32, out []byte) {
	n := len(soft)
	_, _ = ks[4*n-1], out[n/8-1]
	addDecideInvAVX512(&soft[0], &ks[0], n, inv, thr, &out[0], &qConstTable)
	raceRead(unsafe.Pointer(&soft[0]), 4*n)
	raceRead(unsafe.Pointer(&ks[0]), 4*n)
	raceWrite(unsafe.Pointer(&out[0]), n/8)
}
