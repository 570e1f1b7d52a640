// Package vethtest builds the two-host network the line tests run on:
// two network namespaces, "a" and "b", joined by a veth pair, or through a
// third namespace where a relay forwards every Ethernet frame between two
// veth pairs and, from a to b, drops, duplicates and reorders them
// (Faults). The relay stands in for tc netem, which not every kernel has
// (CONFIG_NET_SCH_NETEM), and which could not act on AF_XDP's transmits
// anyway: they bypass the sender's qdisc. It works on whole Ethernet frames
// on the wire: IP fragments of a UDP frame, or chunks of an AF_XDP frame.
//
// Every name carries a random token (several test processes run at once),
// and t.Cleanup deletes the namespaces, which takes their interfaces with
// them, also when the test fails. Tests skip when not root or when ip(8) is
// missing.
package vethtest

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Net is the test network.
type Net struct {
	NS  [2]string           // the namespaces of end a and end b
	Dev [2]string           // each end's interface, inside its namespace
	MAC [2]net.HardwareAddr // their addresses
	IP  [2]netip.Addr       // their IPv4 addresses (one /24, link-local range)
	Mid string              // the relay's namespace ("" when direct)
	// MidDev are the relay's ports towards a and towards b.
	MidDev [2]string
	relay  *relay
}

// Faults are what the relay does to the frames from a to b, each an
// independent probability per Ethernet frame; Seed makes a run repeatable.
type Faults struct {
	Loss, Duplicate, Reorder float64
	Seed                     uint64
}

// RelayStats count what the relay did from a to b.
type RelayStats struct {
	Forwarded, Dropped, Duplicated, Reordered uint64
}

// New makes two namespaces joined by one veth pair.
func New(t testing.TB) *Net {
	t.Helper()
	n := names(t)
	for _, ns := range n.NS {
		addNS(t, ns)
	}
	mustRun(t, "ip", "link", "add", n.Dev[0], "netns", n.NS[0], "address", n.MAC[0].String(),
		"type", "veth", "peer", "name", n.Dev[1], "netns", n.NS[1], "address", n.MAC[1].String())
	n.up(t)
	return n
}

// NewRelayed makes two namespaces that meet through the relay's namespace,
// which applies f to the frames from a to b (and forwards b to a as is).
func NewRelayed(t testing.TB, f Faults) *Net {
	t.Helper()
	n := names(t)
	n.Mid = n.NS[0][:len(n.NS[0])-1] + "m"
	n.MidDev = [2]string{"m" + n.Dev[0], "m" + n.Dev[1]}
	for _, ns := range []string{n.NS[0], n.NS[1], n.Mid} {
		addNS(t, ns)
	}
	for i := range 2 {
		mustRun(t, "ip", "link", "add", n.Dev[i], "netns", n.NS[i], "address", n.MAC[i].String(),
			"type", "veth", "peer", "name", n.MidDev[i], "netns", n.Mid)
		mustRun(t, "ip", "-n", n.Mid, "link", "set", n.MidDev[i], "up")
	}
	n.up(t)
	var socks [2]int
	err := n.do(n.Mid, func() error {
		for i := range 2 {
			fd, err := packetSocket(n.MidDev[i])
			if err != nil {
				return err
			}
			socks[i] = fd
		}
		return nil
	})
	if err != nil {
		t.Fatalf("relay sockets: %v", err)
	}
	n.relay = startRelay(socks, f)
	t.Cleanup(n.relay.stop)
	return n
}

// Relay returns what the relay did so far.
func (n *Net) Relay() RelayStats {
	r := n.relay
	return RelayStats{r.fwd.Load(), r.drop.Load(), r.dup.Load(), r.reord.Load()}
}

func names(t testing.TB) *Net {
	Require(t)
	var b [3]byte
	crand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	return &Net{
		NS:  [2]string{"otkdl-" + tok + "-a", "otkdl-" + tok + "-b"},
		Dev: [2]string{"la" + tok, "lb" + tok},
		MAC: [2]net.HardwareAddr{{0x02, 0x4f, b[0], b[1], b[2], 0x0a}, {0x02, 0x4f, b[0], b[1], b[2], 0x0b}},
		IP:  [2]netip.Addr{netip.MustParseAddr("169.254.77.1"), netip.MustParseAddr("169.254.77.2")},
	}
}

