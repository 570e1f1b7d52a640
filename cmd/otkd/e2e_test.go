package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/internal/asmswitch"
	"github.com/otkd/otkd/internal/testmain"
	"github.com/otkd/otkd/shm"
)

var otkdBin, otkctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otkd-e2e-bin")
	if err != nil {
		panic(err)
	}
	otkdBin, otkctlBin = filepath.Join(dir, "otkd"), filepath.Join(dir, "otkctl")
	for bin, pkg := range map[string]string{otkdBin: ".", otkctlBin: "../otkctl"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			panic(err)
		}
	}
	code := testmain.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is one end's files and process.
type node struct {
	name, dir, cfg, sock, shm, metrics string
	netns                              string // the network namespace it runs in; "" for the test's own
	cmd                                *exec.Cmd
	log                                *syncBuf
}

// syncBuf is a log buffer the process's output copier and the test share.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (n *node) logString() string { return n.log.String() }

// listensOn reports whether a daemon's log says it listens for metrics on
// addr.
func listensOn(log, addr string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "metrics listening") && strings.Contains(l, addr) {
			return true
		}
	}
	return false
}

// handedOut holds every port freeUDP and freeTCP have returned in this
// process: the kernel may give a port that was just closed to the next
// bind(0), so two nodes asking one after the other could be handed the
// same one (a daemon that cannot listen on its metrics port retries, and
// the test then reads the other daemon's metrics).
var handedOut struct {
	sync.Mutex
	ports map[string]bool
}

// freePort returns a port of network that nothing listened on a moment ago
// and that this process has not handed out before.
func freePort(t *testing.T, network string) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[string]bool{}
	}
	for range 100 {
		var port int
		switch network {
		case "udp":
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			port = c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
		default:
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		if key := fmt.Sprint(network, port); !handedOut.ports[key] {
			handedOut.ports[key] = true
			return port
		}
	}
	t.Fatalf("no %s port that was not handed out before", network)
	return 0
}

func freeUDP(t *testing.T) int { return freePort(t, "udp") }

func freeTCP(t *testing.T) int { return freePort(t, "tcp") }

