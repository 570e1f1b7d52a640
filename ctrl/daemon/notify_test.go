package daemon

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/dataplane/client/tap/taptest"
)

// sdListener stands in for systemd: a unixgram socket that NOTIFY_SOCKET
// names, with the watchdog enabled for this process.
type sdListener struct {
	c    *net.UnixConn
	msgs chan string
	iv   time.Duration // the ping interval the daemon uses (half WATCHDOG_USEC)
}

// listenNotify sets NOTIFY_SOCKET, WATCHDOG_USEC (400 ms: pings every
// 200 ms) and WATCHDOG_PID for the test and collects what arrives.
func listenNotify(t *testing.T) *sdListener {
	t.Helper()
	dir, err := os.MkdirTemp("", "otkdsd") // short: a socket path has ≤ 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	l := &sdListener{c: c, msgs: make(chan string, 4096), iv: 200 * time.Millisecond}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(l.msgs)
				return
			}
			l.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "400000")
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	return l
}

// waitFor returns the first message that contains want, failing after a
// bound that only stops a stuck run. n's log is shown on failure.
func (l *sdListener) waitFor(t *testing.T, n *runningNode, want string) string {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case m, ok := <-l.msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %q", want)
			}
			if strings.Contains(m, want) {
				return m
			}
		case <-deadline:
			t.Logf("%s's log:\n%s", n.name, lastLines(n.log.String(), 40))
			t.Fatalf("no %q from the daemon", want)
		}
	}
}

