package negotiation

import (
	"errors"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// tamperNth returns a tamper function that rewrites the n-th message of
// type typ (from 0) with f and passes everything else.
func tamperNth(t *testing.T, typ MsgType, n int, f func(Message)) func([]byte) []byte {
	seen := 0
	return func(b []byte) []byte {
		if MsgType(b[1]) != typ {
			return b
		}
		seen++
		if seen-1 != n {
			return b
		}
		m, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		f(m)
		return mustMarshal(t, m)
	}
}

// tamperBlock returns a tamper function that rewrites with f every message
// of type typ of attempt 1, block blk, and passes everything else.
func tamperBlock(t *testing.T, typ MsgType, blk uint16, f func(Message)) func([]byte) []byte {
	return func(b []byte) []byte {
		if MsgType(b[1]) != typ {
			return b
		}
		m, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if h := hdr(m); h.Attempt != 1 || h.Block != blk {
			return b
		}
		f(m)
		return mustMarshal(t, m)
	}
}

// modeParams returns DefaultParams in reconciliation mode r; the one-shot
// mode gets its own profile's block size, N = 1000 (as first published).
func modeParams(r Reconciliation) Params {
	p := DefaultParams()
	p.Reconciliation = r
	if r == OneShot {
		p.N = 1000
	}
	return p
}

// forModes runs f as a subtest per reconciliation mode.
func forModes(t *testing.T, f func(t *testing.T, p Params)) {
	for _, r := range []Reconciliation{Incremental, OneShot} {
		t.Run(r.String(), func(t *testing.T) { f(t, modeParams(r)) })
	}
}

// phantomStep adds position p to the error pattern of a Step's sums.
func phantomStep(s *Step, p int) {
	f := gf(s.Field())
	for i := range s.Sums {
		s.Sums[i] ^= f.exp[p*(2*(s.First+i)+1)%f.order]
	}
}

// phantomError adds position p to the error pattern the responder decodes:
// S_j += α^{p·j}, so a correct decoder "corrects" a bit that was right.
func phantomError(s *Syndrome, p int) {
	for k := 0; k < s.T; k++ {
		s.Syndromes[k] ^= gf10().exp[p*(2*k+1)%gfOrder]
	}
}

func TestWrongSyndromeCaughtByTag(t *testing.T) {
	forModes(t, func(t *testing.T, p Params) {
		tp := newTestPair(t, p, defaultSim(), 21)
		if p.Reconciliation == OneShot {
			tp.tamper = tamperNth(t, TypeSyndrome, 1, func(m Message) { phantomError(m.(*Syndrome), 3) })
		} else {
			tp.tamper = tamperBlock(t, TypeStep, 0, func(m Message) { phantomStep(m.(*Step), 3) })
		}
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed {
			t.Fatal("a seed from a failed verification was used")
		}
		si, sr := tp.in.Stats(), tp.rs.Stats()
		if si.VerifyFailures != 1 || sr.VerifyFailures != 1 || ri.Failures != 1 || ri.Attempt != 2 {
			t.Fatalf("want one verify failure then attempt 2: %+v / %+v / %v", si, sr, ri)
		}
	})
}

func TestUndecodableSyndromeDropsBlock(t *testing.T) {
	forModes(t, func(t *testing.T, p Params) {
		tp := newTestPair(t, p, defaultSim(), 22)
		if p.Reconciliation == OneShot {
			tp.tamper = tamperNth(t, TypeSyndrome, 0, func(m Message) {
				s := m.(*Syndrome)
				for p := range s.T + 3 { // far more disagreements than t
					phantomError(s, 5+7*p)
				}
			})
		} else {
			tp.tamper = tamperBlock(t, TypeStep, 0, func(m Message) {
				for p := range 60 { // far more disagreements than the cap
					phantomStep(m.(*Step), 5+7*p)
				}
			})
		}
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed {
			t.Fatal("seeds differ")
		}
		si := tp.in.Stats()
		if si.DecodeFailures+si.VerifyFailures != 1 || ri.Failures != 1 {
			t.Fatalf("want exactly one failure: %+v", si)
		}
		if si.DecodeFailures == 1 && ri.Attempt != 1 {
			t.Fatalf("a decode failure should drop only the block, not the attempt: %v", ri)
		}
	})
}

// verifyTamper returns a tamper function that rewrites the first Verify or
// VerifySeeds: tag and Toeplitz seed are handed to f.
func verifyTamper(t *testing.T, p Params, f func(tag, toeplitz []byte)) func([]byte) []byte {
	if p.Reconciliation == OneShot {
		return tamperNth(t, TypeVerify, 0, func(m Message) { v := m.(*Verify); f(v.Tag[:], v.Toeplitz) })
	}
	return tamperNth(t, TypeVerifySeeds, 0, func(m Message) { v := m.(*VerifySeeds); f(v.Tag[:], v.Toeplitz) })
}

func TestWrongTagNoKeyUsed(t *testing.T) {
	forModes(t, func(t *testing.T, p Params) {
		tp := newTestPair(t, p, defaultSim(), 23)
		tp.tamper = verifyTamper(t, p, func(tag, _ []byte) { tag[0] ^= 1 })
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed || ri.Attempt != 2 || ri.Failures != 1 {
			t.Fatalf("want the seed of attempt 2 after one failure: %v / %v", ri, rr)
		}
		if tp.in.Stats().VerifyFailures != 1 || tp.rs.Stats().VerifyFailures != 1 {
			t.Fatal("verify failure not counted at both ends")
		}
		if len(tp.in.att.seeds) != 0 && tp.in.att.id == 2 && tp.in.att.seeds[0] != (keys.Seed{}) {
			t.Fatal("initiator kept a pending seed after the attempt")
		}
	})
}

func TestWrongToeplitzSeedCaughtByTag(t *testing.T) {
	forModes(t, func(t *testing.T, p Params) {
		tp := newTestPair(t, p, defaultSim(), 24)
		tp.tamper = verifyTamper(t, p, func(_, s []byte) { s[0] ^= 0x80 })
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed || ri.Attempt != 2 || tp.rs.Stats().VerifyFailures != 1 {
			t.Fatalf("a corrupted Toeplitz seed must fail verification: %v / %v", ri, rr)
		}
	})
}

func TestAdaptiveNHighDisagreement(t *testing.T) {
	forModes(t, func(t *testing.T, p Params) {
		prof := defaultSim()
		prof.M = 300 // ~1.3 % disagreement after sifting
		if p.Reconciliation == Incremental {
			prof.M = 200 // ~2.5 %: 3 blocks suffice at 1.3 %
		}
		seeds := 20
		if testing.Short() {
			seeds = 4
		}
		p.N = 1000 // short blocks, several per seed
		tp := newTestPair(t, p, prof, 25)
		blocks := 0
		for range seeds {
			ri, rr := tp.nextSeed(200 * tp.in.p.N)
			if ri.Seed != rr.Seed || ri.Bound < SeedBits*ri.Seeds {
				t.Fatalf("bad seed: %v / %v", ri, rr)
			}
			if ri.Blocks <= 3 {
				t.Errorf("%d blocks at %.3f disagreement: adaptive n not exercised", ri.Blocks, ri.Disagreement)
			}
			blocks += ri.Blocks
		}
		s := tp.in.Stats()
		t.Logf("%.1f blocks/seed, disagreement %.4f, f = %.2f, decode failures %d/%d, abandoned %d",
			float64(blocks)/float64(seeds), s.Disagreement(), s.Efficiency(), s.DecodeFailures, s.Blocks, s.Abandoned)
	})
}

func TestNoNetEntropyAbandons(t *testing.T) {
	prof := defaultSim()
	prof.M = 150 // several % disagreement: BCH leaks more than η·K
	p := DefaultParams()
	p.MaxBlocks = 3
	tp := newTestPair(t, p, prof, 26)
	for range 4 * p.MaxBlocks {
		tp.feed(p.N)
		m, err := tp.in.Next()
		if err != nil {
			t.Fatal(err)
		}
		for m != nil {
			var ri *Result
			m, ri, _ = tp.exchange(m)
			if ri != nil {
				t.Fatalf("seed made without net entropy: %v", ri)
			}
		}
	}
	if si, sr := tp.in.Stats(), tp.rs.Stats(); si.Abandoned < 2 || sr.Abandoned < 1 || si.Seeds != 0 {
		t.Fatalf("want abandoned attempts and no seeds: %+v / %+v", si, sr)
	}
}

func TestParamsMismatchRejected(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 27)
	strict := DefaultParams()
	strict.EntropyPerBit = 0.3
	tp.rs, _ = NewResponder(strict)
	for range 10 {
		tp.feed(tp.in.p.N)
		m, _ := tp.in.Next()
		for m != nil {
			if m.Type() == TypeVerify || m.Type() == TypeVerifySeeds {
				if _, _, err := tp.rs.Handle(tp.wire(m)); !errors.Is(err, ErrMismatch) {
					t.Fatalf("Verify under a laxer bound: err = %v", err)
				}
				return
			}
			m, _, _ = tp.exchange(m)
		}
	}
	t.Fatal("no Verify sent")
}

// TestStrengthFollowsDisagreement switches the channel from the default
// profile to a ~1.3 % one mid-run: the estimator raises t from the
// corrected counts, so decoding keeps working and seeds stay identical.
func TestStrengthFollowsDisagreement(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 28)
	for range 3 {
		tp.nextSeed(40 * tp.in.p.N)
	}
	low := chooseT(520, tp.in.q.estimate(tp.in.p.InitialQBER), tp.in.p.TargetFailure)
	tp.sim.p.M = 300
	for range 6 {
		ri, rr := tp.nextSeed(200 * tp.in.p.N)
		if ri.Seed != rr.Seed {
			t.Fatal("seeds differ")
		}
	}
	high := chooseT(520, tp.in.q.estimate(tp.in.p.InitialQBER), tp.in.p.TargetFailure)
	if high <= low+2 {
		t.Errorf("t went from %d to %d only", low, high)
	}
	if s := tp.in.Stats(); s.DecodeFailures > 3 {
		t.Errorf("%d decode failures while adapting", s.DecodeFailures)
	}
	t.Logf("t for 520 bits: %d → %d", low, high)
}
