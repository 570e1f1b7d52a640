package noise

import (
	"encoding/binary"
	"github.com/otkd/otkd/internal/race"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sampleCount is the number of deviates of the statistical tests.
func sampleCount() int {
	if testing.Short() {
		return 200_000
	}
	return 1_000_000
}

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

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

	edges := []float64{math.Inf(-1), -4, -3.5, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 3.5, 4, math.Inf(1)}
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
	t.Logf("n=%d mean=%.5f var=%.5f m4=%.4f chi2=%.2f KS=%.3f", len(z), mean, m2, m4, chi, math.Sqrt(n)*d)
}

// edgeWords are words at the seams of expDeviate and boxMuller: the ends of the range,
// the switch to ln(1 − d) at u = ¾, float32 rounding of x (x ≥ 2^24), the √2 mantissa
// split, and every low-bit pattern of the angle word.
func edgeWords() []uint32 {
	ws := []uint32{0, 1, 2, 3, 7, 8, 0xF, 0x10, 0xFF, 0x1FF, 0x7FFFFFFF, 0x80000000, 0x80000001,
		0xBFFFFFFE, 0xBFFFFFFF, 0xC0000000, 0xC0000001, 0xC0000002, 0xFFFFFFF0, 0xFFFFFFFE,
		0xFFFFFFFF, 0x01FFFFFE, 0x01FFFFFF, 0x02000000, 0x02000001, 0x00FFFFFF, 0x01000000}
	// x whose f = float32(x) + ½ has a mantissa at the √2 split, for each exponent.
	for e := range 30 {
		m := math.Float32frombits(uint32(127+e)<<23 | ldSqrt2Mb)
		x := uint32(m)
		for d := uint32(0); d < 4; d++ {
			ws = append(ws, (x+d-2)<<1, (x+d-2)<<1|1)
		}
	}
	return ws
}

// TestExpDeviateAccuracy compares expDeviate with −ln u in float64 over the edges, a
// sweep of the whole word range and every word near both ends: relative error within
// 4 float32 ulps (2^−21).
func TestExpDeviateAccuracy(t *testing.T) {
	var worst float64
	var worstW uint32
	check := func(w uint32) {
		u := (float64(w>>1) + 0.5) / (1 << 31)
		want := -math.Log(u)
		if u > 0.5 {
			want = -math.Log1p(-((float64(1<<31-1-w>>1) + 0.5) / (1 << 31)))
		}
		got := float64(expDeviate(w))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst, worstW = rel, w
		}
	}
	for _, w := range edgeWords() {
		check(w)
	}
	step := uint32(4093)
	if testing.Short() {
		step = 65521
	}
	for w := uint64(0); w < 1<<32; w += uint64(step) {
		check(uint32(w))
	}
	for i := range uint32(1 << 16) {
		check(i)
		check(^i)
	}
	if worst > 0x1p-21 {
		t.Fatalf("expDeviate: relative error %.3g at word %#x, want ≤ 2^-21", worst, worstW)
	}
	t.Logf("expDeviate: worst relative error %.3g (%.2f ulp of float32) at word %#x", worst, worst*(1<<23), worstW)
	// The range: E(0) = 32·ln 2 (u = 2^−32), E(2^32 − 1) = −ln(1 − 2^−32).
	if got := expDeviate(0); math.Abs(float64(got)-32*math.Ln2) > 1e-5 {
		t.Errorf("E(0) = %v, want 32·ln 2", got)
	}
	if got := expDeviate(math.MaxUint32); got <= 0 || math.Abs(float64(got)-0x1p-32)/0x1p-32 > 1e-6 {
		t.Errorf("E(2^32−1) = %v, want 2^−32", got)
	}
}

// TestBoxMullerAccuracy compares each pair with r·(cos θ, sin θ) in float64 over the
// octant symmetries: absolute error within 2^−20·max(1, |z|) (a few ulps of the
// samples the deviates are added to).
func TestBoxMullerAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 30))
	var worst float64
	for i := range 400_000 {
		a, b := rng.Uint32(), rng.Uint32()
		if i < len(edgeWords()) {
			a = edgeWords()[i]
		}
		z1, z2 := boxMuller(a, b, 1)
		r := math.Sqrt(2 * float64(expDeviate(a)))
		th := float64(2*(b>>3)+1) * math.Pi / (1 << 32)
		c, s := r*math.Cos(th), r*math.Sin(th)
		if b&1 != 0 {
			c, s = s, c
		}
		if b&2 != 0 {
			c = -c
		}
		if b&4 != 0 {
			s = -s
		}
		for _, d := range [2]float64{(float64(z1) - c) / max(1, math.Abs(c)), (float64(z2) - s) / max(1, math.Abs(s))} {
			worst = max(worst, math.Abs(d))
		}
	}
	if worst > 0x1p-20 {
		t.Fatalf("Box–Muller: error %.3g, want ≤ 2^-20", worst)
	}
	t.Logf("Box–Muller: worst error %.3g against float64 r·cos θ, r·sin θ", worst)
}

