package fec

import "math/bits"

// decoder turns the 16 syndromes of one codeword into an error pattern.
// It only reads the syndromes, so a failed decode leaves the codeword
// untouched by construction.
type decoder struct {
	lambda [Parity + 1]byte // error locator Λ(x), lambda[0] = 1
	prev   [Parity + 1]byte // BM's previous locator B(x)
	tmp    [Parity + 1]byte
	omega  [Parity]byte // error evaluator Ω(x) = S(x)Λ(x) mod x^16
	pos    [T]int       // error degrees found (symbol index = 254 − degree)
	val    [T]byte      // error values
}

// solve finds the error pattern of a codeword whose syndromes are s
// (S_j = r(α^j)). It returns the number of errors, with their degrees in
// d.pos and values in d.val, and ok = false when the pattern is not a
// consistent one of at most T errors.
func (d *decoder) solve(s *[Parity]byte) (n int, ok bool) {
	if d.single(s) {
		return 1, true
	}
	if d.double(s) {
		return 2, true
	}
	l := d.berlekampMassey(s)
	if l == 0 || l > T {
		return 0, false
	}
	if d.chien(l) != l {
		return 0, false
	}
	if !d.forney(s, l) {
		return 0, false
	}
	return l, d.check(s, l)
}

// single recognises the syndromes of exactly one error, the common case
// on a noisy link: S_j = Y·X^j for j = 0..15, so X = S_1/S_0 and every
// syndrome is the one before times X. It then sets the error (degree
// log X, value Y = S_0) as the full decoder would find it, with 16 lookups
// instead of Berlekamp–Massey, Chien, Forney and the check.
func (d *decoder) single(s *[Parity]byte) bool {
	if s[0] == 0 || s[1] == 0 {
		return false
	}
	x := gfDiv(s[1], s[0])
	m := &gfMulTab[x]
	for j := 1; j < Parity-1; j++ {
		if m[s[j]] != s[j+1] {
			return false
		}
	}
	d.pos[0], d.val[0] = int(gfLog[x]), s[0]
	return true
}

// double solves the syndromes of exactly two errors directly (Peterson's
// equations for t = 2), the next most common case: the locator
// 1 + σ1·x + σ2·x² from S_0..S_3, its roots X = σ1·u with u² + u = σ2/σ1²
// from a table, the values from S_0 and S_1, and then the same check of all
// 16 syndromes as the full decoder. Anything else (one error, three or
// more, no distinct roots) is left to Berlekamp–Massey: double only
// accepts what the full decoder would find, and finds it alike.
func (d *decoder) double(s *[Parity]byte) bool {
	det := gfMul(s[1], s[1]) ^ gfMul(s[0], s[2])
	if det == 0 {
		return false
	}
	s1 := gfDiv(gfMul(s[2], s[1])^gfMul(s[0], s[3]), det)
	s2 := gfDiv(gfMul(s[1], s[3])^gfMul(s[2], s[2]), det)
	if s1 == 0 || s2 == 0 {
		return false
	}
	q := quadRoot[gfDiv(s2, gfMul(s1, s1))]
	if q == 0 { // u² + u = c has no root (trace 1), or c = 0
		return false
	}
	x1, x2 := gfMul(s1, q), gfMul(s1, q^1)
	y1 := gfDiv(s[1]^gfMul(s[0], x2), s1) // (S1 + S0·X2)/(X1 + X2)
	y2 := s[0] ^ y1
	if y1 == 0 || y2 == 0 {
		return false
	}
	e1, e2 := int(gfLog[x1]), int(gfLog[x2])
	if e1 > e2 { // the order in which the Chien search finds them
		e1, e2, y1, y2 = e2, e1, y2, y1
	}
	d.pos[0], d.val[0], d.pos[1], d.val[1] = e1, y1, e2, y2
	return d.check(s, 2)
}

// quadRoot[c] is a root u ≠ 0 of u² + u = c (the other is u ⊕ 1), or 0
// when there is none: half the field, the elements of trace 1, and c = 0.
var quadRoot [256]byte

// buildQuadRoot runs in the package's table setup, after the tables of
// the multiplication.
func buildQuadRoot() {
	for u := 2; u < 256; u++ {
		if c := gfMul(byte(u), byte(u)) ^ byte(u); quadRoot[c] == 0 {
			quadRoot[c] = byte(u)
		}
	}
}

// berlekampMassey computes the shortest LFSR Λ(x) generating s and
// returns its length L, or T+1 as soon as L exceeds T (the codeword is
// then beyond correction, and stopping keeps deg Λ and deg B ≤ T).
func (d *decoder) berlekampMassey(s *[Parity]byte) int {
	d.lambda = [Parity + 1]byte{1}
	d.prev = [Parity + 1]byte{1}
	l, m := 0, 1
	var b byte = 1
	for n := range Parity {
		disc := s[n]
		for i := 1; i <= l; i++ {
			disc ^= gfMul(d.lambda[i], s[n-i])
		}
		if disc == 0 {
			m++
			continue
		}
		coef := gfDiv(disc, b)
		if 2*l <= n {
			if n+1-l > T {
				return T + 1
			}
			d.tmp = d.lambda
			d.subShifted(coef, m)
			l = n + 1 - l
			d.prev = d.tmp
			b = disc
			m = 1
		} else {
			d.subShifted(coef, m)
			m++
		}
	}
	return l
}

