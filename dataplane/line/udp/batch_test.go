package udp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane/line/batchline"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

var _ batchline.Line = (*Line)(nil)

// stamp writes frame number i into every byte outside the negotiation
// fields (which the channel model rewrites), so that a receiver can tell a
// frame that arrived whole from one spliced from two.
func stamp(frame []byte, i uint32) {
	for k := 0; k+4 <= len(frame); k += 4 {
		binary.LittleEndian.PutUint32(frame[k:], i*2654435761+uint32(k))
	}
}

// stampOf returns the frame number stamped in frame and whether every byte
// outside the negotiation fields agrees with it.
func stampOf(frame []byte) (uint32, bool) {
	i := binary.LittleEndian.Uint32(frame) * 244002641 // inverse of 2654435761 mod 2^32
	want := make([]byte, len(frame))
	stamp(want, i)
	for k := range frame {
		if !isNeg(k) && frame[k] != want[k] {
			return i, false
		}
	}
	return i, true
}

// TestBatchStream streams stamped frames A→B through batches of 16 at a
// paced rate the receiver keeps up with: every frame arrives whole and in
// order, and the calls are batched (fewer system calls than frames).
func TestBatchStream(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 800
	}
	a, b := pair(t, Config{Seed: 4, Batch: 16, FrameRate: 8000, MaxDelay: time.Hour})
	done := make(chan error, 1)
	go func() {
		frame := make([]byte, framer.FrameLen)
		for i := range n {
			stamp(frame, uint32(i))
			if err := a.Send(frame); err != nil {
				done <- err
				return
			}
		}
		done <- a.Flush()
	}()
	got := newBufs()
	next := uint32(0)
	deadline := time.Now().Add(30 * time.Second) // a bound for a stuck run
	for int(next) < n && time.Now().Before(deadline) {
		if s := b.Stats(); s.Received+s.SimLost == a.Stats().Sent && int(a.Stats().Sent) == n {
			break // the rest was lost by the sockets
		}
		b.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if err := b.Recv(got.frame, got.soft); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			continue
		}
		i, whole := stampOf(got.frame)
		if !whole {
			t.Fatalf("frame after %d arrived spliced or corrupt", next)
		}
		if i < next {
			t.Fatalf("frame %d after frame %d: order", i, next)
		}
		next = i + 1
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Stats(), b.Stats()
	t.Logf("A %+v", sa)
	t.Logf("B %+v", sb)
	if sa.Sent != uint64(n) || sa.SendErrors != 0 {
		t.Fatalf("sent %d of %d frames", sa.Sent, n)
	}
	if sb.Received < uint64(n)/2 { // loopback drops only when the receiver falls far behind
		t.Fatalf("received %d of %d paced frames", sb.Received, n)
	}
	if sa.SendCalls*4 > sa.Sent {
		t.Errorf("%d sendmmsg calls for %d frames: not batched", sa.SendCalls, sa.Sent)
	}
	if sb.RecvCalls > sb.Received+sb.RecvErrors {
		t.Errorf("%d recvmmsg calls for %d frames", sb.RecvCalls, sb.Received)
	}
}

