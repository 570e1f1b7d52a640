package negotiation

import (
	"fmt"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

func TestSeedsIdenticalBothDirections(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 12
	}
	for _, dir := range []keys.Direction{keys.AtoB, keys.BtoA} {
		t.Run(fmt.Sprintf("dir%d", dir), func(t *testing.T) {
			tp := newTestPair(t, DefaultParams(), defaultSim(), uint64(dir)+10)
			seen := map[keys.Seed]bool{}
			blocks := 0
			for range seeds {
				ri, rr := tp.nextSeed(50 * tp.in.p.N)
				if ri.Seed != rr.Seed {
					t.Fatalf("seeds differ: %v vs %v", ri.Seed, rr.Seed)
				}
				if seen[ri.Seed] {
					t.Fatalf("seed %v repeated", ri.Seed)
				}
				seen[ri.Seed] = true
				if ri.Bound < SeedBits || ri.Bound != Bound(DefaultParams(), ri.KeptBits, ri.LeakedBits) {
					t.Fatalf("result violates the bound: %v", ri)
				}
				if *ri != *rr {
					t.Fatalf("results differ:\n%v\n%v", ri, rr)
				}
				blocks += ri.Blocks
			}
			si, sr := tp.in.Stats(), tp.rs.Stats()
			si.Rounds, sr.Rounds = 0, 0
			if si != sr {
				t.Errorf("stats differ:\n%+v\n%+v", si, sr)
			}
			t.Logf("%d seeds, %.2f blocks/seed, kept/block %.1f, disagreement %.4f, f = %.2f, decode failures %d/%d blocks, verify failures %d, abandoned %d",
				si.Seeds, float64(blocks)/float64(seeds), float64(si.Kept)/float64(si.Blocks), si.Disagreement(),
				si.Efficiency(), si.DecodeFailures, si.Blocks, si.VerifyFailures, si.Abandoned)
		})
	}
}
