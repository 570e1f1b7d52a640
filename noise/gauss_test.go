package noise

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// pcgWords is a deterministic word source for tests.
type pcgWords struct{ rng rand.PCG }

func newPCGWords(seed uint64) *pcgWords {
	s := &pcgWords{}
	s.rng.Seed(seed, 12345)
	return s
}

func (s *pcgWords) word32() uint32 { return uint32(s.rng.Uint64() >> 32) }

// sampleCount is the number of deviates of the statistical tests.
func sampleCount() int {
	if testing.Short() {
		return 200_000
	}
	return 1_000_000
}

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func TestZigguratTablesClose(t *testing.T) {
	f := func(x float64) float64 { return math.Exp(-0.5 * x * x) }
	// The top layer must end at the top of the curve: its area v equals x_127 (1 − f(x_127)).
	top := zigV/zigX[zigLayers-1] + f(zigX[zigLayers-1])
	if math.Abs(top-1) > 1e-9 {
		t.Fatalf("layers do not close: v/x_127 + f(x_127) = %.12f, want 1", top)
	}
	for i := 1; i < zigLayers; i++ {
		if !(zigX[i+1] < zigX[i]) {
			t.Fatalf("layer edges not decreasing at %d: %v ≥ %v", i, zigX[i+1], zigX[i])
		}
		area := zigX[i] * (zigF[i+1] - zigF[i])
		if math.Abs(area-zigV)/zigV > 1e-9 {
			t.Fatalf("layer %d area %.12g, want %.12g", i, area, zigV)
		}
	}
	// The fast path's acceptance rate: the mean over layers of k_i / 2^24.
	var rate float64
	for i := range zigLayers {
		rate += float64(zigK[i]) * zigScale / zigLayers
	}
	if rate < 0.98 {
		t.Fatalf("fast-path rate %.4f, want ≥ 0.98", rate)
	}
	t.Logf("ziggurat: r = %.13g, v = %.12g, fast-path rate %.4f", zigR, zigV, rate)
}

// gaussSamples draws n deviates from words of src (one word per sample, extra words from
// the same source on the slow path).
func gaussSamples(n int, src wordSource) []float64 {
	z := make([]float64, n)
	for i := range z {
		z[i] = float64(gaussian(src.word32(), src))
	}
	return z
}

// checkNormal tests that z looks like N(0, 1): moments within 5 standard errors (false
// alarm probability ≈ 6e-7 each; the seeds are fixed anyway, so a failure means a real
// deviation or a changed generator), a Kolmogorov–Smirnov test at α = 0.001 and a
// chi-square test over bins that include both tails at α = 0.001.
func checkNormal(t *testing.T, z []float64) {
	t.Helper()
	n := float64(len(z))
	var s1, s2, s4 float64
	for _, x := range z {
		s1 += x
		s2 += x * x
		s4 += x * x * x * x
	}
	mean, m2, m4 := s1/n, s2/n, s4/n
	// Standard errors for N(0,1): mean 1/√n, E[x²] √(2/n), E[x⁴] √(96/n).
	if math.Abs(mean) > 5/math.Sqrt(n) {
		t.Errorf("mean %.5f, want |mean| ≤ %.5f", mean, 5/math.Sqrt(n))
	}
	if math.Abs(m2-1) > 5*math.Sqrt(2/n) {
		t.Errorf("variance %.5f, want 1 ± %.5f", m2, 5*math.Sqrt(2/n))
	}
	if math.Abs(m4-3) > 5*math.Sqrt(96/n) {
		t.Errorf("fourth moment %.4f, want 3 ± %.4f", m4, 5*math.Sqrt(96/n))
	}

	s := slices.Clone(z)
	slices.Sort(s)
	var d float64
	for i, x := range s {
		c := phi(x)
		d = max(d, math.Abs(c-float64(i)/n), math.Abs(float64(i+1)/n-c))
	}
	// Kolmogorov distribution: P(√n·D > 1.949) = 0.001.
	if ks := math.Sqrt(n) * d; ks > 1.949 {
		t.Errorf("Kolmogorov–Smirnov √n·D = %.3f > 1.949 (α = 0.001)", ks)
	}

	edges := []float64{math.Inf(-1), -4, -zigR, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, zigR, 4, math.Inf(1)}
	var chi float64
	for b := 0; b+1 < len(edges); b++ {
		lo, hi := edges[b], edges[b+1]
		i, _ := slices.BinarySearch(s, lo)
		j, _ := slices.BinarySearch(s, hi)
		exp := n * (phi(hi) - phi(lo))
		obs := float64(j - i)
		chi += (obs - exp) * (obs - exp) / exp
	}
	// 13 degrees of freedom: P(χ² > 34.53) = 0.001.
	if chi > 34.53 {
		t.Errorf("chi-square over %d bins = %.2f > 34.53 (α = 0.001)", len(edges)-1, chi)
	}
	t.Logf("n=%d mean=%.5f var=%.5f m4=%.4f chi2=%.2f", len(z), mean, m2, m4, chi)
}

func TestGaussianDistribution(t *testing.T) {
	checkNormal(t, gaussSamples(sampleCount(), newPCGWords(1)))
}