// newLink makes the files of two nodes a (role A) and b that form one link
// over loopback UDP.
func newLink(t *testing.T) (a, b *node) {
	t.Helper()
	base := t.TempDir()
	ports := [2]int{freeUDP(t), freeUDP(t)}
	tag := fmt.Sprintf("otkd-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	nodes := [2]*node{}
	for i, name := range []string{"a", "b"} {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{name: name, dir: dir, cfg: filepath.Join(dir, "otkd.toml"), sock: filepath.Join(dir, "otkd.sock"),
			shm: filepath.Join("/dev/shm", tag+"-"+name), metrics: fmt.Sprintf("127.0.0.1:%d", freeTCP(t))}
		t.Cleanup(func() { os.Remove(nodes[i].shm); os.Remove(nodes[i].shm + ".lock") })
	}
	for i, n := range nodes {
		peer := nodes[1-i]
		runBin(t, otkdBin, "keygen", "--name", n.name, "--private", filepath.Join(n.dir, "node.key"), "--public", filepath.Join(peer.dir, "peer.pub"))
		if err := os.WriteFile(filepath.Join(n.dir, "kek"), bytes.Repeat([]byte{byte(i + 1)}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range nodes {
		peer := nodes[1-i]
		cfg := fmt.Sprintf(`[node]
name = %q
private_key = "node.key"

[[port]]
name = "east"
id = 1
role = %q
local = "127.0.0.1:%d"
peer = "127.0.0.1:%d"
peer_name = %q
peer_public_key = "peer.pub"
frame_rate = 2000

[shm]
path = %q
slots = 64

[store]
path = "keys.db"
kek_file = "kek"

[api]
socket = %q

[metrics]
listen = %q
`, n.name, strings.ToUpper(n.name), ports[i], ports[1-i], peer.name, n.shm, n.sock, n.metrics)
		if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return nodes[0], nodes[1]
}

func runBin(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return out
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.log = &syncBuf{}
	n.cmd = exec.Command(otkdBin, "run", "--config", n.cfg)
	if n.netns != "" {
		n.cmd = exec.Command("ip", "netns", "exec", n.netns, otkdBin, "run", "--config", n.cfg) // ip execs otkd: same pid
	}
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
			n.cmd.Wait()
		}
	})
}

// stop sends SIGTERM and expects a clean exit.
func (n *node) stop(t *testing.T) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	if err := n.cmd.Wait(); err != nil {
		t.Fatalf("%s: exit after SIGTERM: %v\n%s", n.name, err, n.log)
	}
}

// keys asks the daemon through otkctl (the real binary).
func (n *node) keys(t *testing.T) []api.KeyInfo {
	t.Helper()
	out, err := exec.Command(otkctlBin, "keys", "--json", "--socket", n.sock).Output()
	if err != nil {
		return nil // not up yet
	}
	var ks []api.KeyInfo
	if err := json.Unmarshal(out, &ks); err != nil {
		var wrapped struct{ Keys []api.KeyInfo }
		if json.Unmarshal(out, &wrapped) != nil {
			t.Fatalf("otkctl keys --json: %v\n%s", err, out)
		}
		ks = wrapped.Keys
	}
	return ks
}

// active returns the fingerprint and epoch of the active key per direction.
func active(ks []api.KeyInfo) (fp [2]string, ep [2]int) {
	for _, k := range ks {
		if k.State != "active" {
			continue
		}
		d := 0
		if k.Direction == "BA" {
			d = 1
		}
		fp[d], ep[d] = k.Fingerprint, int(k.Epoch)
	}
	return fp, ep
}

// waitAgree waits until both daemons show the same active keys in both
// directions at an epoch of at least minEpoch (epoch 1 comes from the
// handshake, later ones from negotiated seeds).
func waitAgree(t *testing.T, a, b *node, minEpoch int) [2]string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute) // a bound on a hang, not a performance assertion
	for time.Now().Before(deadline) {
		fa, ea := active(a.keys(t))
		fb, eb := active(b.keys(t))
		if fa == fb && fa[0] != "" && fa[1] != "" && ea[0] >= minEpoch && ea[1] >= minEpoch && ea == eb {
			return fa
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the daemons never agreed on keys of epoch ≥ %d\nA:\n%s\nB:\n%s", minEpoch, a.log, b.log)
	return [2]string{}
}

// waitNew waits until both agree on keys other than old.
func waitNew(t *testing.T, a, b *node, old [2]string) [2]string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if fp := waitAgree(t, a, b, 1); fp[0] != old[0] && fp[1] != old[1] {
			return fp
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no new keys in both directions after %v", old)
	return old
}

// shmIDs lists the ids of the keys in a store file.
func shmIDs(t *testing.T, path string) map[uint64]bool {
	t.Helper()
	r, err := shm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ids := map[uint64]bool{}
	var k shm.Key
	for i := range r.Slots() {
		if r.Slot(i, &k) == nil && k.State != shm.StateEmpty {
			ids[k.ID] = true
		}
	}
	k.Zero()
	if len(ids) == 0 {
		t.Fatalf("%s holds no keys", path)
	}
	return ids
}

// shmActive reads the active key of each direction straight from a store
// file, as a plugin would.
func shmActive(t *testing.T, path string) [2][]byte {
	t.Helper()
	r, err := shm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [2][]byte
	for d := range 2 {
		var k shm.Key
		if err := r.ActiveKey(1, shm.Dir(d), &k); err != nil {
			t.Fatalf("%s: active key %d: %v", path, d, err)
		}
		out[d] = append([]byte(nil), k.Material()...)
		k.Zero()
	}
	return out
}

// TestTwoDaemons is the acceptance test of the daemon: two otkd run
// processes on loopback UDP negotiate the same keys, plugins reading each
// shm file get identical active keys, and a SIGTERM plus restart of one end
// resumes negotiation without losing stored keys.
func TestTwoDaemons(t *testing.T) {
	a, b := newLink(t)
	a.start(t)
	b.start(t)
	fps := waitAgree(t, a, b, 2)
	ka, kb := shmActive(t, a.shm), shmActive(t, b.shm)
	for d := range 2 {
		if !bytes.Equal(ka[d], kb[d]) {
			// Between the two reads a switch may have happened; retry once.
			fps = waitAgree(t, a, b, 2)
			ka, kb = shmActive(t, a.shm), shmActive(t, b.shm)
			if !bytes.Equal(ka[d], kb[d]) {
				t.Fatalf("direction %d: A's and B's shm files hold different active keys", d)
			}
		}
	}
	t.Logf("agreed on %v", fps)

	// Stop both; restart A alone (no peer, so no new session can publish
	// anything): every key it had comes back from its encrypted store.
	b.stop(t)
	a.stop(t)
	stored := shmIDs(t, a.shm)
	a.start(t)
	var after []api.KeyInfo
	for after == nil {
		time.Sleep(50 * time.Millisecond)
		after = a.keys(t)
	}
	got := map[uint64]bool{}
	for _, k := range after {
		got[k.ID] = true
	}
	if len(got) != len(stored) {
		t.Fatalf("restarted A has %d keys, had %d", len(got), len(stored))
	}
	for id := range stored {
		if !got[id] {
			t.Fatalf("restarted A lost stored key %d", id)
		}
	}
	// B comes back: the link negotiates new keys.
	b.start(t)
	fps2 := waitNew(t, a, b, fps)
	t.Logf("after restarting both: agreed on %v", fps2)
	// SIGTERM of one end only, then restart: negotiation resumes.
	a.stop(t)
	a.start(t)
	fps3 := waitNew(t, a, b, fps2)
	t.Logf("after restarting A: agreed on %v", fps3)
	out := runBin(t, otkctlBin, "store", "verify", "--json", "--socket", a.sock)
	var rep api.StoreReport
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK {
		t.Fatalf("store verify: %v %s", err, out)
	}
	if strings.Contains(a.log.String(), "level=ERROR") || strings.Contains(b.log.String(), "level=ERROR") {
		t.Errorf("errors logged:\nA:\n%s\nB:\n%s", a.log, b.log)
	}
	a.stop(t)
	b.stop(t)
}

// TestBadInput: a bad configuration, a second daemon on the same files, a
// foreign sender and bad API requests all get clear errors and change
// nothing.
func TestBadInput(t *testing.T) {
	a, b := newLink(t)

	bad := filepath.Join(a.dir, "bad.toml")
	cfg, _ := os.ReadFile(a.cfg)
	os.WriteFile(bad, bytes.Replace(cfg, []byte(`role = "A"`), []byte(`role = "C"`), 1), 0o600)
	cmd := exec.Command(otkdBin, "run", "--config", bad)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitConfig || !strings.Contains(string(out), "port[0].role") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
	if _, err := os.Stat(a.shm); err == nil {
		t.Fatal("a bad configuration created the shm file")
	}
	if _, err := os.Stat(a.sock); err == nil {
		t.Fatal("a bad configuration created the API socket")
	}

	a.start(t)
	b.start(t)
	waitAgree(t, a, b, 1)

	// A second daemon on A's files.
	out, err = exec.Command(otkdBin, "run", "--config", a.cfg).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("second daemon: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "another") && !strings.Contains(string(out), "locked") && !strings.Contains(string(out), "in use") {
		t.Fatalf("second daemon's error does not say the files are in use: %s", out)
	}
	if ks := a.keys(t); len(ks) == 0 {
		t.Fatal("the first daemon lost its keys to the second")
	}

	// Datagrams from an unknown peer are dropped and counted.
	cfgA, _ := os.ReadFile(a.cfg)
	var local int
	fmt.Sscanf(string(cfgA[bytes.Index(cfgA, []byte("local = \"127.0.0.1:"))+len("local = \"127.0.0.1:"):]), "%d", &local)
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: local})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c.Write(make([]byte, 16830))
	}
	c.Close()
	deadline := time.Now().Add(time.Minute)
	for !hasSample(metrics(t, a), `otkd_line_dropped_total{port="east",reason="foreign"} 5`) {
		if time.Now().After(deadline) {
			t.Fatalf("foreign datagrams not counted:\n%s", metrics(t, a))
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkMetricsDocumented(t, metrics(t, a))

	// SIGHUP: a reloadable change applies, another is refused by name.
	orig, _ := os.ReadFile(a.cfg)
	os.WriteFile(a.cfg, append(append([]byte(nil), orig...), []byte("\n[log]\nlevel = \"debug\"\n")...), 0o600)
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, a, "configuration reloaded")
	os.WriteFile(a.cfg, bytes.Replace(orig, []byte("frame_rate = 2000"), []byte("frame_rate = 3000"), 1), 0o600)
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, a, "port[0].frame_rate")
	os.WriteFile(a.cfg, orig, 0o600)

	// Bad API requests.
	cmd = exec.Command(otkctlBin, "rotate", "--port", "nosuch", "--socket", a.sock)
	out, err = cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(string(out), "unknown port: nosuch") {
		t.Fatalf("rotate of an unknown port: %v\n%s", err, out)
	}
	a.stop(t)
	b.stop(t)
}

