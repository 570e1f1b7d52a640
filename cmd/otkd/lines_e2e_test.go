package main

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/line/xdp"
)

// vethNet is two network namespaces joined by one veth pair (the pattern
// of dataplane/line/internal/vethtest, which only the line packages may
// import): unique names, deleted by t.Cleanup with their interfaces.
type vethNet struct {
	ns  [2]string
	dev [2]string
	mac [2]net.HardwareAddr
	ip  [2]string
}

func newVethNet(t *testing.T) *vethNet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veth)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) (iproute2)")
	}
	var b [3]byte
	crand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	n := &vethNet{
		ns:  [2]string{"otkde-" + tok + "-a", "otkde-" + tok + "-b"},
		dev: [2]string{"ea" + tok, "eb" + tok},
		mac: [2]net.HardwareAddr{{0x02, 0x4e, b[0], b[1], b[2], 0x0a}, {0x02, 0x4e, b[0], b[1], b[2], 0x0b}},
		ip:  [2]string{"169.254.78.1", "169.254.78.2"},
	}
	ipCmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	for _, ns := range n.ns {
		ipCmd("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd("link", "add", n.dev[0], "netns", n.ns[0], "address", n.mac[0].String(),
		"type", "veth", "peer", "name", n.dev[1], "netns", n.ns[1], "address", n.mac[1].String())
	for i := range 2 {
		ipCmd("-n", n.ns[i], "link", "set", "lo", "up")
		ipCmd("-n", n.ns[i], "addr", "add", n.ip[i]+"/24", "dev", n.dev[i])
		ipCmd("-n", n.ns[i], "link", "set", n.dev[i], "up")
		ipCmd("-n", n.ns[i], "neigh", "replace", n.ip[1-i], "lladdr", n.mac[1-i].String(), "dev", n.dev[i], "nud", "permanent")
	}
	return n
}

// in runs f on a thread inside namespace i.
func (n *vethNet) in(i int, f func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(self)
	target, err := unix.Open("/var/run/netns/"+n.ns[i], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return err // the thread stays locked: the runtime ends it
	}
	runtime.UnlockOSThread()
	return ferr
}

// metrics reads the /metrics page of the otkd in namespace i (listening on
// 127.0.0.1:9464 there): one HTTP/1.0 GET over a socket made inside it.
func (n *vethNet) metrics(t *testing.T, i int) string {
	t.Helper()
	var page []byte
	err := n.in(i, func() error {
		c, err := net.DialTimeout("tcp4", "127.0.0.1:9464", 5*time.Second) // one address: dialled on this thread
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")); err != nil {
			return err
		}
		page, err = io.ReadAll(c)
		return err
	})
	if err != nil {
		t.Fatalf("metrics in %s: %v", n.ns[i], err)
	}
	return string(page)
}

