package noise

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

func TestModulate(t *testing.T) {
	bitsIn := []byte{0b1010_0001, 0xff, 0x00, 0b0100_0000}
	tests := []struct {
		nbits int
		p     *Profile
		want  []Sample
	}{
		{0, nil, []Sample{}},
		{3, nil, []Sample{1, -1, 1}},
		{8, nil, []Sample{1, -1, 1, -1, -1, -1, -1, 1}},
		{10, &Profile{Level0: 0.25, Level1: 2}, []Sample{2, 0.25, 2, 0.25, 0.25, 0.25, 0.25, 2, 2, 2}},
		{26, nil, append(append(append([]Sample{1, -1, 1, -1, -1, -1, -1, 1},
			1, 1, 1, 1, 1, 1, 1, 1), -1, -1, -1, -1, -1, -1, -1, -1), -1, 1)},
	}
	for _, tt := range tests {
		out := make([]Sample, tt.nbits+3)
		for i := range out {
			out[i] = 42
		}
		Modulate(bitsIn, tt.nbits, out, tt.p)
		for i, w := range tt.want {
			if out[i] != w {
				t.Fatalf("nbits %d: out[%d] = %v, want %v", tt.nbits, i, out[i], w)
			}
		}
		for i := tt.nbits; i < len(out); i++ {
			if out[i] != 42 {
				t.Fatalf("nbits %d: out[%d] written past nbits", tt.nbits, i)
			}
		}
	}
}

func TestModulateRandomAgainstBitLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for range 200 {
		n := rng.IntN(300)
		in := make([]byte, (n+7)/8)
		for i := range in {
			in[i] = byte(rng.Uint32())
		}
		out := make([]Sample, n)
		Modulate(in, n, out, nil)
		for k := range n {
			want := Sample(-1)
			if in[k/8]&(0x80>>(k%8)) != 0 {
				want = 1
			}
			if out[k] != want {
				t.Fatalf("n=%d bit %d: %v, want %v", n, k, out[k], want)
			}
		}
	}
}

func TestModulatePanics(t *testing.T) {
	mustPanic(t, "nbits beyond bits", func() { Modulate(make([]byte, 1), 9, make([]Sample, 9), nil) })
	mustPanic(t, "negative nbits", func() { Modulate(make([]byte, 1), -1, make([]Sample, 9), nil) })
	mustPanic(t, "short out", func() { Modulate(make([]byte, 2), 9, make([]Sample, 8), nil) })
	mustPanic(t, "short dst", func() { XOR(make([]byte, 2), make([]byte, 3), make([]byte, 3)) })
	mustPanic(t, "unequal", func() { PopCountXOR3(make([]byte, 2), make([]byte, 3), make([]byte, 3)) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestXORAndPopCountAgainstByteLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for n := range 80 {
		a, b, c := make([]byte, n), make([]byte, n+rng.IntN(3)), make([]byte, n)
		for _, s := range [][]byte{a, b, c} {
			for i := range s {
				s[i] = byte(rng.Uint32())
			}
		}
		dst := make([]byte, n)
		if got := XOR(dst, a, b); got != n {
			t.Fatalf("XOR returned %d, want %d", got, n)
		}
		wantPop, want3 := 0, 0
		for i := range n {
			if dst[i] != a[i]^b[i] {
				t.Fatalf("n=%d: XOR byte %d wrong", n, i)
			}
			wantPop += bits.OnesCount8(a[i])
			want3 += bits.OnesCount8(a[i] ^ b[i] ^ c[i])
		}
		if got := PopCount(a); got != wantPop {
			t.Fatalf("n=%d: PopCount %d, want %d", n, got, wantPop)
		}
		if got := PopCountXOR3(a, b[:n], c); got != want3 {
			t.Fatalf("n=%d: PopCountXOR3 %d, want %d", n, got, want3)
		}
		// In place: dst aliases a.
		a2 := append([]byte(nil), a...)
		XOR(a2, a2, b)
		for i := range n {
			if a2[i] != a[i]^b[i] {
				t.Fatalf("n=%d: in-place XOR byte %d wrong", n, i)
			}
		}
	}
}
