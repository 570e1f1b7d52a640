package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/shm"
)

// lockedBuf is a log sink shared by a daemon's goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningNode is one otkd of a test link, run in process.
type runningNode struct {
	name, cfg string
	log       *lockedBuf
	d         *Daemon
	cancel    context.CancelFunc
	done      chan error
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newTestLink writes the files of two nodes that form one link over
// loopback UDP, with a keyring on it.
func newTestLink(t *testing.T, window string) (a, b *runningNode) {
	t.Helper()
	base := t.TempDir()
	ports := [2]int{freeUDPPort(t), freeUDPPort(t)}
	names := [2]string{"a", "b"}
	var ids [2]handshake.Identity
	for i, n := range names {
		if err := os.Mkdir(filepath.Join(base, n), 0o700); err != nil {
			t.Fatal(err)
		}
		var err error
		if ids[i], err = handshake.Generate(config.UserID(n), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	nodes := [2]*runningNode{}
	for i, n := range names {
		dir := filepath.Join(base, n)
		if err := handshake.WritePrivateKey(filepath.Join(dir, "node.key"), ids[i].Priv); err != nil {
			t.Fatal(err)
		}
		if err := handshake.WritePublicKey(filepath.Join(dir, "peer.pub"), ids[1-i].Peer().Pub); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "kek"), bytes.Repeat([]byte{byte(i + 1)}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`[node]
name = %[1]q
private_key = %[2]q

[[port]]
name = "east"
id = 1
role = %[3]q
local = "127.0.0.1:%[4]d"
peer = "127.0.0.1:%[5]d"
peer_name = %[6]q
peer_public_key = %[7]q
frame_rate = 2000

[shm]
path = %[8]q
slots = 64

[store]
path = %[9]q
kek_file = %[10]q

[api]
socket = %[11]q

[controller]
store = %[12]q

[keyring]
enabled = true
port = "east"
window = %[13]q
keys_per_ring = 8
`, n, filepath.Join(dir, "node.key"), strings.ToUpper(n), ports[i], ports[1-i], names[1-i], filepath.Join(dir, "peer.pub"),
			filepath.Join(dir, "keys.shm"), filepath.Join(dir, "keys.db"), filepath.Join(dir, "kek"), filepath.Join(dir, "otkd.sock"),
			filepath.Join(dir, "controller.db"), window)
		path := filepath.Join(dir, "otkd.toml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &runningNode{name: n, cfg: path, log: &lockedBuf{}}
	}
	return nodes[0], nodes[1]
}

// start runs a new daemon from the node's configuration (its stores are
// kept from the previous run); beforeRun, if any, is called between Start
// (stores and keyring open) and Run (ports up).
func (n *runningNode) start(t *testing.T, beforeRun ...func()) {
	t.Helper()
	cfg, err := config.Load(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.d, err = New(cfg, NewLogs(n.log, slog.LevelDebug, false)); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range beforeRun {
		f()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.d.Run(ctx) }()
}

func (n *runningNode) stop(t *testing.T) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		t.Errorf("%s: Run: %v", n.name, err)
	}
	n.cancel = nil
}

// grepLog returns the lines of n's log that contain text.
func grepLog(n *runningNode, text string) string {
	var out []string
	for _, l := range strings.Split(n.log.String(), "\n") {
		if strings.Contains(l, text) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func pollDaemons(t *testing.T, what string, cond func() bool, nodes ...*runningNode) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a bound for a stuck run, not a timing
	for !cond() {
		if time.Now().After(deadline) {
			for _, n := range nodes {
				lines := strings.Split(n.log.String(), "\n")
				t.Logf("%s's log (last lines):\n%s", n.name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeyringRestartDaemons: two otkd run daemons; B stops while A binds
// and releases consumers; B's next run gets every message, once, after the
// new session, and publishes A's key for the consumer that is still bound.
func TestKeyringRestartDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two daemons negotiating seeds")
	}
	a, b := newTestLink(t, "6s")
	a.start(t)
	b.start(t)
	defer a.stop(t)
	defer b.stop(t)
	ctx := context.Background()
	pollDaemons(t, "both ends fill the current ring alike", func() bool {
		sa, errA := a.d.keyring().KeyringStatus(ctx, "")
		sb, errB := b.d.keyring().KeyringStatus(ctx, "")
		if errA != nil || errB != nil || sa.Current != sb.Current {
			return false
		}
		ra, rb := sa.Rings[sa.Current], sb.Rings[sb.Current]
		ks, _ := a.d.keyring().KeyringSync(ctx, "")
		return ra.Filled && rb.Filled && ra.Epoch == rb.Epoch && ra.SeedID == rb.SeedID && ks.Pending == 0
	}, a, b)

	b.stop(t)
	k7, err := a.d.keyring().KeyringConnect(ctx, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.d.keyring().KeyringConnect(ctx, "", 8); err != nil {
		t.Fatal(err)
	}
	if err := a.d.keyring().KeyringDisconnect(ctx, "", 8); err != nil {
		t.Fatal(err)
	}
	if ks, _ := a.d.keyring().KeyringSync(ctx, ""); ks.Pending < 3 {
		t.Fatalf("A's sync while B is down: %+v", ks)
	}

	b.start(t)
	pollDaemons(t, "B, restarted, binds consumer 7 to A's key and not consumer 8", func() bool {
		k, err := b.d.keyring().KeyringLookup(ctx, "", 7)
		_, err8 := b.d.keyring().KeyringLookup(ctx, "", 8)
		ks, _ := a.d.keyring().KeyringSync(ctx, "")
		return err == nil && k.ID == k7.ID && errors.Is(err8, api.ErrNotFound) && ks.Pending == 0
	}, a, b)
	bs, err := b.d.keyring().KeyringSync(ctx, "")
	if err != nil || bs.PeerRejected != 0 || bs.PeerBinds != 2 {
		t.Fatalf("B's sync: %+v, %v\n%s", bs, err, grepLog(b, "keyring"))
	}
	r, err := shm.Open(b.d.cfg.Shm.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var key shm.Key
	if err := r.Bound(7, &key); err != nil || key.ID != k7.ID {
		t.Fatalf("B's shm: consumer 7 → %v (%v), want key %s", key, err, k7.Fingerprint)
	}
	if !strings.Contains(a.log.String(), "keyring messages sent again") {
		t.Fatal("A's log does not say it resent")
	}

	// Consumer 9 connects at A while B is down, and at B before B's port
	// is up: each end binds its own key; A's wins at both.
	b.stop(t)
	k9, err := a.d.keyring().KeyringConnect(ctx, "", 9)
	if err != nil {
		t.Fatal(err)
	}
	var own keyringsvc.KeyringKey
	b.start(t, func() {
		if own, err = b.d.keyring().KeyringConnect(ctx, "", 9); err != nil {
			t.Fatal(err)
		}
	})
	if own.ID == k9.ID {
		t.Fatal("B bound A's key before hearing from A")
	}
	pollDaemons(t, "consumer 9 holds A's key at both ends", func() bool {
		ka, errA := a.d.keyring().KeyringLookup(ctx, "", 9)
		kb, errB := b.d.keyring().KeyringLookup(ctx, "", 9)
		sa, _ := a.d.keyring().KeyringSync(ctx, "")
		sb, _ := b.d.keyring().KeyringSync(ctx, "")
		return errA == nil && errB == nil && ka.ID == k9.ID && kb.ID == k9.ID && sa.Pending == 0 && sb.Pending == 0
	}, a, b)
	sa, _ := a.d.keyring().KeyringSync(ctx, "")
	sb, _ := b.d.keyring().KeyringSync(ctx, "")
	if sa.TieBreaks != 1 || sb.TieBreaks != 1 {
		t.Fatalf("tie-breaks: A %+v, B %+v", sa, sb)
	}
	r2, err := shm.Open(b.d.cfg.Shm.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.Bound(9, &key); err != nil || key.ID != k9.ID {
		t.Fatalf("B's shm: consumer 9 → %v (%v), want A's key %s", key, err, k9.Fingerprint)
	}
	if err := r2.KeyByID(own.ID, &key); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("B's own key %s still in its shm: %v", own.Fingerprint, err)
	}
	if !strings.Contains(b.log.String(), "end A's key kept") {
		t.Fatal("B's log does not report the tie-break")
	}
}

// TestKeyringNewPoolFillsAtOnce: two daemons with a pool of one-hour
// windows and no state. Before the link has a seed a connect is refused
// with the time to wait until (RFC 3339, the next window's start); once the
// first seed is there, end A fills the current window's ring (it does not
// wait for the next window), end B follows A's fill, and consumers connect
// at both ends.
func TestKeyringNewPoolFillsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two daemons negotiating seeds")
	}
	a, b := newTestLink(t, "1h")
	ctx := context.Background()
	var early error
	a.start(t, func() { _, early = a.d.keyring().KeyringConnect(ctx, "", 7) }) // ports not up yet: no seed
	defer a.stop(t)
	b.start(t)
	defer b.stop(t)
	if !errors.Is(early, api.ErrConflict) || !strings.Contains(early.Error(), "not filled") ||
		!strings.Contains(early.Error(), "or until the link has a seed") {
		t.Fatalf("connect before any seed: %v", early)
	}
	m := regexp.MustCompile(`wait until (\S+) `).FindStringSubmatch(early.Error())
	if m == nil {
		t.Fatalf("no time to wait until in %q", early)
	}
	until, err := time.Parse(time.RFC3339, m[1])
	if err != nil || until.Truncate(time.Hour) != until || until.Sub(time.Now()) > time.Hour {
		t.Fatalf("wait until %q (%v): want the next full hour in RFC 3339", m[1], err)
	}

	var k7 keyringsvc.KeyringKey
	pollDaemons(t, "end A binds consumer 7 once the link has a seed", func() bool {
		k7, err = a.d.keyring().KeyringConnect(ctx, "", 7)
		return err == nil
	}, a, b)
	t.Logf("before the first seed: %v", early)
	if now := time.Now(); k7.ValidFrom.After(now) || now.Sub(k7.ValidFrom) >= time.Hour {
		t.Fatalf("consumer 7's key is valid from %v: want the current window (now %v)", k7.ValidFrom, now)
	}
	pollDaemons(t, "end B fills as A said and binds consumer 7 to A's key", func() bool {
		k, err := b.d.keyring().KeyringLookup(ctx, "", 7)
		return err == nil && k.ID == k7.ID
	}, a, b)
	k8, err := b.d.keyring().KeyringConnect(ctx, "", 8)
	if err != nil || k8.Epoch != k7.Epoch || k8.ID == k7.ID {
		t.Fatalf("end B's own connect: %+v, %v (A's key %+v)", k8, err, k7)
	}
}
