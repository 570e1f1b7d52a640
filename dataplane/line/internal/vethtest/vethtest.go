// Package vethtest builds the two-host network the line tests run on:
// two network namespaces, "a" and "b", joined by a veth pair, or through a
// third namespace that bridges two veth pairs so that tc netem can delay,
// drop, duplicate and reorder what crosses it (AF_XDP transmits bypass the
// sender's qdisc, so netem must sit on a forwarding hop).
//
// Every name carries a random token (several test processes run at once),
// and t.Cleanup deletes the namespaces, which takes their interfaces with
// them, also when the test fails. Tests skip when not root or when ip(8) is
// missing.
package vethtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Net is the test network.
type Net struct {
	NS  [2]string           // the namespaces of end a and end b
	Dev [2]string           // each end's interface, inside its namespace
	MAC [2]net.HardwareAddr // their addresses
	IP  [2]netip.Addr       // their IPv4 addresses (one /24, link-local range)
	Mid string              // the bridging namespace ("" when direct)
	// MidDev are the middle's ports towards a and towards b.
	MidDev [2]string
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

// New makes the network; with bridged the ends meet through a middle
// namespace whose ports carry the netem qdiscs of Netem.
func New(t testing.TB, bridged bool) *Net {
	t.Helper()
	Require(t)
	var b [3]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	n := &Net{
		NS:  [2]string{"otkdl-" + tok + "-a", "otkdl-" + tok + "-b"},
		Dev: [2]string{"la" + tok, "lb" + tok},
		MAC: [2]net.HardwareAddr{{0x02, 0x4f, b[0], b[1], b[2], 0x0a}, {0x02, 0x4f, b[0], b[1], b[2], 0x0b}},
		IP:  [2]netip.Addr{netip.MustParseAddr("169.254.77.1"), netip.MustParseAddr("169.254.77.2")},
	}
	for _, ns := range n.NS {
		mustRun(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { run("ip", "netns", "del", ns) })
	}
	if bridged {
		n.Mid = "otkdl-" + tok + "-m"
		n.MidDev = [2]string{"ma" + tok, "mb" + tok}
		mustRun(t, "ip", "netns", "add", n.Mid)
		t.Cleanup(func() { run("ip", "netns", "del", n.Mid) })
		br := "br" + tok
		mustRun(t, "ip", "-n", n.Mid, "link", "add", br, "type", "bridge")
		for i := range 2 {
			mustRun(t, "ip", "link", "add", n.Dev[i], "netns", n.NS[i], "address", n.MAC[i].String(),
				"type", "veth", "peer", "name", n.MidDev[i], "netns", n.Mid)
			mustRun(t, "ip", "-n", n.Mid, "link", "set", n.MidDev[i], "master", br, "up")
		}
		mustRun(t, "ip", "-n", n.Mid, "link", "set", br, "up")
	} else {
		mustRun(t, "ip", "link", "add", n.Dev[0], "netns", n.NS[0], "address", n.MAC[0].String(),
			"type", "veth", "peer", "name", n.Dev[1], "netns", n.NS[1], "address", n.MAC[1].String())
	}
	for i := range 2 {
		mustRun(t, "ip", "-n", n.NS[i], "link", "set", "lo", "up")
		mustRun(t, "ip", "-n", n.NS[i], "addr", "add", n.IP[i].String()+"/24", "dev", n.Dev[i])
		mustRun(t, "ip", "-n", n.NS[i], "link", "set", n.Dev[i], "up")
	}
	return n
}

// Netem puts a netem qdisc with args (e.g. "loss", "2%") on the middle's
// port towards end `to`; the network must be bridged. It skips the test
// when tc(8) or netem is missing.
func (n *Net) Netem(t testing.TB, to int, args ...string) {
	t.Helper()
	if n.Mid == "" {
		t.Fatal("vethtest: Netem needs a bridged network")
	}
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("needs tc(8) (iproute2)")
	}
	cmd := append([]string{"-n", n.Mid, "qdisc", "replace", "dev", n.MidDev[to], "root", "netem"}, args...)
	if out, err := exec.Command("tc", cmd...).CombinedOutput(); err != nil {
		t.Skipf("tc netem unavailable: %v: %s", err, strings.TrimSpace(string(out)))
	}
}

// Do runs f with the calling goroutine's thread inside namespace ns (an
// index of NS): sockets and XDP attachments made there stay there. The
// thread goes back to its own namespace afterwards.
func (n *Net) Do(ns int, f func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(self)
	target, err := unix.Open("/var/run/netns/"+n.NS[ns], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", n.NS[ns], err)
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

func mustRun(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

func run(name string, args ...string) { exec.Command(name, args...).Run() }
