package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/ctrl/sim/pair"
)

// BenchmarkPairSeeds runs a whole link (two ports, two controllers, the
// simulated fibre) as fast as this machine lets it until each direction has
// made b.N seeds, once per reconciliation mode side by side (incremental:
// the default profile; one-shot: Params.Reconciliation = OneShot at its own
// block size N = 1000), and reports per direction:
//
//	seeds/s        what the pair achieved
//	bound-seeds/s  frames/s ÷ rounds per seed: what the same frame rate
//	               could give if post-processing cost nothing
//	line-seeds/s   82 025 ÷ rounds per seed: the OTU2 line-rate bound
//	frames/s       frames per second per direction (with FEC, ZUC, noise)
func BenchmarkPairSeeds(b *testing.B) {
	oneShot := negotiation.DefaultParams()
	oneShot.Reconciliation, oneShot.N = negotiation.OneShot, 1000
	for _, m := range []struct {
		name string
		p    negotiation.Params
	}{{"incremental", negotiation.DefaultParams()}, {"one-shot", oneShot}} {
		b.Run(m.name, func(b *testing.B) { pairSeeds(b, m.p) })
	}
}

func pairSeeds(b *testing.B, params negotiation.Params) {
	p, err := pair.New(pair.Config{Seed: 9, Params: params})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- p.Run(ctx) }()
	var st [2]pair.DirStats
	for {
		time.Sleep(20 * time.Millisecond)
		st = p.Stats()
		if st[0].Seeds >= b.N && st[1].Seeds >= b.N {
			break
		}
		select {
		case err := <-done:
			b.Fatalf("pair stopped: %v", err)
		default:
		}
	}
	el := time.Since(start).Seconds()
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	for d, s := range st {
		if s.Mismatches != 0 {
			b.Fatalf("direction %d: %d mismatched seeds", d, s.Mismatches)
		}
	}
	s := st[0]
	rps := float64(s.Rounds) / float64(s.Seeds)
	fps := float64(s.FramesSent) / el
	b.ReportMetric(float64(s.Seeds)/el, "seeds/s")
	b.ReportMetric(fps/rps, "bound-seeds/s")
	b.ReportMetric(otu2FrameRate/rps, "line-seeds/s")
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(rps, "rounds/seed")
}
