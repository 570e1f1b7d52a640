package fec

import (
	"math/rand/v2"
	"testing"
)

// lineFrames is the OTU2 frame rate per direction: 82 025 frames/s.
const lineFrames = 82025

// benchFrame runs f once per iteration over a 4-row frame and reports
// bytes/s, allocations and the ratio to OTU2 line rate ("xline").
func benchFrame(b *testing.B, f func()) {
	b.SetBytes(frameLen)
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/lineFrames, "xline")
}

func benchSetup(b *testing.B) (*Codec, *[Rows][]byte, []byte) {
	c := New()
	rows, area := encodedFrame(b, c, rand.New(rand.NewPCG(1, 2)))
	return c, rows, area
}

func BenchmarkEncodeRows(b *testing.B) {
	c, rows, _ := benchSetup(b)
	benchFrame(b, func() { c.EncodeRows(rows) })
}

func BenchmarkCheckRowsClean(b *testing.B) {
	c, rows, _ := benchSetup(b)
	benchFrame(b, func() {
		if !c.CheckRows(rows) {
			b.Fatal("frame not clean")
		}
	})
}

func BenchmarkDecodeRowsClean(b *testing.B) {
	c, rows, _ := benchSetup(b)
	var res Result
	benchFrame(b, func() { c.DecodeRows(rows, &res) })
	if res.CorrectedSymbols != 0 || res.UncorrectableCodewords != 0 {
		b.Fatal("clean frame changed")
	}
}

// benchDecodeErrors corrects n errors in each of the 64 row codewords of
// every frame (the copy restoring the corrupted frame is in the time).
func benchDecodeErrors(b *testing.B, n int) {
	c, rows, area := benchSetup(b)
	bad := cloneFrame(rows)
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range RowCodewords {
		injectErrors(rng, bad, area, k, n)
	}
	var res Result
	benchFrame(b, func() {
		res.Reset()
		c.DecodeRows(cloneInto(bad, rows), &res)
	})
	if res.CorrectedSymbols != RowCodewords*n {
		b.Fatalf("corrected %d symbols", res.CorrectedSymbols)
	}
}

func BenchmarkDecodeRows1Error(b *testing.B)  { benchDecodeErrors(b, 1) }
func BenchmarkDecodeRows2Errors(b *testing.B) { benchDecodeErrors(b, 2) }
func BenchmarkDecodeRows8Errors(b *testing.B) { benchDecodeErrors(b, T) }

// BenchmarkEncodeArea reports bytes/s of the 255-byte area; xline is the
// ratio to one area per frame at line rate.
func BenchmarkEncodeArea(b *testing.B) {
	c, _, area := benchSetup(b)
	b.SetBytes(N)
	b.ReportAllocs()
	for b.Loop() {
		c.EncodeArea(area)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/lineFrames, "xline")
}

func BenchmarkDecodeArea8Errors(b *testing.B) {
	c, _, area := benchSetup(b)
	bad := append([]byte(nil), area...)
	injectErrors(rand.New(rand.NewPCG(5, 6)), nil, bad, AreaCodeword, T)
	var res Result
	b.SetBytes(N)
	b.ReportAllocs()
	for b.Loop() {
		copy(area, bad)
		c.DecodeArea(area, &res)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/lineFrames, "xline")
}

// BenchmarkEncodeRowsKlauspost16B is the klauspost/reedsolomon baseline
// on zero-copy 16-byte shards: one Encode call per row.
func BenchmarkEncodeRowsKlauspost16B(b *testing.B) {
	_, rows, _ := benchSetup(b)
	ks := newKS(b)
	benchFrame(b, func() { ks.encode16(rows) })
}

// BenchmarkEncodeRowsKlauspost64B gathers symbol i of all 64 codewords
// into one 64-byte shard: one Encode call per frame, plus the copies.
func BenchmarkEncodeRowsKlauspost64B(b *testing.B) {
	_, rows, _ := benchSetup(b)
	ks := newKS(b)
	benchFrame(b, func() { ks.encode64(rows) })
}

// BenchmarkEncodeRowsGo and BenchmarkCheckRowsCleanGo measure the pure-Go
// twin of the assembly kernel (the path of CPUs without AVX-512 GFNI).
func BenchmarkEncodeRowsGo(b *testing.B) {
	c, rows, _ := benchSetup(b)
	defer func(saved bool) { useGFNI = saved }(useGFNI)
	useGFNI = false
	benchFrame(b, func() { c.EncodeRows(rows) })
}

func BenchmarkCheckRowsCleanGo(b *testing.B) {
	c, rows, _ := benchSetup(b)
	defer func(saved bool) { useGFNI = saved }(useGFNI)
	useGFNI = false
	benchFrame(b, func() { c.CheckRows(rows) })
}
