package negotiation

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/otkd/otkd/internal/randtest"
)

// TestSeedRandomness concatenates seeds made by the post-processing from
// the simulated default profile (the same machines and messages as on a
// live link; only the counts come from the round simulator instead of
// frames) and runs the SP 800-22 / GM/T 0005 style battery at α = 0.01 on
// ≥ 1 Mbit of them. A live pair makes seeds too slowly for a megabit in a
// test (~1 500 rounds per seed); the pipeline's counts have the statistics
// of this simulator (noise.TestDefaultProfileRounds, ctrl/sim/pair tests).
//
// The initiator's nonces and Toeplitz seeds come from a seeded ChaCha8
// stream instead of crypto/rand, so the material, and the outcome, is the
// same in every run: with 25 p-values at α = 0.01 a battery rejects about
// 22 % of truly random sequences, and a test drawing a new sample each run
// would fail that often. TestSeedProportions applies the proportion rule
// over many freshly drawn sequences instead.
func TestSeedRandomness(t *testing.T) {
	seeds := 4096 // 1 048 576 bits
	if testing.Short() {
		seeds = 512
	}
	tp := newTestPair(t, DefaultParams(), defaultSim(), 2026)
	tp.in.rand = rand.NewChaCha8([32]byte{20, 26, 17})
	material := make([]byte, 0, seeds*32)
	for range seeds {
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed {
			t.Fatal("seeds differ between the ends")
		}
		material = append(material, ri.Seed[:]...)
		ri.Seed.Zero()
		rr.Seed.Zero()
	}
	bits := randtest.FromBytes(material)
	clear(material)
	if testing.Short() {
		// 131 072 bits: the tests that need more are skipped by length.
		for _, f := range []func(randtest.Bits) (randtest.Result, error){
			randtest.Frequency, randtest.Runs, randtest.CumulativeSums,
		} {
			r, err := f(bits)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Pass {
				t.Errorf("%s fails: p = %v", r.Name, r.P)
			}
		}
		return
	}
	rep := randtest.RunAll(bits, randtest.Alpha)
	t.Logf("%d seeds, %d bits\n%s", seeds, bits.Len(), rep.String())
	if !rep.Passed() {
		t.Fatalf("seed material fails: %v", rep.Failed())
	}
}

// TestRestart: abandoning an attempt after its first block leads to a new
// attempt the responder accepts, and to identical seeds.
func TestRestart(t *testing.T) {
	p := DefaultParams()
	p.N = 1000 // one block does not make a seed
	tp := newTestPair(t, p, defaultSim(), 77)
	tp.feed(tp.in.p.N)
	m, err := tp.in.Next()
	if err != nil || m == nil {
		t.Fatalf("Next: %v %v", m, err)
	}
	if err := tp.in.Restart(); err != ErrBusy {
		t.Fatalf("Restart during a block: %v", err)
	}
	for m != nil {
		var ri *Result
		m, ri, _ = tp.exchange(m)
		if ri != nil {
			t.Fatal("a seed from one block")
		}
	}
	if err := tp.in.Restart(); err != nil {
		t.Fatal(err)
	}
	ri, rr := tp.nextSeed(40 * tp.in.p.N)
	if ri.Seed != rr.Seed || ri.Attempt != 2 {
		t.Fatalf("after Restart: attempt %d, seeds equal %v", ri.Attempt, ri.Seed == rr.Seed)
	}
}

// TestSeedProportions applies SP 800-22's proportion rule (§4.2.1) to the
// battery over OTKD_PROPORTION_SEQS independent 1-Mbit sequences of seeds
// (fresh crypto/rand nonces and Toeplitz seeds, the default profile): every
// test must pass in a proportion within 0.99 ± 3·√(0.0099/n). A measurement
// (about 4 s per sequence), run with e.g.
//
//	OTKD_PROPORTION_SEQS=60 go test -run TestSeedProportions -v ./ctrl/link/negotiation
func TestSeedProportions(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("OTKD_PROPORTION_SEQS"))
	if n <= 0 {
		t.Skip("set OTKD_PROPORTION_SEQS to run the measurement")
	}
	tp := newTestPair(t, DefaultParams(), defaultSim(), 2028)
	var reps []randtest.Report
	low := 0
	for range n {
		material := make([]byte, 0, 4096*32)
		for range 4096 {
			ri, _ := tp.nextSeed(40 * tp.in.p.N)
			material = append(material, ri.Seed[:]...)
			ri.Seed.Zero()
		}
		rep := randtest.RunAll(randtest.FromBytes(material), randtest.Alpha)
		clear(material)
		for _, r := range rep.Failed() {
			low += len(r.P)
		}
		reps = append(reps, rep)
	}
	values := 0
	for _, r := range reps[0].Results {
		values += len(r.P)
	}
	for _, p := range randtest.Proportions(reps) {
		if !p.OK {
			t.Errorf("proportion out of range: %+v", p)
		}
	}
	t.Logf("%d sequences of 1 Mbit: %d of %d p-values below %.2f (%.1f expected)", n, low, n*values, randtest.Alpha, float64(n*values)*randtest.Alpha)
}
