package noise

import (
	"math"
	"math/rand/v2"
	"testing"
)

// roundBits is m, the length of each round array.
const roundBits = 496

// simulateRounds runs n rounds of the A-initiated direction end to end with only this
// package, as docs/protocol.md "The round protocol" describes, and returns A's and B's error counts.
//
//	A → B: XA1‖XA2 modulated, fibre noise, B's local noise, decided: XA3‖XA4
//	B → A: XB1‖XB2 modulated, fibre noise, A's local noise, decided: XB3‖XB4
//	C2 = XA3 ⊕ XB2 (B sends), C1 = XB3 ⊕ XA2 (A sends)
//	A: E1 = XB4 ⊕ XA1 ⊕ C2     B: E2 = XA4 ⊕ XB1 ⊕ C1
func simulateRounds(t *testing.T, p Profile, n int, seed uint64) (ca, cb []int) {
	t.Helper()
	const nb = roundBits / 8
	ab, ba := newTestChannel(t, p, seed), newTestChannel(t, p, seed+1)
	la, err := NewLocalFromSeed(p, testSeed(byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := NewLocalFromSeed(p, testSeed(byte(seed)+100))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	var xa, xb, xa34, xb34 [2 * nb]byte // X1‖X2 as sent, X3‖X4 as decided
	var c1, c2 [nb]byte
	soft := make([]Sample, 2*roundBits)
	for range n {
		for i := range xa {
			xa[i], xb[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		Modulate(xa[:], 2*roundBits, soft, &p) // A → B
		ab.AddFibreNoise(soft)
		lb.BeginRound()
		lb.AddAndDecide(soft, xa34[:])
		Modulate(xb[:], 2*roundBits, soft, &p) // B → A (the response arrays)
		ba.AddFibreNoise(soft)
		la.BeginRound()
		la.AddAndDecide(soft, xb34[:])

		XOR(c2[:], xa34[:nb], xb[nb:]) // B: C2 = XA3 ⊕ XB2
		XOR(c1[:], xb34[:nb], xa[nb:]) // A: C1 = XB3 ⊕ XA2
		ca = append(ca, PopCountXOR3(xb34[nb:], xa[:nb], c2[:]))
		cb = append(cb, PopCountXOR3(xa34[nb:], xb[:nb], c1[:]))
	}
	return ca, cb
}

func meanStd(c []int) (mu, sd float64) {
	for _, x := range c {
		mu += float64(x)
	}
	mu /= float64(len(c))
	for _, x := range c {
		sd += (float64(x) - mu) * (float64(x) - mu)
	}
	return mu, math.Sqrt(sd / float64(len(c)))
}

// siftAndQuantise is the post-processing of docs/postprocessing.md up to reconciliation: each side
// drops counts within μ ± α·σ of its own array, the kept rounds are intersected, a kept
// count quantises to count > μ. It returns the number kept and the number of rounds
// whose bits differ.
func siftAndQuantise(ca, cb []int, alpha float64) (kept, differ int) {
	ma, sa := meanStd(ca)
	mb, sb := meanStd(cb)
	for r := range ca {
		da, db := float64(ca[r])-ma, float64(cb[r])-mb
		if math.Abs(da) <= alpha*sa || math.Abs(db) <= alpha*sb {
			continue
		}
		kept++
		if (da > 0) != (db > 0) {
			differ++
		}
	}
	return kept, differ
}

// TestDefaultProfileRounds reproduces the simulation of the default profile in docs/postprocessing.md:
// 1000 rounds, α = 0.5, about 520 rounds kept with about 0.4 % disagreement.
func TestDefaultProfileRounds(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		ca, cb := simulateRounds(t, DefaultProfile(), 1000, seed)
		kept, differ := siftAndQuantise(ca, cb, 0.5)
		dis := float64(differ) / float64(kept)
		ma, sa := meanStd(ca)
		t.Logf("seed %d: A counts μ=%.1f σ=%.1f; kept %d of 1000, %d differ (%.2f %%)", seed, ma, sa, kept, differ, 100*dis)
		if kept < 400 || kept > 650 {
			t.Errorf("seed %d: kept %d rounds, want 400…650 (the design: ~520)", seed, kept)
		}
		if dis >= 0.03 {
			t.Errorf("seed %d: disagreement %.2f %%, want < 3 %% (the design: ~0.4 %%)", seed, 100*dis)
		}
	}
}

// TestFixedSigmaRoundsDoNotCorrelate is the control: without a per-round σ the counts of
// A and B are independent and their quantised bits agree only by chance, so the test
// above is able to fail.
func TestFixedSigmaRoundsDoNotCorrelate(t *testing.T) {
	p := DefaultProfile()
	p.LocalSigmaMin, p.LocalSigmaMax = 0.55, 0.55
	ca, cb := simulateRounds(t, p, 1000, 4)
	kept, differ := siftAndQuantise(ca, cb, 0.5)
	dis := float64(differ) / float64(kept)
	t.Logf("fixed σ: kept %d, %d differ (%.1f %%)", kept, differ, 100*dis)
	if dis < 0.3 {
		t.Errorf("fixed σ: disagreement %.1f %%, want near 50 %%", 100*dis)
	}
}
