package noise

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// withEngine runs f with engine e in use; e must be one hasEngine allows.
func withEngine(e engine, f func()) {
	saved := noiseEngine
	noiseEngine = e
	defer func() { noiseEngine = saved }()
	f()
}

// vectorEngines are the kernels this build and CPU run.
func vectorEngines() []engine {
	var es []engine
	for _, e := range []engine{engineAVX512, engineAVX2} {
		if hasEngine[e] {
			es = append(es, e)
		}
	}
	return es
}

// kernelInputs makes n soft samples and 4n+3 keystream bytes that exercise the edges:
// samples on the threshold and one ulp off it, infinities, NaNs, tiny and huge values;
// words 0 and 2^32−1, and words at, just below and just above the sample's decision
// threshold (where a difference of one rounding between kernel and twin would show).
func kernelInputs(rng *rand.Rand, n int, thr, inv float32) ([]Sample, []byte) {
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
		case 5:
			soft[i] = float32(rng.NormFloat64() * 1e30)
		default:
			soft[i] = thr + float32(rng.NormFloat64()*2)
		}
	}
	ks := make([]byte, 4*n+3)
	for i := 0; i+4 <= len(ks); i += 4 {
		w := rng.Uint32()
		k := i / 4
		switch rng.IntN(8) {
		case 0:
			w = 0
		case 1:
			w = math.MaxUint32
		case 2, 3:
			if t := float32((thr - soft[k]) * inv); t == t {
				w = decisionThreshold(t) + uint32(rng.IntN(3)) - 1
			}
		}
		binary.LittleEndian.PutUint32(ks[i:], w)
	}
	return soft, ks
}

// TestAddAndDecideKernelAgainstGeneric is the kernel-vs-twin cross-check: every length
// from 0 to 300 and the frame sizes, unaligned samples and words, several 1/σ (∞ and
// tiny included) and thresholds, edge samples and words on the decision thresholds.
// Results must be identical, and nothing past ⌈n/8⌉ may be written.
func TestAddAndDecideKernelAgainstGeneric(t *testing.T) {
	if len(vectorEngines()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(16, 16))
	lengths := []int{496, 992, 1984, 2032, 2047, 2048, 2049, 2064, 4096, 4111, 5000}
	for n := range 301 {
		lengths = append(lengths, n)
	}
	invs := []float32{float32(math.Inf(1)), 1e6, 4, 2, 1, 1 / 3.7, 1e-30}
	thrs := []float32{0, 0.95, -1.5}
	for i, n := range lengths {
		inv, thr := invs[i%len(invs)], thrs[i%len(thrs)]
		soft, ks := kernelInputs(rng, n, thr, inv)
		so, ko := i%3, (i/3)%4 // misalign the samples and the words
		s, w := soft[so:so+n], ks[ko:ko+4*n]
		got, want := make([]byte, (n+7)/8+1), make([]byte, (n+7)/8+1)
		got[len(got)-1], want[len(want)-1] = 0x5a, 0x5a
		withEngine(engineGeneric, func() { addAndDecide(s, w, inv, thr, want[:(n+7)/8]) })
		for _, e := range vectorEngines() {
			clear(got[:(n+7)/8])
			withEngine(e, func() { addAndDecide(s, w, inv, thr, got[:(n+7)/8]) })
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, n=%d 1/σ=%v thr=%v: kernel %x, generic %x", e, n, inv, thr, got, want)
			}
		}
	}
}

// TestAddAndDecideKernelRandom compares the engines on plain random words and the
// default profile's samples.
func TestAddAndDecideKernelRandom(t *testing.T) {
	if len(vectorEngines()) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 17))
	soft := make([]Sample, SamplesPerFrame)
	ks := make([]byte, 4*SamplesPerFrame)
	got, want := make([]byte, SamplesPerFrame/8), make([]byte, SamplesPerFrame/8)
	for it := range 300 {
		for i := range soft {
			soft[i] = Sample(2*rng.IntN(2)-1) + float32(rng.NormFloat64()*0.3)
		}
		for i := range ks {
			ks[i] = byte(rng.Uint32())
		}
		inv := 1 / float32(0.1+rng.Float64())
		addAndDecideGeneric(soft, ks, inv, 0, want)
		for _, e := range vectorEngines() {
			withEngine(e, func() { addAndDecide(soft, ks, inv, 0, got) })
			if !bytes.Equal(got, want) {
				t.Fatalf("iteration %d: %s and generic differ", it, e)
			}
		}
	}
}

// TestLocalEnginesAgree runs whole frames through two Locals with the same seed, one on
// the kernel and one on the twin.
func TestLocalEnginesAgree(t *testing.T) {
	p := DefaultProfile()
	var a, b []byte
	withEngine(engineGeneric, func() { b = frameOutputs(seededLocal(t, p, 9), 60) })
	for _, e := range vectorEngines() {
		withEngine(e, func() { a = frameOutputs(seededLocal(t, p, 9), 60) })
		if !bytes.Equal(a, b) {
			t.Fatalf("the %s kernel and the pure-Go twin decide differently", e)
		}
	}
}