// waitLog waits for text in a daemon's log.
func waitLog(t *testing.T, n *node, text string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(n.logString(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q:\n%s", n.name, text, n.logString())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func metrics(t *testing.T, n *node) string {
	t.Helper()
	// Scrape only once n itself listens there: its metrics worker retries
	// a port it could not take, and whatever holds that port meanwhile
	// (another daemon of the test) must not be read as n.
	deadline := time.Now().Add(30 * time.Second)
	for !listensOn(n.logString(), n.metrics) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened for metrics on %s:\n%s", n.name, n.metrics, n.logString())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get("http://" + n.metrics + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return buf.String()
}

// TestDemo is the README's first command, shortened.
func TestDemo(t *testing.T) {
	dur := "10s"
	if testing.Short() {
		dur = "4s"
	}
	checkDemo(t, dur)
}

// TestKernelSwitch runs the demo with every assembly kernel switched off
// (OTKD_NOASM=all: the pure-Go twins on the whole frame path), and checks
// that a value naming no kernel is refused before anything runs.
func TestKernelSwitch(t *testing.T) {
	checkDemo(t, "4s", asmswitch.Env+"=all")
	cmd := exec.Command(otkdBin, "demo", "--duration", "1s")
	cmd.Env = append(os.Environ(), asmswitch.Env+"=fec,avx9")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), `"avx9"`) {
		t.Fatalf("OTKD_NOASM=fec,avx9: %v, want exit %d naming avx9\n%s", err, exitUsage, out)
	}
}