// TestGaussianSlowPathAgrees checks that zigSlow returns the fast path's value for a
// fast word and stays finite on the extreme words.
func TestGaussianSlowPathAgrees(t *testing.T) {
	src := newPCGWords(2)
	for _, w := range []uint32{0, 1, 0xff, 0x100, 0x1ff, 0xfffffe00, 0xffffff00, 0xffffffff, 0x12345678, 0x800000ff} {
		z := gaussian(w, src)
		if math.IsNaN(float64(z)) || math.IsInf(float64(z), 0) || math.Abs(float64(z)) > 10 {
			t.Errorf("gaussian(%#x) = %v", w, z)
		}
		if fz, ok := zigFast(w); ok && zigSlow(w, src) != fz {
			t.Errorf("zigSlow(%#x) = %v, fast path %v", w, zigSlow(w, src), fz)
		}
	}
	for i := range uint32(1 << 16) {
		w := i*0x9e3779b9 + 7
		if fz, ok := zigFast(w); ok {
			if s := zigSlow(w, src); s != fz {
				t.Fatalf("zigSlow(%#x) = %v, fast path %v", w, s, fz)
			}
		}
	}
}

// TestGaussianTailSign checks that tail deviates come with both signs and beyond r.
func TestGaussianTailSign(t *testing.T) {
	src := newPCGWords(3)
	var pos, neg int
	for i := 0; i < 2000; i++ {
		w := 0xfffffe00 - uint32(i)<<9 | uint32(i&1)<<8 // layer 0, magnitude past k_0: the tail
		z := zigSlow(w, src)
		if math.Abs(float64(z)) < zigR {
			t.Fatalf("tail deviate %v inside r", z)
		}
		if z > 0 {
			pos++
		} else {
			neg++
		}
	}
	if pos != 1000 || neg != 1000 {
		t.Fatalf("tail signs: %d positive, %d negative, want 1000 each", pos, neg)
	}
}

// TestZigAboveExact checks the wedge test's shortcut against the plain expression
// y ≥ math.Exp(−x²/2) on every layer: the wedge words zigSlow actually builds (x from a
// 23-bit magnitude at or past k_i, y from a 32-bit uniform), points just off the curve
// and points just off the bounds themselves.
func TestZigAboveExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 18))
	per := 4000
	if testing.Short() {
		per = 800
	}
	check := func(i uint32, x, y float64) {
		if got, want := zigAbove(i, x, y), y >= math.Exp(-0.5*x*x); got != want {
			t.Fatalf("layer %d, x=%v, y=%v: zigAbove %v, exp says %v", i, x, y, got, want)
		}
	}
	for i := uint32(1); i < zigLayers; i++ {
		for range per {
			m := zigK[i] + uint32(rng.IntN(int(1<<23-zigK[i])))
			x := float64(m) * zigScale * zigX[i]
			y := zigF[i] + unit(rng.Uint32())*(zigF[i+1]-zigF[i])
			check(i, x, y)
			e := math.Exp(-0.5 * x * x)
			for _, d := range []float64{0, 1e-16, 1e-13, 1e-12, 2e-12, 1e-11} {
				check(i, x, e+d)
				check(i, x, e-d)
				check(i, x, math.Nextafter(e+d, 2))
				check(i, x, math.Nextafter(e-d, 0))
			}
		}
		for _, x := range []float64{zigX[i], zigX[i+1], math.Nextafter(zigX[i+1], 0), math.Nextafter(zigX[i], 9)} {
			for range 50 {
				check(i, x, zigF[i]+rng.Float64()*(zigF[i+1]-zigF[i]))
			}
		}
	}
}

// zigSlowRef is zigSlow as first written: plain math.Exp wedge test, branch on the
// sign. The optimised zigSlow and zigMissed must give the same deviates and take the
// same words.
func zigSlowRef(w uint32, src wordSource) float32 {
	for {
		if z, ok := zigFast(w); ok {
			return z
		}
		i := w & (zigLayers - 1)
		m := w >> (zigBits + 1)
		neg := w&zigLayers != 0
		var z float64
		switch {
		case i == 0:
			z = zigTail(src)
		default:
			x := float64(m) * zigScale * zigX[i]
			y := zigF[i] + unit(src.word32())*(zigF[i+1]-zigF[i])
			if y >= math.Exp(-0.5*x*x) {
				w = src.word32()
				continue
			}
			z = x
		}
		if neg {
			z = -z
		}
		return float32(z)
	}
}

func TestZigSlowAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 19))
	n := 400_000
	if testing.Short() {
		n = 50_000
	}
	a, b := newPCGWords(20), newPCGWords(20)
	for range n {
		w := rng.Uint32()
		if _, ok := zigFast(w); ok {
			j := w & (2*zigLayers - 1) // move it past k: a slow-path word of the same layer
			w = (zigK[j]+uint32(rng.IntN(int(1<<23-zigK[j]))))<<(zigBits+1) | j
		}
		got, want := zigMissed(w, a), zigSlowRef(w, b)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("word %#x: zigMissed %v, reference %v", w, got, want)
		}
		if zigSlow(w, a) != zigSlowRef(w, b) {
			t.Fatalf("word %#x: zigSlow differs from the reference", w)
		}
	}
	if a.word32() != b.word32() {
		t.Fatal("zigMissed and the reference took different numbers of words")
	}
}
