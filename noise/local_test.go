package noise

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func testSeed(b byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

func seededLocal(t testing.TB, p Profile, b byte) *Local {
	t.Helper()
	l, err := NewLocalFromSeed(p, testSeed(b))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// exactQ is the upper tail of the standard normal in float64.
func exactQ(t float64) float64 { return 0.5 * math.Erfc(t/math.Sqrt2) }

// checkAgainstExact is the property that ties the decisions to the mathematics rather
// than to a second copy of the code: for every sample whose word lies clearly on one
// side of 2^32·Q(|t|) (by more than 2^32 times the approximation's error bound), the
// decision must be the one exact arithmetic gives. t is the float32 value the code uses.
// It returns how many samples were that clear.
// qErrorBound bounds |2^−32·threshold − Q| over all t: the approximation's 7.5e-8 plus
// float32 rounding, which the polynomial's alternating terms amplify (TestDecisionQ
// measures ~2.8e-7).
const qErrorBound = 4e-7

func checkAgainstExact(t *testing.T, soft []Sample, ks []byte, inv, thr float32, out []byte) int {
	t.Helper()
	const margin = qErrorBound * (1 << 32)
	clear := 0
	for k, s := range soft {
		got := out[k/8] >> (7 - k%8) & 1
		tt := float32((thr - s) * inv)
		if tt != tt {
			if got != 0 {
				t.Fatalf("sample %d (%v, inv %v): NaN decided 1", k, s, inv)
			}
			continue
		}
		w := float64(binary.LittleEndian.Uint32(ks[4*k:]))
		tq := (1 << 32) * exactQ(math.Abs(float64(tt)))
		if math.Abs(w-tq) <= margin {
			continue
		}
		want := byte(0)
		if (w < tq) != math.Signbit(float64(tt)) {
			want = 1
		}
		if got != want {
			t.Fatalf("sample %d (s=%v, t=%v, word %v, 2^32·Q %v): decided %d, exact %d", k, s, tt, w, tq, got, want)
		}
		clear++
	}
	return clear
}

// TestAddAndDecideAgainstExact runs the generic decisions on random and edge samples,
// words near the thresholds included, against checkAgainstExact, and checks that
// nothing past ⌈n/8⌉ bytes is written.
func TestAddAndDecideAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 496, 992, 1984}
	for range 100 {
		lengths = append(lengths, rng.IntN(200))
	}
	checked := 0
	for i, n := range lengths {
		inv := []float32{1 / 0.3, 1 / 0.8, 1, 1e6, 0.01}[i%5]
		soft, ks := kernelInputs(rng, n, 0, inv)
		soft, ks = soft[:n], ks[:4*n]
		out := make([]byte, (n+7)/8+1)
		out[len(out)-1] = 0xa5 // must stay untouched
		addAndDecideGeneric(soft, ks, inv, 0, out[:(n+7)/8])
		if out[len(out)-1] != 0xa5 {
			t.Fatalf("n=%d: wrote past the output", n)
		}
		checked += checkAgainstExact(t, soft, ks, inv, 0, out)
	}
	if checked < 5000 {
		t.Fatalf("only %d samples were clear of their thresholds", checked)
	}
}

// TestDecisionQ measures the float32 Q of decisionThreshold against math.Erfc over
// [0, 8] and checks it never increases with |t|.
func TestDecisionQ(t *testing.T) {
	worst := 0.0
	prev := uint32(math.MaxUint32)
	for i := 0; i <= 800_000; i++ {
		a := float32(i) * 1e-5
		got := decisionThreshold(a)
		if got > prev {
			t.Fatalf("threshold rises at a=%v: %d after %d", a, got, prev)
		}
		prev = got
		if neg := decisionThreshold(-a); neg != got {
			t.Fatalf("threshold of −%v is %d, of %v %d", a, neg, a, got)
		}
		worst = max(worst, math.Abs(float64(got)/(1<<32)-exactQ(float64(a))))
	}
	t.Logf("largest error of Q: %.3g", worst)
	if worst > qErrorBound {
		t.Fatalf("Q off by %.3g, bound %.3g", worst, qErrorBound)
	}
	for _, a := range []float32{9, 13.3, 100, 1e20, float32(math.Inf(1)), float32(math.Inf(-1))} {
		if got := decisionThreshold(a); got != 0 {
			t.Fatalf("threshold at %v is %d, want 0", a, got)
		}
	}
}

