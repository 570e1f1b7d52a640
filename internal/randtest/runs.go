package randtest

import (
	"fmt"
	"math"
)

// longRun is one row of the SP 800-22 §2.4.2 table: blocks of m bits, with the
// longest run of ones classed as ≤lo, lo+1, …, hi−1, ≥hi.
type longRun struct{ minN, m, lo, hi int }

var longRunTable = []longRun{
	{750000, 10000, 10, 16},
	{6272, 128, 4, 9},
	{128, 8, 1, 4},
}

// LongestRunOfOnes is the longest run of ones in a block test (SP 800-22 §2.4),
// with the block length chosen from n as in §2.4.2: M = 8 from 128 bits, 128
// from 6272 and 10⁴ from 750000. The class probabilities are computed exactly
// for the block length rather than taken from the table of §3.4, whose M = 10⁴
// column is an approximation off by up to 1.6·10⁻³.
func LongestRunOfOnes(bits Bits) (Result, error) {
	n := bits.Len()
	for _, c := range longRunTable {
		if n >= c.minN {
			return longestRunOfOnes(bits.unpack(), c), nil
		}
	}
	return Result{}, needBits("LongestRunOfOnes", n, longRunTable[len(longRunTable)-1].minN)
}

func longestRunOfOnes(x []uint8, c longRun) Result {
	classes := make([]int, c.hi-c.lo+1)
	blocks := len(x) / c.m
	for i := range blocks {
		longest, run := 0, 0
		for _, b := range x[i*c.m : (i+1)*c.m] {
			run = (run + 1) * int(b)
			longest = max(longest, run)
		}
		classes[min(max(longest, c.lo), c.hi)-c.lo]++
	}
	chi := chiSquare(classes, longRunProbs(c), blocks)
	p := igamc(float64(len(classes)-1)/2, chi/2)
	return newResult("LongestRunOfOnes", fmt.Sprintf("M=%d", c.m), p)
}

// longRunProbs returns the probabilities of the classes of c for uniform bits.
func longRunProbs(c longRun) []float64 {
	probs := make([]float64, c.hi-c.lo+1)
	prev := 0.0
	for i := range probs[:len(probs)-1] {
		f := longestAtMost(c.m, c.lo+i)
		probs[i], prev = f-prev, f
	}
	probs[len(probs)-1] = 1 - prev
	return probs
}

// longestAtMost returns the probability that m uniform bits hold no run of more
// than r ones, by dynamic programming over the length of the trailing run.
func longestAtMost(m, r int) float64 {
	q := make([]float64, r+1) // q[j]: no run > r so far, trailing run j
	next := make([]float64, r+1)
	q[0] = 1
	for range m {
		total := 0.0
		for _, v := range q {
			total += v
		}
		next[0] = total / 2
		for j := 1; j <= r; j++ {
			next[j] = q[j-1] / 2
		}
		q, next = next, q
	}
	total := 0.0
	for _, v := range q {
		total += v
	}
	return total
}

// RunsDistribution is the runs distribution test of GM/T 0005 (the runs test of
// Menezes et al., Handbook of Applied Cryptography §5.4.4): whether the numbers
// of runs of ones (blocks) and of zeros (gaps) of each length i = 1…k match
// e_i = (n−i+3)/2^(i+2), where k is the largest i with e_i ≥ 5. Runs longer than
// k are not counted; the statistic has 2k−2 degrees of freedom. It needs at
// least 100 bits.
func RunsDistribution(bits Bits) (Result, error) {
	if err := needBits("RunsDistribution", bits.Len(), minBits); err != nil {
		return Result{}, err
	}
	return runsDistribution(bits.unpack()), nil
}

func runsDistribution(x []uint8) Result {
	n := len(x)
	expect := func(i int) float64 { return math.Ldexp(float64(n-i+3), -(i + 2)) }
	k := 1
	for expect(k+1) >= 5 {
		k++
	}
	var counts [2][]int // counts[b][i]: runs of bit b of length exactly i
	counts[0], counts[1] = make([]int, k+1), make([]int, k+1)
	for i := 0; i < n; {
		j := i + 1
		for j < n && x[j] == x[i] {
			j++
		}
		if j-i <= k {
			counts[x[i]][j-i]++
		}
		i = j
	}
	v := 0.0
	for i := 1; i <= k; i++ {
		e := expect(i)
		for b := range counts {
			d := float64(counts[b][i]) - e
			v += d * d / e
		}
	}
	p := igamc(float64(k-1), v/2)
	return newResult("RunsDistribution", fmt.Sprintf("k=%d", k), p)
}