// fibreTestChannel returns the default profile's channel with σ = 1, so that the
// deviates come out as they are.
func unitChannel(t testing.TB, seed uint64) *Channel {
	p := DefaultProfile()
	p.FibreSigma = 1
	return newTestChannel(t, p, seed)
}

// TestFibreNoiseTails checks the tail probabilities P(z > k) and P(z < −k), k = 1 … 5,
// against ½·erfc(k/√2) within 5 binomial standard errors, over 2·10^8 deviates (10^7
// under -short, then up to 4σ).
func TestFibreNoiseTails(t *testing.T) {
	c := unitChannel(t, 31)
	n, kmax := 200_000_000, 5
	if testing.Short() || race.Enabled {
		n, kmax = 10_000_000, 4
	}
	soft := make([]Sample, 1<<16)
	var above, below [6]int
	for done := 0; done < n; done += len(soft) {
		clear(soft)
		c.AddFibreNoise(soft)
		for _, z := range soft {
			for k := 1; k <= kmax; k++ {
				if z > float32(k) {
					above[k]++
				} else if z < -float32(k) {
					below[k]++
				} else {
					break
				}
			}
		}
	}
	n = (n + len(soft) - 1) / len(soft) * len(soft)
	for k := 1; k <= kmax; k++ {
		q := 0.5 * math.Erfc(float64(k)/math.Sqrt2)
		se := math.Sqrt(q * (1 - q) / float64(n))
		for side, cnt := range [2]int{above[k], below[k]} {
			got := float64(cnt) / float64(n)
			if math.Abs(got-q) > 5*se {
				t.Errorf("P(%sz > %d) = %.4g (%d of %d), want %.4g ± %.2g", [2]string{"", "−"}[side], k, got, cnt, n, q, 5*se)
			}
		}
		t.Logf("k=%d: P(z > k) %.4g, P(z < −k) %.4g, Q(k) %.4g", k, float64(above[k])/float64(n), float64(below[k])/float64(n), q)
	}
}

// TestExpDeviatesLaw checks the exponential deviates against Exp(1): mean and
// variance, and a chi-square test over bins of equal probability and the far tail.
func TestExpDeviatesLaw(t *testing.T) {
	c := unitChannel(t, 32)
	n := sampleCount()
	edges := []float64{0, 1e-4, 0.01, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 10, math.Inf(1)}
	obs := make([]float64, len(edges)-1)
	var s1, s2 float64
	for range n {
		e := float64(c.expDeviate())
		s1 += e
		s2 += e * e
		i, _ := slices.BinarySearch(edges, e)
		if i == 0 || edges[i] != e {
			i--
		}
		obs[i]++
	}
	mean, v := s1/float64(n), s2/float64(n)-(s1/float64(n))*(s1/float64(n))
	if math.Abs(mean-1) > 5/math.Sqrt(float64(n)) || math.Abs(v-1) > 5*math.Sqrt(8/float64(n)) {
		t.Errorf("mean %.5f variance %.5f, want 1 and 1", mean, v)
	}
	var chi float64
	for b := range obs {
		exp := float64(n) * (math.Exp(-edges[b]) - math.Exp(-edges[b+1]))
		chi += (obs[b] - exp) * (obs[b] - exp) / exp
	}
	// 14 degrees of freedom: P(χ² > 36.12) = 0.001.
	if chi > 36.12 {
		t.Errorf("chi-square %.2f > 36.12 over %d bins", chi, len(obs))
	}
	t.Logf("n=%d mean=%.5f var=%.5f chi2=%.2f", n, mean, v, chi)
}

