package bench_test

import (
	"testing"

	"github.com/klauspost/reedsolomon"

	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/internal/keys"
)

// OTU2 frame rate: 10.709 225 Gbit/s ÷ 130 560 bits per frame.
const otu2FrameRate = 82025.0

func reportLine(b *testing.B) {
	fps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/otu2FrameRate, "xline")
}

// BenchmarkSealOpen seals one frame and opens another per iteration: one
// full-duplex port's work per 12.19 µs frame time. xline ≥ 1 means one
// core carries the port at line rate.
func BenchmarkSealOpen(b *testing.B) {
	for _, eng := range []struct {
		name string
		ks   framer.Keystream
	}{{"otkd", framer.GenericZUC{}}, {"gmsm", framer.GmsmZUC{}}} {
		b.Run(eng.name, func(b *testing.B) {
			key := keys.Key{1, 2, 3}
			s, _ := framer.NewSealer(0, framer.Options{Keystream: eng.ks})
			o, _ := framer.NewOpener(0, framer.Options{Keystream: eng.ks})
			o.Install(1, &key)
			tx := make([]byte, framer.FrameLen)
			rx := make([]byte, framer.FrameLen)
			ft, _ := framer.View(tx)
			fr, _ := framer.View(rx)
			var st framer.Stats
			b.SetBytes(2 * framer.FrameLen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := s.Seal(&ft, &key, uint32(i), 1); err != nil {
					b.Fatal(err)
				}
				copy(rx, tx)
				if err := o.Open(&fr, &st); err != nil {
					b.Fatal(err)
				}
			}
			reportLine(b)
		})
	}
}

// BenchmarkRowFEC compares otkd's row FEC with klauspost/reedsolomon alone
// (the G.709 parity matrix, one 16-byte shard per symbol and row: the
// zero-copy layout) on the parity of one frame's four rows.
func BenchmarkRowFEC(b *testing.B) {
	var rows [fec.Rows][]byte
	for r := range rows {
		rows[r] = make([]byte, fec.RowLen)
		for i := range rows[r] {
			rows[r][i] = byte(i*7 + r)
		}
	}
	b.Run("otkd-encode", func(b *testing.B) {
		c := fec.New()
		b.SetBytes(fec.Rows * fec.RowLen)
		b.ReportAllocs()
		for b.Loop() {
			c.EncodeRows(&rows)
		}
		reportLine(b)
	})
	b.Run("otkd-check-clean", func(b *testing.B) {
		c := fec.New()
		c.EncodeRows(&rows)
		b.SetBytes(fec.Rows * fec.RowLen)
		b.ReportAllocs()
		for b.Loop() {
			if !c.CheckRows(&rows) {
				b.Fatal("clean frame failed the check")
			}
		}
		reportLine(b)
	})
	b.Run("klauspost-16B", func(b *testing.B) {
		enc, err := reedsolomon.New(fec.K, fec.Parity, reedsolomon.WithCustomMatrix(parityMatrix()))
		if err != nil {
			b.Fatal(err)
		}
		shards := make([][]byte, fec.N)
		b.SetBytes(fec.Rows * fec.RowLen)
		b.ReportAllocs()
		for b.Loop() {
			for r := range rows {
				for i := range shards {
					shards[i] = rows[r][16*i : 16*i+16]
				}
				if err := enc.Encode(shards); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportLine(b)
	})
}

// parityMatrix derives the G.709 parity matrix from otkd's own encoder:
// the parity of the unit message e_j is column j. (A test in framer/fec
// checks that klauspost with this matrix reproduces the encoder.)
func parityMatrix() [][]byte {
	m := make([][]byte, fec.Parity)
	for i := range m {
		m[i] = make([]byte, fec.K)
	}
	c := fec.New()
	cw := make([]byte, fec.N)
	for j := range fec.K {
		clear(cw)
		cw[j] = 1
		c.EncodeArea(cw)
		for i := range fec.Parity {
			m[i][j] = cw[fec.K+i]
		}
	}
	return m
}
