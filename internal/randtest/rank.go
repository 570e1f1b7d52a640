package randtest

import "math"

// rankSize is the side of the square matrices of the Rank test.
const rankSize = 32

// rankMinMatrices is the number of matrices SP 800-22 §2.5.7 asks for.
const rankMinMatrices = 38

// Rank is the binary matrix rank test (SP 800-22 §2.5): the sequence is cut
// into 32×32 matrices over GF(2), filled row by row, and the numbers of matrices
// of rank 32, 31 and less are compared with their exact probabilities. It needs
// 38 matrices: 38912 bits.
func Rank(bits Bits) (Result, error) {
	if err := needBits("Rank", bits.Len(), rankMinMatrices*rankSize*rankSize); err != nil {
		return Result{}, err
	}
	return rank(bits.unpack()), nil
}

func rank(x []uint8) Result {
	const bitsPer = rankSize * rankSize
	matrices := len(x) / bitsPer
	classes := make([]int, 3) // rank 32, 31, ≤30
	var rows [rankSize]uint32
	for k := range matrices {
		for i := range rows {
			row := uint32(0)
			for _, b := range x[k*bitsPer+i*rankSize : k*bitsPer+(i+1)*rankSize] {
				row = row<<1 | uint32(b)
			}
			rows[i] = row
		}
		classes[min(rankSize-gf2Rank(&rows), 2)]++
	}
	p32 := rankProb(32, rankSize, rankSize)
	p31 := rankProb(31, rankSize, rankSize)
	chi := chiSquare(classes, []float64{p32, p31, 1 - p32 - p31}, matrices)
	return newResult("Rank", "32x32", math.Exp(-chi/2))
}

// gf2Rank returns the rank over GF(2) of the matrix whose rows are the bits of
// rows. It destroys rows.
func gf2Rank(rows *[rankSize]uint32) int {
	r := 0
	for col := rankSize - 1; col >= 0 && r < rankSize; col-- {
		bit := uint32(1) << col
		pivot := -1
		for i := r; i < rankSize; i++ {
			if rows[i]&bit != 0 {
				pivot = i
				break
			}
		}
		if pivot < 0 {
			continue
		}
		rows[r], rows[pivot] = rows[pivot], rows[r]
		for i := r + 1; i < rankSize; i++ {
			if rows[i]&bit != 0 {
				rows[i] ^= rows[r]
			}
		}
		r++
	}
	return r
}

// rankProb returns the probability that a uniform m×q matrix over GF(2) has
// rank r: 2^(r(q+m−r)−mq) · Π_(i<r) (1−2^(i−q))(1−2^(i−m))/(1−2^(i−r)).
func rankProb(r, m, q int) float64 {
	p := math.Ldexp(1, r*(q+m-r)-m*q)
	for i := range r {
		p *= (1 - math.Ldexp(1, i-q)) * (1 - math.Ldexp(1, i-m)) / (1 - math.Ldexp(1, i-r))
	}
	return p
}
