package ichan

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/otkd/otkd/dataplane/ring"
)

// TestSimGoroutines runs each end as the three goroutines of the service
// (TX pipeline, RX pipeline, controller) over two lossy links made of SPSC
// rings of areas; under -race it checks the concurrency contract.
func TestSimGoroutines(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 200
	}
	link := linkCfg{loss: 0.2, reorder: 0.05, dup: 0.05}
	a, b := New(Config{}), New(Config{})
	ab, ba := ring.New[[AreaSize]byte](8), ring.New[[AreaSize]byte](8)
	var stop atomic.Bool
	var wg, ctls sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	limit := 2000 * n // frames: a stuck channel fails instead of hanging
	run(func() { txLoop(t, a, ab, link, 1, limit, &stop) })
	run(func() { txLoop(t, b, ba, link, 2, limit, &stop) })
	run(func() { rxLoop(t, b, ab, &stop) })
	run(func() { rxLoop(t, a, ba, &stop) })
	ka, kb := newCtl(a, 0, n), newCtl(b, 1, n)
	for _, k := range []*ctl{ka, kb} {
		ctls.Add(1)
		go func() { defer ctls.Done(); ctlLoop(t, k, &stop) }()
	}
	ctls.Wait()
	stop.Store(true)
	wg.Wait()
	if !ka.done() || !kb.done() {
		t.Fatalf("A sent %d got %d, B sent %d got %d of %d", ka.sent, ka.got, kb.sent, kb.got, n)
	}
	t.Logf("A %+v", a.Stats())
}

// txLoop is the TX pipeline of one end: it fills an area per frame and puts
// it on the link, unless the link drops, delays or doubles it.
func txLoop(t *testing.T, c *Chan, out *ring.SPSC[[AreaSize]byte], link linkCfg, seed uint64, limit int, stop *atomic.Bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var w AreaWriter
	var area, held [AreaSize]byte
	holding := false
	for f := 0; !stop.Load(); {
		if out.Cap()-out.Len() < 3 { // room for a frame, a held one and a copy
			runtime.Gosched()
			continue
		}
		if f++; f == limit {
			t.Errorf("not done after %d frames: %+v", limit, c.Stats())
			return
		}
		w.Begin(area[:])
		fillRound(&w, rng)
		c.FillTX(&w)
		w.Finish()
		switch p := rng.Float64(); {
		case p < link.loss:
			continue
		case p < link.loss+link.reorder && !holding:
			held, holding = area, true
			continue
		}
		out.Push(&area)
		if rng.Float64() < link.dup {
			out.Push(&area)
		}
		if holding {
			out.Push(&held)
			holding = false
		}
	}
}

// rxLoop is the RX pipeline of one end.
func rxLoop(t *testing.T, c *Chan, in *ring.SPSC[[AreaSize]byte], stop *atomic.Bool) {
	var r AreaReader
	for !stop.Load() {
		area := in.Peek()
		if area == nil {
			runtime.Gosched()
			continue
		}
		if err := r.Reset(area[:]); err != nil {
			t.Errorf("area: %v", err)
			return
		}
		for typ, val, ok := r.Next(); ok; typ, val, ok = r.Next() {
			if IsChanType(typ) {
				if err := c.HandleRX(typ, val); err != nil {
					t.Errorf("HandleRX: %v", err)
					return
				}
			}
		}
		in.Release()
	}
}

// ctlLoop is the controller of one end: send, receive, wait on Notify.
func ctlLoop(t *testing.T, k *ctl, stop *atomic.Bool) {
	for !k.done() && !t.Failed() {
		if k.step(t) {
			continue
		}
		select {
		case <-k.c.Notify():
		default:
			runtime.Gosched()
		}
	}
}