// fibreInputs makes soft samples (normal, with an infinity and zeros now and then) and
// words for n samples: random words mixed with the edge words.
func fibreInputs(rng *rand.Rand, n int) ([]Sample, []byte) {
	soft := make([]Sample, n)
	for i := range soft {
		switch rng.IntN(20) {
		case 0:
			soft[i] = 0
		case 1:
			soft[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		default:
			soft[i] = float32(rng.NormFloat64())
		}
	}
	edges := edgeWords()
	words := make([]byte, 4*gaussBlock*((n+gaussBlock-1)/gaussBlock))
	for i := 0; i < len(words); i += 4 {
		w := rng.Uint32()
		if rng.IntN(4) == 0 {
			w = edges[rng.IntN(len(edges))]
		}
		binary.LittleEndian.PutUint32(words[i:], w)
	}
	return soft, words
}

// TestFibreKernelAgainstGeneric is the Box–Muller kernel-vs-twin cross-check: every
// length from 0 to 200 and the frame's 1984, several σ, random and edge words, samples
// at an odd offset. Results must be identical bit for bit, and nothing past len(soft)
// may change.
func TestFibreKernelAgainstGeneric(t *testing.T) {
	es := vectorEngines()
	if len(es) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(33, 33))
	lengths := []int{SamplesPerFrame, 4096 + 7}
	for n := range 201 {
		lengths = append(lengths, n)
	}
	for _, e := range es {
		for _, sigma := range []float32{0.3, 1, 1e-20, 3e30, 0.7071} {
			for _, n := range lengths {
				soft, words := fibreInputs(rng, n+2)
				want := slices.Clone(soft)
				fibreNoiseGeneric(want[1:n+1], words, sigma)
				got := slices.Clone(soft)
				withEngine(e, func() { fibreNoise(got[1:n+1], words, sigma) })
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v, σ %v, n %d: sample %d: kernel %v, twin %v", e, sigma, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestExpDeviatesKernelAgainstGeneric cross-checks the exponential kernels: the edge
// words, lengths 0 … 100, and a strided sweep of the word range.
func TestExpDeviatesKernelAgainstGeneric(t *testing.T) {
	es := vectorEngines()
	if len(es) == 0 {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	stride := uint64(257)
	if testing.Short() || race.Enabled {
		stride = 4099
	}
	check := func(e engine, words []byte) {
		n := len(words) / 4
		want, got := make([]float32, n+1), make([]float32, n+1)
		expDeviatesGeneric(want[:n], words)
		withEngine(e, func() { expDeviates(got[:n], words) })
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: word %#x: kernel %v, twin %v", e, binary.LittleEndian.Uint32(words[4*i:]), got[i], want[i])
			}
		}
	}
	rng := rand.New(rand.NewPCG(34, 34))
	for _, e := range es {
		edges := edgeWords()
		buf := make([]byte, 4*len(edges))
		for i, w := range edges {
			binary.LittleEndian.PutUint32(buf[4*i:], w)
		}
		check(e, buf)
		for n := range 101 {
			_, words := fibreInputs(rng, n)
			check(e, words[:4*n])
		}
		buf = make([]byte, 4<<16)
		for w := uint64(rng.IntN(int(stride))); w < 1<<32; {
			i := 0
			for ; i < len(buf) && w < 1<<32; i += 4 {
				binary.LittleEndian.PutUint32(buf[i:], uint32(w))
				w += stride
			}
			check(e, buf[:i])
		}
	}
}

// TestChannelEnginesAgree runs the same channel on every engine: identical samples and
// identical bit errors, across several blocks of words.
func TestChannelEnginesAgree(t *testing.T) {
	run := func(e engine) ([]Sample, []byte) {
		var soft []Sample
		var frames []byte
		withEngine(e, func() {
			c := newTestChannel(t, DefaultProfile(), 35)
			s := make([]Sample, SamplesPerFrame)
			f := make([]byte, 2000)
			for i := range 40 {
				clear(s)
				c.AddFibreNoise(s[:SamplesPerFrame-i])
				clear(f)
				c.BitErrors(f[:1000+i])
				soft = append(soft, s...)
				frames = append(frames, f...)
			}
		})
		return soft, frames
	}
	ws, wf := run(engineGeneric)
	for _, e := range vectorEngines() {
		gs, gf := run(e)
		if !slices.Equal(gs, ws) || !slices.Equal(gf, wf) {
			t.Fatalf("%v: samples or bit errors differ from the pure-Go twin's", e)
		}
	}
}

// TestChannelRekey runs a channel across the end of its AES counter range: it re-keys
// by itself, deterministically, and its noise stays normal.
func TestChannelRekey(t *testing.T) {
	near := func() *Channel {
		c := unitChannel(t, 36)
		var key, iv [16]byte
		key[0] = 1
		binary.BigEndian.PutUint32(iv[12:], 1<<32-3*channelBlock/16) // three blocks left
		c.ks.Init(&key, &iv)
		return c
	}
	a, b := near(), near()
	var z []float64
	sa, sb := make([]Sample, 1000), make([]Sample, 1000)
	for range 20 * channelBlock / 4 / len(sa) {
		clear(sa)
		clear(sb)
		a.AddFibreNoise(sa)
		b.AddFibreNoise(sb)
		if !slices.Equal(sa, sb) {
			t.Fatal("two channels with the same state differ after re-keying")
		}
		for _, s := range sa {
			z = append(z, float64(s))
		}
	}
	if a.ks.Remaining() < 1<<35 {
		t.Fatalf("no re-key: %d bytes left", a.ks.Remaining())
	}
	checkNormal(t, z)
}
