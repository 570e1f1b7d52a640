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