func addNS(t testing.TB, ns string) {
	t.Helper()
	mustRun(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { run("ip", "netns", "del", ns) })
}

func (n *Net) up(t testing.TB) {
	t.Helper()
	for i := range 2 {
		mustRun(t, "ip", "-n", n.NS[i], "link", "set", "lo", "up")
		mustRun(t, "ip", "-n", n.NS[i], "addr", "add", n.IP[i].String()+"/24", "dev", n.Dev[i])
		mustRun(t, "ip", "-n", n.NS[i], "link", "set", n.Dev[i], "up")
		// A permanent neighbour entry: the first datagrams must not wait
		// for (or be dropped behind) ARP, which a loaded machine can make
		// slower than a whole test's stream.
		mustRun(t, "ip", "-n", n.NS[i], "neigh", "replace", n.IP[1-i].String(),
			"lladdr", n.MAC[1-i].String(), "dev", n.Dev[i], "nud", "permanent")
	}
}

// Do runs f with the calling goroutine's thread inside namespace ns (an
// index of NS): sockets and XDP attachments made there stay there. The
// thread goes back to its own namespace afterwards.
func (n *Net) Do(ns int, f func() error) error { return n.do(n.NS[ns], f) }

func (n *Net) do(ns string, f func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(self)
	target, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so the runtime ends it with the
		// goroutine instead of reusing it in the wrong namespace.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// packetSocket opens an AF_PACKET socket that receives every frame
// arriving on dev (not those it sends) and sends on dev.
func packetSocket(dev string) (int, error) {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return -1, err
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PACKET_IGNORE_OUTGOING: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", dev, err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// relay forwards frames between its two sockets: socks[0] faces a,
// socks[1] faces b.
type relay struct {
	socks                 [2]int
	f                     Faults
	stopped               atomic.Bool
	wg                    sync.WaitGroup
	fwd, drop, dup, reord atomic.Uint64
}

func startRelay(socks [2]int, f Faults) *relay {
	r := &relay{socks: socks, f: f}
	r.wg.Add(2)
	go r.forward(0, 1, true)
	go r.forward(1, 0, false)
	return r
}

func (r *relay) stop() {
	r.stopped.Store(true)
	r.wg.Wait()
	unix.Close(r.socks[0])
	unix.Close(r.socks[1])
}

// forward copies frames from socks[from] to socks[to]; with faults it
// drops, duplicates, or holds a frame back until the next one has gone.
func (r *relay) forward(from, to int, faults bool) {
	defer r.wg.Done()
	rng := rand.New(rand.NewPCG(r.f.Seed, uint64(from)))
	buf := make([]byte, 65536)
	var held []byte
	pfd := []unix.PollFd{{Fd: int32(r.socks[from]), Events: unix.POLLIN}}
	send := func(p []byte) { unix.Write(r.socks[to], p) }
	for !r.stopped.Load() {
		if k, _ := unix.Poll(pfd, 20); k <= 0 {
			if held != nil && k == 0 { // nothing follows: let the held frame go
				send(held)
				held = nil
			}
			continue
		}
		n, _, err := unix.Recvfrom(r.socks[from], buf, unix.MSG_DONTWAIT)
		if err != nil || n <= 0 {
			continue
		}
		p := buf[:n]
		if !faults {
			send(p)
			continue
		}
		switch x := rng.Float64(); {
		case x < r.f.Loss:
			r.drop.Add(1)
			continue
		case x < r.f.Loss+r.f.Reorder && held == nil:
			held = append([]byte(nil), p...)
			r.reord.Add(1)
			continue
		}
		send(p)
		r.fwd.Add(1)
		if rng.Float64() < r.f.Duplicate {
			send(p)
			r.dup.Add(1)
		}
		if held != nil {
			send(held)
			held = nil
		}
	}
}

// Require skips the test unless it runs as root with ip(8) available.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veth)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) (iproute2)")
	}
}

func mustRun(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

func run(name string, args ...string) { exec.Command(name, args...).Run() }
