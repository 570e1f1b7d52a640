//go:build amd64 && !noasm

package zuc

import (
	"github.com/otkd/otkd/internal/race"
	"unsafe"

	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
)

// hasKernel[k] says whether this CPU runs kernel k, detected once; the
// operator's OTKD_NOASM=zuc (internal/asmswitch) leaves only the pure-Go
// twin. GFNI on YMM registers (the AVX2 kernel's S1) needs GFNI and AVX,
// which AVX2 implies.
var hasKernel = [...]bool{
	Generic: true,
	AVX2:    asmOn && cpuid.CPU.Supports(cpuid.AVX2, cpuid.GFNI),
	AVX512: asmOn && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW,
		cpuid.AVX512VBMI, cpuid.AVX512VBMI2, cpuid.GFNI),
	AVX2AES: asmOn && cpuid.CPU.Supports(cpuid.AVX2, cpuid.AESNI),
}

var asmOn = !asmswitch.Off("zuc")

// s1Iso and s1Mat are the GF2P8AFFINEQB matrices with which the kernel
// computes S1 in two instructions (see s1Matrices). The kernel reads them,
// and the S0 table s0, by symbol.
var s1Iso, s1Mat = s1Matrices()

// zucInit16 runs the 32 initialisation rounds and the first working round
// of the key-loaded lanes st, and leaves the ring at offset 0.
//
//go:noescape
func zucInit16(st *Lanes16)

// zucKeystream16 writes n > 0 keystream bytes of lane l to ptrs[l], in
// blocks of sixteen words. With final set it runs only the steps the last
// block needs and leaves st unusable.
//
//go:noescape
func zucKeystream16(st *Lanes16, ptrs *[16]*byte, n int, final bool)

// zucLoadEEA3 sets cell i of every lane to base[i], adds lane<<3 (the
// BEARER) to cells 4 and 12 and clears R1, R2.
//
//go:noescape
func zucLoadEEA3(st *Lanes16, base *[16]uint32)

// load16Asm is the kernel's loadEEA3; st is the caller's local, so there
// is nothing to tell the race detector.
func load16Asm(l *Lanes16, base *[16]uint32) { zucLoadEEA3(l, base) }

func init16Asm(l *Lanes16) {
	zucInit16(l)
}

// announceState tells the race detector that the kernel wrote l.
func announceState(l *Lanes16) {
	if kernel != Generic {
		race.WritePtr(unsafe.Pointer(l), int(unsafe.Sizeof(*l)))
	}
}

func keystream16Asm(l *Lanes16, dst *[16][]byte, n int, final bool) {
	var p [16]*byte
	for i := range p {
		p[i] = unsafe.SliceData(dst[i])
	}
	zucKeystream16(l, &p, n, final)
	for i := range p {
		race.WritePtr(unsafe.Pointer(p[i]), n)
	}
}
