// Package taptest gives tests of client interfaces network namespaces of
// their own: made with unique names, removed in t.Cleanup (also on
// failure), and code run inside them on a thread of their own.
package taptest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

var seq atomic.Uint32

// Name returns a name unique to this process and call, short enough for an
// interface (at most 15 octets): prefix (at most 4 octets) + pid + counter.
func Name(prefix string) string {
	return fmt.Sprintf("%s%x%x", prefix, os.Getpid(), seq.Add(1))
}

// Netns is a named network namespace made for one test.
type Netns struct {
	Name string
	path string
}

// Skip skips t unless it runs as root with iproute2 and /dev/net/tun.
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and TAP interfaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("needs /dev/net/tun")
	}
}

// New makes a network namespace with loopback up; t.Cleanup removes it.
func New(t testing.TB) *Netns {
	t.Helper()
	Skip(t)
	n := &Netns{Name: Name("otkt")}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", n.Name, err, out)
		}
	})
	n.path = "/run/netns/" + n.Name
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// IP runs `ip -n NAME args...` and fails t on error.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs fn on an OS thread that has entered the namespace. The thread is
// not returned to the scheduler afterwards (its goroutine ends locked, so
// the runtime retires it): no other goroutine ever runs in the namespace by
// accident. File descriptors fn opens stay in the namespace they were made
// in and may be used from any thread.
func (n *Netns) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(n.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening %s: %w", n.path, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering %s: %w", n.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