// TestBatchSameAsSingle: under one seed the batched receiver delivers the
// same frame bytes and soft samples as the one-datagram receiver, bursts,
// bit errors and simulated loss included: batching changes the system
// calls, not the channel model.
func TestBatchSameAsSingle(t *testing.T) {
	prof := noise.DefaultProfile()
	prof.FibreSigma = 0.6
	prof.Burst = 0.3
	prof.Loss = 0.1
	cfg := Config{Profile: prof, Seed: 21, BitErrors: true}
	a1, b1 := pair(t, cfg)
	cfg.Batch = 8
	a8, b8 := pair(t, cfg)
	const n = 40
	frame := make([]byte, framer.FrameLen)
	for i := range n {
		stamp(frame, uint32(i))
		if err := a1.Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := a8.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := a8.Flush(); err != nil {
		t.Fatal(err)
	}
	g1, g8 := newBufs(), newBufs()
	for k := 0; ; k++ {
		if s := b1.Stats(); s.Received+s.SimLost == n {
			break
		}
		if err := b1.Recv(g1.frame, g1.soft); err != nil {
			t.Fatal(err)
		}
		if err := b8.Recv(g8.frame, g8.soft); err != nil {
			t.Fatal(err)
		}
		if string(g1.frame) != string(g8.frame) {
			t.Fatalf("delivery %d: frame bytes differ", k)
		}
		for j := range g1.soft {
			if g1.soft[j] != g8.soft[j] {
				t.Fatalf("delivery %d: sample %d: %v vs %v", k, j, g1.soft[j], g8.soft[j])
			}
		}
	}
	s1, s8 := b1.Stats(), b8.Stats()
	if s1.Received != s8.Received || s1.SimLost != s8.SimLost || s1.SimLost == 0 {
		t.Fatalf("single %+v, batched %+v", s1, s8)
	}
}

// TestBatchForeignAndMalformed puts strays and real frames into one
// receive batch: the strays are counted and skipped, the real frames
// delivered in order.
func TestBatchForeignAndMalformed(t *testing.T) {
	a, b := pair(t, Config{Seed: 5, Batch: 16})
	stranger := listen(t, "udp4", loopback)
	defer stranger.Close()
	big := make([]byte, framer.FrameLen+100)
	send := func(c *net.UDPConn, p []byte) {
		t.Helper()
		if _, err := c.WriteToUDPAddrPort(p, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	frame := make([]byte, framer.FrameLen)
	for i := range 3 {
		send(stranger, big[:framer.FrameLen])
		send(b.conn, big[:10])
		send(b.conn, big)
		send(b.conn, big[:framer.FrameLen-1])
		send(b.conn, big[:0])
		stamp(frame, uint32(100+i))
		send(b.conn, frame)
	}
	got := newBufs()
	for i := range 3 {
		if err := a.Recv(got.frame, got.soft); err != nil {
			t.Fatal(err)
		}
		if k, whole := stampOf(got.frame); !whole || k != uint32(100+i) {
			t.Fatalf("delivery %d: frame %d (whole %v)", i, k, whole)
		}
	}
	s := a.Stats()
	if s.Foreign != 3 || s.Malformed != 12 || s.Received != 3 {
		t.Fatalf("stats %+v, want 3 foreign, 12 malformed, 3 received", s)
	}
	if s.RecvCalls >= 18 {
		t.Errorf("%d recvmmsg calls for 18 datagrams", s.RecvCalls)
	}
}

// TestBatchDelayBound: a queued frame leaves when the batch fills, when the
// next Send finds it older than MaxDelay, before the pacer sleeps, or at
// Flush; never later.
func TestBatchDelayBound(t *testing.T) {
	a, _ := pair(t, Config{Seed: 1, Batch: 16, MaxDelay: 2 * time.Millisecond})
	frame := make([]byte, framer.FrameLen)
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Sent != 0 {
		t.Fatalf("sent %d at once, want the frame queued", s.Sent)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Sent != 1 || s.SendCalls != 1 {
		t.Fatalf("after Flush: %+v", s)
	}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Millisecond)
	if err := a.Send(frame); err != nil { // the first has waited > MaxDelay
		t.Fatal(err)
	}
	if s := a.Stats(); s.Sent != 3 || s.SendCalls != 2 {
		t.Fatalf("after MaxDelay: %+v, want 3 sent in 2 calls", s)
	}
	full, _ := pair(t, Config{Seed: 1, Batch: 16, MaxDelay: time.Hour})
	for range 16 {
		if err := full.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if s := full.Stats(); s.Sent != 16 || s.SendCalls != 1 {
		t.Fatalf("after a full batch: %+v, want 16 sent in 1 call", s)
	}

	// Paced at 1 frame/s: the second frame is about a second ahead (a
	// long period, so that a slow start cannot put the schedule behind),
	// so Send flushes the first before it sleeps.
	p, _ := pair(t, Config{Seed: 1, Batch: 16, FrameRate: 1, MaxDelay: time.Hour})
	for range 2 {
		if err := p.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if s := p.Stats(); s.Sent != 1 || s.PacedWaits != 1 {
		t.Fatalf("paced: %+v, want the first frame sent before the wait", s)
	}
}

// TestBatchSendErrors: refused messages inside a batch are counted one by
// one and the rest of the batch still goes.
func TestBatchSendErrors(t *testing.T) {
	v6, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[::1]:0")))
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l, err := FromConn(v6, Config{Peer: deadPeer(t, "udp4", loopback), Seed: 1, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	frame := make([]byte, framer.FrameLen)
	for range 6 {
		if err := l.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	t.Logf("%+v (%v)", s, s.LastSendErrno)
	if s.SendErrors != 6 || s.Sent != 0 || s.LastSendErrno == 0 {
		t.Fatalf("stats %+v, want 6 counted send errors", s)
	}
}

// TestBatchClose: Close wakes a Recv waiting in the poller for a batch and
// makes later calls return ErrClosed, queued frames included.
func TestBatchClose(t *testing.T) {
	a, _ := pair(t, Config{Seed: 1, Batch: 8})
	errc := make(chan error, 1)
	go func() {
		got := newBufs()
		errc <- a.Recv(got.frame, got.soft)
	}()
	time.Sleep(10 * time.Millisecond)
	frame := make([]byte, framer.FrameLen)
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	if err := a.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	if err := a.Send(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestSendRecvBatch moves frames with the batch calls of both kinds of
// line, single and batched.
func TestSendRecvBatch(t *testing.T) {
	for _, batch := range []int{1, 8} {
		a, b := pair(t, Config{Seed: 3, Batch: batch})
		frames := make([][]byte, 10)
		for i := range frames {
			frames[i] = make([]byte, framer.FrameLen)
			stamp(frames[i], uint32(i))
		}
		if err := a.SendBatch(frames); err != nil {
			t.Fatal(err)
		}
		out, soft := make([][]byte, 16), make([][]noise.Sample, 16)
		for i := range out {
			out[i], soft[i] = make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
		}
		calls := 0
		for got := 0; got < len(frames); calls++ {
			n, err := b.RecvBatch(out, soft)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out[:n] {
				if i, whole := stampOf(f); !whole || i != uint32(got) {
					t.Fatalf("batch %d: frame %d (whole %v), want %d", batch, i, whole, got)
				}
				got++
			}
		}
		t.Logf("batch %d: 10 frames in %d RecvBatch calls, %+v", batch, calls, b.Stats())
		if batch == 1 && calls != 10 {
			t.Errorf("one-datagram line returned several frames per RecvBatch")
		}
	}
}

// TestBatchNoAlloc: the batched Send, Flush and Recv allocate nothing per
// frame.
func TestBatchNoAlloc(t *testing.T) {
	for _, rate := range []float64{0, 1e6} {
		a, b := pair(t, Config{Seed: 2, Batch: 8, FrameRate: rate})
		frame, got := make([]byte, framer.FrameLen), newBufs()
		step := func() {
			for range 8 {
				if err := a.Send(frame); err != nil {
					t.Fatal(err)
				}
			}
			// Paced, a flush before a pacer sleep may have split the
			// eight; the rest waits for the next Send or Flush.
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
			for range 8 {
				if err := b.Recv(got.frame, got.soft); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 4 {
			step()
		}
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("FrameRate %v: %v allocations per batch of 8", rate, n)
		}
	}
}

func TestBatchConfigErrors(t *testing.T) {
	peer := netip.MustParseAddrPort("127.0.0.1:9")
	for _, cfg := range []Config{{Peer: peer, Batch: MaxBatch + 1}, {Peer: peer, Batch: -1}, {Peer: peer, Batch: 4, MaxDelay: -1}} {
		l, err := Dial(cfg)
		if err == nil {
			l.Close()
			t.Fatalf("%+v accepted", cfg)
		}
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("%v does not wrap ErrConfig", err)
		}
	}
}