// checkDemo runs otkd demo for dur with extra environment variables and
// checks its JSON summary: keys in both directions, no mismatch.
func checkDemo(t *testing.T, dur string, env ...string) {
	t.Helper()
	cmd := exec.Command(otkdBin, "demo", "--duration", dur, "--json")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("otkd demo: %v\n%s", err, out)
	}
	var sum struct {
		OK         bool `json:"ok"`
		Directions []struct {
			Mismatches  int `json:"mismatches"`
			KeySwitches int `json:"key_switches"`
		} `json:"directions"`
		Client *struct {
			Directions []struct {
				Delivered uint64 `json:"frames_delivered"`
				Corrupted uint64 `json:"frames_corrupted"`
				Reordered uint64 `json:"frames_reordered"`
			} `json:"directions"`
			Explained bool   `json:"losses_explained"`
			Line      string `json:"line"`
		} `json:"client"`
	}
	if err := json.Unmarshal(out, &sum); err != nil || !sum.OK || len(sum.Directions) != 2 {
		t.Fatalf("demo summary: %v\n%s", err, out)
	}
	// "->" as is, not \u003e; no path of the temporary stores, removed
	// when the demo ends.
	if s := string(out); !strings.Contains(s, `"name": "A->B"`) || strings.Contains(s, `\u003e`) || strings.Contains(s, `"files"`) {
		t.Fatalf("demo JSON escapes \"->\" or names removed files:\n%s", out)
	}
	for d, x := range sum.Directions {
		if x.Mismatches != 0 || x.KeySwitches == 0 {
			t.Fatalf("direction %d: %+v", d, x)
		}
	}
	// Client traffic crossed both ways, nothing corrupted, every loss
	// explained by damage on the fibre.
	if sum.Client == nil || len(sum.Client.Directions) != 2 || !sum.Client.Explained {
		t.Fatalf("demo client traffic: %s", out)
	}
	for d, x := range sum.Client.Directions {
		if x.Delivered == 0 || x.Corrupted != 0 || x.Reordered != 0 {
			t.Fatalf("client direction %d: %+v (%s)", d, x, sum.Client.Line)
		}
	}
	t.Logf("client: %s", sum.Client.Line)
}
