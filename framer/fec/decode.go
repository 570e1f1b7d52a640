package fec

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

// berlekampMassey computes the shortest LFSR Λ(x) generating s and
// returns its length L.
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

// subShifted does Λ(x) −= coef·x^m·B(x).
func (d *decoder) subShifted(coef byte, m int) {
	for i := 0; i+m <= Parity; i++ {
		d.lambda[i+m] ^= gfMul(coef, d.prev[i])
	}
}

// chien finds the roots α^(−e), e = 0..254, of Λ (degree l ≤ T) and
// returns how many it found (−1 if deg Λ < l); the degrees go to d.pos.
// Every nonzero field element is some α^(−e), so l distinct roots are l
// positions, all inside the 255 symbols. A single error is solved
// directly (Λ = 1 + Λ_1·x vanishes at x = 1/Λ_1, so α^e = Λ_1). Otherwise
// the eight terms Λ_i·α^(−e·i) are stepped with the multiplication table
// (unused ones stay zero), stopping at the l-th root: a polynomial of
// degree l has no more.
func (d *decoder) chien(l int) int {
	lam := &d.lambda
	if lam[l] == 0 {
		return -1
	}
	if l == 1 {
		d.pos[0] = int(gfLog[lam[1]])
		return 1
	}
	t1, t2, t3, t4 := lam[1], lam[2], lam[3], lam[4]
	t5, t6, t7, t8 := lam[5], lam[6], lam[7], lam[8]
	m1, m2, m3, m4 := &gfMulTab[gfExp[254]], &gfMulTab[gfExp[253]], &gfMulTab[gfExp[252]], &gfMulTab[gfExp[251]]
	m5, m6, m7, m8 := &gfMulTab[gfExp[250]], &gfMulTab[gfExp[249]], &gfMulTab[gfExp[248]], &gfMulTab[gfExp[247]]
	found := 0
	for e := range N {
		if 1^t1^t2^t3^t4^t5^t6^t7^t8 == 0 {
			d.pos[found] = e
			if found++; found == l {
				break
			}
		}
		t1, t2, t3, t4 = m1[t1], m2[t2], m3[t3], m4[t4]
		t5, t6, t7, t8 = m5[t5], m6[t6], m7[t7], m8[t8]
	}
	return found
}

// forney computes the error values Y = X·Ω(X⁻¹)/Λ'(X⁻¹) for the l
// positions in d.pos (first consecutive root α^0).
func (d *decoder) forney(s *[Parity]byte, l int) bool {
	for k := range Parity {
		var o byte
		for i := 0; i <= l && i <= k; i++ {
			o ^= gfMul(d.lambda[i], s[k-i])
		}
		d.omega[k] = o
	}
	for j := range l {
		e := d.pos[j]
		xinv := (255 - e) % 255 // log of X⁻¹
		var num, den byte
		for k := range Parity {
			if d.omega[k] != 0 {
				num ^= gfExp[(int(gfLog[d.omega[k]])+k*xinv)%255]
			}
		}
		for i := 1; i <= l; i += 2 {
			if d.lambda[i] != 0 {
				den ^= gfExp[(int(gfLog[d.lambda[i]])+(i-1)*xinv)%255]
			}
		}
		if den == 0 {
			return false
		}
		y := gfMul(gfDiv(num, den), gfPow(e))
		if y == 0 {
			return false
		}
		d.val[j] = y
	}
	return true
}

// check confirms that the error pattern reproduces all 16 syndromes, i.e.
// that the corrected codeword has zero syndromes.
func (d *decoder) check(s *[Parity]byte, l int) bool {
	for j := range Parity {
		var sum byte
		for i := range l {
			sum ^= gfMul(d.val[i], gfPow(d.pos[i]*j))
		}
		if sum != s[j] {
			return false
		}
	}
	return true
}
