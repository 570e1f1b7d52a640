package udp_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/race"
	"github.com/otkd/otkd/noise"
)

var _ dataplane.Line = (*udp.Line)(nil)

// udpPair links two lines on ephemeral 127.0.0.1 ports.
// e2eFrameRate paces the end-to-end test: under the race detector a
// receiving port opens only ~200 frames/s, so the sender is paced to that;
// faster, most frames overflow the socket and the rounds' answers come back
// after their state is gone.
func e2eFrameRate() float64 {
	if race.Enabled {
		return 150
	}
	return 2000
}

func udpPair(t testing.TB, rate float64) (a, b *udp.Line) {
	t.Helper()
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	var lines [2]*udp.Line
	for i, c := range conns {
		peer := conns[1-i].LocalAddr().(*net.UDPAddr).AddrPort()
		l, err := udp.FromConn(c, udp.Config{Peer: peer, Seed: uint64(7 + i), FrameRate: rate, BitErrors: true})
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = l
		t.Cleanup(func() { l.Close() })
	}
	return lines[0], lines[1]
}

// TestPortsOverUDP runs two dataplane ports with fixed keys over a UDP line
// on loopback for about four seconds of frames each way: frames open, the payload
// checks out, and rounds produce counts at both ends.
func TestPortsOverUDP(t *testing.T) {
	frames := uint64(4 * e2eFrameRate())
	la, lb := udpPair(t, e2eFrameRate())
	prof := noise.DefaultProfile()
	var ports [2]*dataplane.Port
	for i, l := range []dataplane.Line{la, lb} {
		p, err := dataplane.NewPort(dataplane.Config{Role: dataplane.Role(i), Line: l, Profile: prof})
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	keys := [2]keys.Key{{1}, {2}}
	for i, p := range ports {
		if err := p.InstallRX(1, &keys[1-i]); err != nil {
			t.Fatal(err)
		}
		if err := p.ScheduleTX(1, &keys[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	start := time.Now()
	deadline := start.Add(2 * time.Minute) // a bound for a stuck run, not a timing
	var c dataplane.Count
	for !enough(ports, frames) && time.Now().Before(deadline) {
		for _, p := range ports {
			for p.Counts().Pop(&c) {
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	for i, p := range ports {
		s := p.Stats()
		l := []*udp.Line{la, lb}[i]
		t.Logf("%v: port %+v", p.Role(), s)
		t.Logf("%v: line %+v; %.0f frames/s received", p.Role(), l.Stats(), float64(s.RXFrames)/elapsed.Seconds())
		if s.RXFrames == 0 || s.CountsOwn == 0 || s.PayloadErrors != 0 || s.RXUnknownEpoch != 0 {
			t.Errorf("%v: frames %d, own counts %d, payload errors %d, unknown epoch %d",
				p.Role(), s.RXFrames, s.CountsOwn, s.PayloadErrors, s.RXUnknownEpoch)
		}
	}
}

// enough reports whether both ports sent frames and counted own rounds.
func enough(ports [2]*dataplane.Port, frames uint64) bool {
	for _, p := range ports {
		if s := p.Stats(); s.TXFrames < frames || s.CountsOwn == 0 {
			return false
		}
	}
	return true
}
