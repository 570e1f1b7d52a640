package gfp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// queue is a Source over a list of frames, computing each pFCS.
type queue struct {
	frames [][]byte
	next   int
	done   int
	hold   int // frames Next may hand out now (-1: all)
}

func (q *queue) Next() ([]byte, uint32, bool) {
	if q.next >= len(q.frames) || (q.hold >= 0 && q.next >= q.hold) {
		return nil, 0, false
	}
	return q.frames[q.next], PFCS(q.frames[q.next]), true
}

func (q *queue) Done() { q.next++; q.done++ }

// collector is a Sink that keeps every delivered frame and counts verdicts.
type collector struct {
	buf    [MaxPLI]byte
	got    [][]byte
	errs   map[error]int
	asked  int
	refuse bool
	max    int // refuse areas longer (0: no limit)
}

func (c *collector) Buffer(n int) []byte {
	c.asked++
	if c.refuse || (c.max > 0 && n > c.max) {
		return nil
	}
	return c.buf[:n]
}

func (c *collector) Frame(area, info []byte, pfcs bool, err error) {
	if err != nil {
		if c.errs == nil {
			c.errs = map[error]int{}
		}
		c.errs[err]++
		return
	}
	c.got = append(c.got, append([]byte(nil), info...))
}

func randomFrames(rng *rand.Rand, n, maxLen int) [][]byte {
	f := make([][]byte, n)
	for i := range f {
		f[i] = randBytes(rng, 1+rng.IntN(maxLen))
	}
	return f
}

// encodeAll encodes frames into a stream of about total octets cut into
// random spans, with an idle run after every few frames.
func encodeAll(rng *rand.Rand, e *Encoder, q *queue, total int) []byte {
	out := make([]byte, total)
	off := 0
	q.hold = 0
	for _, k := range cuts(rng, total, 5000) {
		if rng.IntN(4) == 0 {
			q.hold = q.next // an idle run
		} else {
			q.hold = -1
		}
		e.Encode(out[off:off+k], q)
		off += k
	}
	return out
}

// TestEncoderWireLayout: the encoder's octets are exactly the frames
// assembled by the reference (core header masked, payload area scrambled
// bit by bit), after the leading idle frames.
func TestEncoderWireLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pfcs := range []bool{true, false} {
		frames := randomFrames(rng, 20, 2000)
		q := &queue{frames: frames, hold: -1}
		e := NewEncoder(pfcs)
		var want []byte
		for range Delta + 1 {
			want = append(want, 0xB6, 0xAB, 0x31, 0xE0)
		}
		var ref refScrambler
		for _, f := range frames {
			want = append(want, refFrame(&ref, TypeField(pfcs), f, pfcs)...)
		}
		want = append(want, 0xB6, 0xAB, 0x31, 0xE0, 0xB6, 0xAB, 0x31, 0xE0)
		got := make([]byte, len(want))
		off := 0
		for _, k := range cuts(rng, len(got), 700) {
			e.Encode(got[off:off+k], q)
			off += k
		}
		if !bytes.Equal(got, want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("pfcs=%v: stream differs from the reference at octet %d", pfcs, i)
		}
		if q.done != len(frames) || e.Octets() != uint64(len(want)) {
			t.Fatalf("done %d of %d, octets %d", q.done, len(frames), e.Octets())
		}
	}
	if TypeField(true) != 0x1001 || TypeField(false) != 0x0001 {
		t.Fatalf("type fields %#04x %#04x", TypeField(true), TypeField(false))
	}
}

