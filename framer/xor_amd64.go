//go:build amd64 && !noasm

package framer

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
	"github.com/otkd/otkd/internal/race"
)

// useAVX512 selects the AVX-512 XOR-and-fold kernels (xor_amd64.s),
// detected once; OTKD_NOASM=xor turns them off, and tests switch them off
// to run the pure-Go twins.
var useAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW) && !asmswitch.Off("xor")

//go:noescape
func xorFoldAVX512(dst, a, b *byte, n int) uint64

//go:noescape
func foldAVX512(p *byte, n int) uint64

// xorFold sets dst = a ^ b over len(dst) bytes (a and b at least as long;
// dst may alias a or b exactly) and returns the XOR of all result bytes.
func xorFold(dst, a, b []byte) byte {
	if !useAVX512 {
		return xorFoldGeneric(dst, a, b)
	}
	n := len(dst)
	if n == 0 {
		return 0
	}
	a, b = a[:n], b[:n]
	race.ReadRange(a)
	race.ReadRange(b)
	race.WriteRange(dst)
	return fold64(xorFoldAVX512(&dst[0], &a[0], &b[0], n))
}

// fold returns the XOR of all bytes of p.
func fold(p []byte) byte {
	if !useAVX512 {
		return foldGeneric(p)
	}
	if len(p) == 0 {
		return 0
	}
	race.ReadRange(p)
	return fold64(foldAVX512(&p[0], len(p)))
}
