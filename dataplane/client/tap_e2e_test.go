package client_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/dataplane/client/tap"
	"github.com/otkd/otkd/dataplane/client/tap/taptest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// pipe is one direction of an in-memory link between two mappers, through
// Seal and Open, as the two ports' frame loops would run it.
type pipe struct {
	tx, rx *client.Mapper
	s      *framer.Sealer
	o      *framer.Opener
	key    keys.Key
	count  uint32
	buf    []byte
	f      framer.Frame
}

func newPipe(t *testing.T, dir uint8, tx, rx *client.Mapper) *pipe {
	p := &pipe{tx: tx, rx: rx, key: keys.Key{9, dir}, buf: make([]byte, framer.FrameLen)}
	p.s, _ = framer.NewSealer(dir, framer.Options{})
	p.o, _ = framer.NewOpener(dir, framer.Options{})
	p.o.Install(1, &p.key)
	p.f, _ = framer.View(p.buf)
	return p
}

func (p *pipe) step(t *testing.T) {
	p.count++
	clear(p.buf)
	p.tx.Fill(&p.f, p.count)
	if err := p.s.Seal(&p.f, &p.key, p.count, 1); err != nil {
		t.Error(err)
		return
	}
	var st framer.Stats
	if err := p.o.Open(&p.f, &st); err != nil || st.UncorrectableCodewords != 0 {
		t.Errorf("open: %v, %d uncorrectable", err, st.UncorrectableCodewords)
		return
	}
	p.rx.Deliver(&p.f, st.Count, st.Epoch)
}

// TestTAPs joins two TAP interfaces, each in a network namespace of its
// own, through a pair of mappers and sealed frames: UDP datagrams (some in
// jumbo frames that span OTN frames) echo from one namespace to the other
// and back, and ping works when the ping command is there.
func TestTAPs(t *testing.T) {
	nsA, nsB := taptest.New(t), taptest.New(t)
	const mtu = 9000
	nameA, nameB := taptest.Name("otk"), taptest.Name("otk")
	var devA, devB *tap.Device
	if err := nsA.Do(func() (err error) { devA, err = tap.Open(tap.Config{Name: nameA, MTU: mtu}); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devA.Close() }) // Serve closes them too: a second Close is harmless
	if err := nsB.Do(func() (err error) { devB, err = tap.Open(tap.Config{Name: nameB, MTU: mtu}); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devB.Close() })
	nsA.IP(t, "addr", "add", "10.98.0.1/24", "dev", nameA)
	nsB.IP(t, "addr", "add", "10.98.0.2/24", "dev", nameB)

	a, _ := client.New(client.Config{MTU: mtu})
	b, _ := client.New(client.Config{MTU: mtu})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.Serve(ctx, devA) }()
	go func() { defer wg.Done(); b.Serve(ctx, devB) }()
	go func() { // the two frame loops, paced well below the line rate
		defer wg.Done()
		ab, ba := newPipe(t, 0, a, b), newPipe(t, 1, b, a)
		for ctx.Err() == nil {
			ab.step(t)
			ba.step(t)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	// An echo server in B, a client in A.
	var srv, cli int
	if err := nsB.Do(func() (err error) {
		if srv, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.Bind(srv, &unix.SockaddrInet4{Port: 5000, Addr: [4]byte{10, 98, 0, 2}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := nsA.Do(func() (err error) {
		if cli, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.Connect(cli, &unix.SockaddrInet4{Port: 5000, Addr: [4]byte{10, 98, 0, 2}})
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cli)
	unix.SetsockoptTimeval(cli, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})
	// The echo server polls a stop flag: closing a socket does not wake a
	// thread blocked in recvfrom on it.
	unix.SetsockoptTimeval(srv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	var stop atomic.Bool
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 65536)
		for !stop.Load() {
			n, from, err := unix.Recvfrom(srv, buf, 0)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			unix.Sendto(srv, buf[:n], 0, from)
		}
	}()
	defer func() { stop.Store(true); <-served; unix.Close(srv) }() // ends the echo server

	buf := make([]byte, 65536)
	echo := func(i, size int) error {
		msg := bytes.Repeat([]byte{byte(i)}, size)
		copy(msg, fmt.Sprintf("datagram %d", i))
		for {
			_, err := unix.Write(cli, msg)
			if err != unix.EINTR { // a signal (the Go runtime's preemption) interrupts a raw system call
				if err != nil {
					return err
				}
				break
			}
		}
		for {
			n, err := unix.Read(cli, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("datagram %d (%d octets): no echo: %w", i, size, err)
			}
			if bytes.Equal(buf[:n], msg) {
				return nil
			}
		}
	}
	// The first datagram waits for ARP to resolve across the link.
	var err error
	for try := 0; try < 5; try++ {
		if err = echo(0, 10); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 200; i++ {
		size := 1 + (i*97)%1400
		if i%20 == 0 {
			size = 8000 + i // a jumbo frame: spans OTN frames
		}
		if err := echo(i, size); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := exec.LookPath("ping"); err == nil {
		out, err := exec.Command("ip", "netns", "exec", nsA.Name, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.98.0.2").CombinedOutput()
		if err != nil {
			t.Fatalf("ping: %v: %s", err, out)
		}
	} else {
		t.Log("ping not installed: UDP only")
	}
	for name, m := range map[string]*client.Mapper{"A": a, "B": b} {
		st := m.Stats()
		if st.InPackets.Load() < 201 || st.OutPackets.Load() < 201 || st.DropFCS.Load()+st.DropPFCS.Load()+
			st.DropDelineation.Load()+st.DropCapacity.Load()+st.DropMTU.Load() != 0 || st.GFP.Resyncs.Load() != 0 {
			t.Fatalf("%s: in %d out %d drops fcs %d pfcs %d delin %d cap %d mtu %d resyncs %d", name,
				st.InPackets.Load(), st.OutPackets.Load(), st.DropFCS.Load(), st.DropPFCS.Load(),
				st.DropDelineation.Load(), st.DropCapacity.Load(), st.DropMTU.Load(), st.GFP.Resyncs.Load())
		}
	}
}
