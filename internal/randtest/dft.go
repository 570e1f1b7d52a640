package randtest

import (
	"math"
	"math/cmplx"
)

// dftMinBits is the shortest sequence SP 800-22 §2.6.7 recommends.
const dftMinBits = 1000

// DFT is the discrete Fourier transform (spectral) test (SP 800-22 §2.6, with
// the rev 1a variance n·0.95·0.05/4): whether more than 5% of the first n/2
// moduli of the transform of the ±1 sequence exceed the 95% threshold
// √(n·ln 20), which periodic features would cause. It needs 1000 bits.
func DFT(bits Bits) (Result, error) {
	if err := needBits("DFT", bits.Len(), dftMinBits); err != nil {
		return Result{}, err
	}
	return spectral(bits.unpack()), nil
}

func spectral(x []uint8) Result {
	n := len(x)
	s := make([]complex128, n)
	for i, b := range x {
		s[i] = complex(float64(2*int(b)-1), 0)
	}
	f := dft(s)
	nf := float64(n)
	threshold := math.Sqrt(math.Log(1/0.05) * nf)
	below := 0
	for _, v := range f[:n/2] {
		if cmplx.Abs(v) < threshold {
			below++
		}
	}
	expected := 0.95 * nf / 2
	d := (float64(below) - expected) / math.Sqrt(nf*0.95*0.05/4)
	p := math.Erfc(math.Abs(d) / math.Sqrt2)
	return newResult("DFT", "", p)
}
