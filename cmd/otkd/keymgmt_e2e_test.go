package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/internal/cli/clitest"
)

// otkctlJSON runs otkctl with --json against n and decodes its output into
// out; it returns the exit code and stderr.
func (n *node) otkctlJSON(t *testing.T, out any, args ...string) (int, string) {
	t.Helper()
	code, _, stderr := otkctlRun(t, out, append(args, "--json", "--socket", n.sock)...)
	if code != 0 { // with --json the error is a JSON object: its text
		return code, "otkctl: " + clitest.JSONError(t, "otkctl "+strings.Join(args, " ")+" --json", code, stderr) + "\n"
	}
	return code, stderr
}

// otkctlRun runs otkctl with args; on exit 0 it decodes stdout (JSON) into
// out when out is not nil. It returns the exit code, stdout and stderr.
func otkctlRun(t *testing.T, out any, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(otkctlBin, args...)
	var eb strings.Builder
	cmd.Stderr = &eb
	b, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(b), eb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("otkctl %v: %v\n%s", args, err, b)
		}
	}
	return 0, string(b), eb.String()
}

// waitRingsAlike polls until both ends have filled their current ring from
// the same seed, with more than a second of its window left (so a connect
// right after stays in it), and returns both statuses. extra goes to
// otkctl keyring status (e.g. --pool NAME).
func waitRingsAlike(t *testing.T, a, b *node, extra ...string) (sa, sb keyringsvc.KeyringStatus) {
	t.Helper()
	args := append([]string{"keyring", "status"}, extra...)
	poll(t, fmt.Sprint("both ends fill the current ring alike ", extra), 2*time.Minute, func() bool {
		if c, _ := a.otkctlJSON(t, &sa, args...); c != 0 {
			return false
		}
		if c, _ := b.otkctlJSON(t, &sb, args...); c != 0 {
			return false
		}
		ra, rb := sa.Rings[sa.Current], sb.Rings[sb.Current]
		return sa.Current == sb.Current && ra.Filled && rb.Filled && ra.Epoch == rb.Epoch && ra.SeedID == rb.SeedID &&
			time.Until(ra.WindowEnd) > time.Second
	}, a, b)
	return sa, sb
}

