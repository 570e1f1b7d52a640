package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/dataplane/client/tap/taptest"
)

// The client tests run two real `otkd run` processes, each in a network
// namespace of the test's own, joined by a veth pair that carries the UDP
// line; each daemon creates the TAP interface otkd0 of its port's client
// in its namespace, and the test gives them 10.77.0.1 and 10.77.0.2. The
// traffic is the kernel's own: ping, TCP, UDP between the two TAPs.

const (
	tapA, tapB   = "10.77.0.1", "10.77.0.2"
	lineA, lineB = "10.78.0.1", "10.78.0.2"
)

// clientLink is a link whose ports carry TAP clients.
type clientLink struct {
	a, b   *node
	ns     [2]*taptest.Netns
	ctlBin string
}

// skipClientE2E skips unless the host can make network namespaces and
// TAP interfaces, and under -short (these tests take tens of seconds).
func skipClientE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the client end-to-end tests run two daemons for tens of seconds")
	}
	taptest.Skip(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (iputils-ping)")
	}
}

// newClientLink starts two daemons in two fresh network namespaces, each
// port with client = "tap:otkd0" and the given frame rate, and waits until
// a ping crosses the link.
func newClientLink(t *testing.T, frameRate int) *clientLink {
	t.Helper()
	cl := &clientLink{ns: [2]*taptest.Netns{taptest.New(t), taptest.New(t)}}
	va, vb := taptest.Name("otkv"), taptest.Name("otkv")
	// One datagram per frame: 16 830 octets and the UDP/IP headers.
	out, err := exec.Command("ip", "link", "add", va, "netns", cl.ns[0].Name, "mtu", "17000", "type", "veth",
		"peer", "name", vb, "netns", cl.ns[1].Name, "mtu", "17000").CombinedOutput()
	if err != nil {
		t.Fatalf("veth: %v: %s", err, out)
	}
	lines, veths := [2]string{lineA, lineB}, [2]string{va, vb}
	for i, n := range cl.ns {
		n.IP(t, "addr", "add", lines[i]+"/24", "dev", veths[i])
		n.IP(t, "link", "set", veths[i], "up")
	}
	for i, n := range cl.ns {
		var mac string
		if err := cl.ns[1-i].Do(func() error {
			ifc, err := net.InterfaceByName(veths[1-i])
			if err == nil {
				mac = ifc.HardwareAddr.String()
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		n.IP(t, "neigh", "replace", lines[1-i], "lladdr", mac, "dev", veths[i], "nud", "permanent")
	}

	base := t.TempDir()
	tag := fmt.Sprintf("otkd-cl-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	nodes := [2]*node{}
	for i, name := range []string{"a", "b"} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{name: name, dir: dir, cfg: filepath.Join(dir, "otkd.toml"), sock: filepath.Join(dir, "otkd.sock"),
			shm: filepath.Join("/dev/shm", tag+"-"+name), netns: cl.ns[i].Name}
		t.Cleanup(func() { os.Remove(nodes[i].shm); os.Remove(nodes[i].shm + ".lock") })
	}
	for i, n := range nodes {
		peer := nodes[1-i]
		runBin(t, otkdBin, "keygen", "--name", n.name, "--private", filepath.Join(n.dir, "node.key"), "--public", filepath.Join(peer.dir, "peer.pub"))
		if err := os.WriteFile(filepath.Join(n.dir, "kek"), bytes.Repeat([]byte{byte(i + 1)}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := [2]int{7400, 7401}
	for i, n := range nodes {
		cfg := fmt.Sprintf(`[node]
name = %q
private_key = "node.key"

[[port]]
name = "east"
id = 1
role = %q
local = "%s:%d"
peer = "%s:%d"
peer_name = %q
peer_public_key = "peer.pub"
frame_rate = %d
client = "tap:otkd0"

[shm]
path = %q
slots = 64

[store]
path = "keys.db"
kek_file = "kek"

[api]
socket = %q

[metrics]
listen = "127.0.0.1:9464"
`, n.name, strings.ToUpper(n.name), lines[i], ports[i], lines[1-i], ports[1-i], nodes[1-i].name, frameRate, n.shm, n.sock)
		if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cl.a, cl.b = nodes[0], nodes[1]
	taps := [2]string{tapA, tapB}
	for i, n := range nodes {
		n.start(t)
		cl.waitTAP(t, i)
		cl.ns[i].IP(t, "addr", "add", taps[i]+"/24", "dev", "otkd0")
	}
	// The link is up once a ping crosses it (handshake, first keys).
	deadline := time.Now().Add(2 * time.Minute) // a bound on a hang
	for {
		if exec.Command("ip", "netns", "exec", cl.ns[0].Name, "ping", "-c", "1", "-W", "1", "-q", tapB).Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ping through the link\nA:\n%s\nB:\n%s", cl.a.log, cl.b.log)
		}
	}
	return cl
}

// waitTAP waits for daemon i to create otkd0 in its namespace.
func (cl *clientLink) waitTAP(t *testing.T, i int) {
	t.Helper()
	n := [2]*node{cl.a, cl.b}[i]
	for range 300 {
		if exec.Command("ip", "-n", cl.ns[i].Name, "link", "show", "otkd0").Run() == nil {
			return
		}
		if n.cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no otkd0 in %s\n%s", n.name, cl.ns[i].Name, n.log)
}

// links returns the port of a daemon as otkctl links --json shows it.
func (n *node) link(t *testing.T) api.Link {
	t.Helper()
	out, err := exec.Command(otkctlBin, "links", "--json", "--socket", n.sock).Output()
	if err != nil {
		t.Fatalf("%s: otkctl links: %v\n%s", n.name, err, n.log)
	}
	var ls struct{ Links []api.Link }
	if err := json.Unmarshal(out, &ls); err != nil || len(ls.Links) != 1 || ls.Links[0].Client == nil {
		t.Fatalf("%s: otkctl links --json: %v\n%s", n.name, err, out)
	}
	return ls.Links[0]
}

// lineDrops sums the drops of client frames that came from the line.
func lineDrops(c *api.ClientCounters) uint64 {
	d := c.Drops
	return d.MTU + d.Malformed + d.FCS + d.PFCS + d.Delineation + d.Queue + d.Refused
}

// TestClientPingAndTCP: 200 pings cross the link with none lost; a TCP
// transfer of at least 100 MB arrives intact (SHA-256 of what was sent
// and of what came) while the link switches keys at least 5 times in each
// direction (forced with otkctl rotate at both ends); the client counters
// show no drop while the link carried only the pings, and /metrics shows
// them.
func TestClientPingAndTCP(t *testing.T) {
	skipClientE2E(t)
	socketBuffers(t)
	cl := newClientLink(t, 2000)

	before := [2]api.Link{cl.a.link(t), cl.b.link(t)}
	out, err := exec.Command("ip", "netns", "exec", cl.ns[0].Name, "ping", "-c", "200", "-i", "0.01", "-W", "2", "-q", tapB).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		for _, n := range []*node{cl.a, cl.b} {
			l := n.link(t)
			t.Logf("%s: frames rx %d rejected %d; client %+v", n.name, l.FramesRX, l.FramesRejected, *l.Client)
		}
		t.Fatalf("200 pings: %v\n%s", err, out)
	}
	t.Logf("%s", lastLines(out, 2))
	after := [2]api.Link{cl.a.link(t), cl.b.link(t)}
	for i, n := range []*node{cl.a, cl.b} {
		b, a := before[i].Client, after[i].Client
		if d := a.Drops.Total() - b.Drops.Total(); d != 0 {
			t.Errorf("%s: %d client frames dropped while only pings crossed the link: %+v", n.name, d, a.Drops)
		}
		if a.OutPackets-b.OutPackets < 200 || a.InPackets-b.InPackets < 200 {
			t.Errorf("%s: client counters did not see the pings: in %d→%d, out %d→%d", n.name, b.InPackets, a.InPackets, b.OutPackets, a.OutPackets)
		}
		if a.Drops.Total() != 0 {
			t.Logf("%s: drops since start (before the pings): %+v", n.name, a.Drops)
		}
	}
	cl.checkMetrics(t)

	// TCP with key switches forced at both ends meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range []*node{cl.a, cl.b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// ErrNoSeed (exit 1, "conflict") until the first seed: retried.
				exec.CommandContext(ctx, otkctlBin, "rotate", "--port", "east", "--socket", n.sock).Run()
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	start := [2]api.Link{cl.a.link(t), cl.b.link(t)}
	switched := func() bool {
		return cl.a.link(t).KeySwitches-start[0].KeySwitches >= 5 && cl.b.link(t).KeySwitches-start[1].KeySwitches >= 5
	}
	sent, took := cl.tcpTransfer(t, 100<<20, switched)
	cancel()
	wg.Wait()
	end := [2]api.Link{cl.a.link(t), cl.b.link(t)}
	t.Logf("TCP: %d MB in %v (%.0f Mbit/s); key switches A→B %d, B→A %d", sent>>20, took.Round(time.Millisecond),
		float64(sent)*8/took.Seconds()/1e6, end[0].KeySwitches-start[0].KeySwitches, end[1].KeySwitches-start[1].KeySwitches)
	for i, n := range []*node{cl.a, cl.b} {
		if sw := end[i].KeySwitches - start[i].KeySwitches; sw < 5 {
			t.Errorf("%s: %d key switches during the transfer, want ≥ 5", n.name, sw)
		}
		c := end[i].Client
		t.Logf("%s: client in %d out %d, drops %+v, OTN frames lost %d (rejected %d, FEC uncorrectable %d), GFP resyncs %d",
			n.name, c.InPackets, c.OutPackets, c.Drops, c.FramesLost, end[i].FramesRejected, end[i].FECUncorrectable, c.GFPResyncs)
		if c.Drops.FCS != 0 || c.Drops.Malformed != 0 && c.FramesLost == 0 {
			t.Errorf("%s: frames damaged without a lost OTN frame to explain it: %+v", n.name, c.Drops)
		}
	}

	// A reload (SIGHUP) keeps the client: the same interface (same index,
	// its address kept), traffic on.
	idx := cl.ifindex(t, 0)
	cl.a.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, cl.a, "configuration reloaded")
	if got := cl.ifindex(t, 0); got != idx {
		t.Fatalf("otkd0 in A's namespace changed across a reload: ifindex %d, was %d", got, idx)
	}
	out, err = exec.Command("ip", "netns", "exec", cl.ns[0].Name, "ping", "-c", "20", "-i", "0.01", "-W", "2", "-q", tapB).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Fatalf("pings after a reload: %v\n%s", err, out)
	}
}

// ifindex returns the index of otkd0 in namespace i.
func (cl *clientLink) ifindex(t *testing.T, i int) int {
	t.Helper()
	var idx int
	if err := cl.ns[i].Do(func() error {
		ifc, err := net.InterfaceByName("otkd0")
		if err == nil {
			idx = ifc.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// tcpTransfer sends at least size octets of pseudo-random data over TCP
// from A's TAP address to B's, and goes on until more() is true (bounded
// by time), and checks that the SHA-256 of what B received is that of what
// A sent. It returns the octets sent and the time taken.
func (cl *clientLink) tcpTransfer(t *testing.T, size int64, more func() bool) (int64, time.Duration) {
	t.Helper()
	var l net.Listener
	if err := cl.ns[1].Do(func() (err error) { l, err = net.Listen("tcp", tapB+":5201"); return err }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		n   int64
		sum [32]byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Minute))
		h := sha256.New()
		n, err := io.Copy(h, c)
		var r result
		r.n, r.err = n, err
		copy(r.sum[:], h.Sum(nil))
		got <- r
	}()
	var c net.Conn
	if err := cl.ns[0].Do(func() (err error) {
		c, err = (&net.Dialer{Timeout: 30 * time.Second}).Dial("tcp", tapB+":5201")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Minute)) // a bound on a hang
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	h := sha256.New()
	var sent int64
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for sent < size || (!more() && time.Now().Before(deadline)) {
		rng.Read(buf)
		h.Write(buf)
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("TCP send after %d octets: %v\nA:\n%s\nB:\n%s", sent, err, cl.a.log, cl.b.log)
		}
		sent += int64(len(buf))
	}
	c.(*net.TCPConn).CloseWrite()
	r := <-got
	took := time.Since(start)
	c.Close()
	if r.err != nil {
		t.Fatalf("TCP receive: %v after %d octets", r.err, r.n)
	}
	if r.n != sent || !bytes.Equal(r.sum[:], h.Sum(nil)) {
		t.Fatalf("TCP: sent %d octets (SHA-256 %x), received %d (SHA-256 %x)", sent, h.Sum(nil), r.n, r.sum)
	}
	return sent, took
}

// checkMetrics reads /metrics inside A's namespace and checks the client's
// families are there with the values otkctl shows.
func (cl *clientLink) checkMetrics(t *testing.T) {
	t.Helper()
	// The socket must be made on the namespace's thread; an http.Client
	// would dial from a goroutine of its own.
	var c net.Conn
	if err := cl.ns[0].Do(func() (err error) { c, err = net.Dial("tcp", "127.0.0.1:9464"); return err }); err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req, _ := http.NewRequest("GET", "http://127.0.0.1:9464/metrics", nil)
	if err := req.Write(c); err != nil {
		t.Fatalf("metrics: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %v %s", err, resp.Status)
	}
	m := string(body)
	for _, c := range []struct {
		sample string
		ok     func(float64) bool
	}{
		{`otkd_client_info{port="east",interface="tap:otkd0",mtu="1500",created="1"}`, func(v float64) bool { return v == 1 }},
		{`otkd_client_packets_total{port="east",dir="in"}`, func(v float64) bool { return v >= 1 }},
		{`otkd_client_packets_total{port="east",dir="out"}`, func(v float64) bool { return v >= 1 }},
		{`otkd_client_bytes_total{port="east",dir="out"}`, func(v float64) bool { return v >= 1 }},
		{`otkd_client_drops_total{port="east",reason="capacity"}`, func(float64) bool { return true }},
		{`otkd_client_drops_total{port="east",reason="delineation"}`, func(float64) bool { return true }},
		{`otkd_client_gfp_resyncs_total{port="east"}`, func(float64) bool { return true }},
	} {
		if v, ok := metricValue(m, c.sample); !ok || !c.ok(v) {
			t.Errorf("/metrics lacks %s (%v, %v)", c.sample, v, ok)
		}
	}
	checkMetricsDocumented(t, m)
}

// TestClientOverload: a client sending UDP far above what the link carries
// (1000 frames/s: 122 Mbit/s of payload) gets its excess dropped and
// counted at its own client side (capacity); the far end receives what the
// link carried without a damaged frame, the link goes on negotiating keys
// meanwhile, and a ping crosses it afterwards.
func TestClientOverload(t *testing.T) {
	skipClientE2E(t)
	socketBuffers(t)
	cl := newClientLink(t, 1000)
	before := [2]api.Link{cl.a.link(t), cl.b.link(t)}

	var c *net.UDPConn
	if err := cl.ns[0].Do(func() (err error) {
		c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tapB+":9")))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var offered atomic.Int64
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		payload := make([]byte, 1400)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 64 {
				if _, err := c.Write(payload); err == nil {
					offered.Add(int64(len(payload)))
				}
			}
		}
	}()
	start := time.Now()
	// Flood until the link has made a seed in each direction meanwhile
	// (bounded): the negotiation goes on under the load.
	for time.Since(start) < 4*time.Second || !seedsGrew(t, cl, before) {
		if time.Since(start) > 2*time.Minute {
			close(stop)
			t.Fatalf("no new seed in each direction during 2 minutes of overload\nA:\n%s\nB:\n%s", cl.a.log, cl.b.log)
		}
		time.Sleep(250 * time.Millisecond)
	}
	close(stop)
	<-flooded
	el := time.Since(start)
	time.Sleep(200 * time.Millisecond) // what is queued drains
	after := [2]api.Link{cl.a.link(t), cl.b.link(t)}
	a, b := after[0].Client, after[1].Client
	t.Logf("offered %.0f Mbit/s for %v; A: in %d, dropped for capacity %d; B: out %d (%.0f Mbit/s), seeds A→B %d→%d, B→A %d→%d",
		float64(offered.Load())*8/el.Seconds()/1e6, el.Round(time.Millisecond), a.InPackets-before[0].Client.InPackets,
		a.Drops.Capacity-before[0].Client.Drops.Capacity, b.OutPackets-before[1].Client.OutPackets,
		float64(b.OutBytes-before[1].Client.OutBytes)*8/el.Seconds()/1e6,
		before[0].SeedsOwn, after[0].SeedsOwn, before[1].SeedsOwn, after[1].SeedsOwn)
	if a.Drops.Capacity == before[0].Client.Drops.Capacity {
		t.Errorf("A dropped nothing for capacity under a flood of %.0f Mbit/s", float64(offered.Load())*8/el.Seconds()/1e6)
	}
	if b.OutPackets == before[1].Client.OutPackets {
		t.Errorf("B delivered nothing during the flood")
	}
	if d := b.Drops.FCS + b.Drops.PFCS + b.Drops.Malformed + b.Drops.MTU; d != 0 && b.FramesLost == 0 {
		t.Errorf("B dropped %d damaged frames without a lost OTN frame: %+v", d, b.Drops)
	}
	if a.Drops.Total() != a.Drops.Capacity || lineDrops(a) != 0 {
		t.Logf("A: other drops %+v", a.Drops)
	}
	out, err := exec.Command("ip", "netns", "exec", cl.ns[0].Name, "ping", "-c", "5", "-i", "0.1", "-W", "2", "-q", tapB).CombinedOutput()
	if err != nil {
		t.Fatalf("ping after the flood: %v\n%s", err, out)
	}
	if cl.a.cmd.ProcessState != nil || cl.b.cmd.ProcessState != nil {
		t.Fatalf("a daemon exited\nA:\n%s\nB:\n%s", cl.a.log, cl.b.log)
	}
}

// seedsGrew reports whether both ends made a seed of their own direction
// since before.
func seedsGrew(t *testing.T, cl *clientLink, before [2]api.Link) bool {
	return cl.a.link(t).SeedsOwn > before[0].SeedsOwn && cl.b.link(t).SeedsOwn > before[1].SeedsOwn
}

func lastLines(b []byte, n int) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// TestClientRefused: otkd run --check with a client creates no interface;
// an interface of the client's name that is not a TAP stops otkd run with
// exit status 78 and one line naming the port's client, before any port
// runs.
func TestClientRefused(t *testing.T) {
	taptest.Skip(t)
	ns := taptest.New(t)
	a, _ := newLink(t)
	cfg, err := os.ReadFile(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("frame_rate = 2000\n"), []byte("frame_rate = 2000\nclient = \"tap:otkd0\"\n"), 1)
	if err := os.WriteFile(a.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) ([]byte, int) {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, otkdBin, "run", "--config", a.cfg}, args...)...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return out, ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out, 0
	}
	if out, code := run("--check"); code != 0 {
		t.Fatalf("--check: exit %d\n%s", code, out)
	}
	if exec.Command("ip", "-n", ns.Name, "link", "show", "otkd0").Run() == nil {
		t.Fatal("--check created the client interface")
	}
	ns.IP(t, "link", "add", "otkd0", "type", "veth", "peer", "name", "otkd0p")
	out, code := run()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if code != exitConfig || !strings.Contains(last, `port[0].client = "tap:otkd0"`) || !strings.Contains(last, "not a TAP") {
		t.Fatalf("a veth interface as the client: exit %d, want %d naming the client\n%s", code, exitConfig, out)
	}
	if strings.Contains(string(out), "port up") {
		t.Fatalf("a port ran before the client was refused\n%s", out)
	}
}

// socketBuffers makes sure the kernel grants the UDP line the 8 MB socket
// buffers it asks for (net.core.rmem_max and wmem_max are global, not per
// network namespace): with the common default cap of 208 KB, a dozen
// frames, a receiver that loses the CPU for a few milliseconds on a busy
// machine loses frames, and a ping with them. The old values come back at
// the end of the test.
func socketBuffers(t *testing.T) {
	t.Helper()
	const want = 8 << 20
	for _, key := range []string{"net.core.rmem_max", "net.core.wmem_max"} {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("%s: %v", key, err)
			continue
		}
		old := strings.TrimSpace(string(b))
		var v int
		fmt.Sscan(old, &v)
		if v >= want {
			continue
		}
		if err := os.WriteFile(path, []byte(fmt.Sprint(want)), 0o644); err != nil {
			t.Logf("%s: cannot raise it to %d: %v", key, want, err)
			continue
		}
		t.Logf("%s raised from %s to %d for the test", key, old, want)
		t.Cleanup(func() { os.WriteFile(path, []byte(old), 0o644) })
	}
}