// TestRestart resets A mid-stream (a restarted process): B must take A's new
// incarnation, drop A's old stragglers, and both directions must go on
// without duplicates or disorder; every message sent after the restart
// arrives.
func TestRestart(t *testing.T) {
	a, b := New(Config{}), New(Config{})
	link := linkCfg{loss: 0.1, reorder: 0.1, dup: 0.05}
	rng := rand.New(rand.NewPCG(5, 5))
	ea := &simEnd{src: a, dst: b, link: link}
	eb := &simEnd{src: b, dst: a, link: link}
	var ra, rb AreaReader
	buf := make([]byte, 2048)
	// got[d] lists the indices (first 4 bytes) of messages of direction d
	// delivered; messages here are at least 4 bytes.
	var got [2][]int
	var sent [2]int
	send := func(c *Chan, d int) {
		for sent[d] < 400 {
			m := message(d, sent[d], buf)
			if len(m) < 4 {
				m = append(m[:0], 0, 0, 0, 0)
				binary.BigEndian.PutUint32(m, uint32(sent[d]))
			}
			if c.Send(m) != nil {
				return
			}
			sent[d]++
		}
	}
	recv := func(c *Chan, d int) {
		for n, ok := c.Recv(buf); ok; n, ok = c.Recv(buf) {
			got[d] = append(got[d], int(binary.BigEndian.Uint32(buf[:n])))
		}
	}
	resetAt := -1
	var sentAtReset [2]int
	for f := 0; f < 200000; f++ {
		send(a, 0)
		send(b, 1)
		recv(b, 0)
		recv(a, 1)
		if f == 300 {
			inc := a.Incarnation()
			a.Reset()
			if a.Incarnation() == inc {
				t.Fatal("Reset kept the incarnation")
			}
			resetAt, sentAtReset = len(got[1]), sent
		}
		if f > 300 && len(got[0]) > 0 && got[0][len(got[0])-1] == 399 && len(got[1]) > resetAt && got[1][len(got[1])-1] == 399 {
			break
		}
		ea.frame(t, f, rng, func(area []byte) { rxArea(t, &rb, b, area) })
		eb.frame(t, f, rng, func(area []byte) { rxArea(t, &ra, a, area) })
	}
	for d := range got {
		for i := 1; i < len(got[d]); i++ {
			if got[d][i] <= got[d][i-1] && !(d == 1 && i == resetAt) {
				t.Fatalf("direction %d: message %d after %d", d, got[d][i], got[d][i-1])
			}
		}
	}
	// A→B: A's sender restarted, so its counting restarted at sentAtReset;
	// B must see every message A queued after the reset, in order.
	tail := got[0][len(got[0])-(400-sentAtReset[0]):]
	for i, v := range tail {
		if v != sentAtReset[0]+i {
			t.Fatalf("A→B after the restart: %v", tail)
		}
	}
	// B→A: A's new receiver starts where B's window was: the messages B
	// queued after the reset all arrive.
	after := got[1][resetAt:]
	if len(after) < 400-sentAtReset[1] || after[len(after)-1] != 399 {
		t.Fatalf("B→A after the restart: %v\nA %+v\nB %+v %d %d", after, a.Stats(), b.Stats(), resetAt, len(got[1]))
	}
	sb := b.Stats()
	if sb.Resyncs < 2 {
		t.Errorf("B did not resync on A's new incarnation: %+v", sb)
	}
	t.Logf("A %+v\nB %+v", a.Stats(), sb)
}

// malformedOf turns a well-formed channel TLV into malformed variants that
// HandleRX must reject; each comes with the error it must name.
func malformedOf(c *Chan, typ byte, val []byte, out func(typ byte, val []byte, want error)) {
	var v [256]byte
	switch typ {
	case TypeData:
		out(typ, val[:dataHdr-1], errDataShort)
		n := copy(v[:], val)
		v[10] |= 0x80
		out(typ, v[:n], errDataFlags)
		n = copy(v[:], val)
		v[0], v[1], v[2], v[3] = 0, 0, 0, 0
		out(typ, v[:n], errDataInc)
		n = copy(v[:], val)
		out(typ, v[:dataHdr+MaxSegment+1], errDataPayload)
	case TypeAck:
		out(typ, val[:ackLen-1], errAckLen)
		n := copy(v[:], val)
		out(typ, v[:ackMaxLen+1], errAckLen)
		binary.BigEndian.PutUint32(v[4:], binary.BigEndian.Uint32(val[4:])+1<<20)
		out(typ, v[:n], errAckCum)
		n = copy(v[:], val)
		binary.BigEndian.PutUint32(v[4:], c.txNext.Load())
		v[8] = 1
		out(typ, v[:9], errAckSack)
	}
}