func TestAddAndDecideNoiselessRoundTrip(t *testing.T) {
	p := DefaultProfile()
	p.LocalSigmaMin, p.LocalSigmaMax = 1e-6, 1e-6
	t.Run("levels ±1", func(t *testing.T) { noiselessRoundTrip(t, p) })
	p.Level0, p.Level1 = 0.2, 1.7 // threshold 0.95
	t.Run("levels 0.2, 1.7", func(t *testing.T) { noiselessRoundTrip(t, p) })
}

func noiselessRoundTrip(t *testing.T, p Profile) {
	l := seededLocal(t, p, 1)
	if l.Threshold() != p.Threshold() {
		t.Fatalf("threshold %v, want %v", l.Threshold(), p.Threshold())
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 5, 8, 13, 992, 1984, 2047, 2049, 5000, 3} { // crosses keystream blocks
		in := make([]byte, (n+7)/8)
		for i := range in {
			in[i] = byte(rng.Uint32())
		}
		if n%8 != 0 {
			in[len(in)-1] &= 0xff << (8 - n%8)
		}
		soft := make([]Sample, n)
		Modulate(in, n, soft, &p)
		keep := slices.Clone(soft)
		out := make([]byte, len(in))
		l.BeginRound()
		l.AddAndDecide(soft, out)
		if !bytes.Equal(out, in) {
			t.Fatalf("n=%d: decided %x, sent %x", n, out, in)
		}
		if !slices.Equal(soft, keep) {
			t.Fatalf("n=%d: AddAndDecide modified soft", n)
		}
	}
}

// TestAddAndDecideErrorRate checks the decisions against theory: a sample at Level0
// decides 1 with probability Q((thr − Level0)/σ).
func TestAddAndDecideErrorRate(t *testing.T) {
	n := sampleCount()
	for _, sigma := range []float64{0.3, 0.5, 0.8, 2} {
		p := DefaultProfile()
		p.LocalSigmaMin, p.LocalSigmaMax = sigma, sigma
		l := seededLocal(t, p, 2)
		soft := make([]Sample, SamplesPerFrame)
		for i := range soft {
			soft[i] = -1
		}
		out := make([]byte, SamplesPerFrame/8)
		ones := 0
		frames := n / SamplesPerFrame
		for range frames {
			l.BeginRound()
			l.AddAndDecide(soft, out)
			ones += PopCount(out)
		}
		total := float64(frames * SamplesPerFrame)
		q := 1 - phi(1/sigma)
		se := math.Sqrt(q * (1 - q) / total)
		got := float64(ones) / total
		if math.Abs(got-q) > 5*se {
			t.Errorf("σ=%v: error rate %.5f, want %.5f ± %.5f", sigma, got, q, 5*se)
		}
	}
}

// TestLocalDecisionLaw checks the decisions of a Local against theory at several
// distances from the threshold: a sample at thr − d decides 1 with probability Q(d/σ).
func TestLocalDecisionLaw(t *testing.T) {
	const sigma = 0.5
	p := DefaultProfile()
	p.LocalSigmaMin, p.LocalSigmaMax = sigma, sigma
	l := seededLocal(t, p, 3)
	ds := []float32{-3 * sigma, -sigma, -0.3 * sigma, 0, 0.3 * sigma, sigma, 2 * sigma, 3 * sigma}
	soft := make([]Sample, SamplesPerFrame)
	for i := range soft {
		soft[i] = l.Threshold() - ds[i%len(ds)]
	}
	out := make([]byte, SamplesPerFrame/8)
	ones := make([]int, len(ds))
	frames := sampleCount() / SamplesPerFrame
	for range frames {
		l.BeginRound()
		l.AddAndDecide(soft, out)
		for i := range soft {
			ones[i%len(ds)] += int(out[i/8] >> (7 - i%8) & 1)
		}
	}
	per := float64(frames * SamplesPerFrame / len(ds))
	for j, d := range ds {
		q := exactQ(float64(d) / sigma)
		se := math.Sqrt(q*(1-q)/per) + 1e-12
		if got := float64(ones[j]) / per; math.Abs(got-q) > 5*se {
			t.Errorf("d=%v: P(1) %.5f, want %.5f ± %.5f", d, got, q, 5*se)
		}
	}
}

