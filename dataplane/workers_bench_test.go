package dataplane

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/linetest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// BenchmarkWorkersTX: a TX alone (keyed frames, rounds, payload) into a
// line that drops them, W = 1, 2, 4, unpinned: xline of the pipeline (wall
// time: what the free cores give) and cpu-us/frame (the process's CPU time
// per frame: the cost of the pipeline itself, hand-offs included).
func BenchmarkWorkersTX(b *testing.B) {
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("W=%d", w), func(b *testing.B) {
			p, err := NewPort(Config{Line: linetest.NewDiscard(), Workers: w})
			if err != nil {
				b.Fatal(err)
			}
			k := keys.Key{1}
			p.ScheduleTX(1, &k, 0)
			stop := runStages(p, p.txStages())
			for p.Stats().TXFrames < 100 {
			}
			b.SetBytes(framer.FrameLen)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			start := p.Stats().TXFrames
			for p.Stats().TXFrames < start+uint64(b.N) {
				time.Sleep(50 * time.Microsecond) // the pipeline runs; this goroutine only watches
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			stop()
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-us/frame")
			fps := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(fps/82025, "xline")
		})
	}
}

// processCPU is the process's CPU time, user and system.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
