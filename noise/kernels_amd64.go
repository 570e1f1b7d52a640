//go:build amd64 && !noasm

package noise

import (
	"github.com/otkd/otkd/internal/race"
	"math"
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
)

// hasEngine says which add-and-decide engines this CPU runs (kernels_amd64.s), detected
// once: the AVX-512 kernel needs AVX-512 F and DQ, the AVX2 kernel AVX2. OTKD_NOASM=noise
// leaves only the pure-Go twin.
var hasEngine = [...]bool{
	engineGeneric: true,
	engineAVX2:    cpuid.CPU.Supports(cpuid.AVX2) && !asmswitch.Off("noise"),
	engineAVX512:  cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ) && !asmswitch.Off("noise"),
}

// addDecideInvAVX512 is the AVX-512 kernel: for n samples (n a positive multiple of 16)
// it writes the decisions by inversion (decide.go), packed MSB-first, to out[0:n/8].
//
//go:noescape
func addDecideInvAVX512(soft *Sample, ks *byte, n int, inv, thr float32, out *byte, consts *[qConsts]float32)

// addDecideInvAVX2 is the AVX2 kernel: the same for n a positive multiple of 8.
//
//go:noescape
func addDecideInvAVX2(soft *Sample, ks *byte, n int, inv, thr float32, out *byte, consts *[qConsts8][8]float32)

// qConsts8 is the number of rows of qConstTable8.
const qConsts8 = qConsts + 4

// qConstTable8 is qConstTable with each constant eight times (the AVX2 kernel's memory
// operands), followed by the sign-clearing mask, 127 (an int32), 2^31 and the sign bit.
var qConstTable8 = func() (t [qConsts8][8]float32) {
	extra := [...]float32{math.Float32frombits(0x7fffffff), math.Float32frombits(127), 1 << 31,
		math.Float32frombits(0x80000000)}
	for i := range t {
		v := float32(0)
		if i < qConsts {
			v = qConstTable[i]
		} else {
			v = extra[i-qConsts]
		}
		for j := range t[i] {
			t[i][j] = v
		}
	}
	return t
}()

// addAndDecideVector runs the selected kernel on len(soft) samples, a positive multiple
// of its group (16 for AVX-512, 8 for AVX2); ks and out have at least the matching
// lengths.
func addAndDecideVector(e engine, soft []Sample, ks []byte, inv, thr float32, out []byte) {
	n := len(soft)
	_, _ = ks[4*n-1], out[n/8-1]
	if e == engineAVX512 {
		addDecideInvAVX512(&soft[0], &ks[0], n, inv, thr, &out[0], &qConstTable)
	} else {
		addDecideInvAVX2(&soft[0], &ks[0], n, inv, thr, &out[0], &qConstTable8)
	}
	race.ReadPtr(unsafe.Pointer(&soft[0]), 4*n)
	race.ReadPtr(unsafe.Pointer(&ks[0]), 4*n)
	race.WritePtr(unsafe.Pointer(&out[0]), n/8)
}
