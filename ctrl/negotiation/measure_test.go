package negotiation

import (
	"os"
	"strconv"
	"testing"
)

// TestMeasureReconciliation runs the machines over many blocks of a profile
// and reports the reconciliation efficiency f and the failure rates. The
// number of blocks is OTKD_BLOCKS (default 2000; skipped with -short):
//
//	OTKD_BLOCKS=20000 go test -run TestMeasureReconciliation -v ./ctrl/negotiation
func TestMeasureReconciliation(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	blocks := 2000
	if v, err := strconv.Atoi(os.Getenv("OTKD_BLOCKS")); err == nil && v > 0 {
		blocks = v
	}
	for _, tc := range []struct {
		name string
		m    int
	}{{"default_m496", 496}, {"high_m300", 300}} {
		t.Run(tc.name, func(t *testing.T) {
			prof := defaultSim()
			prof.M = tc.m
			tp := newTestPair(t, DefaultParams(), prof, 1234)
			seeds, rounds := 0, 0
			for tp.in.Stats().Blocks < blocks {
				ri, _ := tp.nextSeed(200 * tp.in.p.N)
				seeds++
				_ = ri
			}
			s := tp.in.Stats()
			rounds = s.Rounds
			fail := float64(s.DecodeFailures) / float64(s.Blocks)
			t.Logf("blocks %d, seeds %d, rounds/seed %.0f, kept/block %.1f, disagreement %.4f, "+
				"reconciliation leak/block %.1f bits, f = %.2f, decode failures %d (%.2g/block), verify failures %d, abandoned %d",
				s.Blocks, seeds, float64(rounds)/float64(seeds), float64(s.Kept)/float64(s.Blocks), s.Disagreement(),
				float64(s.SyndromeBits)/float64(s.Blocks), s.Efficiency(), s.DecodeFailures, fail, s.VerifyFailures, s.Abandoned)
			if fail > 10*DefaultParams().TargetFailure+5.0/float64(s.Blocks) {
				t.Errorf("decode failure rate %.3g far above the target %g", fail, DefaultParams().TargetFailure)
			}
			if s.VerifyFailures > 0 {
				t.Errorf("%d verification failures: a miscorrection got through the decoder", s.VerifyFailures)
			}
		})
	}
}