// TestRoundTrip: frames of every size through an encoder and a decoder,
// cut into random spans on both sides, with idle runs: all delivered, in
// order, byte-exact, pFCS on and off, checked at once or deferred.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ pfcs, defer_ bool }{{true, false}, {true, true}, {false, false}} {
		frames := randomFrames(rng, 300, 9622)
		frames = append(frames, make([]byte, 1), randBytes(rng, MaxInfo))
		q := &queue{frames: frames, hold: -1}
		e := NewEncoder(tc.pfcs)
		var stream []byte
		for q.done < len(frames) {
			stream = append(stream, encodeAll(rng, e, q, 100000)...)
		}
		d := NewDecoder(Options{DeferPFCS: tc.defer_})
		c := &collector{}
		off := 0
		for _, k := range cuts(rng, len(stream), 20000) {
			d.Write(stream[off:off+k], c)
			off += k
		}
		if len(c.got) != len(frames) || len(c.errs) != 0 {
			t.Fatalf("%+v: delivered %d of %d, errors %v", tc, len(c.got), len(frames), c.errs)
		}
		for i := range frames {
			if !bytes.Equal(c.got[i], frames[i]) {
				t.Fatalf("%+v: frame %d differs", tc, i)
			}
		}
		if d.State() != Sync || d.Stats().Syncs.Load() != 1 || d.Stats().Resyncs.Load() != 0 {
			t.Fatalf("state %v syncs %d resyncs %d", d.State(), d.Stats().Syncs.Load(), d.Stats().Resyncs.Load())
		}
	}
}

// TestJoinMidStream: a decoder that starts anywhere in a stream finds SYNC
// and delivers every frame from the second whole one after its start, even
// when the payloads carry fake core headers (a client can shape the
// scrambled octets); false candidates cost nothing.
func TestJoinMidStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	frames := randomFrames(rng, 200, 3000)
	q := &queue{frames: frames, hold: -1}
	e := NewEncoder(true)
	var stream []byte
	var starts []int // stream offset of each client frame's header
	for q.done < len(frames) {
		before := q.next
		chunk := make([]byte, 64)
		e.Encode(chunk, q)
		stream = append(stream, chunk...)
		_ = before
	}
	// Find the header offsets with a decoder that watches from the start.
	starts = headerOffsets(stream, len(frames))
	// Fake headers: a correct core header with a random PLI, planted in the
	// middle of some payloads (this damages those frames: the pFCS drops
	// them, which is what a real receiver would also do).
	fakes := map[int]bool{}
	for i := 1; i+1 < len(frames); i += 7 {
		mid := starts[i] + 12 + rng.IntN(len(frames[i])/2+1)
		if mid+4 >= starts[i+1] {
			continue
		}
		binary.BigEndian.PutUint32(stream[mid:], coreHeader(4+rng.IntN(3000)))
		fakes[i] = true
	}
	for trial := range 40 {
		at := rng.IntN(starts[len(starts)-20])
		d := NewDecoder(Options{})
		c := &collector{}
		off := at
		for _, k := range cuts(rng, len(stream)-at, 3000) {
			d.Write(stream[off:off+k], c)
			off += k
		}
		// The first frame whose header is at or after at: it and the one
		// after may be lost (hunted, descrambler not yet in step); every
		// later frame must arrive, except those with a fake header.
		first := 0
		for starts[first] < at {
			first++
		}
		want := 0
		for i := first + 2; i < len(frames); i++ {
			if !fakes[i] {
				want++
			}
		}
		got := 0
		j := 0
		for _, f := range c.got {
			for j < len(frames) && !bytes.Equal(frames[j], f) {
				j++
			}
			if j == len(frames) {
				t.Fatalf("trial %d: a delivered frame is not a sent one, or out of order", trial)
			}
			if j >= first+2 {
				got++
			}
		}
		if got != want {
			t.Fatalf("trial %d (start %d): delivered %d of the %d frames after the first two", trial, at, got, want)
		}
	}
}

// headerOffsets returns the offset of each client frame's core header in a
// stream that starts at a frame boundary.
func headerOffsets(stream []byte, n int) []int {
	var offs []int
	for i := 0; i+4 <= len(stream) && len(offs) < n; {
		h := binary.BigEndian.Uint32(stream[i:]) ^ CoreMask
		pli := int(h >> 16)
		if pli > 0 {
			offs = append(offs, i)
		}
		i += 4 + pli
	}
	return offs
}

