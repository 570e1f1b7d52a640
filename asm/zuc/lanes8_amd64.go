//go:build amd64 && !noasm

package zuc

import (
	"unsafe"

	"github.com/otkd/otkd/internal/race"
)

// s1IsoY and s1MatY are the GF2P8AFFINEQB matrices of S1 (gfni.go) in
// every qword of a YMM operand, for the AVX2 kernel, which reads them, and
// the S0 nibble tables s0Nib, by symbol.
var s1IsoY, s1MatY = [4]uint64{s1Iso, s1Iso, s1Iso, s1Iso}, [4]uint64{s1Mat, s1Mat, s1Mat, s1Mat}

// zucInit8 runs the 32 initialisation rounds and the first working round
// of the eight key-loaded lanes of a Lanes16 half, half pointing at the
// half's first dword (&l.s[0][0] or &l.s[0][8]), and leaves the ring at
// offset 0.
//
//go:noescape
func zucInit8(half *uint32)

// zucKeystream8 writes n keystream bytes of lane l of the half to
// ptrs[l]; n is a positive multiple of 64. The last 64-byte block runs
// only steps (1..16) steps, so holds only 4*steps bytes of keystream;
// fewer than 16 leave the half unusable.
//
//go:noescape
func zucKeystream8(half *uint32, ptrs *[8]*byte, n, steps int)

// zucInit8a and zucKeystream8a are zucInit8 and zucKeystream8 with S1 by
// AES-NI (s1aes.go) instead of GFNI.
//
//go:noescape
func zucInit8a(half *uint32)

//go:noescape
func zucKeystream8a(half *uint32, ptrs *[8]*byte, n, steps int)

// init16AVX2 is Lanes16's initialisation on the AVX2 kernel, one half of
// eight lanes after the other; aes selects S1 by AES-NI.
func init16AVX2(l *Lanes16, aes bool) {
	if aes {
		zucInit8a(&l.s[0][0])
		zucInit8a(&l.s[0][8])
		return
	}
	zucInit8(&l.s[0][0])
	zucInit8(&l.s[0][8])
}

// keystream8 is zucKeystream8 or, with aes set, zucKeystream8a.
func keystream8(half *uint32, ptrs *[8]*byte, n, steps int, aes bool) {
	if aes {
		zucKeystream8a(half, ptrs, n, steps)
		return
	}
	zucKeystream8(half, ptrs, n, steps)
}

// keystream16AVX2 is Lanes16's keystream on the AVX2 kernel: the whole
// 64-byte blocks straight into dst, the last partial block of each half
// into a buffer from which Go copies the part dst holds. With final set
// that block runs only the steps it needs and leaves l unusable; aes
// selects S1 by AES-NI.
func keystream16AVX2(l *Lanes16, dst *[16][]byte, n int, final, aes bool) {
	var p [16]*byte
	for i := range p {
		p[i] = unsafe.SliceData(dst[i])
	}
	full := n &^ 63
	for h := range 2 {
		half := &l.s[0][8*h]
		if full > 0 {
			keystream8(half, (*[8]*byte)(p[8*h:8*h+8]), full, 16, aes)
		}
		if full < n {
			steps := 16
			if final {
				steps = (n - full + 3) / 4
			}
			var tail [8][64]byte
			var tp [8]*byte
			for i := range tp {
				tp[i] = &tail[i][0]
			}
			keystream8(half, &tp, 64, steps, aes)
			for i := range 8 {
				copy(dst[8*h+i][full:], tail[i][:])
			}
		}
	}
	if full > 0 {
		for i := range p {
			race.WritePtr(unsafe.Pointer(p[i]), full)
		}
	}
}
