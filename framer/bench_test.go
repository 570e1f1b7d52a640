package framer

import (
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// OTU2FrameRate is the OTU2 frame rate: 10.709225 Gbit/s ÷ 130 560 bits.
const OTU2FrameRate = 82025.0

// reportLine adds frames/s and xline (frames/s ÷ the OTU2 frame rate).
func reportLine(b *testing.B) {
	fps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/OTU2FrameRate, "xline")
}

func benchSeal(b *testing.B, ks Keystream) {
	key := keys.Key{1}
	s, _ := NewSealer(0, Options{Keystream: ks})
	buf := make([]byte, FrameLen)
	f, _ := View(buf)
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Seal(&f, &key, uint32(i), 1); err != nil {
			b.Fatal(err)
		}
	}
	reportLine(b)
}

func BenchmarkSeal(b *testing.B)     { benchSeal(b, GenericZUC{}) }
func BenchmarkSealGmsm(b *testing.B) { benchSeal(b, GmsmZUC{}) }

// benchOpen opens a pool of sealed frames; errsPerCW symbol errors are put
// in every codeword (rows and interaction area) of each wire frame.
func benchOpen(b *testing.B, errsPerCW int) {
	const pool = 8
	key := keys.Key{1}
	s, _ := NewSealer(0, Options{})
	o, _ := NewOpener(0, Options{})
	o.Install(1, &key)
	wires := make([][]byte, pool)
	for p := range wires {
		wires[p] = make([]byte, FrameLen)
		f, _ := View(wires[p])
		_ = s.Seal(&f, &key, uint32(p), 1)
		for r := range Rows {
			for cw := range 16 {
				for e := range errsPerCW {
					off := r*RowLen + (20+e*29)*16 + cw
					wires[p][off] ^= 0x5A
				}
			}
		}
		for e := range errsPerCW {
			wires[p][IntOff+e*31] ^= 0x5A
		}
	}
	buf := make([]byte, FrameLen)
	f, _ := View(buf)
	var st Stats
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		copy(buf, wires[i%pool])
		if i%pool == 0 {
			o.cur.win.Reset() // the pool comes round again: not a replay here
		}
		b.StartTimer()
		if err := o.Open(&f, &st); err != nil {
			b.Fatal(err)
		}
	}
	if st.CorrectedSymbols != errsPerCW*65 {
		b.Fatalf("corrected %d, want %d", st.CorrectedSymbols, errsPerCW*65)
	}
	reportLine(b)
}

func BenchmarkOpenClean(b *testing.B) { benchOpen(b, 0) }

// BenchmarkTag is the frame tag alone: one AES block and Poly1305 over the
// 229 bytes the tag covers (Seal pays it once, Open once more to verify).
func BenchmarkTag(b *testing.B) {
	key := keys.Key{1}
	var tk tagKey
	tk.derive(&key, 0)
	var sc macScratch
	buf := make([]byte, FrameLen)
	f, _ := View(buf)
	b.SetBytes(macHead + MsgLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sc.compute(&tk, &f, 0, 1, uint32(i))
	}
	reportLine(b)
}
func BenchmarkOpen8Errors(b *testing.B) { benchOpen(b, 8) }

func BenchmarkKeystreamGeneric(b *testing.B) { benchKeystream(b, GenericZUC{}) }
func BenchmarkKeystreamGmsm(b *testing.B)    { benchKeystream(b, GmsmZUC{}) }

func benchKeystream(b *testing.B, ks Keystream) {
	key := keys.Key{2}
	var buf [EncLen]byte
	b.SetBytes(EncLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ks.FrameKeystream(&buf, &key, uint32(i), 0)
	}
	reportLine(b)
}

func BenchmarkScramble(b *testing.B) {
	buf := make([]byte, FrameLen)
	f, _ := View(buf)
	b.SetBytes(OTU2Len)
	for b.Loop() {
		scramble(&f)
	}
	reportLine(b)
}
