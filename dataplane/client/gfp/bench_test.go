package gfp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// OPU2 payload per frame and the OTU2 frame rate: the line-rate yardstick.
const (
	payloadLen = 15232
	rowPayload = payloadLen / 4
	lineRate   = 82025.0 // frames/s per direction
)

// reportLine adds frames/s and the ratio to the OTU2 frame rate.
func reportLine(b *testing.B) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/frame")
	b.ReportMetric(1e9/ns/lineRate, "xline")
}

// BenchmarkEncode15232 maps 1780-octet client frames into one OPU2 payload
// per op, row by row (BenchmarkEncodeShort15232: 100-octet frames).
func BenchmarkEncode15232(b *testing.B) { encodeBench(b, benchLong) }

// BenchmarkEncodeShort15232 maps 100-octet frames.
func BenchmarkEncodeShort15232(b *testing.B) { encodeBench(b, benchShort) }

func encodeBench(b *testing.B, frameLen int) {
	rng := rand.New(rand.NewPCG(1, 1))
	src := &loop{frame: randBytes(rng, frameLen)}
	src.fcs = PFCS(src.frame)
	e := NewEncoder(true)
	payload := make([]byte, payloadLen)
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	for b.Loop() {
		for r := range 4 {
			e.Encode(payload[r*rowPayload:(r+1)*rowPayload], src)
		}
	}
	reportLine(b)
}

// BenchmarkEncodeIdle15232 fills one OPU2 payload with idle frames per op.
func BenchmarkEncodeIdle15232(b *testing.B) {
	src := &loop{empty: true}
	e := NewEncoder(true)
	payload := make([]byte, payloadLen)
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	for b.Loop() {
		for r := range 4 {
			e.Encode(payload[r*rowPayload:(r+1)*rowPayload], src)
		}
	}
	reportLine(b)
}

// decodeBench decodes a recorded stream of client frames of frameLen octets
// (0: idle), one OPU2 payload per op. The recording is 64 payloads long and
// holds whole GFP frames (12+frameLen divides it), so it loops seamlessly.
func decodeBench(b *testing.B, opt Options, frameLen int) {
	rng := rand.New(rand.NewPCG(2, 2))
	src := &loop{frame: randBytes(rng, frameLen), empty: frameLen == 0}
	src.fcs = PFCS(src.frame)
	const n = 64
	if frameLen > 0 && n*payloadLen%(12+frameLen) != 0 {
		b.Fatalf("frame length %d does not loop", frameLen)
	}
	// The first pass (leading idles, then one loop's worth) is not
	// recorded. The scrambler's output depends on all it sent before, so at
	// each loop the descrambler is given the state the recording began with
	// (the last octets before it, payload area).
	e := NewEncoder(true)
	d := NewDecoder(opt)
	sink := &discard{}
	warm := make([]byte, (Delta+1)*CoreLen+n*payloadLen)
	e.Encode(warm, src)
	d.Write(warm, sink)
	stream := make([]byte, n*payloadLen)
	e.Encode(stream, src)
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := stream[i*payloadLen : (i+1)*payloadLen]
		for r := range 4 {
			d.Write(p[r*rowPayload:(r+1)*rowPayload], sink)
		}
		if i = (i + 1) % n; i == 0 {
			d.ds.Set(binary.BigEndian.Uint64(warm[len(warm)-8:]))
		}
	}
	reportLine(b)
	if sink.bad != 0 || (frameLen > 0 && sink.n == 0) {
		b.Fatalf("%d frames, %d bad", sink.n, sink.bad)
	}
}

// Client frame lengths whose GFP frames tile the recording: 1780 octets
// (8.5 per OPU2 payload, near the 1518 of a 1500-octet MTU) and 100.
const (
	benchLong  = 1780
	benchShort = 100
)

// BenchmarkDecode15232 delineates, descrambles and checks (tHEC, pFCS) one
// OPU2 payload of 1780-octet frames per op.
func BenchmarkDecode15232(b *testing.B) { decodeBench(b, Options{}, benchLong) }

// BenchmarkDecodeDeferPFCS15232 is the receiver's share when the pFCS is
// checked on the client writer's goroutine (what the mapper does).
func BenchmarkDecodeDeferPFCS15232(b *testing.B) {
	decodeBench(b, Options{DeferPFCS: true}, benchLong)
}

// BenchmarkDecodeShort15232 decodes 100-octet frames (136 per payload).
func BenchmarkDecodeShort15232(b *testing.B) {
	decodeBench(b, Options{DeferPFCS: true}, benchShort)
}

// BenchmarkDecodeIdle15232 delineates an OPU2 payload of idle frames.
func BenchmarkDecodeIdle15232(b *testing.B) { decodeBench(b, Options{}, 0) }

// BenchmarkHunt15232 hunts through one OPU2 payload of random octets (the
// worst case after a loss: no header to be found).
func BenchmarkHunt15232(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	noise := randBytes(rng, payloadLen)
	d := NewDecoder(Options{MaxPLI: 9638})
	sink := &discard{}
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	for b.Loop() {
		d.Lose(sink)
		d.Write(noise, sink)
	}
	reportLine(b)
}

// BenchmarkPFCS9622 computes the pFCS of a jumbo frame.
func BenchmarkPFCS9622(b *testing.B) {
	buf := randBytes(rand.New(rand.NewPCG(4, 4)), 9622)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		PFCS(buf)
	}
}

// BenchmarkScramble15232 scrambles one OPU2 payload's worth in place.
func BenchmarkScramble15232(b *testing.B) {
	buf := randBytes(rand.New(rand.NewPCG(5, 5)), payloadLen)
	var s Scrambler
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	for b.Loop() {
		s.Scramble(buf, buf)
	}
}

// BenchmarkDescramble15232 descrambles one OPU2 payload's worth.
func BenchmarkDescramble15232(b *testing.B) {
	buf := randBytes(rand.New(rand.NewPCG(5, 5)), payloadLen)
	out := make([]byte, payloadLen)
	var s Scrambler
	b.SetBytes(payloadLen)
	b.ReportAllocs()
	for b.Loop() {
		s.Descramble(out, buf)
	}
}
