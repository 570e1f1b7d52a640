package udp

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// listen binds an ephemeral loopback socket.
func listen(t *testing.T, network string, at netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(at))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pair links two lines on ephemeral loopback ports; cfg gives everything
// but the addresses (B's seed is cfg.Seed+1).
func pair(t *testing.T, cfg Config) (a, b *Line) {
	t.Helper()
	ca, cb := listen(t, "udp4", loopback), listen(t, "udp4", loopback)
	var err error
	ca2, cb2 := cfg, cfg
	ca2.Peer = cb.LocalAddr().(*net.UDPAddr).AddrPort()
	cb2.Peer = ca.LocalAddr().(*net.UDPAddr).AddrPort()
	cb2.Seed++
	if a, err = FromConn(ca, ca2); err != nil {
		t.Fatal(err)
	}
	if b, err = FromConn(cb, cb2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

type bufs struct {
	frame []byte
	soft  []noise.Sample
}

func newBufs() bufs {
	return bufs{make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)}
}

// isNeg reports whether byte off of a frame carries soft samples.
func isNeg(off int) bool {
	return off >= data1Off && off < data1Off+framer.DataLen || off >= data2Off && off < data2Off+framer.DataLen
}

// negBit returns negotiation bit k (data1 then data2, MSB first) of frame.
func negBit(frame []byte, k int) bool {
	off := data1Off + k/8
	if k >= halfBits {
		off = data2Off + (k-halfBits)/8
	}
	return frame[off]&(0x80>>(k%8)) != 0
}

// TestExchange sends random frames both ways and checks that everything
// but the negotiation bits arrives unchanged, that the soft samples follow
// the model (levels ±1, σ 0.3) and that the frame carries their decisions.
func TestExchange(t *testing.T) {
	a, b := pair(t, Config{Seed: 11})
	n := 200
	if testing.Short() {
		n = 60
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sent, got := make([]byte, framer.FrameLen), newBufs()
	var sum, sumSq [2]float64
	var cnt [2]int
	flips := 0
	for i := range 2 * n {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		for k := range sent {
			sent[k] = byte(rng.Uint32())
		}
		if err := from.Send(sent); err != nil {
			t.Fatal(err)
		}
		if err := to.Recv(got.frame, got.soft); err != nil {
			t.Fatal(err)
		}
		for k := range sent {
			if !isNeg(k) && sent[k] != got.frame[k] {
				t.Fatalf("frame %d: byte %d changed: %#x → %#x", i, k, sent[k], got.frame[k])
			}
		}
		for k, v := range got.soft {
			bit := 0
			if negBit(sent, k) {
				bit = 1
			}
			sum[bit] += float64(v)
			sumSq[bit] += float64(v) * float64(v)
			cnt[bit]++
			if negBit(got.frame, k) != (v > 0) {
				t.Fatalf("frame %d: bit %d decided %v from sample %v", i, k, negBit(got.frame, k), v)
			}
			if (v > 0) != (bit == 1) {
				flips++
			}
		}
	}
	for bit, level := range []float64{-1, 1} {
		mean := sum[bit] / float64(cnt[bit])
		sd := math.Sqrt(sumSq[bit]/float64(cnt[bit]) - mean*mean)
		t.Logf("bit %d: %d samples, mean %.4f, σ %.4f", bit, cnt[bit], mean, sd)
		if math.Abs(mean-level) > 0.02 || math.Abs(sd-0.3) > 0.02 {
			t.Errorf("bit %d: samples have mean %.4f σ %.4f, want %v and 0.3", bit, mean, sd, level)
		}
	}
	// Q(1/0.3) ≈ 4.3e-4 of the bits flip on the simulated fibre.
	rate := float64(flips) / float64(cnt[0]+cnt[1])
	t.Logf("decision errors %d (%.2e)", flips, rate)
	if rate > 2e-3 {
		t.Errorf("decision error rate %.2e, want about 4.3e-4", rate)
	}
	for _, l := range []*Line{a, b} {
		if s := l.Stats(); s.Sent != uint64(n) || s.Received != uint64(n) || s.Foreign+s.Malformed+s.SendErrors != 0 {
			t.Errorf("%v: %+v", l, s)
		}
	}
}

// TestSameAsSimfiber checks the claim of the package doc: with the channel
// seed simfiber uses for A→B, the same frames give the same samples and the
// same frame bytes, bit errors and bursts included.
func TestSameAsSimfiber(t *testing.T) {
	prof := noise.DefaultProfile()
	prof.FibreSigma = 0.6 // enough decision and bit errors to compare
	prof.Burst = 0.3
	const seed = 9
	link, err := simfiber.New(simfiber.Config{Profile: prof, Seed: seed, BitErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	a, b := pair(t, Config{Profile: prof, Seed: 4*seed - 1, BitErrors: true}) // B's seed is +1
	rng := rand.New(rand.NewPCG(3, 4))
	sent, viaSim, viaUDP := make([]byte, framer.FrameLen), newBufs(), newBufs()
	n := 100
	if testing.Short() {
		n = 30
	}
	for i := range n {
		for k := range sent {
			sent[k] = byte(rng.Uint32())
		}
		if err := link.A().Send(sent); err != nil {
			t.Fatal(err)
		}
		if err := link.B().Recv(viaSim.frame, viaSim.soft); err != nil {
			t.Fatal(err)
		}
		if _, err := a.conn.WriteToUDPAddrPort(sent, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := b.Recv(viaUDP.frame, viaUDP.soft); err != nil {
			t.Fatal(err)
		}
		for k := range viaSim.soft {
			if viaSim.soft[k] != viaUDP.soft[k] {
				t.Fatalf("frame %d: sample %d: simfiber %v, udp %v", i, k, viaSim.soft[k], viaUDP.soft[k])
			}
		}
		if string(viaSim.frame) != string(viaUDP.frame) {
			t.Fatalf("frame %d: the frame bytes differ", i)
		}
	}
}

// TestForeignAndMalformed sends stray datagrams to A: from a third socket
// (foreign) and from B's address with wrong lengths (malformed). Recv skips
// them all and returns B's next real frame.
func TestForeignAndMalformed(t *testing.T) {
	a, b := pair(t, Config{Seed: 5})
	stranger := listen(t, "udp4", loopback)
	defer stranger.Close()
	frame := make([]byte, framer.FrameLen+100)
	for k := range frame {
		frame[k] = byte(k)
	}
	send := func(c *net.UDPConn, p []byte) {
		t.Helper()
		if _, err := c.WriteToUDPAddrPort(p, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	send(stranger, frame[:framer.FrameLen]) // right length, wrong source
	send(stranger, frame[:10])              // foreign first, whatever its length
	send(b.conn, frame[:10])
	send(b.conn, frame[:framer.FrameLen-1])
	send(b.conn, frame) // too long
	send(b.conn, frame[:0])
	frame[0] = 0xAB
	if err := b.Send(frame[:framer.FrameLen]); err != nil {
		t.Fatal(err)
	}
	got := newBufs()
	if err := a.Recv(got.frame, got.soft); err != nil {
		t.Fatal(err)
	}
	if got.frame[0] != 0xAB {
		t.Fatalf("delivered a stray datagram (first byte %#x)", got.frame[0])
	}
	s := a.Stats()
	if s.Foreign != 2 || s.Malformed != 4 || s.Received != 1 {
		t.Fatalf("stats %+v, want 2 foreign, 4 malformed, 1 received", s)
	}
}

// TestCloseUnblocksRecv closes a line while Recv waits.
func TestCloseUnblocksRecv(t *testing.T) {
	a, _ := pair(t, Config{Seed: 1})
	errc := make(chan error, 1)
	go func() {
		got := newBufs()
		errc <- a.Recv(got.frame, got.soft)
	}()
	time.Sleep(10 * time.Millisecond) // let Recv block (it returns ErrClosed either way)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	if err := a.Send(make([]byte, framer.FrameLen)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCloseUnblocksPacedSend closes a line whose pacer waits.
func TestCloseUnblocksPacedSend(t *testing.T) {
	a, _ := pair(t, Config{Seed: 1, FrameRate: 0.01}) // one frame per 100 s
	frame := make([]byte, framer.FrameLen)
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Send(frame) }()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("paced Send after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("paced Send still waiting after Close")
	}
}

// deadPeer returns a loopback address nobody listens on (bound, then
// released).
func deadPeer(t *testing.T, network string, at netip.AddrPort) netip.AddrPort {
	t.Helper()
	c := listen(t, network, at)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestSendToAbsentPeer: a peer that is not up yet does not make Send fail,
// nor does an address the socket cannot reach; the latter is counted.
func TestSendToAbsentPeer(t *testing.T) {
	frame := make([]byte, framer.FrameLen)
	l, err := Dial(Config{Local: loopback, Peer: deadPeer(t, "udp4", loopback), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 20 {
		if err := l.Send(frame); err != nil {
			t.Fatalf("Send to a peer not listening: %v", err)
		}
	}
	if s := l.Stats(); s.Sent+s.SendErrors != 20 {
		t.Fatalf("stats %+v: 20 frames neither sent nor counted", s)
	}

	// An IPv6-only socket cannot send to an IPv4 peer: a send error every
	// frame, each counted, none returned.
	v6, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[::1]:0")))
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l6, err := FromConn(v6, Config{Peer: deadPeer(t, "udp4", loopback), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l6.Close()
	for range 5 {
		if err := l6.Send(frame); err != nil {
			t.Fatalf("Send that the kernel refuses: %v", err)
		}
	}
	s := l6.Stats()
	t.Logf("IPv6-only socket to an IPv4 peer: %+v (%v)", s, s.LastSendErrno)
	if s.SendErrors != 5 || s.LastSendErrno == 0 {
		t.Fatalf("stats %+v, want 5 counted send errors with an errno", s)
	}
}

// TestPacing sends 50 frames at 1000 frames/s: the schedule puts the last
// one 49 ms after the first and Send may run at most 1 ms ahead, so it
// takes at least 48 ms (a lower bound: a slow machine only adds). At a high
// rate the pacer waits about once per millisecond, not once per frame.
func TestPacing(t *testing.T) {
	frame := make([]byte, framer.FrameLen)
	run := func(rate float64, n int) (time.Duration, Stats) {
		l, err := Dial(Config{Local: loopback, Peer: deadPeer(t, "udp4", loopback), Seed: 1, FrameRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		start := time.Now()
		for range n {
			if err := l.Send(frame); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start), l.Stats()
	}
	d, s := run(1000, 50)
	t.Logf("50 frames at 1000/s: %v, %d waits", d, s.PacedWaits)
	if d < 40*time.Millisecond {
		t.Errorf("50 frames at 1000 frames/s took %v, want ≥ 48 ms", d)
	}
	d, s = run(100000, 1000)
	t.Logf("1000 frames at 100000/s: %v, %d waits", d, s.PacedWaits)
	if d < 8*time.Millisecond {
		t.Errorf("1000 frames at 100 000 frames/s took %v, want ≥ 9 ms", d)
	}
	if s.PacedWaits > 30 { // none at all is fine on a machine slower than the rate
		t.Errorf("%d pacer waits for 10 ms of frames, want about 10", s.PacedWaits)
	}
}

// TestSimulatedLoss applies Profile.Loss at the receiver.
func TestSimulatedLoss(t *testing.T) {
	prof := noise.DefaultProfile()
	prof.Loss = 0.25
	a, b := pair(t, Config{Profile: prof, Seed: 3})
	const n = 200
	frame := make([]byte, framer.FrameLen)
	done := make(chan int)
	go func() {
		got, k := newBufs(), 0
		for b.Recv(got.frame, got.soft) == nil {
			k++
		}
		done <- k
	}()
	for range n {
		if err := a.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := b.Stats(); s.Received+s.SimLost < n; s = b.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("only %+v of %d frames accounted for", s, n)
		}
		time.Sleep(time.Millisecond)
	}
	b.Close()
	k := <-done
	s := b.Stats()
	t.Logf("%d delivered, %+v", k, s)
	if s.SimLost < n/10 || s.SimLost > n*4/10 || uint64(k) != s.Received {
		t.Fatalf("lost %d of %d at Loss 0.25 (delivered %d)", s.SimLost, n, k)
	}
}

func TestConfigErrors(t *testing.T) {
	peer := netip.MustParseAddrPort("127.0.0.1:9")
	bad := noise.DefaultProfile()
	bad.FibreSigma = -1
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no peer", Config{}},
		{"peer port 0", Config{Peer: netip.MustParseAddrPort("127.0.0.1:0")}},
		{"unspecified peer", Config{Peer: netip.MustParseAddrPort("0.0.0.0:9")}},
		{"profile", Config{Peer: peer, Profile: bad}},
		{"rate NaN", Config{Peer: peer, FrameRate: math.NaN()}},
		{"rate negative", Config{Peer: peer, FrameRate: -1}},
		{"buffer", Config{Peer: peer, ReadBuffer: -1}},
		{"families", Config{Peer: peer, Local: netip.MustParseAddrPort("[::1]:0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Dial(tc.cfg)
			if err == nil {
				l.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("%v does not wrap ErrConfig", err)
			}
			t.Log(err)
		})
	}
}

func TestWrongBuffers(t *testing.T) {
	a, _ := pair(t, Config{Seed: 1})
	if err := a.Send(make([]byte, 100)); !errors.Is(err, framer.ErrLength) {
		t.Fatalf("Send of 100 bytes: %v", err)
	}
	if err := a.Recv(make([]byte, framer.FrameLen), make([]noise.Sample, 3)); !errors.Is(err, framer.ErrLength) {
		t.Fatalf("Recv into 3 samples: %v", err)
	}
}

// TestNoAlloc proves that Send and Recv allocate nothing per frame over
// real loopback sockets, paced or not.
func TestNoAlloc(t *testing.T) {
	for _, rate := range []float64{0, 1e6} {
		a, b := pair(t, Config{Seed: 2, FrameRate: rate})
		frame, got := make([]byte, framer.FrameLen), newBufs()
		step := func() {
			if err := a.Send(frame); err != nil {
				t.Fatal(err)
			}
			if err := b.Recv(got.frame, got.soft); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 {
			step()
		}
		if n := testing.AllocsPerRun(200, step); n != 0 {
			t.Errorf("FrameRate %v: %v allocations per frame", rate, n)
		}
	}
}

// BenchmarkSendRecv measures one frame through a loopback socket pair, send
// and receive on one goroutine: the per-frame cost of the line alone.
func BenchmarkSendRecv(b *testing.B) {
	ca, cb := mustListen(b), mustListen(b)
	x, err := FromConn(ca, Config{Peer: addrOf(cb), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	y, err := FromConn(cb, Config{Peer: addrOf(ca), Seed: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	frame, got := make([]byte, framer.FrameLen), newBufs()
	b.SetBytes(framer.FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		if err := x.Send(frame); err != nil {
			b.Fatal(err)
		}
		if err := y.Recv(got.frame, got.soft); err != nil {
			b.Fatal(err)
		}
	}
	fps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/82025, "×line-rate")
}

func mustListen(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// TestAddressFamilies links lines across the spellings of an address a
// deployment meets: IPv6 loopback, a dual-stack socket (bound to ::) talking
// to an IPv4 peer, and an IPv4-mapped peer address on an IPv4 socket.
func TestAddressFamilies(t *testing.T) {
	v6 := netip.MustParseAddrPort("[::1]:0")
	any6 := netip.MustParseAddrPort("[::]:0")
	mapped := func(p netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr().As16()), p.Port())
	}
	same := func(p netip.AddrPort) netip.AddrPort { return p }
	loop4 := func(p netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p.Port())
	}
	for _, tc := range []struct {
		name           string
		netA, netB     string
		atA, atB       netip.AddrPort
		peerOfA, peerB func(netip.AddrPort) netip.AddrPort // B's address as A names it, and A's as B names it
	}{
		{"IPv6 loopback", "udp6", "udp6", v6, v6, same, same},
		{"dual-stack to IPv4", "udp", "udp4", any6, loopback, same, loop4},
		{"mapped peer, IPv4 socket", "udp4", "udp4", loopback, loopback, mapped, same},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := net.ListenUDP(tc.netA, net.UDPAddrFromAddrPort(tc.atA))
			if err != nil {
				t.Skipf("%s %v: %v", tc.netA, tc.atA, err)
			}
			cb := listen(t, tc.netB, tc.atB)
			a, err := FromConn(ca, Config{Peer: tc.peerOfA(addrOf(cb)), Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := FromConn(cb, Config{Peer: tc.peerB(addrOf(ca)), Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			frame, got := make([]byte, framer.FrameLen), newBufs()
			for _, d := range [][2]*Line{{a, b}, {b, a}} {
				if err := d[0].Send(frame); err != nil {
					t.Fatal(err)
				}
				if err := d[1].Recv(got.frame, got.soft); err != nil {
					t.Fatal(err)
				}
			}
			if sa, sb := a.Stats(), b.Stats(); sa.Received != 1 || sb.Received != 1 || sa.SendErrors+sb.SendErrors != 0 {
				t.Fatalf("%v: %+v; %v: %+v", a, sa, b, sb)
			}
		})
	}
}

// BenchmarkStream streams frames A→B with the sender and the receiver on
// two goroutines, unpaced, as a port's TX and RX run: it reports the frames
// per second that arrive and the share the sockets dropped.
func BenchmarkStream(b *testing.B) {
	ca, cb := mustListen(b), mustListen(b)
	x, err := FromConn(ca, Config{Peer: addrOf(cb), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	y, err := FromConn(cb, Config{Peer: addrOf(ca), Seed: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		got := newBufs()
		for y.Recv(got.frame, got.soft) == nil {
		}
	}()
	frame := make([]byte, framer.FrameLen)
	b.SetBytes(framer.FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		if err := x.Send(frame); err != nil {
			b.Fatal(err)
		}
	}
	// Let the receiver drain what is still queued, then stop it.
	for last := uint64(0); ; {
		time.Sleep(2 * time.Millisecond)
		n := y.Stats().Received
		if n == last {
			break
		}
		last = n
	}
	elapsed := b.Elapsed()
	y.Close()
	<-done
	got := y.Stats().Received
	fps := float64(got) / elapsed.Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/82025, "×line-rate")
	b.ReportMetric(100*(1-float64(got)/float64(x.Stats().Sent)), "%lost")
}
