package negotiation

import (
	"math"
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

// TestKeptBitStatistics checks the part of the entropy estimate that the
// simulator can check: kept bits are nearly balanced and uncorrelated from
// one kept round to the next, so their min-entropy given everything but the
// eavesdropper's side information, −log2 max(P(0), P(1)), stays well above
// the credited DefaultParams().EntropyPerBit.
func TestKeptBitStatistics(t *testing.T) {
	s := newSim(defaultSim(), 9)
	blocks := 40
	if testing.Short() {
		blocks = 8
	}
	ones, total, same, pairs := 0, 0, 0, 0
	for range blocks {
		var r rounds
		var lo uint32
		for i := range 1000 {
			id, a, _ := s.round()
			if i == 0 {
				lo = id
			}
			r.add(id, a)
		}
		b := r.siftRange(lo, 1000, 0.5)
		x := b.keptBits(b.kept)
		for i, v := range x {
			ones += int(v)
			if i > 0 {
				pairs++
				if x[i] == x[i-1] {
					same++
				}
			}
		}
		total += len(x)
	}
	p1 := float64(ones) / float64(total)
	hmin := -math.Log2(max(p1, 1-p1))
	ps := float64(same) / float64(pairs)
	t.Logf("P(1) = %.4f, min-entropy from bias %.3f bit/bit, P(next kept bit equal) = %.4f", p1, hmin, ps)
	if hmin < DefaultParams().EntropyPerBit+0.3 {
		t.Errorf("bias alone leaves %.3f bit/bit", hmin)
	}
	if math.Abs(ps-0.5) > 0.05 {
		t.Errorf("consecutive kept bits correlated: P(equal) = %.3f", ps)
	}
}
