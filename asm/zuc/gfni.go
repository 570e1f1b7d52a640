package zuc

// S1 with GFNI. GF2P8AFFINEINVQB computes M·inv(y) ⊕ c with the inverse in
// the AES field GF(2^8) mod x^8+x^4+x^3+x+1 (0x11B), while S1 is
// A·inv(x) ⊕ 0x55 with the inverse mod x^8+x^7+x^3+x+1 (0x18B). Both
// fields are GF(2^8), so there is a field isomorphism φ: it maps x to a
// root β of 0x18B's polynomial in the AES field, and sum a_i x^i to
// sum a_i β^i, a linear map. Then inv₁₈B = φ⁻¹ ∘ inv₁₁B ∘ φ and
//
//	S1(x) = (A·φ⁻¹)·inv₁₁B(φ(x)) ⊕ 0x55,
//
// one GF2P8AFFINEQB with matrix φ and one GF2P8AFFINEINVQB with matrix
// A·φ⁻¹ and constant 0x55.

// s1Affine holds the images of the eight basis bits under S1's linear part.
var s1Affine = [8]byte{0x97, 0x3e, 0x6d, 0xcb, 0xee, 0xdd, 0xbb, 0x77}

// aesMul multiplies in GF(2^8) mod 0x11B.
func aesMul(a, b byte) byte { return polyMul(a, b, 0x1B) }

// linear applies the GF(2)-linear map whose basis images are cols.
func linear(cols *[8]byte, x byte) byte {
	var r byte
	for i := range 8 {
		if x>>i&1 == 1 {
			r ^= cols[i]
		}
	}
	return r
}

// affineQword encodes the linear map with basis images cols as the 64-bit
// matrix operand of GF2P8AFFINEQB: output bit i is the parity of
// x AND byte 7-i of the operand.
func affineQword(cols *[8]byte) uint64 {
	var q uint64
	for i := range 8 {
		var row byte
		for j := range 8 {
			row |= (cols[j] >> i & 1) << j
		}
		q |= uint64(row) << (8 * (7 - i))
	}
	return q
}

// s1Matrices returns the GF2P8AFFINEQB operands φ and A·φ⁻¹.
func s1Matrices() (iso, mat uint64) {
	phi := aesIso()
	var phiInv [256]byte
	for x := range 256 {
		phiInv[linear(&phi, byte(x))] = byte(x)
	}
	var m [8]byte // A·φ⁻¹ on the basis of the AES field
	for i := range 8 {
		m[i] = linear(&s1Affine, phiInv[1<<i])
	}
	return affineQword(&phi), affineQword(&m)
}

// aesIso returns the images of the basis bits under the isomorphism φ from
// the field of S1 to the AES field.
func aesIso() (phi [8]byte) {
	// β: the first root of x^8+x^7+x^3+x+1 in the AES field.
	var beta byte
	for b := 2; b < 256; b++ {
		p := [9]byte{1}
		for i := 1; i <= 8; i++ {
			p[i] = aesMul(p[i-1], byte(b))
		}
		if p[8]^p[7]^p[3]^p[1]^p[0] == 0 {
			beta = byte(b)
			break
		}
	}
	pw := byte(1)
	for i := range 8 {
		phi[i] = pw
		pw = aesMul(pw, beta)
	}
	return phi
}
