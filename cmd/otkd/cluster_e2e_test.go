package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/cluster/fleet"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/link/handshake"
)

// clusterPrefix is the etcd prefix of the tests' fleets (not the default,
// so the setting is exercised).
const clusterPrefix = "/otkd-e2e/"

// newFleet makes the files of three otkd on one etcd cluster: a and b are
// the two ends of a link over loopback UDP, c has a port whose other end
// ("d") never runs. Each has its own stores and socket; the controller
// store of all three is the etcd cluster (TLS with the cluster's client
// certificate), with a lease of 2 s. extra is appended to every
// configuration (a [sync] table).
func newFleet(t *testing.T, ec *etcdtest.Cluster, extra string) []*node {
	t.Helper()
	a, b := newLink(t)
	base := filepath.Dir(a.dir)
	c := &node{name: "c", dir: filepath.Join(base, "c"), sock: filepath.Join(base, "c", "otkd.sock"),
		shm: a.shm[:len(a.shm)-1] + "c", metrics: fmt.Sprintf("127.0.0.1:%d", freeTCP(t))}
	c.cfg = filepath.Join(c.dir, "otkd.toml")
	t.Cleanup(func() { os.Remove(c.shm); os.Remove(c.shm + ".lock") })
	if err := os.Mkdir(c.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	runBin(t, otkdBin, "keygen", "--name", "c", "--private", filepath.Join(c.dir, "node.key"), "--public", filepath.Join(base, "c-for-d.pub"))
	runBin(t, otkdBin, "keygen", "--name", "d", "--private", filepath.Join(base, "d.key"), "--public", filepath.Join(c.dir, "peer.pub"))
	if err := os.WriteFile(filepath.Join(c.dir, "kek"), bytes.Repeat([]byte{3}, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`[node]
name = "c"
private_key = "node.key"

[[port]]
name = "east"
id = 1
role = "A"
local = "127.0.0.1:%d"
peer = "127.0.0.1:%d"
peer_name = "d"
peer_public_key = "peer.pub"
frame_rate = 500

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
`, freeUDP(t), freeUDP(t), c.shm, c.sock, c.metrics)
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	endpoints, _ := json.Marshal(ec.Endpoints)
	etcd := fmt.Sprintf(`
[controller]
store = "etcd"

[controller.etcd]
endpoints = %s
ca_file = %q
cert_file = %q
key_file = %q
prefix = %q
lease_ttl = "2s"
request_timeout = "3s"
`, endpoints, ec.CAFile, ec.CertFile, ec.KeyFile, clusterPrefix)
	nodes := []*node{a, b, c}
	for _, n := range nodes {
		f, err := os.OpenFile(n.cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.WriteString(f, etcd+extra)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// kill SIGKILLs n: no shutdown, its lease stays in etcd until it expires.
func (n *node) kill(t *testing.T) {
	t.Helper()
	n.cmd.Process.Kill()
	n.cmd.Wait()
}

// fleetView runs otkctl fleet --json at n (false while n does not answer).
func fleetView(t *testing.T, n *node, args ...string) (fleet.View, bool) {
	t.Helper()
	var v fleet.View
	code, _ := n.otkctlJSON(t, &v, append([]string{"fleet"}, args...)...)
	return v, code == 0
}

func viewNode(v fleet.View, name string) *fleet.NodeView {
	for i := range v.Nodes {
		if v.Nodes[i].Name == name {
			return &v.Nodes[i]
		}
	}
	return nil
}

func viewLink(v fleet.View, node string) *fleet.Link {
	for i := range v.Links {
		if v.Links[i].A.Node == node || v.Links[i].B.Node == node {
			return &v.Links[i]
		}
	}
	return nil
}

// TestClusterFleet: three otkd run processes on a 3-member etcd (two ends
// of a link and one more) show up in otkctl fleet with their ports and the
// link's key metadata per direction (epoch and fingerprint of the keys the
// ends use, last seed and switch), in the JSON and the table, and in each
// node's metrics; a record planted in etcd that does not decode shows as
// an error of its node, nothing else changes. SIGKILL of c marks it stale
// (and its link) once its 2 s lease expires; a's and b's link stays
// fresh; SIGTERM of b revokes its lease: it and the link turn stale.
func TestClusterFleet(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{TLS: true})
	nodes := newFleet(t, ec, `
[keyring]
enabled = true
port = "east"
window = "4s"
keys_per_ring = 8
`)
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, n := range nodes {
		n.start(t)
	}
	t0 := time.Now()
	fps := waitAgree(t, a, b, 2) // keys from negotiated seeds in both directions
	t.Logf("a and b agree on keys of seeds after %v", time.Since(t0).Round(100*time.Millisecond))
	var v fleet.View
	poll(t, "the fleet shows three live nodes and a's link with both ends' seeds and switches", time.Minute, func() bool {
		var ok bool
		if v, ok = fleetView(t, c); !ok || len(v.Nodes) != 3 {
			return false
		}
		for _, n := range v.Nodes {
			if !n.Alive || n.Stale {
				return false
			}
		}
		l := viewLink(v, "a")
		if l == nil || l.Stale || len(l.Directions) != 2 {
			return false
		}
		for _, d := range l.Directions {
			if d.Epoch < 2 || d.Fingerprint == "" || d.LastSeed.IsZero() || d.LastSwitch.IsZero() || d.Seeds == 0 {
				return false
			}
		}
		return true
	}, nodes...)
	t.Logf("the fleet shows them after %v", time.Since(t0).Round(100*time.Millisecond))
	l := viewLink(v, "a")
	if l.A != (fleet.End{Node: "a", Port: "east"}) || l.B != (fleet.End{Node: "b", Port: "east"}) {
		t.Fatalf("link %+v - %+v, want a/east - b/east", l.A, l.B)
	}
	// The fingerprints are those of keys the ends use (otkctl keys), the
	// view never holds key bytes: every field is an id, a name, a time, a
	// count or a fingerprint.
	ka := map[string]bool{}
	for _, k := range a.keys(t) {
		ka[k.Fingerprint] = true
	}
	for _, d := range l.Directions {
		if !ka[d.Fingerprint] {
			t.Errorf("direction %s: fingerprint %s is none of a's keys (active %v)", d.Dir, d.Fingerprint, fps)
		}
	}
	if lc := viewLink(v, "c"); lc == nil || lc.A != (fleet.End{Node: "c", Port: "east"}) || lc.B != (fleet.End{Node: "d"}) || lc.Stale {
		t.Fatalf("c's link: %+v", lc)
	}
	_, text, _ := otkctlRun(t, nil, "fleet", "--socket", a.sock)
	for _, want := range []string{"NODE", "a/east - b/east", "c/east - d/?"} {
		if !strings.Contains(text, want) {
			t.Errorf("otkctl fleet does not show %q:\n%s", want, text)
		}
	}
	t.Logf("otkctl fleet:\n%s", text)
	shown := false
	for _, k := range a.keys(t) {
		shown = shown || strings.Contains(text, k.Fingerprint)
	}
	if !shown {
		t.Errorf("otkctl fleet shows none of a's key fingerprints:\n%s", text)
	}
	poll(t, "a's metrics carry the fleet and the etcd round trips", 30*time.Second, func() bool {
		m := metrics(t, a)
		return strings.Contains(m, "otkd_fleet_nodes 3") && hasLabels(m, `otkd_fleet_key_epoch{port="east",dir="AB"}`) &&
			strings.Contains(m, "otkd_fleet_link_stale{") && strings.Contains(m, `otkd_etcd_requests_total{method="Put"}`) &&
			strings.Contains(m, `otkd_etcd_request_latency_seconds{quantile="0.99"}`)
	}, a)
	checkMetricsDocumented(t, metrics(t, a))

	// The keyrings keep their state in each node's part of etcd: a
	// consumer bound at a is bound to the same key at b.
	waitRingsAlike(t, a, b)
	var k7a, k7b keyringsvc.KeyringKey
	if code, e := a.otkctlJSON(t, &k7a, "keyring", "connect", "--consumer", "7"); code != 0 {
		t.Fatalf("connect at a: exit %d: %s", code, e)
	}
	poll(t, "b binds consumer 7 after the sync message", time.Minute, func() bool {
		code, _ := b.otkctlJSON(t, &k7b, "keyring", "status", "--consumer", "7")
		return code == 0
	}, a, b)
	if k7b.Fingerprint != k7a.Fingerprint {
		t.Fatalf("a bound %+v, b %+v", k7a, k7b)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "controller.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a controller store file beside etcd: %v", err)
	}

	// Records that do not decode, or carry what no otkd writes (a
	// terminal escape for otkctl's table), and one under a name no otkd
	// has: reported as errors of their node or left out; nothing else
	// changes and nothing of them reaches the output.
	cli := ec.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range []string{"a", "b"} {
		if r, err := cli.Get(ctx, clusterPrefix+"nodes/"+n+"/kv/keyring", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || r.Count == 0 {
			t.Fatalf("%s's keyring records in etcd: %v %v", n, r, err)
		}
	}
	for key, val := range map[string]string{
		"evil":      "{not json",
		"evil2":     `{"name":"evil2","ports":[{"name":"\u001b[2J","role":"A","peer":"a","directions":[]}]}`,
		"\x1b[31mx": `{"name":"\u001b[31mx"}`,
	} {
		if _, err := cli.Put(ctx, clusterPrefix+"fleet/nodes/"+key, val); err != nil {
			t.Fatal(err)
		}
	}
	v, ok := fleetView(t, b)
	ev, ev2 := viewNode(v, "evil"), viewNode(v, "evil2")
	if !ok || ev == nil || len(ev.Errors) == 0 || !ev.Stale || ev2 == nil || len(ev2.Errors) == 0 || len(ev2.Ports) != 0 || len(v.Nodes) != 5 {
		t.Fatalf("bad records: %+v (%v)", v.Nodes, ok)
	}
	if l := viewLink(v, "a"); l == nil || l.Stale || l.B.Node != "b" {
		t.Fatalf("bad records changed a's link: %+v", l)
	}
	if _, text, _ := otkctlRun(t, nil, "fleet", "--socket", b.sock); strings.ContainsRune(text, 0x1b) || !strings.Contains(text, "evil2") {
		t.Fatalf("otkctl fleet with bad records:\n%q", text)
	}
	cli.Delete(ctx, clusterPrefix+"fleet/nodes/evil", clientv3.WithPrefix())
	cli.Delete(ctx, clusterPrefix+"fleet/nodes/\x1b[31mx")

	t.Logf("before the kill: %v", time.Since(t0).Round(100*time.Millisecond))
	c.kill(t)
	killed := time.Now()
	poll(t, "c turns stale after its lease", time.Minute, func() bool {
		v, ok = fleetView(t, a)
		n := viewNode(v, "c")
		return ok && n != nil && n.Stale && !n.Alive
	}, a)
	t.Logf("c stale %v after SIGKILL (lease 2 s)", time.Since(killed).Round(100*time.Millisecond))
	if lc := viewLink(v, "c"); lc == nil || !lc.Stale || !strings.Contains(lc.Directions[0].Reason, "node c is stale") {
		t.Fatalf("c's link: %+v", lc)
	}
	if l := viewLink(v, "a"); l == nil || l.Stale || viewNode(v, "a").Stale || viewNode(v, "b").Stale {
		t.Fatalf("a and b after c died: %+v", v)
	}
	poll(t, "a's metrics count c stale", 30*time.Second, func() bool {
		return strings.Contains(metrics(t, a), "otkd_fleet_nodes_stale 1")
	}, a)
	t.Logf("metrics count c stale %v after SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	b.stop(t)
	poll(t, "b, stopped, is stale and so is its link", 30*time.Second, func() bool {
		v, ok = fleetView(t, a)
		n, l := viewNode(v, "b"), viewLink(v, "a")
		return ok && n != nil && n.Stale && l != nil && l.Stale
	}, a)
	t.Logf("b stale after SIGTERM: %v", time.Since(t0).Round(100*time.Millisecond))
	a.stop(t)
	t.Logf("a stopped: %v", time.Since(t0).Round(100*time.Millisecond))
}

// heldPlatform is an HTTPS application platform for key sync: it requires the
// sync client's certificate, applies each delivery id once (a repeated id
// is answered 200 again without applying it, as keysync.IdempotencyHeader
// asks of platforms) and counts every post. The first post is applied and
// then held (no answer) until hold is closed or the pusher goes away.
type heldPlatform struct {
	srv  *httptest.Server
	held chan string   // the first post's delivery id
	hold chan struct{} // closed: the held post may answer

	mu      sync.Mutex
	applied map[string]keysync.PushBody // delivery id → what was applied
	posts   map[string]int
	bad     []string
	first   bool
}

func newHeldPlatform(t *testing.T, ec *etcdtest.Cluster) *heldPlatform {
	t.Helper()
	p := &heldPlatform{held: make(chan string, 1), hold: make(chan struct{}), applied: map[string]keysync.PushBody{}, posts: map[string]int{}}
	cert, err := tls.LoadX509KeyPair(ec.ServerCertFile, ec.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ec.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert}
	p.srv.StartTLS()
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(p.hold) }); p.srv.Close() })
	return p
}

func (p *heldPlatform) serve(w http.ResponseWriter, r *http.Request) {
	var body keysync.PushBody
	id := r.Header.Get(keysync.IdempotencyHeader)
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil || id == "" || r.Method != http.MethodPost {
		p.mu.Lock()
		p.bad = append(p.bad, fmt.Sprintf("%s %q: %v", r.Method, id, err))
		p.mu.Unlock()
		http.Error(w, "bad push", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.posts[id]++
	if prev, ok := p.applied[id]; ok {
		if prev.Identity != body.Identity || prev.KeyID != body.KeyID || !bytes.Equal(prev.Key, body.Key) {
			p.bad = append(p.bad, fmt.Sprintf("delivery %s posted again with another body", id))
		}
	} else {
		p.applied[id] = body
	}
	first := !p.first
	p.first = true
	p.mu.Unlock()
	if first {
		p.held <- id
		select {
		case <-p.hold:
		case <-r.Context().Done(): // the pusher died
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// TestClusterUnreachable: otkd run with its controller store on an etcd
// that does not answer refuses to start, naming the setting and the
// endpoint, within the dial timeout.
func TestClusterUnreachable(t *testing.T) {
	a, _ := newLink(t)
	f, err := os.OpenFile(a.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("http://127.0.0.1:%d", freeTCP(t))
	fmt.Fprintf(f, "\n[controller]\nstore = \"etcd\"\n\n[controller.etcd]\nendpoints = [%q]\ndial_timeout = \"500ms\"\n", dead)
	f.Close()
	cmd := exec.Command(otkdBin, "run", "--config", a.cfg)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "controller.etcd") || !strings.Contains(string(out), dead) || !strings.Contains(string(out), "etcd unavailable") {
		t.Fatalf("otkd run on a dead etcd: %v\n%s", err, out)
	}
}

// TestClusterSyncReplicas: three otkd run processes serve key sync from
// one 3-member etcd (the sync platform key shared). 200 concurrent
// requests for 100 keys, two identities per key, spread over the three
// replicas: each key is bound once, to the identity whose request
// succeeded, the other request refused as a conflict. The replica that
// leads the pusher election is SIGKILLed while its first push is at the
// platform (applied, not yet answered); after its lease another replica
// takes over and delivers the whole outbox: the platform applies every
// binding exactly once (the held delivery is posted again under the same
// delivery id and not applied twice), with the imported key bytes, and
// the audit log in etcd has one bind and one push event per key.
func TestClusterSyncReplicas(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{TLS: true})
	plat := newHeldPlatform(t, ec)
	base := t.TempDir()
	platID, err := handshake.Generate("otkd:sync-platform", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	platKey := filepath.Join(base, "sync-platform.key")
	if err := handshake.WritePrivateKey(platKey, platID.Priv); err != nil {
		t.Fatal(err)
	}
	nodes := newFleet(t, ec, fmt.Sprintf(`
[sync]
enabled = true
platforms = { "vpn" = %q }
ca_file = %q
cert_file = %q
key_file = %q
private_key = %q
audit_retention = "720h"
`, plat.srv.URL+"/keys", ec.CAFile, ec.CertFile, ec.KeyFile, platKey))
	clients := make([]*keysyncsvc.Client, len(nodes))
	for i, n := range nodes {
		n.start(t)
		c := api.Dial(n.sock)
		t.Cleanup(func() { c.Close() })
		clients[i] = keysyncsvc.NewClient(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound on a hang
	defer cancel()
	poll(t, "the three replicas serve key sync", time.Minute, func() bool {
		for _, c := range clients {
			if _, err := c.SyncOutbox(ctx); err != nil {
				return false
			}
		}
		return true
	}, nodes...)

	const keys = 100
	recs := make([]keysync.Record, keys)
	byID := map[string][]byte{}
	for i := range recs {
		k := make([]byte, 32)
		rand.Read(k)
		recs[i] = keysync.Record{ID: fmt.Sprintf("key-%03d", i), Key: k}
		byID[recs[i].ID] = k
	}
	file, err := keysync.BuildKeyFile(rand.Reader, &platID.Priv.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := clients[1].SyncImport(ctx, file); err != nil || n != keys {
		t.Fatalf("import at b: %d, %v", n, err)
	}
	if _, err := clients[2].SyncImport(ctx, file); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("the same file again at c: %v, want a conflict", err)
	}
	const requests = 2 * keys
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			if err := clients[i%3].SyncRegister(ctx, fmt.Sprintf("dev%03d", i), "vpn"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var mu sync.Mutex
	winner := map[string]string{} // key id → identity
	start := make(chan struct{})
	for i := range requests {
		wg.Go(func() {
			<-start
			id, key := fmt.Sprintf("dev%03d", i), fmt.Sprintf("key-%03d", i%keys)
			b, err := clients[(i/keys+i)%3].SyncRequest(ctx, id, key, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if w, dup := winner[key]; dup {
					t.Errorf("%s bound to %s and to %s", key, w, b.Identity)
				}
				winner[key] = id
			case !errors.Is(err, api.ErrConflict):
				t.Errorf("request %s %s: %v", id, key, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() || len(winner) != keys {
		t.Fatalf("%d keys bound by %d requests, want %d", len(winner), requests, keys)
	}

	var heldID string
	select {
	case heldID = <-plat.held:
	case <-ctx.Done():
		t.Fatal("no push reached the platform")
	}
	cli := ec.Client(t)
	resp, err := cli.Get(ctx, clusterPrefix+"elect/"+keysyncsvc.PusherRole+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("the pusher's election: %v %v", resp, err)
	}
	leader := string(resp.Kvs[0].Value)
	var dead *node
	var live []int
	for i, n := range nodes {
		if n.name == leader {
			dead = n
		} else {
			live = append(live, i)
		}
	}
	if dead == nil {
		t.Fatalf("the pusher's leader %q is none of the nodes", leader)
	}
	dead.kill(t)
	t.Logf("SIGKILLed %s while its push of %s was held at the platform", leader, heldID)

	poll(t, "another replica delivers the whole outbox", time.Minute, func() bool {
		ob, err := clients[live[0]].SyncOutbox(ctx)
		return err == nil && len(ob) == 0
	}, nodes...)
	plat.mu.Lock()
	applied, posts, bad := len(plat.applied), 0, plat.bad
	for _, n := range plat.posts {
		posts += n
	}
	heldPosts := plat.posts[heldID]
	got := map[string]string{} // key id → identity
	for id, b := range plat.applied {
		if prev, dup := got[b.KeyID]; dup {
			t.Errorf("key %s applied twice (to %s and %s; delivery %s)", b.KeyID, prev, b.Identity, id)
		}
		got[b.KeyID] = b.Identity
		if !bytes.Equal(b.Key, byID[b.KeyID]) {
			t.Errorf("delivery %s carries other bytes than key %s", id, b.KeyID)
		}
	}
	plat.mu.Unlock()
	if applied != keys || len(bad) != 0 || heldPosts < 2 {
		t.Fatalf("platform applied %d deliveries in %d posts (the held one posted %d times), problems %v; want %d, the held one again", applied, posts, heldPosts, bad, keys)
	}
	for key, id := range winner {
		if got[key] != id {
			t.Errorf("key %s applied for %q, bound to %q", key, got[key], id)
		}
	}
	count := func(kind string) int {
		a, err := clients[live[1]].SyncAudit(ctx, keysyncsvc.SyncAuditQuery{Kind: kind, Limit: keysyncsvc.MaxAuditLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(a.Events)
	}
	if nb, np := count(keysync.EventBind), count(keysync.EventPush); nb != keys || np != keys {
		t.Fatalf("audit: %d bind and %d push events, want %d each", nb, np, keys)
	}
	resp, err = cli.Get(ctx, clusterPrefix+"elect/"+keysyncsvc.PusherRole+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) == leader {
		t.Fatalf("the pusher's election after %s died: %v %v", leader, resp, err)
	}
	t.Logf("%d deliveries in %d posts; %s took over the pusher", applied, posts, resp.Kvs[0].Value)
	for _, i := range live {
		nodes[i].stop(t)
	}
}
