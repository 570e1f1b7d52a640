package fec

import "fmt"

// PatchRow adds (XORs) delta into information byte col (0-based, below
// K·Interleave = 3824) of a row whose parity is in place, and adds the
// matching change to the parity of that byte's codeword: afterwards the row
// is exactly what EncodeRows makes of the changed information. The code is
// linear, so changing symbol i of codeword j by delta changes its parity
// symbol p by delta·parityMatrix[p][i]: 16 table lookups, where EncodeRows
// runs over the whole frame. Because it only adds, it also holds for a row
// that was scrambled afterwards (the scrambler adds a fixed mask). Frame
// workers use it to write a field that depends on the frames before it
// (the SM BIP-8) after the frame was sealed in parallel. A row of another
// length or a col outside the information columns panics.
func PatchRow(row []byte, col int, delta byte) {
	if len(row) != RowLen {
		panic(fmt.Sprintf("fec: row has %d bytes, want %d", len(row), RowLen))
	}
	if col < 0 || col >= parityOff {
		panic(fmt.Sprintf("fec: column %d is not an information column (0…%d)", col, parityOff-1))
	}
	row[col] ^= delta
	if delta == 0 {
		return
	}
	i, j := col/Interleave, col%Interleave
	par := row[parityOff+j:]
	for p := range Parity {
		par[p*Interleave] ^= gfMulTab[parityMatrix[p][i]][delta]
	}
}
