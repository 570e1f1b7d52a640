//go:build amd64 && !noasm

package noise

import (
	"github.com/otkd/otkd/internal/race"
	"math"
	"unsafe"
)

// fibreNoiseAVX512 is the AVX-512 Box–Muller kernel: fibreNoiseGeneric for blocks whole
// blocks of 32 samples (blocks > 0), 128 bytes of words each.
//
//go:noescape
func fibreNoiseAVX512(soft *Sample, words *byte, blocks int, sigma float32, consts *[fibreConsts]float32)

// expDeviatesAVX512 is the AVX-512 exponential kernel: expDeviatesGeneric for n a
// positive multiple of 16.
//
//go:noescape
func expDeviatesAVX512(out *float32, words *byte, n int, consts *[fibreConsts]float32)

// fibreNoiseVector runs the kernel of engine e on whole blocks: len(soft) is a positive
// multiple of gaussBlock and words holds 4·len(soft) bytes.
func fibreNoiseVector(e engine, soft []Sample, words []byte, sigma float32) {
	n := len(soft)
	_ = words[4*n-1]
	if e == engineAVX512 {
		fibreNoiseAVX512(&soft[0], &words[0], n/gaussBlock, sigma, &fibreConstTable)
	} else {
		fibreNoiseAVX2(&soft[0], &words[0], n/gaussBlock, sigma, &fibreConstTable8)
	}
	race.ReadPtr(unsafe.Pointer(&words[0]), 4*n)
	race.ReadPtr(unsafe.Pointer(&soft[0]), 4*n)
	race.WritePtr(unsafe.Pointer(&soft[0]), 4*n)
}

// expDeviatesVector runs the kernel of engine e: len(out) is a positive multiple of its
// group (16 for AVX-512, 8 for AVX2) and words holds 4·len(out) bytes.
func expDeviatesVector(e engine, out []float32, words []byte) {
	n := len(out)
	_ = words[4*n-1]
	if e == engineAVX512 {
		expDeviatesAVX512(&out[0], &words[0], n, &fibreConstTable)
	} else {
		expDeviatesAVX2(&out[0], &words[0], n, &fibreConstTable8)
	}
	race.ReadPtr(unsafe.Pointer(&words[0]), 4*n)
	race.WritePtr(unsafe.Pointer(&out[0]), 4*n)
}

// fibreNoiseAVX2 is the AVX2 Box–Muller kernel: fibreNoiseAVX512's contract.
//
//go:noescape
func fibreNoiseAVX2(soft *Sample, words *byte, blocks int, sigma float32, consts *[fibreConsts8][8]float32)

// expDeviatesAVX2 is the AVX2 exponential kernel: expDeviatesGeneric for n a positive
// multiple of 8.
//
//go:noescape
func expDeviatesAVX2(out *float32, words *byte, n int, consts *[fibreConsts8][8]float32)

// fibreConsts8 is the number of rows of fibreConstTable8.
const fibreConsts8 = fibreConsts + 9

// fibreConstTable8 is fibreConstTable with each constant eight times (the AVX2
// kernels' memory operands), followed by the integer constants: the sign bit, 1,
// 127 + 31, 2^23, 0x3F800000, the mantissa bits of √2 less one, the mantissa mask,
// 3·2^29 − 1 and 2^31 − 1 (rows 20 … 28).
var fibreConstTable8 = func() (t [fibreConsts8][8]float32) {
	ints := [...]uint32{0x80000000, 1, 158, 0x00800000, 0x3F800000, ldSqrt2Mb - 1, 0x007FFFFF,
		ldUpper - 1, ldMask31}
	for i := range t {
		v := float32(0)
		if i < fibreConsts {
			v = fibreConstTable[i]
		} else {
			v = math.Float32frombits(ints[i-fibreConsts])
		}
		for j := range t[i] {
			t[i][j] = v
		}
	}
	return t
}()
