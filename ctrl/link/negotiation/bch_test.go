package negotiation

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGFPrimitive(t *testing.T) {
	// α must have order 1023: every non-zero element appears once in gfExp.
	seen := map[uint16]bool{}
	for i := range gfOrder {
		x := gf10().exp[i]
		if x == 0 || x > gfOrder || seen[x] {
			t.Fatalf("α^%d = %d repeats or is out of range", i, x)
		}
		seen[x] = true
	}
	for a := uint16(1); a <= gfOrder; a++ {
		b := uint16(a*7%gfOrder + 1)
		if gf10().div(gf10().mul(a, b), b) != a {
			t.Fatalf("(%d·%d)/%d != %d", a, b, b, a)
		}
	}
}

// slowSyndrome evaluates S_j = Σ_{i: bit i} (α^j)^i by repeated multiplication.
func slowSyndrome(bits []byte, j int) uint16 {
	aj := uint16(1)
	for range j {
		aj = gf10().mul(aj, 2)
	}
	var s uint16
	x := uint16(1) // (α^j)^i
	for _, b := range bits {
		if b == 1 {
			s ^= x
		}
		x = gf10().mul(x, aj)
	}
	return s
}

func randomBits(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(2))
	}
	return b
}

func TestOddSyndromesMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 9, 520, 1023} {
		bits := randomBits(rng, n)
		s := make([]uint16, 20)
		oddSyndromes(s, bits)
		for k := range s {
			if want := slowSyndrome(bits, 2*k+1); s[k] != want {
				t.Fatalf("n=%d S_%d = %d, want %d", n, 2*k+1, s[k], want)
			}
		}
	}
}

func TestBCHCorrectsUpToT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	trials := 200
	if testing.Short() {
		trials = 40
	}
	for _, n := range []int{8, 100, 520, 1023} {
		for _, tc := range []int{1, 2, 5, 9, 16, 40} {
			if 2*tc > n {
				continue
			}
			t.Run(fmt.Sprintf("n%d_t%d", n, tc), func(t *testing.T) {
				detected, miscorrected := 0, 0
				for trial := range trials {
					a := randomBits(rng, n)
					s := make([]uint16, tc)
					oddSyndromes(s, a)
					w := trial % (tc + 3) // 0 … t+2 disagreements
					b := slices.Clone(a)
					for _, p := range rng.Perm(n)[:min(w, n)] {
						b[p] ^= 1
					}
					before := slices.Clone(b)
					got, ok := bchDecode(b, s)
					switch {
					case w <= tc && (!ok || got != w || !slices.Equal(a, b)):
						t.Fatalf("w=%d ≤ t: ok=%v corrected=%d equal=%v", w, ok, got, slices.Equal(a, b))
					case w > tc && !ok:
						detected++
						if !slices.Equal(b, before) {
							t.Fatal("failed decode modified the bits")
						}
					case w > tc && ok:
						miscorrected++
					}
				}
				t.Logf("beyond t: %d detected, %d miscorrected", detected, miscorrected)
			})
		}
	}
}

func TestChunkBounds(t *testing.T) {
	for _, k := range []int{1, 520, 1023, 1024, 2047, 5000, MaxSpan} {
		prev := 0
		for c := range chunkCount(k) {
			s, e := chunkBounds(k, c)
			if s != prev || e-s > maxChunkBits || e-s < 1 {
				t.Fatalf("k=%d chunk %d = [%d,%d)", k, c, s, e)
			}
			prev = e
		}
		if prev != k {
			t.Fatalf("k=%d chunks end at %d", k, prev)
		}
	}
}
