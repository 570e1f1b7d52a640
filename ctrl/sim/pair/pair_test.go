package pair

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/internal/race"
	"github.com/otkd/otkd/noise"
)

// runUntil runs p until both directions have at least seeds seeds (or the
// pair fails), polling its statistics.
func runUntil(t *testing.T, p *Pair, seeds int) [2]DirStats {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("pair stopped: %v", err)
		case <-tick.C:
		}
		st := p.Stats()
		if st[0].Seeds >= seeds && st[1].Seeds >= seeds {
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return p.Stats()
		}
		if time.Since(last) > 10*time.Second {
			t.Logf("progress: A→B %d seeds (%d rounds), B→A %d seeds (%d rounds)", st[0].Seeds, st[0].Rounds, st[1].Seeds, st[1].Rounds)
			last = time.Now()
		}
	}
}

func TestDefaultProfile(t *testing.T) {
	if race.Enabled {
		t.Skip("seeds take too long under the race detector; TestStartupUnderRace covers the concurrency")
	}
	want := 100
	if testing.Short() {
		want = 2
	}
	p, err := New(Config{Seed: 1, Eavesdropper: true})
	if err != nil {
		t.Fatal(err)
	}
	st := runUntil(t, p, want)
	for d, s := range st {
		t.Logf("direction %d: %+v", d, s)
		if s.Mismatches != 0 {
			t.Errorf("direction %d: %d of %d seeds differ between A and B", d, s.Mismatches, s.Seeds)
		}
		// No frame is lost to a key switch: every COUNT missing at the
		// receiver is a frame the fibre damaged beyond the FEC (about one
		// in 10^5 at this BER: alignment lost, or the interaction area
		// uncorrectable, so its tag cannot be read).
		if s.RejectedEpoch != 0 || s.FramesLost > s.FramesDamaged {
			t.Errorf("direction %d: %d frames rejected for their epoch, %d lost (%d damaged by the fibre), across %d key switches",
				d, s.RejectedEpoch, s.FramesLost, s.FramesDamaged, s.KeySwitches)
		}
		// Epoch 1 plus one per seed, minus those in flight: an attempt's
		// seeds (up to MaxSeeds) come at once and switch one after another.
		if s.KeySwitches+negotiation.DefaultMaxSeeds-1 < s.Seeds {
			t.Errorf("direction %d: %d key switches for %d seeds", d, s.KeySwitches, s.Seeds)
		}
	}
	for i, port := range p.Ports {
		// The fibre's bit errors (BER 4.3e-4) leave a codeword with more
		// than 8 symbol errors about once per 40 000 frames: expected, and
		// only there may a frame's payload be wrong.
		ps := port.Stats()
		t.Logf("end %d: %d frames, %d symbols corrected, %d codewords uncorrectable, %d payload errors",
			i, ps.RXFrames, ps.FECCorrected, ps.FECUncorrected, ps.PayloadErrors)
		if ps.PayloadErrors > ps.FECUncorrected {
			t.Errorf("end %d: %d payload errors with only %d uncorrectable codewords", i, ps.PayloadErrors, ps.FECUncorrected)
		}
	}
	checkEve(t, p)
}

// checkEve: Eve's quantised estimates agree with the initiator's bits at
// 50 % within five binomial standard deviations of the kept rounds.
func checkEve(t *testing.T, p *Pair) {
	t.Helper()
	for d, s := range p.Eve.Score(0.5) {
		bound := 5 * 0.5 / math.Sqrt(float64(s.Kept))
		t.Logf("Eve, direction %d: %d rounds, %d kept, agreement %.4f (bound ±%.4f), correlation %.4f",
			d, s.Rounds, s.Kept, s.Agreement, bound, s.Correlation)
		if s.Kept < 100 {
			t.Fatalf("direction %d: only %d rounds to score Eve on", d, s.Kept)
		}
		if math.Abs(s.Agreement-0.5) > bound {
			t.Errorf("direction %d: Eve agrees %.4f with the initiator's bits", d, s.Agreement)
		}
	}
}

// TestStartup: handshake, epoch-1 keys in both directions and rounds
// counted at both ends. Cheap enough for the race detector.
func TestStartup(t *testing.T) {
	p, err := New(Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for {
		time.Sleep(20 * time.Millisecond)
		a, b := p.Ctrls[0].Stats(), p.Ctrls[1].Stats()
		if a.TXEpoch >= 1 && b.TXEpoch >= 1 && a.Initiator.Rounds > 100 && b.Initiator.Rounds > 100 &&
			a.Responder.Rounds > 100 && b.Responder.Rounds > 100 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("pair stopped: %v", err)
		default:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, port := range p.Ports {
		s := port.Stats()
		if s.RXUnknownEpoch != 0 || s.RXGaps != 0 {
			t.Errorf("end %d lost frames at the first key switch: %+v", i, s)
		}
	}
}

func TestLossyChannel(t *testing.T) {
	if race.Enabled {
		t.Skip("seeds take too long under the race detector")
	}
	prof := noise.DefaultProfile()
	prof.Loss = 0.01
	prof.Reorder, prof.ReorderDepth = 0.01, 4
	prof.Burst, prof.BurstLen = 0.01, 32
	want := 10
	if testing.Short() {
		want = 1
	}
	p, err := New(Config{Profile: prof, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := runUntil(t, p, want)
	for d, s := range st {
		t.Logf("direction %d: %+v", d, s)
		if s.Mismatches != 0 {
			t.Errorf("direction %d: %d of %d seeds differ", d, s.Mismatches, s.Seeds)
		}
	}
}

// TestOperatorRequests: Rotate switches A's TX to a new key from the same
// seed without losing a frame; Negotiate starts a new attempt that still
// ends in matching seeds.
func TestOperatorRequests(t *testing.T) {
	if race.Enabled {
		t.Skip("seeds take too long under the race detector")
	}
	p, err := New(Config{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor := func(what string, f func() bool) {
		t.Helper()
		for !f() {
			select {
			case err := <-done:
				t.Fatalf("pair stopped while waiting for %s: %v", what, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := p.Ctrls[0].Rotate(ctx); err == nil {
		t.Fatal("Rotate before the first seed succeeded")
	}
	waitFor("a seed", func() bool { return p.Stats()[0].Seeds >= 1 })
	before := p.Ctrls[0].Stats().TXSwitches
	if err := p.Ctrls[0].Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("the rotation", func() bool { return p.Ctrls[0].Stats().TXSwitches > before })
	if err := p.Ctrls[0].Negotiate(ctx); err != nil {
		t.Fatal(err)
	}
	seeds := p.Stats()[0].Seeds
	waitFor("a seed after Negotiate", func() bool { return p.Stats()[0].Seeds > seeds })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := p.Stats()[0]
	if s.Mismatches != 0 || s.RejectedEpoch != 0 || s.FramesLost > s.FramesDamaged {
		t.Fatalf("after operator requests: %+v", s)
	}
}
