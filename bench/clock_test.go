package bench_test

import "testing"

var clockSink uint64

// BenchmarkClock calibrates a run: a chain of dependent 64-bit multiplies, each of
// which takes 3 cycles on current x86 cores (Intel since Sandy Bridge, AMD since Zen), so
// 3 × multiplies ÷ time is the clock the core ran at. On a shared VM it moves with the
// host's load and frequency; quoting it beside a run lets figures from different runs or
// machines be compared in cycles (ns × GHz).
func BenchmarkClock(b *testing.B) {
	const muls = 1 << 12
	x := uint64(1)
	for b.Loop() {
		for range muls {
			x *= 0x9E3779B97F4A7C15
		}
	}
	clockSink = x
	b.ReportMetric(3*muls*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GHz")
}