// noPing fails if a WATCHDOG=1 arrives within d (many ping intervals).
func (l *sdListener) noPing(t *testing.T, d time.Duration) {
	t.Helper()
	end := time.After(d)
	for {
		select {
		case m := <-l.msgs:
			if strings.Contains(m, "WATCHDOG=1") {
				t.Fatalf("the watchdog was fed while unhealthy")
			}
		case <-end:
			return
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// portAddrs returns the local and peer address of a node's only port.
func portAddrs(t *testing.T, n *runningNode) (local, peer string) {
	t.Helper()
	cfg, err := config.Load(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Ports[0].Local, cfg.Ports[0].Peer
}

// setPort rewrites a node's configuration: the port's addresses and frame
// rate.
func setPort(t *testing.T, n *runningNode, local, peer string, rate int) {
	t.Helper()
	b, err := os.ReadFile(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?m)^local = .*$`).ReplaceAllString(string(b), fmt.Sprintf("local = %q", local))
	s = regexp.MustCompile(`(?m)^peer = .*$`).ReplaceAllString(s, fmt.Sprintf("peer = %q", peer))
	s = regexp.MustCompile(`(?m)^frame_rate = .*$`).ReplaceAllString(s, fmt.Sprintf("frame_rate = %d", rate))
	if err := os.WriteFile(n.cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWatchdogCrashLoop: a daemon whose port cannot bind its address (the
// test holds it) restarts the port's worker in a loop; READY=1 and pings
// come first, then a STATUS= naming the failing worker, and no ping after
// it while the loop goes on. A reload and the stop are notified too.
func TestWatchdogCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon through 5 failed port starts (≥ 7.5 s of backoff)")
	}
	sd := listenNotify(t)
	a, _ := newTestLink(t, "1h")
	local, _ := portAddrs(t, a)
	ua, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		t.Fatal(err)
	}
	hold, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	a.start(t)
	defer a.stop(t)
	sd.waitFor(t, a, "READY=1")
	sd.waitFor(t, a, "WATCHDOG=1") // before the loop is long enough
	st := sd.waitFor(t, a, "STATUS=unhealthy")
	if !strings.Contains(st, "worker port east is failing") {
		t.Fatalf("status %q does not name the port's worker", st)
	}
	sd.noPing(t, 10*sd.iv)
	if !strings.Contains(a.log.String(), "address already in use") {
		t.Fatalf("the log does not show why the port fails:\n%s", lastLines(a.log.String(), 20))
	}

	// A reload is RELOADING=1 with the monotonic time, then READY=1; a stop
	// STOPPING=1.
	cfg, err := config.Load(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.d.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if m := sd.waitFor(t, a, "RELOADING=1"); !regexp.MustCompile(`(?m)^MONOTONIC_USEC=[1-9][0-9]*$`).MatchString(m) {
		t.Fatalf("reloading message %q has no MONOTONIC_USEC", m)
	}
	sd.waitFor(t, a, "READY=1")
	a.stop(t)
	sd.waitFor(t, a, "STOPPING=1")
}

// TestWatchdogStuckLine: a daemon whose port sends over a veth whose qdisc
// all but stops (tbf at 1 kbit/s): once the socket's send buffer is full
// the TX pipeline blocks in the send, the frame counter stands still, and
// the pings stop with a STATUS= naming the port; when the qdisc goes, the
// pings come back.
func TestWatchdogStuckLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon over a veth pair")
	}
	ns := taptest.New(t) // skips unless root with iproute2
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("needs tc (iproute2)")
	}
	va, vb := taptest.Name("wda"), taptest.Name("wdb")
	net3 := fmt.Sprintf("10.%d.%d", 100+rand.IntN(100), rand.IntN(256))
	mac := fmt.Sprintf("02:5a:%02x:%02x:%02x:%02x", rand.IntN(256), rand.IntN(256), rand.IntN(256), rand.IntN(256))
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("link", "add", va, "type", "veth", "peer", "name", vb, "address", mac)
	t.Cleanup(func() { exec.Command("ip", "link", "del", va).Run() })
	ip("link", "set", vb, "netns", ns.Name)
	ip("addr", "add", net3+".1/30", "dev", va)
	ip("link", "set", va, "up")
	ns.IP(t, "addr", "add", net3+".2/30", "dev", vb)
	ns.IP(t, "link", "set", vb, "up")
	// The peer's neighbour entry is fixed: ARP would go through the blocking
	// qdisc too.
	ip("neigh", "replace", net3+".2", "lladdr", mac, "dev", va, "nud", "permanent")
	tc := func(args ...string) error {
		out, err := exec.Command("tc", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	// The block: a token bucket of 1 kbit/s with room for a gigabyte in
	// its queue. Queued packets stay charged to the sending socket, so its
	// send buffer fills within a few frames and the send waits.
	block := []string{"qdisc", "add", "dev", va, "root", "tbf", "rate", "1kbit", "burst", "2000", "limit", "1000000000"}
	if err := tc(block...); err != nil {
		t.Skipf("no tbf qdisc: %v", err)
	}
	if err := tc("qdisc", "del", "dev", va, "root"); err != nil {
		t.Fatal(err)
	}

	sd := listenNotify(t)
	a, _ := newTestLink(t, "1h")
	setPort(t, a, net3+".1:7301", net3+".2:7302", 500) // stuck after max(1000 frames = 2 s, 3 s)
	a.start(t)
	defer a.stop(t)
	sd.waitFor(t, a, "READY=1")
	sd.waitFor(t, a, "WATCHDOG=1")
	sd.waitFor(t, a, "WATCHDOG=1")
	if err := tc(block...); err != nil {
		t.Fatal(err)
	}
	st := sd.waitFor(t, a, "STATUS=unhealthy")
	if !strings.Contains(st, "port east is stuck") {
		t.Fatalf("status %q does not name the stuck port", st)
	}
	sd.noPing(t, 10*sd.iv)
	if err := tc("qdisc", "del", "dev", va, "root"); err != nil { // the queued packets are dropped
		t.Fatal(err)
	}
	sd.waitFor(t, a, "STATUS=running")
	sd.waitFor(t, a, "WATCHDOG=1")
}

// TestWorkerFailing: the crash-loop rule on a worker's counters.
func TestWorkerFailing(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		streak  int64
		running bool
		ranFor  time.Duration
		want    bool
	}{
		{crashLoopRuns - 1, false, 0, false},
		{crashLoopRuns, false, 0, true},
		{crashLoopRuns, true, time.Second, true},
		{crashLoopRuns + 3, true, backoffReset - time.Millisecond, true},
		{crashLoopRuns, true, backoffReset, false},
		{0, true, time.Hour, false},
	} {
		w := &worker{name: "w"}
		w.failStreak.Store(c.streak)
		w.running.Store(c.running)
		w.startedAt.Store(now.Add(-c.ranFor).UnixNano())
		if got := w.failing(now); got != c.want {
			t.Errorf("streak %d, running %v for %v: failing %v, want %v", c.streak, c.running, c.ranFor, got, c.want)
		}
	}
}
