package randtest

import (
	"fmt"
	"math"
)

// universalStats holds the expected value and variance of Maurer's statistic
// for L = 6…16 (SP 800-22 §2.9.4, from Maurer's paper).
var universalStats = [...]struct{ mean, variance float64 }{
	6:  {5.2177052, 2.954},
	7:  {6.1962507, 3.125},
	8:  {7.1836656, 3.238},
	9:  {8.1764248, 3.311},
	10: {9.1723243, 3.356},
	11: {10.170032, 3.384},
	12: {11.168765, 3.401},
	13: {12.168070, 3.410},
	14: {13.167693, 3.416},
	15: {14.167488, 3.419},
	16: {15.167379, 3.421},
}

// universalMinL is the smallest block length SP 800-22 §2.9.7 tabulates.
const universalMinL = 6

// universalMinBits returns the shortest sequence SP 800-22 §2.9.7 allows for
// block length l: 1010·2^l·l bits (Q = 10·2^l initialisation blocks and 1000·2^l
// test blocks).
func universalMinBits(l int) int { return 1010 << l * l }

// Universal is Maurer's universal statistical test (SP 800-22 §2.9): whether
// the sequence can be compressed, measured by the distances between repeats of
// L-bit blocks. L is the largest value from 6 to 16 for which the sequence is
// long enough (L = 7 for 10⁶ bits, as GM/T 0005 uses). It needs 387840 bits.
func Universal(bits Bits) (Result, error) {
	n := bits.Len()
	if err := needBits("Universal", n, universalMinBits(universalMinL)); err != nil {
		return Result{}, err
	}
	l := universalMinL
	for l+1 < len(universalStats) && n >= universalMinBits(l+1) {
		l++
	}
	return universal(bits.unpack(), l), nil
}

func universal(x []uint8, l int) Result {
	q := 10 << l
	k := len(x)/l - q
	last := make([]int, 1<<l) // last[w]: 1-based index of the latest block w
	sum := 0.0
	for i := 1; i <= q+k; i++ {
		w := 0
		for _, b := range x[(i-1)*l : i*l] {
			w = w<<1 | int(b)
		}
		if i > q {
			sum += math.Log2(float64(i - last[w]))
		}
		last[w] = i
	}
	fn := sum / float64(k)
	lf, kf := float64(l), float64(k)
	c := 0.7 - 0.8/lf + (4+32/lf)*math.Pow(kf, -3/lf)/15
	sigma := c * math.Sqrt(universalStats[l].variance/kf)
	p := math.Erfc(math.Abs(fn-universalStats[l].mean) / (math.Sqrt2 * sigma))
	return newResult("Universal", fmt.Sprintf("L=%d", l), p)
}