// TestMalformedMidStream feeds malformed variants of real TLVs between the
// real ones: each is rejected with the right error and the stream still
// completes exactly.
func TestMalformedMidStream(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 100
	}
	a, b := New(Config{}), New(Config{})
	rng := rand.New(rand.NewPCG(3, 3))
	ea := &simEnd{src: a, dst: b, link: linkCfg{loss: 0.1}}
	eb := &simEnd{src: b, dst: a, link: linkCfg{loss: 0.1}}
	ka, kb := newCtl(a, 0, n), newCtl(b, 1, n)
	var r AreaReader
	var bad uint64
	handle := func(dst *Chan) func([]byte) {
		return func(area []byte) {
			if err := r.Reset(area); err != nil {
				t.Fatal(err)
			}
			for typ, val, ok := r.Next(); ok; typ, val, ok = r.Next() {
				if !IsChanType(typ) {
					continue
				}
				malformedOf(dst, typ, val, func(typ byte, v []byte, want error) {
					bad++
					if err := dst.HandleRX(typ, v); err != want || !errors.Is(err, ErrMalformed) {
						t.Fatalf("malformed 0x%02x %x: err %v, want %v", typ, v, err, want)
					}
				})
				if err := dst.HandleRX(typ, val); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for f := 0; !(ka.done() && kb.done()); f++ {
		if f > 100*n {
			t.Fatal("stream did not complete")
		}
		ka.step(t)
		kb.step(t)
		ea.frame(t, f, rng, handle(b))
		eb.frame(t, f, rng, handle(a))
	}
	if got := a.Stats().Malformed + b.Stats().Malformed; got != bad {
		t.Errorf("Malformed = %d, fed %d", got, bad)
	}
	if err := a.HandleRX(0x05, nil); err != ErrNotChannel {
		t.Errorf("round type: %v", err)
	}
	if err := a.HandleRX(0x1F, []byte{1}); err != nil {
		t.Errorf("future channel type: %v", err)
	}
}

func TestSendRecvLimits(t *testing.T) {
	c := New(Config{MaxMessage: 100, SendQueue: 2})
	if err := c.Send(make([]byte, 101)); err != ErrTooLarge {
		t.Errorf("oversize: %v", err)
	}
	for i := range 2 {
		if err := c.Send(make([]byte, 100)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := c.Send(nil); err != ErrFull {
		t.Errorf("full: %v", err)
	}
	if n, ok := c.Recv(nil); ok || n != 0 {
		t.Errorf("empty Recv = %d %v", n, ok)
	}
	if err := (Config{Window: -1}).Check(); err == nil {
		t.Error("negative window accepted")
	}
	if err := (Config{Segment: MaxSegment + 1}).Check(); err == nil {
		t.Error("oversize segment accepted")
	}
}

// TestRecvShortBuffer: a short buffer gets the length and keeps the message.
func TestRecvShortBuffer(t *testing.T) {
	a, b := New(Config{}), New(Config{})
	if err := a.Send(make([]byte, 300)); err != nil {
		t.Fatal(err)
	}
	ea := &simEnd{src: a, dst: b}
	eb := &simEnd{src: b, dst: a}
	var r AreaReader
	rng := rand.New(rand.NewPCG(1, 1))
	for f := 0; b.Stats().MessagesDelivered == 0; f++ {
		if f == 10000 {
			t.Fatal("not delivered")
		}
		ea.frame(t, f, rng, func(area []byte) { rxArea(t, &r, b, area) })
		eb.frame(t, f, rng, func(area []byte) { rxArea(t, &r, a, area) })
	}
	select {
	case <-b.Notify():
	default:
		t.Error("no notification")
	}
	if n, ok := b.Recv(make([]byte, 299)); ok || n != 300 {
		t.Fatalf("short Recv = %d %v", n, ok)
	}
	if n, ok := b.Recv(make([]byte, 300)); !ok || n != 300 {
		t.Fatalf("Recv = %d %v", n, ok)
	}
}

// TestSlowReader: a controller that stops reading fills its receive queue;
// the receiver then holds segments unacknowledged instead of dropping
// them, and everything arrives intact once it reads again.
func TestSlowReader(t *testing.T) {
	const n = 40
	a, b := New(Config{RecvQueue: 4}), New(Config{RecvQueue: 4})
	ea := &simEnd{src: a, dst: b, link: linkCfg{loss: 0.1}}
	eb := &simEnd{src: b, dst: a, link: linkCfg{loss: 0.1}}
	ka, kb := newCtl(a, 0, n), newCtl(b, 1, 0)
	rng := rand.New(rand.NewPCG(8, 8))
	var r AreaReader
	frames := func(k int, read bool) {
		for f := 0; f < k; f++ {
			ka.step(t)
			if read {
				kb.step(t)
			}
			ea.frame(t, f, rng, func(area []byte) { rxArea(t, &r, b, area) })
			eb.frame(t, f, rng, func(area []byte) { rxArea(t, &r, a, area) })
		}
	}
	frames(3000, false)
	if d := b.Stats().MessagesDelivered; d != 4 {
		t.Fatalf("delivered %d into a 4-message queue nobody reads", d)
	}
	if kb.got != 0 {
		t.Fatal("read while paused")
	}
	for f := 0; kb.got < n; f++ {
		if f > 100 {
			t.Fatalf("got %d of %d after the reader resumed: %+v", kb.got, n, b.Stats())
		}
		frames(100, true)
	}
	if s := b.Stats(); s.MessagesDropped != 0 || s.MessagesDelivered != n {
		t.Errorf("stats %+v", s)
	}
}

func dataTLV(inc, seq uint32, delta uint16, flags byte, pay string) []byte {
	v := make([]byte, dataHdr, dataHdr+len(pay))
	binary.BigEndian.PutUint32(v, inc)
	binary.BigEndian.PutUint32(v[4:], seq)
	binary.BigEndian.PutUint16(v[8:], delta)
	v[10] = flags
	return append(v, pay...)
}

// TestIncarnationSwitch: a new peer incarnation resets the receiver, the
// old one's stragglers are ignored, and a resync cuts off a message's tail
// cleanly.
func TestIncarnationSwitch(t *testing.T) {
	c := New(Config{})
	both := flagFirst | flagLast
	steps := []struct {
		v     []byte
		stale uint64
	}{
		{dataTLV(1111, 0, 0, both, "x"), 0},
		{dataTLV(1111, 1, 0, flagFirst, "partial"), 0}, // cut off by the switch
		{dataTLV(2222, 5, 0, flagLast, "tail"), 0},     // new stream, mid-message: skipped
		{dataTLV(2222, 6, 1, both, "y"), 0},
		{dataTLV(1111, 2, 1, flagLast, "straggler"), 1},
		{dataTLV(2222, 6, 1, both, "y"), 1}, // duplicate
	}
	for i, s := range steps {
		if err := c.HandleRX(TypeData, s.v); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := c.Stats().Stale; got != s.stale {
			t.Fatalf("step %d: stale %d, want %d", i, got, s.stale)
		}
	}
	buf := make([]byte, 64)
	var got []string
	for n, ok := c.Recv(buf); ok; n, ok = c.Recv(buf) {
		got = append(got, string(buf[:n]))
	}
	if len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Fatalf("delivered %q", got)
	}
	st := c.Stats()
	if st.Resyncs != 2 || st.MessagesDropped != 1 || st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
	// An ACK of an incarnation that is not ours is ignored.
	ack := []byte{0, 0, 0, 9, 0, 0, 0, 0}
	if err := c.HandleRX(TypeAck, ack); err != nil || c.Stats().Stale != 2 {
		t.Errorf("foreign ack: %v %+v", err, c.Stats())
	}
}
