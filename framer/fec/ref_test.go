package fec

import (
	"math/rand/v2"
	"testing"
)

// An independent, slow reference of the code, sharing nothing with the
// package: bitwise multiplication, its own log/antilog tables, generator,
// long division and syndromes by polynomial evaluation.

var refExp, refLog [256]int

func refMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1D // x^8 = x^4+x^3+x^2+1
		}
		b >>= 1
	}
	return p
}

func init() {
	var x byte = 1
	for i := range 255 {
		refExp[i] = int(x)
		refLog[x] = i
		x = refMul(x, 2)
	}
	if x != 1 {
		panic("ref: 2 is not primitive")
	}
}

// refPow returns α^e.
func refPow(e int) byte { return byte(refExp[((e%255)+255)%255]) }

// refGen returns g(x) = ∏(x − α^i), index = degree.
func refGen() []byte {
	g := []byte{1}
	for i := range 16 {
		next := make([]byte, len(g)+1)
		for d, c := range g {
			next[d+1] ^= c                  // x·c
			next[d] ^= refMul(c, refPow(i)) // α^i·c
		}
		g = next
	}
	return g
}

// refParity divides msg(x)·x^16 by g(x) by schoolbook long division;
// msg[0] is the highest-degree symbol. It returns the remainder highest
// degree first.
func refParity(msg []byte) []byte {
	g := refGen()
	w := make([]byte, len(msg)+16) // w[i] is the coefficient of x^(len(w)-1-i)
	copy(w, msg)
	for i := range len(msg) {
		q := w[i]
		if q == 0 {
			continue
		}
		for d := 0; d <= 16; d++ {
			w[i+16-d] ^= refMul(q, g[d])
		}
	}
	return w[len(msg):]
}

// refSyndromes evaluates the codeword polynomial at α^0..α^15.
func refSyndromes(cw []byte) (s [16]byte) {
	for j := range 16 {
		var v byte
		for i, c := range cw {
			if c != 0 {
				v ^= refMul(c, refPow(j*(len(cw)-1-i)))
			}
		}
		s[j] = v
	}
	return s
}

func refValid(cw []byte) bool { return refSyndromes(cw) == [16]byte{} }

// newFrame returns four rows of random bytes.
func newFrame(rng *rand.Rand) *[Rows][]byte {
	var rows [Rows][]byte
	for r := range rows {
		rows[r] = make([]byte, RowLen)
		for i := range rows[r] {
			rows[r][i] = byte(rng.Uint32())
		}
	}
	return &rows
}

func cloneFrame(rows *[Rows][]byte) *[Rows][]byte {
	var out [Rows][]byte
	for r := range rows {
		out[r] = append([]byte(nil), rows[r]...)
	}
	return &out
}

// codeword extracts row codeword k = row·16 + j, symbol 0 first.
func codeword(rows *[Rows][]byte, k int) []byte {
	cw := make([]byte, N)
	row, j := rows[k/Interleave], k%Interleave
	for i := range N {
		cw[i] = row[i*Interleave+j]
	}
	return cw
}

// symbol returns a pointer to symbol i of codeword k (k = 64: the area).
func symbol(rows *[Rows][]byte, area []byte, k, i int) *byte {
	if k == AreaCodeword {
		return &area[i]
	}
	return &rows[k/Interleave][i*Interleave+k%Interleave]
}

// injectErrors adds n errors with nonzero values at distinct random
// positions of codeword k.
func injectErrors(rng *rand.Rand, rows *[Rows][]byte, area []byte, k, n int) {
	var perm [N]int
	for i := range perm {
		perm[i] = i
	}
	for e := range n {
		x := e + rng.IntN(N-e)
		perm[e], perm[x] = perm[x], perm[e]
		*symbol(rows, area, k, perm[e]) ^= byte(1 + rng.IntN(255))
	}
}

func newArea(rng *rand.Rand) []byte {
	a := make([]byte, N)
	for i := range a {
		a[i] = byte(rng.Uint32())
	}
	return a
}

func TestReferenceSelfCheck(t *testing.T) {
	// g(x) must vanish at its roots and be monic of degree 16.
	g := refGen()
	if len(g) != 17 || g[16] != 1 {
		t.Fatalf("g has %d coefficients, leading %d", len(g), g[len(g)-1])
	}
	for i := range 16 {
		var v byte
		for d, c := range g {
			v ^= refMul(c, refPow(i*d))
		}
		if v != 0 {
			t.Fatalf("g(α^%d) = %#x", i, v)
		}
	}
	// The reference encoder makes codewords.
	rng := rand.New(rand.NewPCG(1, 2))
	msg := newArea(rng)[:K]
	if cw := append(append([]byte(nil), msg...), refParity(msg)...); !refValid(cw) {
		t.Fatal("reference codeword has nonzero syndromes")
	}
}
