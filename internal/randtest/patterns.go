package randtest

import (
	"fmt"
	"math"
)

// Poker is the poker test of GM/T 0005: whether the 2^m possible values of the
// non-overlapping m-bit words are equally frequent. GM/T uses m = 4 and 8. It
// needs m in 1..16 and enough words that each value is expected at least 5
// times: 5·m·2^m bits.
func Poker(bits Bits, m int) (Result, error) {
	if m < 1 || m > 16 {
		return Result{}, badParam("Poker", "m=%d, want 1 ≤ m ≤ 16", m)
	}
	if err := needBits("Poker", bits.Len(), 5*m<<m); err != nil {
		return Result{}, err
	}
	return poker(bits.unpack(), m), nil
}

func poker(x []uint8, m int) Result {
	words := len(x) / m
	counts := make([]int, 1<<m)
	for i := range words {
		w := 0
		for _, b := range x[i*m : (i+1)*m] {
			w = w<<1 | int(b)
		}
		counts[w]++
	}
	v := float64(sumSquares(counts))*float64(len(counts))/float64(words) - float64(words)
	p := igamc(float64(len(counts)-1)/2, v/2)
	return newResult("Poker", fmt.Sprintf("m=%d", m), p)
}

// sumSquares returns Σ c².
func sumSquares(counts []int) int {
	s := 0
	for _, c := range counts {
		s += c * c
	}
	return s
}

// overlapCounts counts the n overlapping m-bit patterns of x, wrapping around
// from the end to the start (the sequence is extended by its first m−1 bits).
// m = 0 gives the single empty pattern, counted n times.
func overlapCounts(x []uint8, m int) []int {
	counts := make([]int, 1<<m)
	n := len(x)
	mask := 1<<m - 1
	w := 0
	for j := range m - 1 {
		w = w<<1 | int(x[j%n])
	}
	for i := range n {
		if m > 0 {
			w = (w<<1 | int(x[(i+m-1)%n])) & mask
		}
		counts[w]++
	}
	return counts
}

// Serial is the serial test (SP 800-22 §2.11): whether the 2^m overlapping m-bit
// patterns are equally frequent. P[0] is from ∇ψ²_m and P[1] from ∇²ψ²_m. SP
// 800-22 asks for m < ⌊log2 n⌋ − 2, so it needs 2 ≤ m ≤ 16 and 2^(m+3) bits
// (and at least 100).
func Serial(bits Bits, m int) (Result, error) {
	if m < 2 || m > 16 {
		return Result{}, badParam("Serial", "m=%d, want 2 ≤ m ≤ 16", m)
	}
	if err := needBits("Serial", bits.Len(), max(minBits, 1<<(m+3))); err != nil {
		return Result{}, err
	}
	return serial(bits.unpack(), m), nil
}

func serial(x []uint8, m int) Result {
	psi := func(m int) float64 {
		if m <= 0 {
			return 0
		}
		n := float64(len(x))
		return float64(sumSquares(overlapCounts(x, m)))*float64(int(1)<<m)/n - n
	}
	p0, p1, p2 := psi(m), psi(m-1), psi(m-2)
	d1 := p0 - p1
	d2 := p0 - 2*p1 + p2
	pv1 := igamc(math.Ldexp(1, m-2), d1/2)
	pv2 := igamc(math.Ldexp(1, m-3), d2/2)
	return newResult("Serial", fmt.Sprintf("m=%d", m), pv1, pv2)
}

// ApproximateEntropy is the approximate entropy test (SP 800-22 §2.12): it
// compares the frequencies of overlapping m-bit and (m+1)-bit patterns. SP 800-22
// asks for m < ⌊log2 n⌋ − 5, so it needs 1 ≤ m ≤ 16 and 2^(m+6) bits (and at
// least 100).
func ApproximateEntropy(bits Bits, m int) (Result, error) {
	if m < 1 || m > 16 {
		return Result{}, badParam("ApproximateEntropy", "m=%d, want 1 ≤ m ≤ 16", m)
	}
	if err := needBits("ApproximateEntropy", bits.Len(), max(minBits, 1<<(m+6))); err != nil {
		return Result{}, err
	}
	return approximateEntropy(bits.unpack(), m), nil
}

func approximateEntropy(x []uint8, m int) Result {
	n := float64(len(x))
	phi := func(m int) float64 {
		s := 0.0
		for _, c := range overlapCounts(x, m) {
			if c > 0 {
				f := float64(c) / n
				s += f * math.Log(f)
			}
		}
		return s
	}
	apen := phi(m) - phi(m+1)
	chi := 2 * n * (math.Ln2 - apen)
	p := igamc(math.Ldexp(1, m-1), chi/2)
	return newResult("ApproximateEntropy", fmt.Sprintf("m=%d", m), p)
}
