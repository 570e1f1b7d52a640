package zuc

// S0 by 4-bit table lookups, for kernels without a 256-byte permute (the
// AVX2 kernel: VPSHUFB looks up sixteen entries). The standard defines
// S0(x1‖x2) (x1 the high nibble) as rotl8(y3‖y2, 5) with
//
//	y1 = x1 ⊕ P1[x2],  y2 = x2 ⊕ P2[y1],  y3 = y1 ⊕ P3[y2].
//
// The rotation is linear and y3‖y2 = (y1<<4) ⊕ (P3[y2]<<4) ⊕ y2, so
//
//	S0(x) = rotl8(y1<<4, 5) ⊕ Q[y2] = (y1<<1) ⊕ Q[y2],
//	Q[b] = rotl8(P3[b]<<4, 5) ⊕ rotl8(b, 5),
//
// (rotating a high nibble left by 5 moves it to bits 1..4): three lookups,
// P1, P2 and Q, each indexed by a nibble, and a byte addition of y1 to
// itself.

// s0Nib holds the tables P1, P2 and Q, in that order.
var s0Nib = s0NibbleTables()

func rotl8(x byte, k uint) byte { return x<<k | x>>(8-k) }

func s0NibbleTables() (t [3][16]byte) {
	for i := range byte(16) {
		t[0][i] = p1[i]
		t[1][i] = p2[i]
		t[2][i] = rotl8(p3[i]<<4, 5) ^ rotl8(i, 5)
	}
	return t
}

// s0ByNibbles is S0 computed the kernel's way, for the test of the tables.
func s0ByNibbles(x byte) byte {
	x1, x2 := x>>4, x&15
	y1 := x1 ^ s0Nib[0][x2]
	y2 := x2 ^ s0Nib[1][y1]
	return y1<<1 ^ s0Nib[2][y2]
}
