package randtest

import (
	"math"
	"math/bits"
	"math/cmplx"
)

// maxRadix is the largest prime factor the mixed-radix transform handles; a
// radix-p stage costs p complex products per element.
const maxRadix = 64

// dft returns the discrete Fourier transform X_k = Σ x_j·e^(−2πijk/n) of x for
// any length: radix-2 when n is a power of two, mixed radix when n has no prime
// factor above maxRadix (10⁶ = 2⁶·5⁶), otherwise Bluestein's chirp-z algorithm,
// which rewrites the transform as a convolution computed with power-of-two
// transforms.
func dft(x []complex128) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	if n <= 1 {
		copy(out, x)
		return out
	}
	if n&(n-1) == 0 {
		copy(out, x)
		fft2(out, false)
		return out
	}
	if factors, ok := smallFactors(n); ok {
		twiddle := make([]complex128, n)
		for i := range twiddle {
			s, c := math.Sincos(-2 * math.Pi * float64(i) / float64(n))
			twiddle[i] = complex(c, s)
		}
		mixedRadix(out, x, 1, factors, twiddle, 1)
		return out
	}
	copy(out, x)
	return bluestein(out)
}

// smallFactors returns the prime factors of n, smallest first, or false if one
// exceeds maxRadix.
func smallFactors(n int) ([]int, bool) {
	var f []int
	for p := 2; p <= maxRadix && n > 1; p++ {
		for n%p == 0 {
			f = append(f, p)
			n /= p
		}
	}
	return f, n == 1
}

// mixedRadix writes to dst the DFT of the len(dst) values src[0], src[stride],
// src[2·stride], … by decimation in time: with p = factors[0] and m = len(dst)/p,
// the DFTs Y_r of the p subsequences src[r + p·j] go to dst[r·m : (r+1)·m], and
// are then combined in place, X[k + m·q] = Σ_r e^(−2πi·r(k+mq)/len(dst))·Y_r[k],
// which reads and writes the same p slots for each k. twiddle holds the roots of
// unity of the top-level length N, so the root for length n is twiddle[tws·e mod N]
// with tws = N/n.
func mixedRadix(dst, src []complex128, stride int, factors []int, twiddle []complex128, tws int) {
	n := len(dst)
	p, m := factors[0], n/factors[0]
	// root[j] = e^(−2πi·j/p); r·k·tws < p·m·tws = N needs no reduction.
	var rootBuf, tBuf [maxRadix]complex128
	root, t := rootBuf[:p], tBuf[:p]
	for j := range root {
		root[j] = twiddle[j*m*tws]
	}
	if m == 1 { // a plain length-p DFT of the strided input
		for r := range p {
			t[r] = src[r*stride]
		}
		smallDFT(dst, t, root)
		return
	}
	for r := range p {
		mixedRadix(dst[r*m:(r+1)*m], src[r*stride:], stride*p, factors[1:], twiddle, tws*p)
	}
	if p == 2 {
		for k := range m {
			u, v := dst[k], dst[m+k]*twiddle[k*tws]
			dst[k], dst[m+k] = u+v, u-v
		}
		return
	}
	for k := range m {
		for r := range p {
			t[r] = dst[r*m+k] * twiddle[r*k*tws]
		}
		for q := range p {
			dst[k+m*q] = dftTerm(t, root, q)
		}
	}
}

// smallDFT writes the DFT of t to dst (at dst[q]); root holds the len(t)-th
// roots of unity.
func smallDFT(dst, t, root []complex128) {
	for q := range t {
		dst[q] = dftTerm(t, root, q)
	}
}

// dftTerm returns Σ_r t[r]·root[r·q mod p], output q of the length-p DFT of t.
func dftTerm(t, root []complex128, q int) complex128 {
	p := len(t)
	sum, j := t[0], 0
	for r := 1; r < p; r++ {
		if j += q; j >= p {
			j -= p
		}
		sum += t[r] * root[j]
	}
	return sum
}

// bluestein returns the DFT of x (len(x) not a power of two), using
// jk = (j² + k² − (k−j)²)/2 so that X_k = w_k·Σ_j (x_j·w_j)·conj(w_(k−j)) with the
// chirp w_j = e^(−πij²/n). It overwrites x.
func bluestein(x []complex128) []complex128 {
	n := len(x)
	size := 1 << bits.Len(uint(2*n-2))
	chirp := make([]complex128, n)
	for j := range chirp {
		// j² mod 2n keeps the angle small, and so exact enough, for large j.
		j2 := (uint64(j) * uint64(j)) % uint64(2*n)
		s, c := math.Sincos(-math.Pi * float64(j2) / float64(n))
		chirp[j] = complex(c, s)
	}
	a := make([]complex128, size)
	b := make([]complex128, size)
	for j := range n {
		a[j] = x[j] * chirp[j]
		b[j] = cmplx.Conj(chirp[j])
		if j > 0 {
			b[size-j] = b[j]
		}
	}
	fft2(a, false)
	fft2(b, false)
	for i := range a {
		a[i] *= b[i]
	}
	fft2(a, true)
	scale := complex(1/float64(size), 0)
	for k := range x {
		x[k] = a[k] * chirp[k] * scale
	}
	return x
}

// fft2 transforms x in place; len(x) must be a power of two. The inverse
// transform is not scaled by 1/len(x).
func fft2(x []complex128, inverse bool) {
	n := len(x)
	shift := 64 - bits.Len(uint(n-1))
	for i := range x {
		if j := int(bits.Reverse64(uint64(i)) >> shift); j > i {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	twiddle := make([]complex128, n/2)
	for k := range twiddle {
		s, c := math.Sincos(sign * 2 * math.Pi * float64(k) / float64(n))
		twiddle[k] = complex(c, s)
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := range half {
				u := x[start+k]
				v := x[start+k+half] * twiddle[k*step]
				x[start+k], x[start+k+half] = u+v, u-v
			}
		}
	}
}
