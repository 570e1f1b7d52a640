package zuc

// S1 with AES-NI, for the AVX2 kernel of CPUs without GFNI. AESENCLAST
// with a zero round key applies ShiftRows and then SubBytes, SubBytes(y) =
// Aff(inv₁₁B(y)) ⊕ 0x63. With φ the isomorphism of gfni.go,
//
//	S1(x) = A·φ⁻¹·inv₁₁B(φ(x)) ⊕ 0x55 = L(SubBytes(φ(x))) ⊕ c,
//
// L = A·φ⁻¹·Aff⁻¹ linear and c = L(0x63) ⊕ 0x55. The linear maps run as
// VPSHUFB lookups of the low and the high nibble, the second with c folded
// in, and a byte shuffle before AESENCLAST undoes its ShiftRows.

// s1AES holds the nibble tables φ(n), φ(n<<4), L(n)⊕c and L(n<<4), in
// that order.
var s1AES = s1AESTables()

// invShiftRows is the VPSHUFB control, for both 128-bit lanes, that moves
// each byte where AESENCLAST's ShiftRows takes it from, so that byte i of
// the result is SubBytes of byte i of the input.
var invShiftRows = invShiftRowsControl()

// aesSubBytes is the AES S-box from its definition.
func aesSubBytes(y byte) byte {
	inv := byte(0)
	if y != 0 {
		inv = 1
		for e, x := 254, y; e > 0; e >>= 1 {
			if e&1 == 1 {
				inv = aesMul(inv, x)
			}
			x = aesMul(x, x)
		}
	}
	return inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63
}

func s1AESTables() (t [4][16]byte) {
	phi := aesIso()
	var phiInv, sbInv [256]byte
	for x := range 256 {
		phiInv[linear(&phi, byte(x))] = byte(x)
		sbInv[aesSubBytes(byte(x))] = byte(x)
	}
	// g(z) = S1(φ⁻¹(SubBytes⁻¹(z))) = L(z) ⊕ c.
	g := func(z byte) byte {
		return linear(&s1Affine, gfInv(phiInv[sbInv[z]])) ^ 0x55
	}
	for n := range byte(16) {
		t[0][n] = linear(&phi, n)
		t[1][n] = linear(&phi, n<<4)
		t[2][n] = g(n)
		t[3][n] = g(n<<4) ^ g(0)
	}
	return t
}

func invShiftRowsControl() (ctl [32]byte) {
	for j := range 16 {
		r, c := j%4, j/4
		ctl[j] = byte(r + 4*((c-r+4)%4))
		ctl[16+j] = ctl[j]
	}
	return ctl
}

// s1ByAES is S1 computed the kernel's way, ShiftRows aside, for the test
// of the tables.
func s1ByAES(x byte) byte {
	z := aesSubBytes(s1AES[0][x&15] ^ s1AES[1][x>>4])
	return s1AES[2][z&15] ^ s1AES[3][z>>4]
}
