package noise

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// withEngine runs f with the vector kernel switched on (when the CPU has it) or off.
func withEngine(vector bool, f func()) {
	saved := useAVX512
	useAVX512 = vector && saved
	defer func() { useAVX512 = saved }()
	f()
}

// kernelInputs makes n soft samples and 4n+3 keystream bytes that exercise the edges:
// samples on the threshold, infinities, NaNs, tiny and huge values; words that take the
// slow path (magnitudes at or past k_i, the tail of layer 0) about one time in five.
func kernelInputs(rng *rand.Rand, n int, thr float32) ([]Sample, []byte) {
	soft := make([]Sample, n+3)
	for i := range soft {
		switch rng.IntN(10) {
		case 0:
			soft[i] = thr
		case 1:
			soft[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		case 2:
			soft[i] = float32(math.NaN())
		case 3:
			soft[i] = math.Nextafter32(thr, float32(1-2*rng.IntN(2)))
		case 4:
			soft[i] = float32(rng.NormFloat64() * 1e-30)
		default:
			soft[i] = thr + float32(rng.NormFloat64()*2)
		}
	}
	ks := make([]byte, 4*n+3)
	for i := 0; i+4 <= len(ks); i += 4 {
		w := rng.Uint32()
		switch rng.IntN(10) {
		case 0: // at or past the fast bound of its layer: the wedge or the tail
			j := w & (2*zigLayers - 1)
			m := zigK[j] + uint32(rng.IntN(int(1<<23-zigK[j])))
			w = m<<(zigBits+1) | j
		case 1: // the tail
			w = w&^(zigLayers-1) | 0xfffffe00
		case 2: // magnitude 0 or 1, any layer
			w &= 0x3ff
		}
		ks[i], ks[i+1], ks[i+2], ks[i+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	return soft, ks
}

// TestAddAndDecideKernelAgainstGeneric is the kernel-vs-twin cross-check: every length
// from 0 to 300 and the frame and chunk sizes, unaligned samples and words, several σ
// and thresholds, edge samples and slow-path words. Results and the words taken from the
// slow-path source must be identical, and nothing past ⌈n/8⌉ may be written.
func TestAddAndDecideKernelAgainstGeneric(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(16, 16))
	lengths := []int{496, 992, 1984, 2032, 2047, 2048, 2049, 2064, 4096, 4111, 5000}
	for n := range 301 {
		lengths = append(lengths, n)
	}
	sigmas := []float32{0, 1e-6, 0.25, 0.5, 1, 3.7, 1e30}
	thrs := []float32{0, 0.95, -1.5}
	for i, n := range lengths {
		sigma, thr := sigmas[i%len(sigmas)], thrs[i%len(thrs)]
		soft, ks := kernelInputs(rng, n, thr)
		so, ko := i%3, (i/3)%4 // misalign the samples and the words
		s, w := soft[so:so+n], ks[ko:ko+4*n]
		got, want := make([]byte, (n+7)/8+1), make([]byte, (n+7)/8+1)
		got[len(got)-1], want[len(want)-1] = 0x5a, 0x5a
		gs, ws := newPCGWords(uint64(i)), newPCGWords(uint64(i))
		withEngine(true, func() { addAndDecide(s, w, sigma, thr, got[:(n+7)/8], gs) })
		withEngine(false, func() { addAndDecide(s, w, sigma, thr, want[:(n+7)/8], ws) })
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d σ=%v thr=%v: kernel %x, generic %x", n, sigma, thr, got, want)
		}
		if gs.word32() != ws.word32() {
			t.Fatalf("n=%d: kernel and generic took different numbers of slow-path words", n)
		}
	}
}

// TestAddAndDecideKernelRandom compares the engines on plain random words and the
// default profile's samples: about 1.5 % of the lanes take the slow path.
func TestAddAndDecideKernelRandom(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 17))
	soft := make([]Sample, SamplesPerFrame)
	ks := make([]byte, 4*SamplesPerFrame)
	got, want := make([]byte, SamplesPerFrame/8), make([]byte, SamplesPerFrame/8)
	for it := range 300 {
		for i := range soft {
			soft[i] = Sample(2*rng.IntN(2) - 1)
		}
		for i := range ks {
			ks[i] = byte(rng.Uint32())
		}
		sigma := float32(0.1 + rng.Float64())
		gs, ws := newPCGWords(uint64(it)), newPCGWords(uint64(it))
		withEngine(true, func() { addAndDecide(soft, ks, sigma, 0, got, gs) })
		addAndDecideGeneric(soft, ks, sigma, 0, want, ws)
		if !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: kernel and generic differ", it)
		}
	}
}

// TestLocalEnginesAgree runs whole frames through two Locals with the same seed, one on
// the kernel and one on the twin.
func TestLocalEnginesAgree(t *testing.T) {
	p := DefaultProfile()
	var a, b []byte
	withEngine(true, func() { a = frameOutputs(seededLocal(t, p, 9), 60) })
	withEngine(false, func() { b = frameOutputs(seededLocal(t, p, 9), 60) })
	if !bytes.Equal(a, b) {
		t.Fatal("the kernel and the pure-Go twin decide differently")
	}
}
