package ichan

import (
	"math/rand/v2"
	"testing"
)

// pair is two channels joined by a perfect link, stepped one frame per
// direction per call, with A streaming 2048-byte messages to B. It does
// the per-frame work of both pipelines and both controllers.
type pair struct {
	a, b       *Chan
	wa, wb     AreaWriter
	ra, rb     AreaReader
	area       [AreaSize]byte
	round      [66]byte
	msg, rbuf  []byte
	delivered  int
	roundBytes bool
}

func newPair(cfg Config) *pair {
	p := &pair{a: New(cfg), b: New(cfg), msg: make([]byte, 2048), rbuf: make([]byte, 2048), roundBytes: true}
	r := rand.New(rand.NewPCG(1, 1))
	for i := range p.msg {
		p.msg[i] = byte(r.Uint32())
	}
	return p
}

func (p *pair) frame() {
	for p.a.Send(p.msg) == nil {
	}
	p.one(p.a, p.b, &p.wa, &p.rb)
	p.one(p.b, p.a, &p.wb, &p.ra)
	for n, ok := p.b.Recv(p.rbuf); ok; n, ok = p.b.Recv(p.rbuf) {
		p.delivered += n
	}
}

// one carries a frame from src to dst with the typical round TLVs first
// (OWNROUND, RESPONSE, FINAL: 142 bytes, leaving 96).
func (p *pair) one(src, dst *Chan, w *AreaWriter, r *AreaReader) {
	w.Begin(p.area[:])
	if p.roundBytes {
		w.Put(TypeOwnRound, p.round[:4])
		w.Put(TypeResponse, p.round[:])
		w.Put(TypeFinal, p.round[:])
	}
	src.FillTX(w)
	w.Finish()
	if r.Reset(p.area[:]) != nil {
		panic("area")
	}
	for typ, val, ok := r.Next(); ok; typ, val, ok = r.Next() {
		if IsChanType(typ) {
			if err := dst.HandleRX(typ, val); err != nil {
				panic(err)
			}
		}
	}
}

func TestFrameAllocs(t *testing.T) {
	p := newPair(Config{})
	for range 200 { // warm up: queues and windows in use
		p.frame()
	}
	if n := testing.AllocsPerRun(500, p.frame); n != 0 {
		t.Fatalf("%v allocs per frame pair", n)
	}
	if p.delivered == 0 {
		t.Fatal("nothing delivered")
	}
	// A rejected TLV does not allocate either.
	bad := []byte{1, 2, 3}
	if n := testing.AllocsPerRun(100, func() { _ = p.a.HandleRX(TypeData, bad) }); n != 0 {
		t.Fatalf("%v allocs per rejected TLV", n)
	}
}

// BenchmarkFrame is one frame in each direction: FillTX, area codec and
// HandleRX at both ends, A streaming 2048-byte messages to B. Room96B has
// the typical round TLVs first, Room238B the whole area. SetBytes counts
// the two areas; goodput is message bytes delivered per frame and, scaled
// by 82 025 frames/s, per second at the OTU2 rate; x-line-rate is how many
// times faster than the 12.191 µs frame period one frame pair runs.
func BenchmarkFrame(b *testing.B) {
	for _, bc := range []struct {
		name  string
		round bool
	}{{"Room96B", true}, {"Room238B", false}} {
		b.Run(bc.name, func(b *testing.B) {
			p := newPair(Config{})
			p.roundBytes = bc.round
			b.ReportAllocs()
			b.SetBytes(2 * AreaSize)
			for b.Loop() {
				p.frame()
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			perFrame := float64(p.delivered) / float64(b.N)
			b.ReportMetric(perFrame, "goodput-B/frame")
			b.ReportMetric(perFrame*82025, "goodput-B/s@OTU2")
			b.ReportMetric(12191/ns, "x-line-rate")
		})
	}
}
