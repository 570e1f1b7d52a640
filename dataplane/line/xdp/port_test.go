package xdp

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/internal/vethtest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

var _ dataplane.Line = (*Line)(nil)

// TestPortsOverXDP runs two dataplane ports with fixed keys over AF_XDP
// lines between two namespaces: frames open, the payload checks out, and
// rounds produce counts at both ends.
func TestPortsOverXDP(t *testing.T) {
	n := vethtest.New(t)
	lines := openPair(t, n, Config{Seed: 11, FrameRate: portFrameRate(), BitErrors: true})
	var ports [2]*dataplane.Port
	for i, l := range lines {
		p, err := dataplane.NewPort(dataplane.Config{Role: dataplane.Role(i), Line: l, Profile: noise.DefaultProfile()})
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
	deadline := time.Now().Add(2 * time.Minute) // a bound for a stuck run, not a timing
	var c dataplane.Count
	for time.Now().Before(deadline) {
		done := true
		for _, p := range ports {
			for p.Counts().Pop(&c) {
			}
			if s := p.Stats(); float64(s.TXFrames) < 4*portFrameRate() || s.CountsOwn == 0 {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for i, p := range ports {
		s := p.Stats()
		t.Logf("%v: port %+v", p.Role(), s)
		t.Logf("%v: line %+v", p.Role(), lines[i].Stats())
		if s.RXFrames == 0 || s.CountsOwn == 0 || s.PayloadErrors != 0 || s.RXUnknownEpoch != 0 {
			t.Errorf("%v: frames %d, own counts %d, payload errors %d, unknown epoch %d",
				p.Role(), s.RXFrames, s.CountsOwn, s.PayloadErrors, s.RXUnknownEpoch)
		}
	}
}

// TestCloseUnblocks closes lines while Recv waits for packets and while
// Send is paced: both return ErrClosed, and so does every later call.
func TestCloseUnblocks(t *testing.T) {
	n := vethtest.New(t)
	lines := openPair(t, n, Config{Seed: 1, FrameRate: 0.01})
	frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
	if err := lines[0].Send(frame); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- lines[0].Send(frame) }() // waits 100 s for its slot
	go func() {
		var f [framer.FrameLen]byte
		var s [noise.SamplesPerFrame]noise.Sample
		for {
			if err := lines[1].Recv(f[:], s[:]); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	for _, l := range lines {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
				t.Fatalf("blocked call after Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call still blocked after Close")
		}
	}
	if err := lines[0].Send(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := lines[1].Recv(frame, soft); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if err := lines[0].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestNoAlloc: Send and Recv allocate nothing per frame.
func TestNoAlloc(t *testing.T) {
	n := vethtest.New(t)
	lines := openPair(t, n, Config{Seed: 2})
	frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
	step := func() {
		if err := lines[0].Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := lines[1].Recv(frame, soft); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		step()
	}
	if a := testing.AllocsPerRun(300, step); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
}

// TestOpenErrors: bad configurations and a second line on the same
// interface fail with errors that name the cause; nothing is left attached.
func TestOpenErrors(t *testing.T) {
	n := vethtest.New(t)
	peer := n.MAC[1]
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no interface", Config{Peer: peer}, ErrConfig},
		{"unknown interface", Config{Interface: "nosuchif0", Peer: peer}, ErrConfig},
		{"no peer", Config{Interface: n.Dev[0]}, ErrConfig},
		{"group peer", Config{Interface: n.Dev[0], Peer: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}}, ErrConfig},
		{"chunk too big for the MTU", Config{Interface: n.Dev[0], Peer: peer, ChunkSize: 1500}, ErrConfig},
		{"chunk too small", Config{Interface: n.Dev[0], Peer: peer, ChunkSize: 10}, ErrConfig},
		{"queue", Config{Interface: n.Dev[0], Peer: peer, Queue: 64}, ErrConfig},
		{"queue the interface lacks", Config{Interface: n.Dev[0], Peer: peer, Queue: 5}, ErrSetup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := n.Do(0, func() error {
				l, err := Open(tc.cfg)
				if err == nil {
					l.Close()
				}
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	// One XDP program per interface: a second line there is refused, and
	// the first one still works after.
	lines := openPair(t, n, Config{Seed: 3})
	err := n.Do(0, func() error {
		l, err := Open(Config{Interface: n.Dev[0], Peer: peer, Queue: 0})
		if err == nil {
			l.Close()
		}
		return err
	})
	if !errors.Is(err, ErrSetup) {
		t.Fatalf("second line on one interface: %v", err)
	}
	t.Log(err)
	frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
	if err := lines[0].Send(frame); err != nil {
		t.Fatal(err)
	}
	if err := lines[1].Recv(frame, soft); err != nil {
		t.Fatal(err)
	}
}
