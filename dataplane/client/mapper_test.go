package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/otkd/otkd/framer"
)

// newFrame returns a zeroed frame buffer and its view.
func newFrame() ([]byte, framer.Frame) {
	buf := make([]byte, framer.FrameLen)
	f, _ := framer.View(buf)
	return buf, f
}

// push queues frame as the client reader would (read into ReadBuffer).
func push(m *Mapper, frame []byte) {
	n := copy(m.ReadBuffer(), frame)
	m.CommitRead(n)
}

func TestConfig(t *testing.T) {
	for _, mtu := range []int{-1, 1, MinMTU - 1, MaxMTU + 1} {
		if _, err := New(Config{MTU: mtu}); !errors.Is(err, ErrMTU) {
			t.Errorf("MTU %d: err %v, want ErrMTU", mtu, err)
		}
	}
	m, err := New(Config{})
	if err != nil || m.MTU() != DefaultMTU || m.MaxFrame() != 1518 {
		t.Fatalf("default: %v mtu %d max %d", err, m.MTU(), m.MaxFrame())
	}
}

// TestCommitRead: padding, FCS, pFCS, and what is dropped and counted.
func TestCommitRead(t *testing.T) {
	m, _ := New(Config{MTU: 1500, TXQueue: 4})
	arp := bytes.Repeat([]byte{0x42}, 42)
	push(m, arp)
	s := m.txq.Peek()
	if s.n != MinFrame+EthFCS || !bytes.Equal(s.buf[:42], arp) || !bytes.Equal(s.buf[42:60], make([]byte, 18)) {
		t.Fatalf("short frame not padded to 60: n=%d", s.n)
	}
	if binary.LittleEndian.Uint32(s.buf[60:]) != crc32.ChecksumIEEE(s.buf[:60]) {
		t.Fatal("FCS wrong")
	}
	if crc32.ChecksumIEEE(s.buf[:64]) != 0x2144DF1C {
		t.Fatal("a frame with its FCS does not leave the CRC-32 residue")
	}
	if s.pfcs == 0 {
		t.Fatal("no pFCS")
	}
	push(m, make([]byte, 1518)) // largest
	push(m, make([]byte, 1519)) // too long
	push(m, make([]byte, 13))   // no Ethernet header
	push(m, make([]byte, 100))
	push(m, make([]byte, 100))
	push(m, make([]byte, 100)) // ring of 4 full
	st := m.Stats()
	if st.InPackets.Load() != 4 || st.InBytes.Load() != 42+1518+200 || st.DropMTU.Load() != 1 ||
		st.DropMalformed.Load() != 1 || st.DropCapacity.Load() != 1 {
		t.Fatalf("in %d/%d mtu %d malformed %d capacity %d", st.InPackets.Load(), st.InBytes.Load(),
			st.DropMTU.Load(), st.DropMalformed.Load(), st.DropCapacity.Load())
	}
}

// TestFillPSI: PSI[0] carries payload type 0x05 in the frame whose MFAS is
// 0, the rest of the OPU overhead is zero, and an empty queue gives idle
// frames.
func TestFillPSI(t *testing.T) {
	m, _ := New(Config{})
	buf, f := newFrame()
	for i := range buf {
		buf[i] = 0xEE
	}
	m.Fill(&f, 0x100)
	if f.Row(3)[14] != PayloadType {
		t.Fatalf("PSI[0] = %#x", f.Row(3)[14])
	}
	for r := range 4 {
		row := f.Row(r)
		if r < 3 && row[14] != 0 || row[15] != 0 {
			t.Fatalf("row %d OPU overhead %x %x", r+1, row[14], row[15])
		}
		for i := 16; i < 3824; i += 4 {
			if binary.BigEndian.Uint32(row[i:]) != 0xB6AB31E0 {
				t.Fatalf("row %d col %d: not an idle frame", r+1, i+1)
			}
		}
		if row[3824] != 0xEE {
			t.Fatal("Fill wrote into the FEC columns")
		}
	}
	m.Fill(&f, 0x101)
	if f.Row(3)[14] != 0 {
		t.Fatalf("PSI[1] = %#x", f.Row(3)[14])
	}
}

// TestPayloadMismatch: frames whose PSI announces another payload type (a
// peer sending the test pattern) are ignored and counted until GFP is
// announced again.
func TestPayloadMismatch(t *testing.T) {
	tx, _ := New(Config{})
	rx, _ := New(Config{})
	_, f := newFrame()
	frame := testFrame(1, 200)
	deliver := func(count uint32, pt byte) {
		tx.Fill(&f, count)
		if byte(count) == 0 {
			f.Row(3)[14] = pt
		}
		rx.Deliver(&f, count, 1)
	}
	for c := uint32(1); c < 256; c++ {
		deliver(c, 0)
	}
	push(tx, frame)
	for c := uint32(256); c < 300; c++ {
		deliver(c, 0x07)
	}
	if rx.NextOut() != nil || rx.Stats().PayloadMismatch.Load() != 44 {
		t.Fatalf("delivered under a payload mismatch; mismatches %d", rx.Stats().PayloadMismatch.Load())
	}
	for c := uint32(512); c < 516; c++ { // resynchronise on idle frames
		deliver(c, PayloadType)
	}
	// The first client frame after the break meets a descrambler whose
	// state is from before it (only idle frames since): it is lost. The
	// next one arrives.
	push(tx, frame)
	push(tx, testFrame(2, 300))
	for c := uint32(516); c < 520; c++ {
		deliver(c, PayloadType)
	}
	out := rx.NextOut()
	if out == nil || !bytes.Equal(out, testFrame(2, 300)) || rx.Stats().DropMalformed.Load() != 1 {
		t.Fatalf("once the PSI announces GFP again: got %d octets, malformed %d", len(out), rx.Stats().DropMalformed.Load())
	}
}