// TestFaults: what a damaged stream does to the decoder.
func TestFaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	frames := randomFrames(rng, 40, 1500)
	q := &queue{frames: frames, hold: -1}
	e := NewEncoder(true)
	stream := make([]byte, 80000)
	e.Encode(stream, q)
	starts := headerOffsets(stream, len(frames))
	run := func(s []byte, lose int) (*Decoder, *collector) {
		d := NewDecoder(Options{})
		c := &collector{}
		if lose < 0 {
			d.Write(s, c)
			return d, c
		}
		d.Write(s[:lose], c)
		d.Lose(c)
		d.Write(s[lose:], c)
		return d, c
	}
	clone := func() []byte { return append([]byte(nil), stream...) }

	t.Run("one bit in a core header is corrected", func(t *testing.T) {
		s := clone()
		s[starts[10]+1] ^= 0x04
		d, c := run(s, -1)
		if len(c.got) != len(frames) || d.Stats().Corrected.Load() != 1 || d.Stats().Resyncs.Load() != 0 {
			t.Fatalf("delivered %d corrected %d resyncs %d", len(c.got), d.Stats().Corrected.Load(), d.Stats().Resyncs.Load())
		}
	})
	t.Run("two bits in a core header lose sync", func(t *testing.T) {
		s := clone()
		s[starts[10]] ^= 0x81
		d, c := run(s, -1)
		if d.Stats().Resyncs.Load() != 1 || d.Stats().Syncs.Load() != 2 || d.State() != Sync {
			t.Fatalf("resyncs %d syncs %d state %v", d.Stats().Resyncs.Load(), d.Stats().Syncs.Load(), d.State())
		}
		// Frame 10 is lost with its header; the hunt finds 11 and takes
		// SYNC at 12.
		if len(c.got) != len(frames)-2 || !bytes.Equal(c.got[10], frames[12]) {
			t.Fatalf("delivered %d of %d", len(c.got), len(frames))
		}
	})
	t.Run("a payload bit error is caught by the pFCS", func(t *testing.T) {
		s := clone()
		s[starts[5]+100] ^= 0x10
		_, c := run(s, -1)
		if len(c.got) != len(frames)-1 || c.errs[ErrPFCS] != 1 {
			t.Fatalf("delivered %d, errors %v", len(c.got), c.errs)
		}
	})
	t.Run("a payload header bit error is caught by the tHEC", func(t *testing.T) {
		s := clone()
		s[starts[5]+5] ^= 0x01
		_, c := run(s, -1)
		if len(c.got) != len(frames)-1 || c.errs[ErrTHEC] != 1 {
			t.Fatalf("delivered %d, errors %v", len(c.got), c.errs)
		}
	})
	t.Run("Lose cuts the frame in progress", func(t *testing.T) {
		d, c := run(clone(), starts[20]+50)
		if c.errs[ErrCut] != 1 || d.Stats().Resyncs.Load() != 1 {
			t.Fatalf("errors %v resyncs %d", c.errs, d.Stats().Resyncs.Load())
		}
		// 20 cut; 21 found by the hunt; from 22 on delivered.
		if len(c.got) != len(frames)-2 {
			t.Fatalf("delivered %d of %d", len(c.got), len(frames))
		}
	})
	t.Run("a lost span of octets", func(t *testing.T) {
		s := append(clone()[:starts[15]+30], stream[starts[18]+7:]...)
		d := NewDecoder(Options{})
		c := &collector{}
		d.Write(s[:starts[15]+30], c)
		d.Lose(c)
		d.Write(s[starts[15]+30:], c)
		// 15 cut, 16-17 gone, 18 half gone, 19 hunted, 20 on delivered.
		if len(c.got) != 15+len(frames)-20 || c.errs[ErrCut] != 1 {
			t.Fatalf("delivered %d, errors %v", len(c.got), c.errs)
		}
	})
	t.Run("a refused buffer skips the frame", func(t *testing.T) {
		d := NewDecoder(Options{})
		c := &collector{refuse: true}
		d.Write(stream, c)
		if c.asked != len(frames) || len(c.got) != 0 || d.State() != Sync {
			t.Fatalf("asked %d delivered %d state %v", c.asked, len(c.got), d.State())
		}
	})
	t.Run("frames refused for their length are skipped in sync", func(t *testing.T) {
		d := NewDecoder(Options{MaxPLI: 800})
		c := &collector{max: 800}
		d.Write(stream, c)
		short := 0
		for _, f := range frames {
			if 4+len(f)+4 <= 800 {
				short++
			}
		}
		if len(c.got) != short || d.Stats().Resyncs.Load() != 0 {
			t.Fatalf("delivered %d of %d short frames, resyncs %d", len(c.got), short, d.Stats().Resyncs.Load())
		}
	})
}

