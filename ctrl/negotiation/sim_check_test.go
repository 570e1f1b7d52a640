package negotiation

import (
	"testing"
)

// siftedBlock runs one block of the profile through sifting at both ends and
// returns the kept count and the disagreements before reconciliation.
func siftedBlock(s *simulator, n int, alpha float64) (kept, disagree int) {
	var ra, rb rounds
	var lo uint32
	for i := range n {
		id, a, b := s.round()
		if i == 0 {
			lo = id
		}
		ra.add(id, a)
		rb.add(id, b)
	}
	ba := ra.siftRange(lo, n, alpha)
	bb := rb.siftRange(lo, n, alpha)
	mask := bitmapAnd(ba.kept, bb.kept)
	xa, xb := ba.keptBits(mask), bb.keptBits(mask)
	for i := range xa {
		if xa[i] != xb[i] {
			disagree++
		}
	}
	return len(xa), disagree
}

func TestSimulatorDefaultProfile(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		p := defaultSim()
		p.Faithful = faithful
		s := newSim(p, 1)
		blocks := 40
		if faithful || testing.Short() {
			blocks = 8
		}
		kept, dis := 0, 0
		for range blocks {
			k, d := siftedBlock(s, 1000, 0.5)
			kept += k
			dis += d
		}
		meanKept := float64(kept) / float64(blocks)
		rate := float64(dis) / float64(kept)
		t.Logf("faithful=%v: kept %.1f of 1000, disagreement %.4f", faithful, meanKept, rate)
		if meanKept < 470 || meanKept > 570 {
			t.Errorf("faithful=%v: kept %.1f, want ~520", faithful, meanKept)
		}
		if rate < 0.001 || rate > 0.012 {
			t.Errorf("faithful=%v: disagreement %.4f, want ~0.004", faithful, rate)
		}
	}
}
