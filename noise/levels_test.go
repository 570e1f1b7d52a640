package noise

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDecide(t *testing.T) {
	nan := float32(math.NaN())
	soft := []Sample{1, -1, 0, nan, float32(math.Inf(1)), float32(math.Inf(-1)), 0.5, 1e-30, 2, 2}
	out := []byte{0xAA, 0xAA, 0xAA}
	Decide(soft, 0, out)
	if want := []byte{0b1000_1011, 0b1100_0000, 0xAA}; !slices.Equal(out, want) {
		t.Fatalf("Decide: %08b, want %08b", out, want)
	}
	mustPanic(t, "short out", func() { Decide(make([]Sample, 9), 0, make([]byte, 1)) })
}

// TestModulateKernelAgainstGeneric cross-checks Modulate's kernels with the twin:
// lengths 0 … 300 and a frame's 992, random bits, several level pairs, unaligned
// output; nothing past nbits may change.
func TestModulateKernelAgainstGeneric(t *testing.T) {
	es := vectorEngines()
	if len(es) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(40, 40))
	lengths := []int{992, SamplesPerFrame}
	for n := range 301 {
		lengths = append(lengths, n)
	}
	for _, e := range es {
		for _, lv := range [][2]Sample{{-1, 1}, {0.25, 2}, {-3e30, 1e-30}} {
			for _, n := range lengths {
				bits := make([]byte, (n+7)/8+1)
				for i := range bits {
					bits[i] = byte(rng.Uint32())
				}
				want := make([]Sample, n+2)
				for i := range want {
					want[i] = 42
				}
				got := slices.Clone(want)
				modulateGeneric(bits, want[1:n+1], lv[0], lv[1])
				withEngine(e, func() { modulate(bits, got[1:n+1], lv[0], lv[1]) })
				if !slices.Equal(got, want) {
					t.Fatalf("%v, levels %v, n %d: kernel and twin differ", e, lv, n)
				}
			}
		}
	}
}

// TestDecideKernelAgainstGeneric cross-checks Decide's kernels with the twin: samples
// on the threshold and one ulp either side, ±0, NaN, ±∞; lengths 0 … 300 and a frame;
// nothing past ⌈n/8⌉ bytes may change.
func TestDecideKernelAgainstGeneric(t *testing.T) {
	es := vectorEngines()
	if len(es) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(41, 41))
	lengths := []int{992, SamplesPerFrame}
	for n := range 301 {
		lengths = append(lengths, n)
	}
	for _, e := range es {
		for _, thr := range []Sample{0, 0.5, -1e-30, float32(math.Inf(1))} {
			for _, n := range lengths {
				soft := make([]Sample, n+1)
				for i := range soft {
					switch rng.IntN(8) {
					case 0:
						soft[i] = thr
					case 1:
						soft[i] = math.Nextafter32(thr, float32(1-2*rng.IntN(2)))
					case 2:
						soft[i] = float32(math.NaN())
					case 3:
						soft[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
					case 4:
						soft[i] = float32(math.Copysign(0, float64(1-2*rng.IntN(2))))
					default:
						soft[i] = thr + float32(rng.NormFloat64())
					}
				}
				want := make([]byte, (n+7)/8+2)
				for i := range want {
					want[i] = 0x5A
				}
				got := slices.Clone(want)
				decideGeneric(soft[1:n+1], thr, want[1:])
				withEngine(e, func() { decide(soft[1:n+1], thr, got[1:]) })
				if !slices.Equal(got, want) {
					t.Fatalf("%v, thr %v, n %d: kernel %x, twin %x", e, thr, n, got, want)
				}
			}
		}
	}
}
