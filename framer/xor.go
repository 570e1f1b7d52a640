package framer

import "encoding/binary"

// The frame path's byte passes (encryption, scrambling, BIP-8) go through
// two kernels: xorFold (dst = a ^ b, returning the XOR of the result bytes,
// so the BIP-8 of what was just written costs no extra pass) and fold (the
// XOR of a range). On amd64 with AVX-512 they run as assembly
// (xor_amd64.s); the pure-Go twins below give the same results and run
// with -tags noasm, on other CPUs, and in the tests that compare the two.

// xorFoldGeneric is the pure-Go twin of the assembly xorFold.
func xorFoldGeneric(dst, a, b []byte) byte {
	n := len(dst)
	a, b = a[:n], b[:n]
	var acc0, acc1 uint64
	i := 0
	for ; i+16 <= n; i += 16 {
		x0 := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
		x1 := binary.LittleEndian.Uint64(a[i+8:]) ^ binary.LittleEndian.Uint64(b[i+8:])
		binary.LittleEndian.PutUint64(dst[i:], x0)
		binary.LittleEndian.PutUint64(dst[i+8:], x1)
		acc0 ^= x0
		acc1 ^= x1
	}
	var acc byte
	for ; i < n; i++ {
		dst[i] = a[i] ^ b[i]
		acc ^= dst[i]
	}
	return fold64(acc0^acc1) ^ acc
}

// foldGeneric is the pure-Go twin of the assembly fold.
func foldGeneric(p []byte) byte {
	var acc0, acc1, acc2, acc3 uint64
	i := 0
	for ; i+32 <= len(p); i += 32 {
		acc0 ^= binary.LittleEndian.Uint64(p[i:])
		acc1 ^= binary.LittleEndian.Uint64(p[i+8:])
		acc2 ^= binary.LittleEndian.Uint64(p[i+16:])
		acc3 ^= binary.LittleEndian.Uint64(p[i+24:])
	}
	var acc byte
	for ; i < len(p); i++ {
		acc ^= p[i]
	}
	return fold64(acc0^acc1^acc2^acc3) ^ acc
}

// fold64 returns the XOR of the eight bytes of x.
func fold64(x uint64) byte {
	x ^= x >> 32
	x ^= x >> 16
	x ^= x >> 8
	return byte(x)
}

// XORKernel names the engine of the frame XOR and BIP-8 passes in use:
// "avx512" or "generic" (no AVX-512, -tags noasm, or OTKD_NOASM=xor).
func XORKernel() string {
	if useAVX512 {
		return "avx512"
	}
	return "generic"
}