func appendConfig(t *testing.T, n *node, text string) {
	t.Helper()
	f, err := os.OpenFile(n.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// poll calls cond until it holds or the bound passes.
func poll(t *testing.T, what string, bound time.Duration, cond func() bool, logs ...*node) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, n := range logs {
				fmt.Fprintf(&b, "%s:\n%s\n", n.name, n.logString())
			}
			t.Fatalf("%s: not within %v\n%s", what, bound, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKeyringTwoDaemons: both ends fill their keyrings from the link's
// seeds; a consumer connected at A is bound to the same key at B through
// the sync message, and its disconnect retires the key at both ends.
func TestKeyringTwoDaemons(t *testing.T) {
	a, b := newLink(t)
	for _, n := range []*node{a, b} {
		appendConfig(t, n, `
[controller]
store = "controller.db"

[keyring]
enabled = true
port = "east"
window = "4s"
keys_per_ring = 8
`)
	}
	a.start(t)
	b.start(t)
	waitAgree(t, a, b, 2) // negotiated seeds flow

	// Wait until both ends filled the current ring from the same seed.
	sa, _ := waitRingsAlike(t, a, b)

	var ka keyringsvc.KeyringKey
	if c, e := a.otkctlJSON(t, &ka, "keyring", "connect", "--consumer", "7"); c != 0 {
		t.Fatalf("connect at A: exit %d: %s", c, e)
	}
	if ka.Consumer != 7 || ka.Fingerprint == "" {
		t.Fatalf("connect at A: %+v", ka)
	}
	var kb keyringsvc.KeyringKey
	poll(t, "B binds consumer 7 after the sync message", time.Minute, func() bool {
		c, _ := b.otkctlJSON(t, &kb, "keyring", "status", "--consumer", "7")
		return c == 0
	}, a, b)
	if kb.Fingerprint != ka.Fingerprint || kb.Ring != ka.Ring || kb.Slot != ka.Slot || kb.Epoch != ka.Epoch {
		t.Fatalf("A bound %+v, B %+v", ka, kb)
	}
	// A consumer connecting at B gets the key the sync bound there.
	var again keyringsvc.KeyringKey
	if c, e := b.otkctlJSON(t, &again, "keyring", "connect", "--consumer", "7"); c != 0 || again.Fingerprint != ka.Fingerprint {
		t.Fatalf("connect at B: exit %d %s: %+v", c, e, again)
	}
	// The key is published bound in both shm files.
	for _, n := range []*node{a, b} {
		if !shmIDs(t, n.shm)[ka.ID] {
			t.Fatalf("%s: key %s not in the shm file", n.name, ka.Fingerprint)
		}
	}

	if c, e := a.otkctlJSON(t, nil, "keyring", "disconnect", "--consumer", "7"); c != 0 {
		t.Fatalf("disconnect at A: exit %d: %s", c, e)
	}
	poll(t, "B retires consumer 7's key", time.Minute, func() bool {
		c, e := b.otkctlJSON(t, nil, "keyring", "status", "--consumer", "7")
		return c == 1 && strings.Contains(e, "not bound")
	}, a, b)
	if c, e := a.otkctlJSON(t, nil, "keyring", "disconnect", "--consumer", "7"); c != 1 || !strings.Contains(e, "not bound") {
		t.Fatalf("second disconnect: exit %d: %s", c, e)
	}
	for _, n := range []*node{a, b} {
		if shmIDs(t, n.shm)[ka.ID] {
			t.Fatalf("%s: retired key %s still in the shm file", n.name, ka.Fingerprint)
		}
	}
	if c, _ := a.otkctlJSON(t, &sa, "keyring", "status"); c != 0 || sa.Connects != 1 || sa.Disconnects != 1 {
		t.Fatalf("A's counters: %+v", sa)
	}
	if m := metrics(t, a); !hasSample(m, `otkd_keyring_events_total{pool="default",event="connect"} 1`) {
		t.Fatalf("keyring metrics:\n%s", m)
	} else {
		checkMetricsDocumented(t, m)
	}
	// B acknowledged every bind and unbind A sent.
	poll(t, "A's sync messages acknowledged", time.Minute, func() bool {
		return hasSample(metrics(t, a), `otkd_keyring_sync_pending{pool="default"} 0`)
	}, a, b)
	a.stop(t)
	b.stop(t)
}

// testPKI makes a CA and, signed by it, a server certificate for
// 127.0.0.1 and a client certificate, as PEM files in dir.
func testPKI(t *testing.T, dir string) (roots *x509.CertPool, server tls.Certificate, caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprint(serial)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	sDER, sKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(cKey)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", cDER}, {keyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return roots, server, caFile, certFile, keyFile
}

// platform is an in-process application platform: it counts deliveries
// by idempotency key.
type platform struct {
	mu     sync.Mutex
	seen   map[string]int
	bodies []keysync.PushBody
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body keysync.PushBody
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := r.Header.Get(keysync.IdempotencyHeader)
	if p.seen[id] == 0 {
		p.bodies = append(p.bodies, body)
	}
	p.seen[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (p *platform) applied() []keysync.PushBody {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]keysync.PushBody(nil), p.bodies...)
}

// TestSyncDaemon: otkd run imports a vendor key file, registers a
// subscriber, binds a key on its sync request and pushes it to a real
// HTTPS platform (TLS 1.3, client certificate), which is down at first:
// delivered exactly once when it comes up.
func TestSyncDaemon(t *testing.T) {
	a, _ := newLink(t)
	roots, serverCert, caFile, certFile, keyFile := testPKI(t, a.dir)
	plat := &platform{seen: map[string]int{}}
	// The platform is down at first: its address is reserved, nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := httptest.NewUnstartedServer(plat)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: roots, MinVersion: tls.VersionTLS13}
	srv.Listener.Close()
	appendConfig(t, a, fmt.Sprintf(`
[controller]
store = "controller.db"

[sync]
enabled = true
platforms = { "vpn.example" = %q }
ca_file = %q
cert_file = %q
key_file = %q
`, "https://"+addr+"/keys", caFile, certFile, keyFile))
	a.start(t) // alone: key sync needs no peer

	// The vendor envelopes keys to A's SM2 public key (B holds it as peer.pub).
	peerOfB, err := handshake.LoadPeer("otkd:a", filepath.Join(filepath.Dir(a.dir), "b", "peer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef")
	file, err := keysync.BuildKeyFile(rand.Reader, peerOfB.Pub, []keysync.Record{{ID: "vendor:0001", Key: key}, {ID: "vendor:0002", Key: []byte("fedcba9876543210")}})
	if err != nil {
		t.Fatal(err)
	}
	good, bad := filepath.Join(a.dir, "keys.oksf"), filepath.Join(a.dir, "bad.oksf")
	os.WriteFile(good, file, 0o600)
	os.WriteFile(bad, file[:100], 0o600)

	var imp keysyncsvc.SyncImport
	poll(t, "import", time.Minute, func() bool {
		c, _ := a.otkctlJSON(t, &imp, "sync", "import", good)
		return c == 0
	}, a)
	if imp.Imported != 2 {
		t.Fatalf("imported %d keys, want 2", imp.Imported)
	}
	if c, e := a.otkctlJSON(t, nil, "sync", "import", bad); c != exitDataErr || !strings.Contains(e, "malformed") {
		t.Fatalf("malformed file: exit %d: %s", c, e)
	}
	if c, e := a.otkctlJSON(t, nil, "sync", "import", good); c != 1 || !strings.Contains(e, "already imported") {
		t.Fatalf("second import: exit %d: %s", c, e)
	}
	const id = "imsi:460001234567890"
	if c, e := a.otkctlJSON(t, nil, "sync", "request", "--identity", id, "--key", "vendor:0001"); c != 1 || !strings.Contains(e, "not registered") {
		t.Fatalf("unregistered identity: exit %d: %s", c, e)
	}
	if c, e := a.otkctlJSON(t, nil, "sync", "register", "--identity", id, "--app", "vpn.example"); c != 0 {
		t.Fatalf("register: exit %d: %s", c, e)
	}
	var bind, bind2 keysyncsvc.SyncBinding
	if c, e := a.otkctlJSON(t, &bind, "sync", "request", "--identity", id, "--key", "vendor:0001"); c != 0 {
		t.Fatalf("request: exit %d: %s", c, e)
	}
	if c, e := a.otkctlJSON(t, &bind2, "sync", "request", "--identity", id, "--key", "vendor:0001"); c != 0 || bind2.DeliveryID != bind.DeliveryID {
		t.Fatalf("repeated request: exit %d %s: %+v vs %+v", c, e, bind2, bind)
	}
	poll(t, "a failed attempt while the platform is down", time.Minute, func() bool {
		var ob struct{ Outbox []keysyncsvc.SyncPending }
		c, _ := a.otkctlJSON(t, &ob, "sync", "outbox")
		return c == 0 && len(ob.Outbox) == 1 && ob.Outbox[0].Attempts >= 1 && ob.Outbox[0].LastError != ""
	}, a)
	if srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("platform address %s taken meanwhile: %v", addr, err)
	}
	srv.StartTLS()
	defer srv.Close()
	poll(t, "the platform gets the key and the outbox empties", time.Minute, func() bool {
		var ob struct{ Outbox []keysyncsvc.SyncPending }
		c, _ := a.otkctlJSON(t, &ob, "sync", "outbox")
		return c == 0 && len(ob.Outbox) == 0 && len(plat.applied()) == 1
	}, a)
	time.Sleep(2 * time.Second) // a second delivery would come within the pusher's poll
	got := plat.applied()
	if len(got) != 1 || got[0].Identity != id || got[0].KeyID != "vendor:0001" || string(got[0].Key) != string(key) {
		t.Fatalf("platform applied %+v", got)
	}
	plat.mu.Lock()
	attempts := plat.seen[bind.DeliveryID]
	plat.mu.Unlock()
	if attempts != 1 {
		t.Fatalf("delivery %s posted %d times, want once", bind.DeliveryID, attempts)
	}
	a.stop(t)
	// Key bytes in no form: not in the log (raw, hex, base64), not in clear
	// in the controller store (sealed at rest).
	db, err := os.ReadFile(filepath.Join(a.dir, "controller.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key)} {
		if strings.Contains(a.logString(), form) {
			t.Fatalf("the daemon logged key bytes (%q)", form)
		}
		if strings.Contains(string(db), form) {
			t.Fatalf("controller.db holds key bytes in clear (%q)", form)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
