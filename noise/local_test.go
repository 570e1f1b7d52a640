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

// addAndDecideSlow is the bit-at-a-time reference for addAndDecideGeneric.
func addAndDecideSlow(soft []Sample, ks []byte, sigma, thr float32, out []byte, src wordSource) {
	clear(out[:(len(soft)+7)/8])
	for k, s := range soft {
		z := gaussian(binary.LittleEndian.Uint32(ks[4*k:]), src)
		if s+float32(sigma*z) > thr {
			out[k/8] |= 0x80 >> (k % 8)
		}
	}
}

func TestAddAndDecideGenericAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 496, 992, 1984}
	for range 100 {
		lengths = append(lengths, rng.IntN(200))
	}
	for _, n := range lengths {
		soft := make([]Sample, n)
		for i := range soft {
			switch rng.IntN(8) {
			case 0:
				soft[i] = 0 // exactly on the threshold
			case 1:
				soft[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
			default:
				soft[i] = float32(rng.NormFloat64() * 2)
			}
		}
		ks := make([]byte, 4*n)
		for i := range ks {
			ks[i] = byte(rng.Uint32())
		}
		sigma := float32(0.01 + rng.Float64())
		got, want := make([]byte, (n+7)/8+1), make([]byte, (n+7)/8+1)
		got[len(got)-1], want[len(want)-1] = 0xa5, 0xa5 // must stay untouched
		addAndDecideGeneric(soft, ks, sigma, 0, got[:(n+7)/8], newPCGWords(uint64(n)))
		addAndDecideSlow(soft, ks, sigma, 0, want, newPCGWords(uint64(n)))
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: generic %x, slow %x", n, got, want)
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

// TestLocalGaussian runs the distribution tests on deviates made from a Local's
// keystream exactly as AddAndDecide makes them.
func TestLocalGaussian(t *testing.T) {
	l := seededLocal(t, DefaultProfile(), 3)
	z := make([]float64, 0, sampleCount())
	for len(z) < cap(z) {
		l.fill(l.buf[:])
		for i := 0; i+4 <= len(l.buf) && len(z) < cap(z); i += 4 {
			z = append(z, float64(gaussian(binary.LittleEndian.Uint32(l.buf[i:]), l)))
		}
	}
	checkNormal(t, z)
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
