package fec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f once with the assembly kernel (when the CPU has it)
// and once with the pure-Go twin.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	saved := useGFNI
	t.Cleanup(func() { useGFNI = saved })
	if saved {
		t.Run("gfni", func(t *testing.T) { useGFNI = true; f(t) })
	}
	t.Run("generic", func(t *testing.T) { useGFNI = false; f(t) })
	useGFNI = saved
}

// TestFrameParityKernels compares the assembly kernel with the pure-Go
// twin on random and edge frames.
func TestFrameParityKernels(t *testing.T) {
	if !useGFNI {
		t.Skip("no AVX-512 GFNI kernel on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(21, 21))
	tests := []struct {
		name string
		fill func(r, i int) byte
	}{
		{"random", func(int, int) byte { return byte(rng.Uint32()) }},
		{"zero", func(int, int) byte { return 0 }},
		{"ones", func(int, int) byte { return 0xFF }},
		{"first-symbols", func(_, i int) byte { return b2byte(i < Interleave) }},
		{"last-info-symbols", func(_, i int) byte { return b2byte(i >= (K-1)*Interleave && i < K*Interleave) }},
		{"row-distinct", func(r, i int) byte { return byte(r*61 + i*i) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rows [Rows][]byte
			for r := range rows {
				rows[r] = make([]byte, RowLen)
				for i := range rows[r] {
					rows[r][i] = tc.fill(r, i)
				}
			}
			var got, want [Rows][Parity * Interleave]byte
			frameParity(&rows, &got)
			genericFrameParity(&rows, &want)
			for r := range got {
				if !bytes.Equal(got[r][:], want[r][:]) {
					t.Fatalf("row %d: kernel parity differs from the Go twin", r)
				}
			}
		})
	}
}

func TestAffineMul(t *testing.T) {
	for c := range 256 {
		m := affineMul(byte(c))
		for x := range 256 {
			// GF2P8AFFINEQB: bit b of the result = parity(byte 7−b of m AND x).
			var y byte
			for b := range 8 {
				row := byte(m >> (8 * (7 - b)))
				if bitsParity(row & byte(x)) {
					y |= 1 << b
				}
			}
			if want := refMul(byte(c), byte(x)); y != want {
				t.Fatalf("affine %#x·%#x = %#x, want %#x", c, x, y, want)
			}
		}
	}
}

func bitsParity(b byte) bool {
	b ^= b >> 4
	b ^= b >> 2
	b ^= b >> 1
	return b&1 != 0
}

// TestFrameCheckKernel compares the check kernel with the pure-Go twin on
// encoded frames, then with one byte flipped at every parity position and
// at random information positions of every row, and with the parity of
// random (unencoded) frames.
func TestFrameCheckKernel(t *testing.T) {
	if !useGFNI {
		t.Skip("no AVX-512 GFNI kernel on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(22, 22))
	c := New()
	var rows [Rows][]byte
	for r := range rows {
		// unaligned rows, as a zero-copy line may deliver them
		buf := make([]byte, RowLen+64)
		rows[r] = buf[1+r*7 : 1+r*7+RowLen]
	}
	var par [Rows][Parity * Interleave]byte
	both := func() bool {
		got := frameCheck(&rows, &par)
		if want := genericFrameCheck(&rows, &par); got != want {
			t.Fatalf("check kernel says %v, twin %v", got, want)
		}
		return got
	}
	for trial := range 4 {
		for r := range rows {
			for i := range rows[r] {
				rows[r][i] = byte(rng.Uint32())
			}
		}
		if trial%2 == 0 && both() {
			t.Fatal("random frame passes the check")
		}
		c.EncodeRows(&rows)
		if !both() {
			t.Fatal("encoded frame fails the check")
		}
		for r := range rows {
			for i := K * Interleave; i < RowLen; i++ {
				rows[r][i] ^= 1 << (i % 8)
				if both() {
					t.Fatalf("row %d byte %d flipped passes", r, i)
				}
				rows[r][i] ^= 1 << (i % 8)
			}
			for range 64 {
				i := rng.IntN(K * Interleave)
				rows[r][i] ^= byte(1 + rng.IntN(255))
				if both() {
					t.Fatalf("row %d info byte %d changed passes", r, i)
				}
				c.EncodeRows(&rows)
			}
		}
	}
}

// TestSyndromeKernel compares the syndrome kernel with its pure-Go twin
// on random, sparse and edge parity differences, and the twin with the
// definition: the syndromes of a frame with errors, evaluated
// symbol by symbol over the whole received codeword.
func TestSyndromeKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	fills := []struct {
		name string
		fill func(r, i int) byte
	}{
		{"random", func(int, int) byte { return byte(rng.Uint32()) }},
		{"zero", func(int, int) byte { return 0 }},
		{"ones", func(int, int) byte { return 0xFF }},
		{"sparse", func(int, int) byte {
			if rng.IntN(40) == 0 {
				return byte(1 + rng.IntN(255))
			}
			return 0
		}},
		{"one-row", func(r, _ int) byte { return b2byte(r == 2) * byte(rng.Uint32()) }},
	}
	for _, tc := range fills {
		var diff [Rows][Parity * Interleave]byte
		for r := range diff {
			for i := range diff[r] {
				diff[r][i] = tc.fill(r, i)
			}
		}
		var want, got [Parity][RowCodewords]byte
		genericFrameSyndromes(&diff, &want)
		forEachImpl(t, func(t *testing.T) {
			got = [Parity][RowCodewords]byte{}
			frameSyndromes(&diff, &got)
			if got != want {
				t.Fatalf("%s: syndromes differ from the Go twin", tc.name)
			}
		})
	}

	// The twin against the definition S_j = r(α^j).
	c := New()
	rp, _ := encodedFrame(t, c, rng)
	rows := *rp
	for range 200 {
		r, i := rng.IntN(Rows), rng.IntN(RowLen)
		rows[r][i] ^= byte(1 + rng.IntN(255))
	}
	var diff [Rows][Parity * Interleave]byte
	frameParity(&rows, &diff)
	for r := range rows {
		parityDiff(rows[r][parityOff:], &diff[r])
	}
	var got [Parity][RowCodewords]byte
	frameSyndromes(&diff, &got)
	for k := range RowCodewords {
		r, j := k/Interleave, k%Interleave
		for q := range Parity {
			var s byte
			for i := range N { // symbol i has degree N−1−i
				s ^= gfMul(rows[r][i*Interleave+j], gfPow(q*(N-1-i)))
			}
			if got[q][k] != s {
				t.Fatalf("codeword %d: S_%d = %#x, want %#x", k, q, got[q][k], s)
			}
		}
	}
}

// TestChienKernel compares the Chien kernel with its pure-Go twin on
// locators built from known roots (every degree 1..T, positions at the
// ends included) and on random locators, which mostly have fewer roots
// than their degree.
func TestChienKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	for trial := range 3000 {
		var lam [Parity + 1]byte
		l := 1 + trial%T
		lam[0] = 1
		var want [4]uint64
		if trial%3 != 0 {
			// Λ(x) = Π (1 − X_i x), X_i = α^e_i, distinct e_i
			seen := map[int]bool{}
			for len(seen) < l {
				e := rng.IntN(N)
				switch trial % 7 {
				case 1:
					e = len(seen) // 0, 1, 2, ...
				case 2:
					e = N - 1 - len(seen) // 254, 253, ...
				}
				if seen[e] {
					continue
				}
				seen[e] = true
				want[e/64] |= 1 << (e % 64)
				x := gfPow(e)
				for d := len(seen); d > 0; d-- {
					lam[d] ^= gfMul(lam[d-1], x)
				}
			}
		} else {
			for i := 1; i <= l; i++ {
				lam[i] = byte(rng.Uint32())
			}
			lam[l] |= 1
		}
		var twin [4]uint64
		genericChienRoots(&lam, l, &twin)
		if trial%3 != 0 && twin != want {
			t.Fatalf("trial %d: twin roots %x, want %x", trial, twin, want)
		}
		forEachImpl(t, func(t *testing.T) {
			var got [4]uint64
			chienRoots(&lam, l, &got)
			if got != twin {
				t.Fatalf("trial %d (l=%d): roots %x, twin %x", trial, l, got, twin)
			}
		})
	}
}

// TestCheckRowsEightSyndromes pins what the clean-frame check decides, on
// the kernel and the twin alike: every pattern of 1..8 symbol errors in a
// codeword fails it, and a pattern that is a multiple of
// g8(x) = Π_{i<8}(x − α^i) (9 symbols, first eight syndromes zero, S_8
// not) passes it, as CheckRows documents.
func TestCheckRowsEightSyndromes(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 26))
	c := New()
	rp, _ := encodedFrame(t, c, rng)
	rows := *rp
	clean := cloneFrame(&rows)
	var g8 [9]byte // g8[d] = coefficient of x^d
	g8[0] = 1
	for i := range 8 {
		for d := i + 1; d > 0; d-- {
			g8[d] = g8[d-1] ^ gfMul(g8[d], gfPow(i))
		}
		g8[0] = gfMul(g8[0], gfPow(i))
	}
	forEachImpl(t, func(t *testing.T) {
		for n := 1; n <= T; n++ {
			for k := range RowCodewords {
				cloneInto(clean, &rows)
				r, j := k/Interleave, k%Interleave
				for _, i := range rng.Perm(N)[:n] {
					rows[r][i*Interleave+j] ^= byte(1 + rng.IntN(255))
				}
				if c.CheckRows(&rows) {
					t.Fatalf("%d errors in codeword %d pass the check", n, k)
				}
			}
		}
		for _, shift := range []int{0, 1, 100, N - 9} {
			cloneInto(clean, &rows)
			k := rng.IntN(RowCodewords)
			r, j := k/Interleave, k%Interleave
			v := byte(1 + rng.IntN(255))
			for d, g := range g8 { // degree shift+d is symbol N−1−shift−d
				rows[r][(N-1-shift-d)*Interleave+j] ^= gfMul(v, g)
			}
			if !c.CheckRows(&rows) {
				t.Fatalf("a multiple of g8 at shift %d fails the check", shift)
			}
			var res Result
			c.DecodeRows(&rows, &res)
			if res.UncorrectableCodewords == 0 && res.CorrectedSymbols == 0 {
				t.Fatalf("shift %d: DecodeRows saw nothing to do", shift)
			}
		}
	})
}