func TestLocalSigmaPerRound(t *testing.T) {
	p := DefaultProfile()
	l := seededLocal(t, p, 4)
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	s := make([]float64, n)
	for i := range s {
		l.BeginRound()
		s[i] = float64(l.Sigma())
		if s[i] < float64(float32(p.LocalSigmaMin)) || s[i] > float64(float32(p.LocalSigmaMax)) {
			t.Fatalf("σ %v outside [%v, %v]", s[i], p.LocalSigmaMin, p.LocalSigmaMax)
		}
	}
	span := p.LocalSigmaMax - p.LocalSigmaMin
	var sum float64
	for _, x := range s {
		sum += x
	}
	mean := sum / float64(n)
	if se := span / math.Sqrt(12*float64(n)); math.Abs(mean-(p.LocalSigmaMin+p.LocalSigmaMax)/2) > 5*se {
		t.Errorf("mean σ %.5f, want %.5f ± %.5f", mean, (p.LocalSigmaMin+p.LocalSigmaMax)/2, 5*se)
	}
	slices.Sort(s)
	var d float64
	for i, x := range s {
		c := (x - p.LocalSigmaMin) / span
		d = max(d, math.Abs(c-float64(i)/float64(n)), math.Abs(float64(i+1)/float64(n)-c))
	}
	if ks := math.Sqrt(float64(n)) * d; ks > 1.949 {
		t.Errorf("σ not uniform: Kolmogorov–Smirnov √n·D = %.3f > 1.949", ks)
	}
}

// frameOutputs runs frames rounds of two 992-sample decisions and returns the bits.
func frameOutputs(l *Local, frames int) []byte {
	soft := make([]Sample, SamplesPerFrame)
	for i := range soft {
		soft[i] = Sample(i%3) - 1 // −1, 0, 1: the 0s are coin flips of the noise
	}
	var all []byte
	out := make([]byte, SamplesPerFrame/8)
	for range frames {
		l.BeginRound()
		l.AddAndDecide(soft[:992], out[:124])
		l.BeginRound()
		l.AddAndDecide(soft[992:], out[124:])
		all = append(all, out...)
	}
	return all
}

func TestLocalDeterministicUnderSeedOnly(t *testing.T) {
	p := DefaultProfile()
	a := frameOutputs(seededLocal(t, p, 5), 50)
	b := frameOutputs(seededLocal(t, p, 5), 50)
	c := frameOutputs(seededLocal(t, p, 6), 50)
	if !bytes.Equal(a, b) {
		t.Fatal("two Locals with the same seed differ")
	}
	if bytes.Equal(a, c) {
		t.Fatal("two Locals with different seeds agree")
	}
	l1, err := NewLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NewLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(frameOutputs(l1, 50), frameOutputs(l2, 50)) {
		t.Fatal("two crypto/rand-keyed Locals agree")
	}
	if _, err := NewLocalFromSeed(p, make([]byte, 31)); !errors.Is(err, ErrSeedSize) {
		t.Fatalf("31-byte seed: %v, want ErrSeedSize", err)
	}
}

func TestLocalRekey(t *testing.T) {
	p := DefaultProfile()
	run := func(l *Local) []byte {
		l.rekeyAt = 3 * localBlock
		return frameOutputs(l, 40) // 40 frames ≈ 320 KiB of keystream: several re-keys
	}
	plain := frameOutputs(seededLocal(t, p, 7), 40)
	a := run(seededLocal(t, p, 7))
	b := run(seededLocal(t, p, 7))
	if !bytes.Equal(a, b) {
		t.Fatal("seeded re-keying is not deterministic")
	}
	if bytes.Equal(a, plain) {
		t.Fatal("re-keying did not change the keystream")
	}
	l, err := NewLocal(p)
	if err != nil {
		t.Fatal(err)
	}
	l.rekeyAt = 3 * localBlock
	frameOutputs(l, 40)
	if l.used > l.rekeyAt {
		t.Fatalf("%d bytes under one key, limit %d", l.used, l.rekeyAt)
	}
}

func TestLocalPanicsAndWipe(t *testing.T) {
	l := seededLocal(t, DefaultProfile(), 8)
	mustPanic(t, "short out", func() { l.AddAndDecide(make([]Sample, 9), make([]byte, 1)) })
	l.AddAndDecide(nil, nil) // nothing to do
	l.Wipe()
	if l.Sigma() != 0 || l.ks.Remaining() != 0 {
		t.Fatal("Wipe left σ or the cipher")
	}
	mustPanic(t, "keystream after Wipe", func() { l.fill(l.buf[:]) })
	for _, b := range l.buf {
		if b != 0 {
			t.Fatal("Wipe left keystream bytes")
		}
	}
}
