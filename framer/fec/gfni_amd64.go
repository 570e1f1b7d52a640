//go:build amd64 && !noasm

package fec

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/otkd/otkd/internal/asmswitch"
	"github.com/otkd/otkd/internal/race"
)

// useGFNI selects the AVX-512 GFNI kernels, detected once; OTKD_NOASM=fec
// turns them off, and tests switch them off to run the pure-Go twins.
var useGFNI = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.GFNI) && !asmswitch.Off("fec")

// gfniMatrix[16i+p] is the GF2P8AFFINEQB matrix of multiplication by
// parityMatrix[p][i].
var gfniMatrix [K * Parity]uint64

// synMatrix[16j+p] is the matrix of multiplication by α^(j(15−p)): the
// weight of parity difference p in syndrome j.
var synMatrix [Parity * Parity]uint64

// mulMatrix[c] is the matrix of multiplication by c.
var mulMatrix [256]uint64

// initKernel runs at the end of the package's table setup, after
// parityMatrix exists.
func initKernel() {
	for i := range K {
		for p := range Parity {
			gfniMatrix[i*Parity+p] = affineMul(parityMatrix[p][i])
		}
	}
	for j := range Parity {
		for p := range Parity {
			synMatrix[j*Parity+p] = affineMul(gfPow(j * (Parity - 1 - p)))
		}
	}
	for c := range mulMatrix {
		mulMatrix[c] = affineMul(byte(c))
	}
	for j := 1; j < checkSyndromes; j++ {
		for g := range synGroups {
			for q := range 8 {
				if i := 4*g + q/2; i < N {
					synChkMatrix[(j-1)*synGroups*8+8*g+q] = affineMul(gfPow(j * (N - 1 - i)))
				}
			}
		}
	}
}

//go:noescape
func gfniSynCheck(mat *[7 * synGroups * 8]uint64, rows *[Rows]*byte) bool

// synGroups is the number of 64-byte groups (four symbol lines) of a row.
const synGroups = 64

// synChkMatrix[(j−1)·512 + 8g + q] is the matrix of multiplication by
// α^(j·(254 − 4g − q/2)), the weight in syndrome j (1..7) of symbol 4g+q/2,
// whose sixteen bytes lie in lane q/2 of the row's 64-byte group g; zero
// past symbol 254.
var synChkMatrix [7 * synGroups * 8]uint64

//go:noescape
func gfniSyndromes(mat *[Parity * Parity]uint64, diff *[Rows][Parity * Interleave]byte, out *[Parity][RowCodewords]byte)

//go:noescape
func gfniChien(mats *[T]uint64, l int, pow *[T][256]byte, roots *[4]uint64)

//go:noescape
func gfniFrameParity(mat *[K * Parity]uint64, r0, r1, r2, r3 *byte, out *[Rows][Parity * Interleave]byte)

// frameParity computes the parity of the 64 row codewords into out, in the
// layout of the rows' parity columns. Rows are RowLen bytes (checked by
// the caller).
func frameParity(rows *[Rows][]byte, out *[Rows][Parity * Interleave]byte) {
	if !useGFNI {
		genericFrameParity(rows, out)
		return
	}
	for _, row := range rows {
		race.ReadRange(row[:K*Interleave])
	}
	gfniFrameParity(&gfniMatrix, &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], out)
	for i := range out {
		race.WriteRange(out[i][:])
	}
}

// frameCheck reports whether the first checkSyndromes syndromes of every
// row codeword are zero (see CheckRows). The kernel computes them from the
// rows directly; the twin from the parity difference.
func frameCheck(rows *[Rows][]byte, par *[Rows][Parity * Interleave]byte) bool {
	if !useGFNI {
		return genericFrameCheck(rows, par)
	}
	var ptrs [Rows]*byte
	for r, row := range rows {
		race.ReadRange(row[:RowLen])
		ptrs[r] = &row[0]
	}
	return gfniSynCheck(&synChkMatrix, &ptrs)
}

// frameSyndromes computes the sixteen syndromes of the 64 row codewords
// from their parity differences (see genericFrameSyndromes).
func frameSyndromes(diff *[Rows][Parity * Interleave]byte, out *[Parity][RowCodewords]byte) {
	if !useGFNI {
		genericFrameSyndromes(diff, out)
		return
	}
	race.ReadRange(diff[0][:])
	race.ReadRange(diff[1][:])
	race.ReadRange(diff[2][:])
	race.ReadRange(diff[3][:])
	gfniSyndromes(&synMatrix, diff, out)
	for q := range out {
		race.WriteRange(out[q][:])
	}
}

// chienRoots sets bit e of roots where Λ(α^(−e)) = 0, e = 0..254, for the
// locator lambda of degree 1 ≤ l ≤ T (see genericChienRoots).
func chienRoots(lambda *[Parity + 1]byte, l int, roots *[4]uint64) {
	if !useGFNI {
		genericChienRoots(lambda, l, roots)
		return
	}
	var mats [T]uint64
	for i := 1; i <= l; i++ {
		mats[i-1] = mulMatrix[lambda[i]]
	}
	gfniChien(&mats, l, &chienPow, roots)
	roots[3] &^= 1 << 63 // e = 255 is e = 0 again
}
