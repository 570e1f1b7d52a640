package linebench

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/dataplane/line/internal/vethtest"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/dataplane/line/xdp"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// lineRate is OTU2's frame rate per direction.
const lineRate = 82025

// BenchmarkLine streams frames one way through each line, unpaced, the
// sender and the receiver on two goroutines each locked to its thread, and
// reports per line:
//
//   - frames/s: frames delivered per second of wall time, and xline;
//   - tx-frames/core-s, rx-frames/core-s: frames sent per CPU second of the
//     sending thread, frames delivered per CPU second of the receiving
//     thread (user + system time, RUSAGE_THREAD): the figure that says how
//     many cores a direction at line rate needs (82 025 ÷ it);
//   - %lost: frames sent but not delivered (a socket or ring that
//     overflowed because the receiver is slower than the sender).
//
// The receiver's cost includes the channel model (soft samples of the
// 1984 negotiation bits and the simulated fibre noise), as in a port.
// Sub-benchmarks that need root (veth, AF_XDP) skip without it.
func BenchmarkLine(b *testing.B) {
	for _, batch := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("udp-loopback/batch=%d", batch), func(b *testing.B) {
			tx, rx := udpLoopback(b, batch)
			stream(b, tx, rx)
		})
	}
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("udp-veth/batch=%d", batch), func(b *testing.B) {
			n := vethtest.New(b)
			tx, rx := udpVeth(b, n, batch)
			stream(b, tx, rx)
		})
	}
	b.Run("xdp-veth/copy", func(b *testing.B) {
		n := vethtest.New(b)
		tx, rx := xdpVeth(b, n)
		stream(b, tx, rx)
	})
	// The receiver's channel model alone, the share of rx-frames/core-s
	// that is not I/O.
	b.Run("model-only", func(b *testing.B) {
		prof := noise.DefaultProfile()
		ch, err := noise.NewChannel(prof, 1)
		if err != nil {
			b.Fatal(err)
		}
		frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
		thr := prof.Threshold()
		b.SetBytes(framer.FrameLen)
		b.ReportAllocs()
		for b.Loop() {
			channel.Modulate(frame, soft, &prof)
			channel.Impair(ch, frame, soft, thr, false)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rx-frames/core-s")
	})
}

// flusher is a line with queued sends (the batched UDP line).
type flusher interface{ Flush() error }

// stream runs the benchmark's frames through tx → rx.
func stream(b *testing.B, tx, rx dataplane.Line) {
	var delivered atomic.Uint64
	var rxCPU time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
		t0 := threadCPU()
		for rx.Recv(frame, soft) == nil {
			delivered.Add(1)
			rxCPU = threadCPU() - t0 // up to the last frame, not the wait for Close
		}
	}()
	runtime.LockOSThread()
	frame := make([]byte, framer.FrameLen)
	b.SetBytes(framer.FrameLen)
	b.ReportAllocs()
	time.Sleep(20 * time.Millisecond) // the receiver is waiting
	b.ResetTimer()
	t0 := threadCPU()
	for b.Loop() {
		if err := tx.Send(frame); err != nil {
			b.Fatal(err)
		}
	}
	if f, ok := tx.(flusher); ok {
		f.Flush()
	}
	txCPU := threadCPU() - t0
	runtime.UnlockOSThread()
	b.StopTimer()
	// Let the receiver drain what is queued, then stop it.
	for last := uint64(0); ; {
		time.Sleep(20 * time.Millisecond)
		n := delivered.Load()
		if n == last {
			break
		}
		last = n
	}
	elapsed := b.Elapsed()
	rx.Close()
	wg.Wait()
	got := float64(delivered.Load())
	fps := got / elapsed.Seconds()
	b.ReportMetric(fps, "frames/s")
	b.ReportMetric(fps/lineRate, "xline")
	b.ReportMetric(float64(b.N)/txCPU.Seconds(), "tx-frames/core-s")
	if rxCPU > 0 {
		b.ReportMetric(got/rxCPU.Seconds(), "rx-frames/core-s")
	}
	b.ReportMetric(100*(1-got/float64(b.N)), "%lost")
}

// threadCPU is the calling thread's CPU time, user and system.
func threadCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func udpLoopback(b *testing.B, batch int) (tx, rx *udp.Line) {
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	var lines [2]*udp.Line
	for i, c := range conns {
		peer := conns[1-i].LocalAddr().(*net.UDPAddr).AddrPort()
		l, err := udp.FromConn(c, udp.Config{Peer: peer, Seed: uint64(i + 1), Batch: batch})
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = l
		b.Cleanup(func() { l.Close() })
	}
	return lines[0], lines[1]
}

func udpVeth(b *testing.B, n *vethtest.Net, batch int) (tx, rx *udp.Line) {
	var lines [2]*udp.Line
	for i := range 2 {
		cfg := udp.Config{
			Local: netip.AddrPortFrom(n.IP[i], 4790), Peer: netip.AddrPortFrom(n.IP[1-i], 4790),
			Seed: uint64(i + 1), Batch: batch,
		}
		if err := n.Do(i, func() error {
			l, err := udp.Dial(cfg)
			lines[i] = l
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { lines[i].Close() })
	}
	return lines[0], lines[1]
}

func xdpVeth(b *testing.B, n *vethtest.Net) (tx, rx *xdp.Line) {
	var lines [2]*xdp.Line
	for i := range 2 {
		cfg := xdp.Config{Interface: n.Dev[i], Peer: n.MAC[1-i], Seed: uint64(i + 1)}
		if err := n.Do(i, func() error {
			l, err := xdp.Open(cfg)
			lines[i] = l
			return err
		}); err != nil {
			b.Skipf("AF_XDP line: %v", err)
		}
		b.Cleanup(func() { lines[i].Close() })
	}
	b.Logf("%v", lines[0])
	return lines[0], lines[1]
}
