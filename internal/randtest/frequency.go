package randtest

import (
	"fmt"
	"math"
)

// minBits is the shortest sequence SP 800-22 recommends for the simple tests
// (frequency, runs, cumulative sums) and that this package applies to the GM/T
// tests of the same kind.
const minBits = 100

// ones counts the ones in x.
func ones(x []uint8) int {
	c := 0
	for _, b := range x {
		c += int(b)
	}
	return c
}

// Frequency is the monobit test (SP 800-22 §2.1): whether ones and zeros are
// about equally frequent. It needs at least 100 bits.
func Frequency(bits Bits) (Result, error) {
	if err := needBits("Frequency", bits.Len(), minBits); err != nil {
		return Result{}, err
	}
	return frequency(bits.unpack()), nil
}

func frequency(x []uint8) Result {
	s := 2*ones(x) - len(x)
	p := math.Erfc(math.Abs(float64(s)) / math.Sqrt(2*float64(len(x))))
	return newResult("Frequency", "", p)
}

// DefaultBlockSize returns the block length BlockFrequency uses for n bits when
// given m ≤ 0: the smallest M ≥ 20 with M > n/100, so that there are fewer than
// 100 blocks, as SP 800-22 §2.2.7 recommends.
func DefaultBlockSize(n int) int {
	return max(20, n/100+1)
}

// BlockFrequency is the frequency test within blocks (SP 800-22 §2.2): whether
// each m-bit block holds about m/2 ones. m ≤ 0 selects DefaultBlockSize. It needs
// at least 100 bits and at least one whole block.
func BlockFrequency(bits Bits, m int) (Result, error) {
	n := bits.Len()
	if m <= 0 {
		m = DefaultBlockSize(n)
	}
	if err := needBits("BlockFrequency", n, max(minBits, m)); err != nil {
		return Result{}, err
	}
	return blockFrequency(bits.unpack(), m), nil
}

func blockFrequency(x []uint8, m int) Result {
	blocks := len(x) / m
	chi := 0.0
	for i := range blocks {
		d := float64(ones(x[i*m:(i+1)*m]))/float64(m) - 0.5
		chi += d * d
	}
	chi *= 4 * float64(m)
	p := igamc(float64(blocks)/2, chi/2)
	return newResult("BlockFrequency", fmt.Sprintf("M=%d", m), p)
}

// Runs is the runs test (SP 800-22 §2.3): whether the number of runs of equal
// bits is as expected. If the proportion of ones already fails the frequency
// prerequisite |π−½| < 2/√n, the p-value is 0. It needs at least 100 bits.
func Runs(bits Bits) (Result, error) {
	if err := needBits("Runs", bits.Len(), minBits); err != nil {
		return Result{}, err
	}
	return runs(bits.unpack()), nil
}

func runs(x []uint8) Result {
	n := float64(len(x))
	pi := float64(ones(x)) / n
	if math.Abs(pi-0.5) >= 2/math.Sqrt(n) {
		return newResult("Runs", "", 0)
	}
	v := 1
	for i := 1; i < len(x); i++ {
		if x[i] != x[i-1] {
			v++
		}
	}
	q := pi * (1 - pi)
	p := math.Erfc(math.Abs(float64(v)-2*n*q) / (2 * math.Sqrt(2*n) * q))
	return newResult("Runs", "", p)
}

// CumulativeSums is the cumulative sums test (SP 800-22 §2.13): whether the
// random walk of ±1 steps strays too far from zero. P[0] is the forward mode and
// P[1] the backward mode. It needs at least 100 bits.
func CumulativeSums(bits Bits) (Result, error) {
	if err := needBits("CumulativeSums", bits.Len(), minBits); err != nil {
		return Result{}, err
	}
	x := bits.unpack()
	return newResult("CumulativeSums", "forward,backward", cusum(x, false), cusum(x, true)), nil
}

// cusum returns the p-value of one mode of the cumulative sums test.
func cusum(x []uint8, backward bool) float64 {
	s, z := 0, 0
	for i := range x {
		b := x[i]
		if backward {
			b = x[len(x)-1-i]
		}
		s += 2*int(b) - 1
		z = max(z, s, -s)
	}
	return cusumP(len(x), z)
}

// cusumP returns the p-value for a maximal excursion z of an n-step walk, from
// SP 800-22 §2.13.4 (5). The summation limits (±n/z+c)/4 are taken with integer
// division truncating toward zero: that is the reading that reproduces the
// worked example of §2.13.8 (P = 0.4116588); flooring instead adds tail terms
// that move it in the fifth decimal.
func cusumP(n, z int) float64 {
	if z == 0 { // n ≥ 1 steps of ±1 cannot stay at zero
		return 0
	}
	sq := math.Sqrt(float64(n))
	phi := func(k, c int) float64 { return normalCDF(float64((4*k+c)*z) / sq) }
	sum1 := 0.0
	for k := (-n/z + 1) / 4; k <= (n/z-1)/4; k++ {
		sum1 += phi(k, 1) - phi(k, -1)
	}
	sum2 := 0.0
	for k := (-n/z - 3) / 4; k <= (n/z-1)/4; k++ {
		sum2 += phi(k, 3) - phi(k, 1)
	}
	return 1 - sum1 + sum2
}

// BinaryDerivative is the binary derivation test of GM/T 0005: the frequency
// test applied to the k-th derivative of the sequence, where one derivation
// replaces ε by ε_i⊕ε_(i+1) and shortens it by one bit. GM/T uses k = 3 and 7.
// It needs at least 100+k bits.
func BinaryDerivative(bits Bits, k int) (Result, error) {
	if k < 1 {
		return Result{}, badParam("BinaryDerivative", "k=%d, want k ≥ 1", k)
	}
	if err := needBits("BinaryDerivative", bits.Len(), minBits+k); err != nil {
		return Result{}, err
	}
	return binaryDerivative(bits.unpack(), k), nil
}

func binaryDerivative(x []uint8, k int) Result {
	for range k { // derive in place: x[i] only depends on the old x[i], x[i+1]
		for i := 0; i+1 < len(x); i++ {
			x[i] ^= x[i+1]
		}
		x = x[:len(x)-1]
	}
	s := 2*ones(x) - len(x)
	p := math.Erfc(math.Abs(float64(s)) / math.Sqrt(2*float64(len(x))))
	return newResult("BinaryDerivative", fmt.Sprintf("k=%d", k), p)
}

// Autocorrelation is the autocorrelation test of GM/T 0005: whether the sequence
// agrees with itself shifted by d bits about half of the time. GM/T uses d = 1,
// 2, 8 and 16. It needs at least 100+d bits.
func Autocorrelation(bits Bits, d int) (Result, error) {
	if d < 1 {
		return Result{}, badParam("Autocorrelation", "d=%d, want d ≥ 1", d)
	}
	if err := needBits("Autocorrelation", bits.Len(), minBits+d); err != nil {
		return Result{}, err
	}
	return autocorrelation(bits.unpack(), d), nil
}

func autocorrelation(x []uint8, d int) Result {
	m := len(x) - d
	a := 0
	for i := range m {
		a += int(x[i] ^ x[i+d])
	}
	v := 2 * (float64(a) - float64(m)/2) / math.Sqrt(float64(m))
	p := math.Erfc(math.Abs(v) / math.Sqrt2)
	return newResult("Autocorrelation", fmt.Sprintf("d=%d", d), p)
}
