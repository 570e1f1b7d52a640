package negotiation

import (
	"fmt"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// otu2FramesPerSecond is the OTU2 frame rate: one round per frame and
// direction, so the rate at which a direction collects counts.
const otu2FramesPerSecond = 82025

// BenchmarkSeed measures post-processing per seed (both ends, messages
// encoded and decoded, the round simulation excluded from the timing), in
// each reconciliation mode at its own block size.
func BenchmarkSeed(b *testing.B) {
	for _, mode := range []Reconciliation{Incremental, OneShot} {
		for _, m := range []int{496, 300} {
			p := modeParams(mode)
			if mode == OneShot {
				p.N = 1000
			}
			b.Run(fmt.Sprintf("%v/N%d_alpha0.5_m%d", mode, p.N, m), func(b *testing.B) {
				prof := defaultSim()
				prof.M = m
				tp := newTestPair(b, p, prof, 77)
				b.ReportAllocs()
				rounds := 0
				var pending Message
				b.ResetTimer()
				for range b.N {
					for done := false; !done; {
						msg := pending
						pending = nil
						if msg == nil {
							msg, _ = tp.in.Next()
						}
						if msg == nil {
							b.StopTimer()
							tp.feed(tp.in.p.N)
							rounds += tp.in.p.N
							b.StartTimer()
							continue
						}
						for msg != nil && !done {
							var ri *Result
							msg, ri, _ = tp.exchange(msg)
							done, pending = ri != nil, msg
						}
					}
				}
				perSeed := float64(rounds) / float64(b.N)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
				b.ReportMetric(perSeed, "rounds/seed")
				// The line bound: seeds/s a direction can make at the OTU2 frame rate.
				b.ReportMetric(otu2FramesPerSecond/perSeed, "line-seeds/s")
			})
		}
	}
}

func BenchmarkBCHDecode523t8(b *testing.B) {
	bits := make([]byte, 523)
	for i := range bits {
		bits[i] = byte(i * 7 % 3 & 1)
	}
	s := make([]uint16, 8)
	oddSyndromes(s, bits)
	work := make([]byte, len(bits))
	b.ReportAllocs()
	b.SetBytes(int64(len(bits) / 8))
	for range b.N {
		copy(work, bits)
		work[3] ^= 1
		work[400] ^= 1
		if n, ok := bchDecode(work, s); !ok || n != 2 {
			b.Fatal("decode failed")
		}
	}
}

func BenchmarkToeplitz1569(b *testing.B) {
	x := make([]byte, 1569)
	s := make([]byte, toeplitzSeedBytes(len(x)))
	var out keys.Seed
	b.ReportAllocs()
	for range b.N {
		toeplitzHash(&out, x, s)
	}
}
