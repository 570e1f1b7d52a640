package negotiation

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMeasureReconciliation runs the machines end to end (messages encoded
// and decoded) over many blocks of the simulated profiles and reports, per
// profile, reconciliation mode and block size: the reconciliation
// efficiency f, round trips per block, failure rates, rounds per seed and
// the bound's terms per seed. It is a measurement (skipped with -short):
//
//	OTKD_BLOCKS=20000 go test -run TestMeasureReconciliation -v ./ctrl/link/negotiation
//
// OTKD_BLOCKS (default 300) is the number of blocks per case; OTKD_N a
// comma-separated list of block sizes (default: the default profile's);
// OTKD_MINSEEDS, OTKD_MAXSEEDS, OTKD_FIRSTSTEP and OTKD_CONFIRM set those
// Params; OTKD_MODE=incremental skips the one-shot mode. It fails on a verification failure,
// on a pair of seeds that differ, on a decode failure rate above 10⁻³ (plus
// three binomial standard deviations), and when the default profile's f
// exceeds 1.6 in incremental mode at the default block size.
func TestMeasureReconciliation(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	blocks := 300
	if v, err := strconv.Atoi(os.Getenv("OTKD_BLOCKS")); err == nil && v > 0 {
		blocks = v
	}
	var sizes []int // nil: each mode's default
	if v := os.Getenv("OTKD_N"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("OTKD_N: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	minSeeds, _ := strconv.Atoi(os.Getenv("OTKD_MINSEEDS"))
	maxSeeds, _ := strconv.Atoi(os.Getenv("OTKD_MAXSEEDS"))
	firstStep, _ := strconv.ParseFloat(os.Getenv("OTKD_FIRSTSTEP"), 64)
	confirm, _ := strconv.Atoi(os.Getenv("OTKD_CONFIRM"))
	modes := []Reconciliation{Incremental, OneShot}
	if os.Getenv("OTKD_MODE") == "incremental" {
		modes = modes[:1]
	}
	for _, prof := range []struct {
		name string
		m    int
	}{{"default_m496", 496}, {"high_m300", 300}} {
		for _, mode := range modes {
			ns := sizes
			if ns == nil {
				ns = []int{modeParams(mode).N}
			}
			for _, n := range ns {
				p := modeParams(mode)
				p.N, p.MinSeeds, p.MaxSeeds, p.FirstStep, p.Confirm = n, minSeeds, maxSeeds, firstStep, confirm
				t.Run(fmt.Sprintf("%s/%v/N%d", prof.name, mode, n), func(t *testing.T) {
					measure(t, p, prof.m, blocks)
				})
			}
		}
	}
}

func measure(t *testing.T, p Params, m, blocks int) {
	prof := defaultSim()
	prof.M = m
	tp := newTestPair(t, p, prof, 1234)
	mismatched := 0
	for tp.in.Stats().Blocks < blocks {
		ri, rr := tp.nextSeed(200 * p.N)
		if ri.Seed != rr.Seed || *ri != *rr {
			mismatched++
		}
	}
	s := tp.in.Stats()
	fail := float64(s.DecodeFailures) / float64(s.Blocks)
	bt := s.PerSeed()
	t.Logf("blocks %d, seeds %d (%.2f per verified attempt), rounds/seed %.0f, kept/block %.1f, disagreement %.4f, "+
		"reconciliation leak/block %.1f bits, f = %.3f, steps/block %.2f, decode failures %d (%.2g/block), "+
		"verify failures %d, abandoned %d, mismatched seeds %d",
		s.Blocks, s.Seeds, float64(s.Seeds)/float64(s.Verified), s.RoundsPerSeed(), float64(s.Kept)/float64(s.Blocks),
		s.Disagreement(), float64(s.SyndromeBits)/float64(s.Blocks), s.Efficiency(),
		float64(s.Steps)/float64(s.Blocks), s.DecodeFailures, fail, s.VerifyFailures, s.Abandoned, mismatched)
	t.Logf("per seed: credited %.1f = reconciliation %.1f + tag %.1f + amplification %.1f + output %.0f + slack %.1f",
		bt.Credited, bt.Reconciliation, bt.Tag, bt.Amplification, bt.Output, bt.Slack)
	if fail > 1e-3+3*math.Sqrt(1e-3/float64(s.Blocks)) {
		t.Errorf("decode failure rate %.3g above 10⁻³", fail)
	}
	if s.VerifyFailures > 0 {
		t.Errorf("%d verification failures: a false decoding got through", s.VerifyFailures)
	}
	if mismatched > 0 {
		t.Errorf("%d seeds differ between the ends", mismatched)
	}
	def := DefaultParams()
	if m == 496 && p.Reconciliation == Incremental && p.N == def.N && s.Efficiency() > 1.6 {
		t.Errorf("f = %.3f > 1.6 at the default profile", s.Efficiency())
	}
}
