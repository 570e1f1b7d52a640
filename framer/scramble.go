package framer

// scrambleMask is the G.709 frame-synchronous scrambler sequence laid over
// one OTU2 frame: zero over the FAS (columns 1-6 of row 1, not scrambled),
// then the output of the 1+x+x^3+x^12+x^16 generator reset to all ones at the
// most significant bit of the MFAS byte, running to the last FEC byte of
// row 4. The extension is not scrambled. The sequence does not depend on the
// frame, so scrambling is one XOR with this mask; scrambling twice restores
// the frame.
var scrambleMask = buildScrambleMask()

// buildScrambleMask runs the generator bit by bit. The polynomial is read as
// delays: bit u[n] = u[n-1] ⊕ u[n-3] ⊕ u[n-12] ⊕ u[n-16], and the sixteen
// register stages start at one, so the sequence begins with sixteen ones
// (the register's initial contents shift out first). Bits go MSB first.
func buildScrambleMask() *[OTU2Len]byte {
	var m [OTU2Len]byte
	var reg uint16 = 0xFFFF // bit 15 = oldest stage (the next output)
	for i := len(fas); i < OTU2Len; i++ {
		var b byte
		for range 8 {
			out := byte(reg >> 15)
			// the bit entering the register is the sequence value 16 steps
			// later: u[n+16] = u[n+15] ⊕ u[n+13] ⊕ u[n+4] ⊕ u[n]
			in := (reg>>15 ^ reg>>11 ^ reg>>2 ^ reg) & 1
			reg = reg<<1 | in
			b = b<<1 | out
		}
		m[i] = b
	}
	return &m
}

// scramble XORs the scrambler mask over the frame's four rows; it is its own
// inverse. It returns the BIP-8 of the result (the XOR of the OPU bytes,
// columns 15-3824 of all rows), folded in the same pass.
func scramble(f *Frame) (bip byte) {
	const opu = OPUFirst - 1
	for r := range Rows {
		row, m := f.rows[r], scrambleMask[r*RowLen:(r+1)*RowLen]
		xorFold(row[:opu], row[:opu], m)
		bip ^= xorFold(row[opu:InfoCols], row[opu:InfoCols], m[opu:])
		xorFold(row[InfoCols:], row[InfoCols:], m[InfoCols:])
	}
	return bip
}
