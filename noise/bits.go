package noise

// Bit-array helpers for the round algebra: E = XB4 ⊕ XA1 ⊕ C2 and its popcount.
// Bit arrays are byte slices in the MSB-first order of Modulate; XOR and popcount do not
// depend on the order, so any whole-byte array works. None of them allocates.

// XOR sets dst[i] = a[i] ^ b[i] for i < n = min(len(a), len(b)) and returns n. It panics
// if dst is shorter than n. dst may be a or b itself.
func XOR(dst, a, b []byte) int {
	n := min(len(a), len(b))
	if len(dst) < n {
		panic("noise: XOR: dst shorter than the inputs")
	}
	xorGeneric(dst[:n], a[:n], b[:n])
	return n
}

// PopCount returns the number of one bits in b.
func PopCount(b []byte) int {
	return popCountGeneric(b)
}

// PopCountXOR3 returns PopCount(a ⊕ b ⊕ c) without a temporary array: the error count
// of one round, e.g. popcount(XB4 ⊕ XA1 ⊕ C2). It panics unless the three have the same
// length.
func PopCountXOR3(a, b, c []byte) int {
	if len(a) != len(b) || len(a) != len(c) {
		panic("noise: PopCountXOR3: arrays of different lengths")
	}
	return popCountXOR3Generic(a, b, c)
}
