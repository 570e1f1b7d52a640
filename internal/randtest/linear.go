package randtest

import (
	"fmt"
	"math"
	"math/bits"
)

// The linear complexity test's class probabilities for T ≤ −2.5, (−2.5,−1.5],
// …, (1.5,2.5], > 2.5 (SP 800-22 §3.10): 1/96, 1/32, 1/8, 1/2, 1/4, 1/16, 1/48.
var linearProbs = []float64{1.0 / 96, 1.0 / 32, 1.0 / 8, 1.0 / 2, 1.0 / 4, 1.0 / 16, 1.0 / 48}

// Block lengths and block count SP 800-22 §2.10.7 asks for.
const (
	linearMinM      = 500
	linearMaxM      = 5000
	linearMinBlocks = 200
)

// LinearComplexity is the linear complexity test (SP 800-22 §2.10): the linear
// complexity of each m-bit block, found by Berlekamp–Massey, is compared with
// its distribution for random blocks. m ≤ 0 selects 500, the length GM/T 0005
// uses. It needs 500 ≤ m ≤ 5000 and 200 blocks: 200·m bits.
func LinearComplexity(bits Bits, m int) (Result, error) {
	if m <= 0 {
		m = linearMinM
	}
	if m < linearMinM || m > linearMaxM {
		return Result{}, badParam("LinearComplexity", "M=%d, want %d ≤ M ≤ %d", m, linearMinM, linearMaxM)
	}
	if err := needBits("LinearComplexity", bits.Len(), linearMinBlocks*m); err != nil {
		return Result{}, err
	}
	return linearComplexity(bits.unpack(), m), nil
}

func linearComplexity(x []uint8, m int) Result {
	sign := 1.0 // (−1)^M
	if m%2 == 1 {
		sign = -1
	}
	mf := float64(m)
	mu := mf/2 + (9-sign)/36 - (mf/3+2.0/9)/math.Exp2(mf)
	classes := make([]int, len(linearProbs))
	blocks := len(x) / m
	bm := newBerlekampMassey(m)
	for i := range blocks {
		t := sign*(float64(bm.complexity(x[i*m:(i+1)*m]))-mu) + 2.0/9
		classes[linearClass(t)]++
	}
	chi := chiSquare(classes, linearProbs, blocks)
	p := igamc(float64(len(linearProbs)-1)/2, chi/2)
	return newResult("LinearComplexity", fmt.Sprintf("M=%d", m), p)
}

// linearClass returns the class of the statistic T.
func linearClass(t float64) int {
	for i, bound := range []float64{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5} {
		if t <= bound {
			return i
		}
	}
	return 6
}

// berlekampMassey finds linear complexities of sequences of up to its capacity
// in bits, reusing its buffers. Polynomials and the window of recent bits are
// packed 64 to a word, so a step costs a few word operations per 64 bits of
// degree. It is not safe for concurrent use.
type berlekampMassey struct {
	c, b, t, r []uint64
}

func newBerlekampMassey(capacity int) *berlekampMassey {
	w := capacity/64 + 1
	return &berlekampMassey{
		c: make([]uint64, w), b: make([]uint64, w),
		t: make([]uint64, w), r: make([]uint64, w),
	}
}

// complexity returns the length of the shortest LFSR that generates s (bits 0
// or 1); len(s) must not exceed the capacity.
//
// Bit j of c is the coefficient of x^j of the connection polynomial C(x); bit j
// of r is s[n−j] at step n, so the discrepancy s[n] + Σ c_j·s[n−j] is the
// parity of c AND r.
func (bm *berlekampMassey) complexity(s []uint8) int {
	clear(bm.c)
	clear(bm.b)
	clear(bm.r)
	bm.c[0], bm.b[0] = 1, 1
	l, m := 0, -1
	for n, bit := range s {
		shiftLeft1(bm.r, uint64(bit))
		d := 0
		for i, c := range bm.c {
			d += bits.OnesCount64(c & bm.r[i])
		}
		if d&1 == 0 {
			continue
		}
		copy(bm.t, bm.c)
		xorShifted(bm.c, bm.b, n-m)
		if 2*l <= n {
			l, m = n+1-l, n
			bm.b, bm.t = bm.t, bm.b
		}
	}
	return l
}

// shiftLeft1 shifts the multiword value v left by one bit, shifting in.
func shiftLeft1(v []uint64, in uint64) {
	for i, w := range v {
		v[i] = w<<1 | in
		in = w >> 63
	}
}

// xorShifted sets dst ^= src << shift, dropping bits beyond dst's length.
func xorShifted(dst, src []uint64, shift int) {
	ws, bs := shift/64, uint(shift%64)
	for i := len(dst) - 1; i >= ws; i-- {
		v := src[i-ws] << bs
		if bs > 0 && i-ws > 0 {
			v |= src[i-ws-1] >> (64 - bs)
		}
		dst[i] ^= v
	}
}
