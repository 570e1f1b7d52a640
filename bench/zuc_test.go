package bench_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	gmzuc "github.com/emmansun/gmsm/zuc"

	"github.com/otkd/otkd/asm/zuc"
)

// gmsmSegments16 is the baseline: gmsm's EEA3, one cipher per segment, on
// the frame layout of zuc.Segments16.
func gmsmSegments16(b *testing.B, ks []byte, segLen int, key *[16]byte, count uint32) {
	clear(ks)
	for s := range 16 {
		c, err := gmzuc.NewEEACipher(key[:], count, uint32(s), 0)
		if err != nil {
			b.Fatal(err)
		}
		seg := ks[s*segLen : (s+1)*segLen]
		c.XORKeyStream(seg, seg)
	}
}

// BenchmarkZUCSegments16x986 is the keystream of a frame's sixteen 986-byte
// segments through the public API (otkd: the kernel zuc selects for the CPU,
// the 16-lane AVX-512 kernel where it has it), through the 8-lane AVX2
// kernel forced with zuc.SetKernel (otkd-avx2, the path of CPUs without
// AVX-512; otkd-avx2-aesni, its variant for CPUs without GFNI either;
// each skipped where the CPU lacks what it needs), and through gmsm. On
// the otkd runs, x-gmsm is the median, over up to 1000 frames after the
// timed loop, of gmsm's time over otkd's on the same frame, the two run
// back to back so that both see the same machine; xline is frames/s over
// one OTU2 direction's 82 025 frames/s.
func BenchmarkZUCSegments16x986(b *testing.B) {
	const segLen = 986
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ks := make([]byte, 16*segLen)
	ref := make([]byte, 16*segLen)
	otkd := func(b *testing.B) {
		b.SetBytes(int64(len(ks)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			zuc.Segments16(ks, segLen, &key, uint32(i), 0)
		}
		reportLine(b)
		rounds := min(b.N, 1000)
		tOtkd := make([]time.Duration, rounds)
		tGm := make([]time.Duration, rounds)
		for i := range rounds {
			t0 := time.Now()
			zuc.Segments16(ks, segLen, &key, uint32(i), 0)
			t1 := time.Now()
			gmsmSegments16(b, ref, segLen, &key, uint32(i))
			tOtkd[i], tGm[i] = t1.Sub(t0), time.Since(t1)
			if !bytes.Equal(ks, ref) {
				b.Fatalf("frame %d: otkd and gmsm keystreams differ", i)
			}
		}
		ratio := make([]float64, rounds)
		for i := range rounds {
			ratio[i] = float64(tGm[i]) / float64(tOtkd[i])
		}
		slices.Sort(ratio)
		b.ReportMetric(ratio[rounds/2], "x-gmsm")
	}
	b.Run("otkd", otkd)
	forced := func(k zuc.Kernel) func(b *testing.B) {
		return func(b *testing.B) {
			prev, ok := zuc.SetKernel(k)
			if !ok {
				b.Skipf("no %v kernel in this build or on this CPU", k)
			}
			defer zuc.SetKernel(prev)
			otkd(b)
		}
	}
	b.Run("otkd-avx2", forced(zuc.AVX2))
	b.Run("otkd-avx2-aesni", forced(zuc.AVX2AES))
	b.Run("gmsm", func(b *testing.B) {
		b.SetBytes(int64(len(ks)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			gmsmSegments16(b, ks, segLen, &key, uint32(i))
		}
		reportLine(b)
	})
}
