//go:build amd64 && !noasm

package fec

import "golang.org/x/sys/cpu"

// useGFNI selects the AVX-512 GFNI kernel; tests switch it off to run the
// pure-Go twin.
var useGFNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512GFNI

// gfniMatrix[16i+p] is the GF2P8AFFINEQB matrix of multiplication by
// parityMatrix[p][i].
var gfniMatrix [K * Parity]uint64

// initKernel runs at the end of the package's table setup, after
// parityMatrix exists.
func initKernel() {
	for i := range K {
		for p := range Parity {
			gfniMatrix[i*Parity+p] = affineMul(parityMatrix[p][i])
		}
	}
}

//go:noescape
func gfniFrameCheck(mat *[K * Parity]uint64, r0, r1, r2, r3 *byte) bool

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
		raceRead(row[:K*Interleave])
	}
	gfniFrameParity(&gfniMatrix, &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], out)
	raceWrite(out[:])
}

// frameCheck reports whether every row codeword's parity columns equal the
// parity of its information columns. The kernel compares in the same pass
// and stores nothing; the twin recomputes into par and compares.
func frameCheck(rows *[Rows][]byte, par *[Rows][Parity * Interleave]byte) bool {
	if !useGFNI {
		return genericFrameCheck(rows, par)
	}
	for _, row := range rows {
		raceRead(row[:RowLen])
	}
	return gfniFrameCheck(&gfniMatrix, &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0])
}
