//go:build amd64 && !noasm

package aesctr

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
	"github.com/otkd/otkd/internal/race"
)

// useVAES selects the kernel for Streams keyed from now on; tests switch it.
var useVAES = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.VAES, cpuid.AESNI) && !asmswitch.Off("noise")

//go:noescape
func expandKey128(key *[16]byte, rk *[176]byte)

//go:noescape
func ctr16VAES(rk *[176]byte, ctr *[16]byte, dst *byte, n int)

func expandKey(key *[16]byte, rk *[176]byte) {
	expandKey128(key, rk)
	race.WriteRange(rk[:])
}

// ctr16 fills dst (a positive multiple of 256 bytes) from counter block ctr.
func ctr16(rk *[176]byte, ctr *[16]byte, dst []byte) {
	ctr16VAES(rk, ctr, &dst[0], len(dst)/Chunk)
	race.WriteRange(dst)
}
