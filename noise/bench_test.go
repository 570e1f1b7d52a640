package noise

import (
	"testing"
)

// needSamples is the soft samples per second of one direction at OTU2 line rate:
// 82 025 frames/s × 1984 negotiation bits.
const needSamples = 82025 * SamplesPerFrame

// reportSamples adds samples/s and the ratio to the need of one direction.
func reportSamples(b *testing.B, perOp int) {
	s := float64(b.N) * float64(perOp) / b.Elapsed().Seconds()
	b.ReportMetric(s, "samples/s")
	b.ReportMetric(s/needSamples, "xneed")
}

// engines are the add-and-decide engines the benchmarks compare side by side: the
// kernels this build and CPU have, and the pure-Go twin.
func engines() []engine { return append(vectorEngines(), engineGeneric) }

// BenchmarkAddAndDecide1984 is the receiver's per-frame work: two rounds (data1 and
// data2) of 992 samples, each with a fresh σ, AES-CTR keystream included, on each
// engine. SetBytes counts the soft samples' bytes (4 per sample); xneed is samples/s ÷
// 163 M/s, one direction at OTU2 line rate.
func BenchmarkAddAndDecide1984(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.String(), func(b *testing.B) {
			withEngine(e, func() {
				l := seededLocal(b, DefaultProfile(), 1)
				soft := make([]Sample, SamplesPerFrame)
				Modulate(make([]byte, SamplesPerFrame/8), SamplesPerFrame, soft, nil)
				out := make([]byte, SamplesPerFrame/8)
				b.SetBytes(4 * SamplesPerFrame)
				b.ReportAllocs()
				for b.Loop() {
					l.BeginRound()
					l.AddAndDecide(soft[:992], out[:124])
					l.BeginRound()
					l.AddAndDecide(soft[992:], out[124:])
				}
				reportSamples(b, SamplesPerFrame)
			})
		})
	}
}

// BenchmarkAddAndDecideKernel1984 is the add-and-decide kernel alone on a ready
// keystream, on each engine: the part the kernel vectorises, without the keystream.
func BenchmarkAddAndDecideKernel1984(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.String(), func(b *testing.B) {
			withEngine(e, func() {
				l := seededLocal(b, DefaultProfile(), 1)
				l.fill(l.buf[:])
				ks := l.buf[:4*SamplesPerFrame]
				soft := make([]Sample, SamplesPerFrame)
				out := make([]byte, SamplesPerFrame/8)
				b.SetBytes(4 * SamplesPerFrame)
				b.ReportAllocs()
				for b.Loop() {
					addAndDecide(soft, ks, 2, 0, out) // σ = 0.5
				}
				reportSamples(b, SamplesPerFrame)
			})
		})
	}
}

// BenchmarkKeystream32K is the Local's keystream alone (asm/aesctr: AES-128-CTR) in its
// 32 KiB blocks: 4 bytes per sample, so it bounds AddAndDecide at MB/s ÷ 4.
func BenchmarkKeystream32K(b *testing.B) {
	l := seededLocal(b, DefaultProfile(), 1)
	b.SetBytes(localBlock)
	b.ReportAllocs()
	for b.Loop() {
		l.fill(l.buf[:])
	}
	reportSamples(b, localBlock/4)
}

// BenchmarkModulate1984 maps one frame's 1984 negotiation bits to soft samples.
func BenchmarkModulate1984(b *testing.B) {
	bits := make([]byte, SamplesPerFrame/8)
	for i := range bits {
		bits[i] = byte(i * 37)
	}
	soft := make([]Sample, SamplesPerFrame)
	p := DefaultProfile()
	b.SetBytes(4 * SamplesPerFrame)
	b.ReportAllocs()
	for b.Loop() {
		Modulate(bits, SamplesPerFrame, soft, &p)
	}
	reportSamples(b, SamplesPerFrame)
}

// BenchmarkFibre1984 adds the simulated fibre's noise to one frame's samples.
func BenchmarkFibre1984(b *testing.B) {
	c := newTestChannel(b, DefaultProfile(), 1)
	soft := make([]Sample, SamplesPerFrame)
	b.SetBytes(4 * SamplesPerFrame)
	b.ReportAllocs()
	for b.Loop() {
		c.AddFibreNoise(soft)
		clear(soft) // keep the values bounded
	}
	reportSamples(b, SamplesPerFrame)
}

// BenchmarkPopCountXOR3x62 is one round's count: popcount(XB4 ⊕ XA1 ⊕ C2), 496 bits.
func BenchmarkPopCountXOR3x62(b *testing.B) {
	a, c, d := make([]byte, 62), make([]byte, 62), make([]byte, 62)
	b.SetBytes(3 * 62)
	b.ReportAllocs()
	sink := 0
	for b.Loop() {
		sink += PopCountXOR3(a, c, d)
	}
	_ = sink
}

// BenchmarkBitErrorsFrame flips the fibre's bit errors (default profile, BER ≈ 4.3e-4)
// over the bytes of a frame that carry no soft samples (16 830 − 2·124 bytes): ≈ 57
// errors a frame.
func BenchmarkBitErrorsFrame(b *testing.B) {
	c := newTestChannel(b, DefaultProfile(), 1)
	buf := make([]byte, 16830-2*124)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += c.BitErrors(buf)
	}
	b.ReportMetric(float64(n)/float64(b.N), "errors/op")
}