// TestForeignFrames: frames that are not frame-mapped Ethernet client data
// are not delivered; control frames and frames without pFCS keep the stream.
func TestForeignFrames(t *testing.T) {
	var ref refScrambler
	info := []byte("an ethernet frame, or so it says")
	stream := []byte{0xB6, 0xAB, 0x31, 0xE0, 0xB6, 0xAB, 0x31, 0xE0}
	add := func(typ uint16, pfcs bool) { stream = append(stream, refFrame(&ref, typ, info, pfcs)...) }
	add(0x1001, true)  // ok
	add(0x8001, true)  // PTI=100: client management
	add(0x1101, true)  // EXI=0001: linear extension header
	add(0x1002, true)  // UPI=0x02: PPP
	add(0x0001, false) // ok, no pFCS
	// a control frame with reserved PLI 2
	c2 := refHEC([]byte{0, 2})
	stream = append(stream, 0x00^0xB6, 0x02^0xAB, byte(c2>>8)^0x31, byte(c2)^0xE0)
	stream = append(stream, ref.scramble([]byte{1, 2})...)
	add(0x1001, true) // ok
	d := NewDecoder(Options{})
	c := &collector{}
	d.Write(stream, c)
	if len(c.got) != 3 || c.errs[ErrType] != 3 || d.Stats().Control.Load() != 1 || d.State() != Sync {
		t.Fatalf("delivered %d, errors %v, control %d, state %v", len(c.got), c.errs, d.Stats().Control.Load(), d.State())
	}
	// A PFI=1 frame too short to hold a pFCS and a field.
	var r2 refScrambler
	s2 := []byte{0xB6, 0xAB, 0x31, 0xE0, 0xB6, 0xAB, 0x31, 0xE0}
	area := []byte{0x10, 0x01, 0, 0, 9, 9, 9, 9}
	h := refHEC(area[:2])
	area[2], area[3] = byte(h>>8), byte(h)
	ch := refHEC([]byte{0, 8})
	s2 = append(s2, 0xB6, 0x08^0xAB, byte(ch>>8)^0x31, byte(ch)^0xE0)
	s2 = append(s2, r2.scramble(area)...)
	d = NewDecoder(Options{})
	c = &collector{}
	d.Write(s2, c)
	if c.errs[ErrLength] != 1 || !errors.Is(ErrLength, ErrLength) {
		t.Fatalf("errors %v", c.errs)
	}
}

// TestNoAlloc: encoding and decoding a full OPU2 payload allocate nothing.
func TestNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	src := &loop{frame: randBytes(rng, 1514)}
	src.fcs = PFCS(src.frame)
	e := NewEncoder(true)
	payload := make([]byte, 15232)
	d := NewDecoder(Options{})
	sink := &discard{}
	if a := testing.AllocsPerRun(100, func() {
		for r := range 4 {
			e.Encode(payload[r*3808:(r+1)*3808], src)
		}
		for r := range 4 {
			d.Write(payload[r*3808:(r+1)*3808], sink)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
	if sink.n == 0 || sink.bad != 0 {
		t.Fatalf("delivered %d, bad %d", sink.n, sink.bad)
	}
}

// loop is a Source that always has the same frame.
type loop struct {
	frame []byte
	fcs   uint32
	empty bool
}

func (l *loop) Next() ([]byte, uint32, bool) { return l.frame, l.fcs, !l.empty }
func (l *loop) Done()                        {}

// discard is a Sink with one buffer that counts frames.
type discard struct {
	buf    [MaxPLI]byte
	n, bad int
}

func (s *discard) Buffer(n int) []byte { return s.buf[:n] }
func (s *discard) Frame(area, info []byte, pfcs bool, err error) {
	if err != nil {
		s.bad++
	} else {
		s.n++
	}
}