// newNSLink writes the files of two nodes whose one port runs over the
// given line between the two namespaces, with two frame workers.
func newNSLink(t *testing.T, n *vethNet, line string, batch int) (a, b *node) {
	t.Helper()
	base := t.TempDir()
	tag := fmt.Sprintf("otkd-lines-%d-%s", os.Getpid(), n.dev[0])
	nodes := [2]*node{}
	for i, name := range []string{"a", "b"} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{name: name, dir: dir, cfg: filepath.Join(dir, "otkd.toml"), sock: filepath.Join(dir, "otkd.sock"),
			shm: filepath.Join("/dev/shm", tag+"-"+name)}
		t.Cleanup(func() { os.Remove(nodes[i].shm); os.Remove(nodes[i].shm + ".lock") })
	}
	for i, nd := range nodes {
		peer := nodes[1-i]
		runBin(t, otkdBin, "keygen", "--name", nd.name, "--private", filepath.Join(nd.dir, "node.key"), "--public", filepath.Join(peer.dir, "peer.pub"))
		if err := os.WriteFile(filepath.Join(nd.dir, "kek"), bytes.Repeat([]byte{byte(i + 1)}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, nd := range nodes {
		lineKeys := fmt.Sprintf("local = \"%s:7400\"\npeer = \"%s:7400\"\n", n.ip[i], n.ip[1-i])
		if batch > 1 {
			lineKeys += fmt.Sprintf("batch = %d\nmax_delay = \"500us\"\n", batch)
		}
		if line == "xdp" {
			lineKeys = fmt.Sprintf("interface = %q\npeer_mac = %q\n", n.dev[i], n.mac[1-i])
		}
		cfg := fmt.Sprintf(`[node]
name = %q
private_key = "node.key"

[[port]]
name = "east"
id = 1
role = %q
line = %q
%speer_name = %q
peer_public_key = "peer.pub"
frame_rate = 5000
workers = 2

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
`, nd.name, strings.ToUpper(nd.name), line, lineKeys, nodes[1-i].name, nd.shm, nd.sock)
		if err := os.WriteFile(nd.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return nodes[0], nodes[1]
}

// startIn starts the node's otkd run inside namespace ns (ip netns exec
// execs it: the process is otkd itself).
func (nd *node) startIn(t *testing.T, ns string) {
	t.Helper()
	nd.log = &syncBuf{}
	nd.cmd = exec.Command("ip", "netns", "exec", ns, otkdBin, "run", "--config", nd.cfg)
	nd.cmd.Stdout, nd.cmd.Stderr = nd.log, nd.log
	if err := nd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if nd.cmd.ProcessState == nil {
			nd.cmd.Process.Signal(syscall.SIGKILL)
			nd.cmd.Wait()
		}
	})
}

// TestLinesInNamespaces: two otkd run, each in its own network namespace,
// joined by a veth pair, negotiate the same keys (epoch ≥ 2: from seeds
// made over the link) over each line type, the UDP line frame by frame,
// the UDP line batched and the AF_XDP line, with two frame workers per
// direction; each logs the line and the workers it runs. Needs root.
func TestLinesInNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		batch      int
	}{{"udp", "udp", 0}, {"udp-batch16", "udp", 16}, {"xdp", "xdp", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name != "udp-batch16" {
				t.Skip("-short: only the batched UDP line")
			}
			n := newVethNet(t)
			if tc.line == "xdp" {
				err := n.in(0, func() error {
					l, err := xdp.Open(xdp.Config{Interface: n.dev[0], Peer: n.mac[1]})
					if err == nil {
						l.Close()
					}
					return err
				})
				if errors.Is(err, xdp.ErrUnsupported) {
					t.Skipf("AF_XDP here: %v", err)
				}
				if err != nil {
					t.Fatalf("AF_XDP line in the namespace: %v", err)
				}
			}
			a, b := newNSLink(t, n, tc.line, tc.batch)
			a.startIn(t, n.ns[0])
			b.startIn(t, n.ns[1])
			fps := waitAgree(t, a, b, 2)
			t.Logf("%s: agreed on %v", tc.name, fps)
			for i, nd := range []*node{a, b} {
				log := nd.logString()
				if !strings.Contains(log, "workers=2") || !strings.Contains(log, "line=\""+tc.line) {
					t.Fatalf("%s: the start log does not name the line and the workers:\n%s", nd.name, log)
				}
				m := n.metrics(t, i)
				get := func(sample string) float64 {
					v, ok := metricValue(m, sample)
					if !ok {
						t.Fatalf("%s: no %s in the metrics:\n%s", nd.name, sample, m)
					}
					return v
				}
				lb := `{port="east"`
				if get("otkd_port_workers"+lb+"}") != 2 {
					t.Fatalf("%s: otkd_port_workers is not 2", nd.name)
				}
				sent := get("otkd_line_frames_total" + lb + `,dir="tx"}`)
				switch {
				case tc.line == "xdp":
					if chunks := get("otkd_xdp_chunks_sent_total" + lb + "}"); chunks < 2*sent || sent == 0 {
						t.Fatalf("%s: %v frames sent in %v chunks", nd.name, sent, chunks)
					}
					get("otkd_xdp_frames_dropped_total" + lb + `,reason="incomplete"}`)
				case tc.batch > 1:
					// Paced at 5000 frames/s the batch leaves when
					// max_delay (500 µs) runs out: about 2.5 frames a call.
					if calls := get("otkd_line_syscalls_total" + lb + `,dir="tx"}`); sent < 1.5*calls || sent == 0 {
						t.Fatalf("%s: %v frames in %v send calls: not batched", nd.name, sent, calls)
					}
				default:
					if calls := get("otkd_line_syscalls_total" + lb + `,dir="tx"}`); calls != sent {
						t.Fatalf("%s: %v frames in %v send calls, want one each", nd.name, sent, calls)
					}
				}
			}
			a.stop(t)
			b.stop(t)
		})
	}
}

// TestCheckLineKeys: `otkd run --check` takes a port on the AF_XDP line
// with workers and cpus without opening anything (no interface is needed,
// no file, socket or map is made), and refuses each bad line or worker key
// with one line naming it and exit status 78.
func TestCheckLineKeys(t *testing.T) {
	dir, cfgs := exampleFixture(t)
	xdpPort := strings.NewReplacer(`line = "udp"`, `line = "xdp"`, `local = "127.0.0.1:7400"`, `interface = "nosuchif0"`,
		`peer = "127.0.0.1:7401"`, `peer_mac = "02:00:00:00:00:02"`+"\nworkers = 2\ncpus = [0]").Replace(cfgs["a"])
	if !strings.Contains(xdpPort, `interface = "nosuchif0"`) || !strings.Contains(xdpPort, "cpus = [0]") {
		t.Fatal("the example's port keys moved; update the test")
	}
	path := filepath.Join(dir, "a", "xdp.toml")
	for _, tc := range []struct{ name, cfg, field string }{
		{"valid", xdpPort, ""},
		{"cpu not allowed", strings.Replace(xdpPort, "cpus = [0]", "cpus = [1023]", 1), "port[0].cpus"},
		{"no peer_mac", strings.Replace(xdpPort, `peer_mac = "02:00:00:00:00:02"`, "", 1), "port[0].peer_mac"},
		{"udp key on xdp", strings.Replace(xdpPort, "workers = 2", "workers = 2\nbatch = 8", 1), "port[0].batch"},
		{"workers", strings.Replace(xdpPort, "workers = 2", "workers = 100", 1), "port[0].workers"},
		{"batch too large", strings.Replace(cfgs["a"], `line = "udp"`, "line = \"udp\"\nbatch = 65", 1), "port[0].batch"},
	} {
		if err := os.WriteFile(path, []byte(tc.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, e := runMain("run", "--config", path, "--check")
		if tc.field == "" {
			if code != 0 || !strings.Contains(out, "configuration ok") {
				t.Fatalf("%s: exit %d %q %q", tc.name, code, out, e)
			}
			continue
		}
		checkRefusal(t, tc.name, code, out, e)
		if code != 78 || !strings.Contains(e, tc.field) {
			t.Fatalf("%s: exit %d, %q: want 78 naming %s", tc.name, code, e, tc.field)
		}
	}
	for _, f := range []string{"keys.shm", "otkd.sock", "keys.db"} {
		if _, err := os.Stat(filepath.Join(dir, "a", f)); err == nil {
			t.Fatalf("--check made %s", f)
		}
	}
}