// subShifted does Λ(x) −= coef·x^m·B(x), for deg B ≤ T.
func (d *decoder) subShifted(coef byte, m int) {
	row := &gfMulTab[coef]
	for i := 0; i <= T && i+m <= Parity; i++ {
		d.lambda[i+m] ^= row[d.prev[i]]
	}
}

// chien finds the roots α^(−e), e = 0..254, of Λ (degree l ≤ T) and
// returns how many it found (−1 if deg Λ < l); the degrees go to d.pos in
// increasing order. Every nonzero field element is some α^(−e), so l
// distinct roots are l positions, all inside the 255 symbols. A single
// error is solved directly (Λ = 1 + Λ_1·x vanishes at x = 1/Λ_1, so
// α^e = Λ_1); otherwise Λ is evaluated at all 255 points at once
// (chienRoots, a kernel on amd64).
func (d *decoder) chien(l int) int {
	lam := &d.lambda
	if lam[l] == 0 {
		return -1
	}
	if l == 1 {
		d.pos[0] = int(gfLog[lam[1]])
		return 1
	}
	var roots [4]uint64
	chienRoots(lam, l, &roots)
	found := 0
	for w, b := range roots {
		for ; b != 0; b &= b - 1 {
			if found == l { // more roots than the degree: cannot happen
				return found + 1
			}
			d.pos[found] = 64*w + bits.TrailingZeros64(b)
			found++
		}
	}
	return found
}

// chienPow[i−1][e] = α^(−e·i) for e = 0..255 (e = 255 repeats e = 0): the
// points of the Chien search, one row per power of x.
var chienPow [T][256]byte

// buildChienPow runs in the package's table setup, after gfExp exists.
func buildChienPow() {
	for i := 1; i <= T; i++ {
		for e := range 256 {
			chienPow[i-1][e] = gfExp[(255-e*i%255)%255]
		}
	}
}

// genericChienRoots is the pure-Go twin of the Chien kernel: bit e of
// roots is set where 1 + Σ_{i=1..l} Λ_i·α^(−e·i) = 0, e = 0..254.
func genericChienRoots(lambda *[Parity + 1]byte, l int, roots *[4]uint64) {
	*roots = [4]uint64{}
	for e := range N {
		v := byte(1)
		for i := 1; i <= l; i++ {
			v ^= gfMulTab[lambda[i]][chienPow[i-1][e]]
		}
		if v == 0 {
			roots[e/64] |= 1 << (e % 64)
		}
	}
}

// forney computes the error values Y = X·Ω(X⁻¹)/Λ'(X⁻¹) for the l
// positions in d.pos (first consecutive root α^0), by Horner's rule in
// X⁻¹ with rows of the multiplication table.
func (d *decoder) forney(s *[Parity]byte, l int) bool {
	// Ω(x) = S(x)Λ(x) mod x^16 has degree < l for a pattern of l errors;
	// the terms of degree ≥ l are left out (an inconsistent pattern, for
	// which they would not vanish, fails check).
	for k := range l {
		var o byte
		for i := 0; i <= k; i++ {
			o ^= gfMul(d.lambda[i], s[k-i])
		}
		d.omega[k] = o
	}
	top := l - 1 + l%2 // highest odd power of Λ
	for j := range l {
		e := d.pos[j]
		xinv := gfExp[255-e] // X⁻¹ = α^(−e)
		m := &gfMulTab[xinv]
		var num byte
		for k := l - 1; k >= 0; k-- {
			num = m[num] ^ d.omega[k]
		}
		// Λ'(x) = Σ_{i odd} Λ_i x^(i−1): Horner's rule in x².
		m2 := &gfMulTab[m[xinv]]
		var den byte
		for i := top; i >= 1; i -= 2 {
			den = m2[den] ^ d.lambda[i]
		}
		if den == 0 {
			return false
		}
		y := gfMul(gfDiv(num, den), gfExp[e])
		if y == 0 {
			return false
		}
		d.val[j] = y
	}
	return true
}

// check confirms that the error pattern reproduces all 16 syndromes
// (S_j = Σ_i Y_i·X_i^j), i.e. that the corrected codeword has zero
// syndromes.
func (d *decoder) check(s *[Parity]byte, l int) bool {
	var t [T]byte
	var x [T]*[256]byte
	for i := range l {
		t[i] = d.val[i]
		x[i] = &gfMulTab[gfExp[d.pos[i]]]
	}
	for j := range Parity {
		var sum byte
		for i := range l {
			sum ^= t[i]
			t[i] = x[i][t[i]]
		}
		if sum != s[j] {
			return false
		}
	}
	return true
}
