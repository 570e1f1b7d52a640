package client

import (
	"testing"

	"github.com/otkd/otkd/dataplane/client/gfp"
	"github.com/otkd/otkd/framer"
)

const lineRate = 82025.0 // OTU2 frames/s per direction

func reportFrames(b *testing.B) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/frame")
	b.ReportMetric(1e9/ns/lineRate, "xline")
}

// keepQueued commits TX slots (as CommitRead would, without the client
// reader's work) until the ring holds enough for a frame.
func keepQueued(m *Mapper, n int) {
	for m.txq.Len() < 16 {
		s := m.txq.Slot()
		s.n, s.pfcs = n, 0x12345678
		m.txq.Commit()
	}
}

// BenchmarkFill15232 is the TX frame loop's share per frame: mapping queued
// 1518-octet client frames (MTU 1500) into one OPU2 payload.
func BenchmarkFill15232(b *testing.B) {
	m, _ := New(Config{})
	_, f := newFrame()
	b.SetBytes(PayloadLen)
	b.ReportAllocs()
	count := uint32(0)
	for b.Loop() {
		keepQueued(m, 1518)
		count++
		m.Fill(&f, count)
	}
	reportFrames(b)
}

// BenchmarkDeliver15232 is the RX frame loop's share per frame: delineating
// and descrambling one OPU2 payload of 1518-octet frames into the RX ring
// (the pFCS and FCS checks are the client writer's, BenchmarkClientWrite).
func BenchmarkDeliver15232(b *testing.B) {
	tx, _ := New(Config{})
	const n = 64
	rec := make([][]byte, n)
	for i := range rec {
		buf, f := newFrame()
		keepQueued(tx, 1518)
		tx.Fill(&f, uint32(i+1))
		f.Row(3)[psiCol] = PayloadType // replayed under any MFAS
		rec[i] = buf
	}
	rx, _ := New(Config{})
	frames := make([]framer.Frame, n)
	for i := range frames {
		frames[i], _ = framer.View(rec[i])
	}
	b.SetBytes(PayloadLen)
	b.ReportAllocs()
	count := uint32(0)
	got := 0
	for b.Loop() {
		count++
		rx.Deliver(&frames[(count-1)%n], count, 1)
		for rx.rxq.Peek() != nil {
			rx.rxq.Release()
			got++
		}
	}
	reportFrames(b)
	b.ReportMetric(float64(got)/float64(b.N), "clientframes/frame")
	if rx.Stats().GFP.Syncs.Load() == 0 {
		b.Fatal("never in sync")
	}
}

// BenchmarkClientRead1514 is the client reader's work per 1514-octet frame
// after the read: FCS (hash/crc32) and pFCS. About 10 such frames fill an
// OPU2 payload.
func BenchmarkClientRead1514(b *testing.B) {
	m, _ := New(Config{})
	frame := testFrame(1, 1514)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		n := copy(m.ReadBuffer(), frame)
		m.CommitRead(n)
		m.txq.Release()
	}
}

// BenchmarkClientWrite1514 is the client writer's work per 1514-octet frame
// before the write: pFCS and FCS checks.
func BenchmarkClientWrite1514(b *testing.B) {
	m, _ := New(Config{})
	tx, _ := New(Config{})
	push(tx, testFrame(1, 1514))
	src := tx.txq.Peek()
	area := make([]byte, 0, m.maxArea)
	area = append(area, 0x10, 0x01, 0, 0)
	area = append(area, src.buf[:src.n]...)
	area = append(area, byte(src.pfcs>>24), byte(src.pfcs>>16), byte(src.pfcs>>8), byte(src.pfcs))
	if !gfp.CheckPFCS(area) {
		b.Fatal("bad area")
	}
	b.SetBytes(1514)
	b.ReportAllocs()
	for b.Loop() {
		sl := m.rxq.Slot()
		copy(sl.buf, area)
		sl.n, sl.pfcs = len(area), true
		m.rxq.Commit()
		if m.NextOut() == nil {
			b.Fatal("dropped")
		}
		m.ReleaseOut(true)
	}
}