// testFrame returns a client frame of n octets (n ≥ 22) carrying seq.
func testFrame(seq uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seq, uint64(n)))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	copy(b, []byte{0x02, 0, 0, 0, 0, 0xB, 0x02, 0, 0, 0, 0, 0xA, 0x88, 0xB5})
	binary.BigEndian.PutUint64(b[14:], seq)
	return b
}

// frameSeq returns the sequence number testFrame put in f.
func frameSeq(f []byte) uint64 { return binary.BigEndian.Uint64(f[14:]) }

// TestNoAlloc: the per-packet paths (client reader, client writer) and the
// per-frame paths (Fill, Deliver) allocate nothing.
func TestNoAlloc(t *testing.T) {
	tx, _ := New(Config{})
	rx, _ := New(Config{})
	_, f := newFrame()
	frame := testFrame(1, 1514)
	count := uint32(0)
	step := func() {
		for range 9 {
			n := copy(tx.ReadBuffer(), frame)
			tx.CommitRead(n)
		}
		count++
		tx.Fill(&f, count)
		rx.Deliver(&f, count, 1)
		for fr := rx.NextOut(); fr != nil; fr = rx.NextOut() {
			rx.ReleaseOut(true)
		}
	}
	for range 10 {
		step()
	}
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Fatalf("%v allocations per frame with 9 packets", a)
	}
	if rx.Stats().OutPackets.Load() == 0 {
		t.Fatal("nothing delivered")
	}
}

// TestDamagedCounting: a frame the RX loop reports damaged (Lost) is
// counted once, as DamagedFrames, not again as the gap it leaves in the
// COUNT sequence; frames missing besides it are LostFrames.
func TestDamagedCounting(t *testing.T) {
	tx, _ := New(Config{})
	rx, _ := New(Config{})
	_, f := newFrame()
	deliver := func(count uint32) {
		tx.Fill(&f, count)
		rx.Deliver(&f, count, 1)
	}
	deliver(1)
	deliver(2)
	rx.Lost() // COUNT 3, damaged
	deliver(4)
	st := rx.Stats()
	if st.DamagedFrames.Load() != 1 || st.LostFrames.Load() != 0 || st.GFP.Resyncs.Load() != 1 {
		t.Fatalf("damaged %d, lost %d, resyncs %d; want 1, 0, 1", st.DamagedFrames.Load(), st.LostFrames.Load(), st.GFP.Resyncs.Load())
	}
	rx.Lost() // COUNT 5 damaged, 6 and 7 never came
	deliver(8)
	if st.DamagedFrames.Load() != 2 || st.LostFrames.Load() != 2 {
		t.Fatalf("damaged %d, lost %d; want 2, 2", st.DamagedFrames.Load(), st.LostFrames.Load())
	}
	deliver(9)
	deliver(11)
	if st.LostFrames.Load() != 3 {
		t.Fatalf("lost %d; want 3", st.LostFrames.Load())
	}
}

// TestReadWhileFull: a frame whose read began while the TX ring was full
// is queued when the ring has room by the time the read completes, and
// tail-dropped (DropCapacity) only when it is still full.
func TestReadWhileFull(t *testing.T) {
	m, _ := New(Config{TXQueue: 4})
	for i := range m.TXRoom() {
		push(m, testFrame(uint64(i), 100))
	}
	buf := m.ReadBuffer() // the ring is full: the scratch buffer
	n := copy(buf, testFrame(99, 100))
	m.CommitRead(n)
	if m.Stats().DropCapacity.Load() != 1 {
		t.Fatalf("ring full: DropCapacity %d, want 1", m.Stats().DropCapacity.Load())
	}
	buf = m.ReadBuffer()
	_, f := newFrame()
	rx, _ := New(Config{})
	m.Fill(&f, 1) // the line takes the queued frames meanwhile
	rx.Deliver(&f, 1, 1)
	n = copy(buf, testFrame(100, 100))
	m.CommitRead(n)
	if m.Stats().DropCapacity.Load() != 1 || m.Stats().InPackets.Load() != uint64(m.txq.Cap()+1) {
		t.Fatalf("room again: DropCapacity %d, InPackets %d", m.Stats().DropCapacity.Load(), m.Stats().InPackets.Load())
	}
	for c := uint32(2); c < 4; c++ {
		m.Fill(&f, c)
		rx.Deliver(&f, c, 1)
	}
	var got []uint64
	for fr := rx.NextOut(); fr != nil; fr = rx.NextOut() {
		got = append(got, frameSeq(fr))
		rx.ReleaseOut(true)
	}
	if len(got) != 5 || got[4] != 100 {
		t.Fatalf("delivered %v, want 0..3 and the frame read while the ring was full (100)", got)
	}
}
