package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// pemCA issues the certificates of the custody test: the cluster's and
// the operators'.
type pemCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newPEMCA(t *testing.T, dir, name string) *pemCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &pemCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes cn's certificate and key (dir/cn.pem, dir/cn.key); the
// certificate is for 127.0.0.1 and both TLS uses.
func (ca *pemCA) issue(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// custody is a three-node custody cluster of otkd processes and the files
// of its two operators.
type custody struct {
	nodes      [3]*node
	opURL      [3]string // operator endpoints
	clusterURL [3]string
	clusterCA  *pemCA
	ops        map[string][3]string // operator → cert, key, TOTP secret file
	secrets    map[string][]byte
	write      func(i int, refresh string)
	backup     [3]string // each node's [mpc] backup_period ("" = off)
	pools      []string  // with linked: n1 and n2 run these [[keyring]] pools (the second in its own map) instead of [keyring]

	usedMu sync.Mutex
	used   map[string]uint64 // "node/operator" → last TOTP step handed out
}

// newCustody writes the files of three nodes n1..n3 that form a custody
// cluster (t = 2) on loopback; each also has one link port to nowhere,
// since otkd run needs a port.
func newCustody(t *testing.T) *custody { return newCustodyLinked(t, false) }

// newCustodyLinked is newCustody; with linked, n1 (end A) and n2 (end B)
// form a real link over loopback UDP instead and run a keyring on it.
func newCustodyLinked(t *testing.T, linked bool) *custody {
	t.Helper()
	base := t.TempDir()
	pki := filepath.Join(base, "pki")
	if err := os.Mkdir(pki, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &custody{clusterCA: newPEMCA(t, pki, "cluster-ca"), ops: map[string][3]string{}, secrets: map[string][]byte{}, used: map[string]uint64{}}
	opCA := newPEMCA(t, pki, "operator-ca")
	for _, op := range []string{"alice", "bob"} {
		cert, key := opCA.issue(t, pki, op)
		secret := make([]byte, 20)
		rand.Read(secret)
		file := filepath.Join(pki, op+".totp")
		if err := os.WriteFile(file, []byte(base32.StdEncoding.EncodeToString(secret)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.ops[op] = [3]string{cert, key, file}
		c.secrets[op] = secret
	}
	tag := fmt.Sprintf("otkd-mpc-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	var cluster [3]string
	for i := range c.nodes {
		name := fmt.Sprintf("n%d", i+1)
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		n := &node{name: name, dir: dir, cfg: filepath.Join(dir, "otkd.toml"), sock: filepath.Join(dir, "otkd.sock"),
			shm: filepath.Join("/dev/shm", tag+"-"+name), metrics: fmt.Sprintf("127.0.0.1:%d", freeTCP(t))}
		t.Cleanup(func() { os.Remove(n.shm); os.Remove(n.shm + ".lock") })
		c.nodes[i] = n
		runBin(t, otkdBin, "keygen", "--name", name, "--private", filepath.Join(dir, "node.key"), "--public", filepath.Join(pki, name+".pub"))
		if err := os.WriteFile(filepath.Join(dir, "kek"), bytes.Repeat([]byte{byte(i + 1)}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
		c.clusterCA.issue(t, dir, name)
		cluster[i] = fmt.Sprintf("127.0.0.1:%d", freeTCP(t))
		c.clusterURL[i] = "https://" + cluster[i]
		c.opURL[i] = fmt.Sprintf("https://127.0.0.1:%d", freeTCP(t))
	}
	udp := [3]int{freeUDP(t), freeUDP(t), freeUDP(t)}
	c.write = func(i int, refresh string) {
		n := c.nodes[i]
		role, peer, peerName, rate := "A", "127.0.0.1:9", "nowhere", 100
		peerKey := filepath.Join(pki, c.nodes[(i+1)%3].name+".pub")
		if linked && i < 2 {
			role, peer, peerName, rate = []string{"A", "B"}[i], fmt.Sprintf("127.0.0.1:%d", udp[1-i]), c.nodes[1-i].name, 2000
			peerKey = filepath.Join(pki, c.nodes[1-i].name+".pub")
		}
		var b strings.Builder
		fmt.Fprintf(&b, `[node]
name = %q
private_key = "node.key"

[[port]]
name = "east"
id = 1
role = %q
local = "127.0.0.1:%d"
peer = %q
peer_name = %q
peer_public_key = %q
frame_rate = %d

[shm]
path = %q
slots = 32

[store]
path = "keys.db"
kek_file = "kek"

[controller]
store = "controller.db"

[api]
socket = %q

[metrics]
listen = %q

[mpc]
enabled = true
index = %d
threshold = 2
listen = %q
operator_listen = %q
cert_file = "%s.pem"
key_file = "%s.key"
ca_file = %q
operator_ca_file = %q
refresh_period = %q
backup_period = %q
`, n.name, role, udp[i], peer, peerName, peerKey, rate, n.shm, n.sock, n.metrics, i+1, cluster[i],
			strings.TrimPrefix(c.opURL[i], "https://"), n.name, n.name, c.clusterCA.file, opCA.file, refresh, c.backup[i])
		if linked && i < 2 {
			// The seeds' fingerprints are logged at DEBUG (one line per
			// seed); the linked tests compare them with the exports.
			b.WriteString("\n[log]\nlevel = \"debug\"\n")
		}
		if linked && i < 2 && len(c.pools) == 0 {
			b.WriteString("\n[keyring]\nenabled = true\nport = \"east\"\nwindow = \"4s\"\nkeys_per_ring = 8\n")
		}
		for j, pool := range c.pools {
			if !linked || i >= 2 {
				break
			}
			fmt.Fprintf(&b, "\n[[keyring]]\npool = %q\nport = \"east\"\nwindow = \"4s\"\nkeys_per_ring = 8\n", pool)
			if j > 0 {
				fmt.Fprintf(&b, "shm_path = %q\nshm_slots = 16\n", n.shm+"-"+pool)
			}
		}
		for j, p := range c.nodes {
			fmt.Fprintf(&b, "\n[[mpc.peer]]\nname = %q\naddress = %q\npublic_key = %q\n", p.name, cluster[j], filepath.Join(pki, p.name+".pub"))
		}
		for _, op := range []string{"alice", "bob"} {
			fmt.Fprintf(&b, "\n[[mpc.operator]]\nname = %q\ntotp_secret_file = %q\n", op, c.ops[op][2])
		}
		if err := os.WriteFile(n.cfg, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.nodes {
		c.write(i, "0")
	}
	return c
}

// waitFor polls cond until it holds; the test binary's -timeout bounds it.
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *custody) status(t *testing.T, i int) (mpcsvc.MPCStatus, bool) {
	var st mpcsvc.MPCStatus
	code, _ := c.nodes[i].otkctlJSON(t, &st, "mpc", "status")
	return st, code == 0
}

// code returns a TOTP code of op that node i has not accepted yet: the
// step after the last one handed out for that node, no earlier than the
// current one and at most one ahead (what the node accepts); it waits for
// the clock when both are spent. Codes are single-use per node.
func (c *custody) code(i int, op string) string {
	key := fmt.Sprintf("%d/%s", i, op)
	for {
		now := uint64(time.Now().Unix() / 30)
		c.usedMu.Lock()
		step := max(c.used[key]+1, now)
		if step <= now+1 {
			c.used[key] = step
			c.usedMu.Unlock()
			return mpc.TOTP(c.secrets[op], time.Unix(int64(step)*30, 0))
		}
		c.usedMu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
}

// wrongCode returns a code that is none of op's three valid ones now.
func (c *custody) wrongCode(op string) string {
	now := time.Now()
	for _, w := range []string{"000000", "999999", "123456"} {
		if w != mpc.TOTP(c.secrets[op], now) && w != mpc.TOTP(c.secrets[op], now.Add(30*time.Second)) &&
			w != mpc.TOTP(c.secrets[op], now.Add(-30*time.Second)) {
			return w
		}
	}
	panic("unreachable")
}

// operator runs an operator request (otkctl mpc init|refresh|delete …)
// through node via's operator endpoint as op, with a fresh code unless
// code is given; it decodes the JSON answer into out and returns the exit
// code and the output.
func (c *custody) operator(t *testing.T, via int, op, code string, out any, args ...string) (int, string) {
	t.Helper()
	if code == "" {
		code = c.code(via, op)
	}
	f := c.ops[op]
	rc, stdout, stderr := otkctlRun(t, out, append(args, "--json", "--node", c.opURL[via], "--cert", f[0], "--key", f[1],
		"--ca", c.clusterCA.file, "--totp", code)...)
	if rc != 0 {
		return rc, stderr
	}
	return 0, stdout
}

// secretFile returns the flag that has otkctl compute op's code from its
// secret file, once node i has accepted no code of the current step.
func (c *custody) secretFile(i int, op string) []string {
	key := fmt.Sprintf("%d/%s", i, op)
	for {
		now := uint64(time.Now().Unix() / 30)
		c.usedMu.Lock()
		if c.used[key] < now {
			c.used[key] = now
			c.usedMu.Unlock()
			return []string{"--totp-secret-file", c.ops[op][2]}
		}
		c.usedMu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
}

// allReachable waits until node i reaches every node's cluster endpoint.
func (c *custody) allReachable(t *testing.T, i int) {
	waitFor(func() bool {
		var ps []mpcsvc.MPCPeerState
		if code, _ := c.nodes[i].otkctlJSON(t, &ps, "mpc", "peers"); code != 0 || len(ps) != 3 {
			return false
		}
		for _, p := range ps {
			if !p.Reachable {
				return false
			}
		}
		return true
	})
}

// byID names a backup by its id, its ciphertext read from node i.
func (c *custody) byID(i int, id string) []string {
	return []string{"--socket", c.nodes[i].sock, "--id", id}
}

// recover runs otkctl mpc recover of the backup src names through node
// via's operator endpoint as op (TOTP from op's secret file unless extra
// gives the code); it returns the exit code, the output and the path of the
// file the secret should be in.
func (c *custody) recover(t *testing.T, src []string, via int, op string, extra ...string) (int, string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "recovered")
	f := c.ops[op]
	args := append([]string{"mpc", "recover", "--node", c.opURL[via],
		"--cert", f[0], "--key", f[1], "--ca", c.clusterCA.file, "--out", out}, src...)
	if len(extra) == 0 {
		extra = []string{"--totp", c.code(via, op)}
	}
	cmd := exec.Command(otkctlBin, append(args, extra...)...)
	b, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(b), out
}

// TestCustodyThreeDaemons: three otkd run processes generate the cluster
// key over their mutually authenticated TLS channel (t = 2, n = 3); a
// backup made at one node is recovered through another's operator
// endpoint (client certificate + TOTP) with one node down; a bad code is
// refused; a restarted node restores its share from the controller store;
// refreshes, by hand and by node 1's timer, keep the backup recoverable.
// Init, refresh and delete are operator requests: the local socket refuses
// them and the operator endpoint refuses a wrong code.
func TestCustodyThreeDaemons(t *testing.T) {
	c := newCustody(t)
	for _, n := range c.nodes {
		n.start(t)
	}
	for i := range c.nodes {
		waitFor(func() bool { _, ok := c.status(t, i); return ok })
	}
	// The local socket refuses operator requests, naming the command.
	sock := api.Dial(c.nodes[0].sock)
	if _, err := mpcsvc.NewClient(sock).MPCInit(t.Context()); !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "otkctl mpc init --node") {
		t.Fatalf("init on the socket: %v", err)
	}
	if _, err := mpcsvc.NewClient(sock).MPCRefresh(t.Context()); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("refresh on the socket: %v", err)
	}
	// Key generation, coordinated by node 1 once every cluster endpoint is
	// up; a wrong code first: refused, no key.
	c.allReachable(t, 0)
	var round mpcsvc.MPCRound
	if code, e := c.operator(t, 0, "alice", c.wrongCode("alice"), nil, "mpc", "init"); code == 0 || !strings.Contains(e, "not authenticated") {
		t.Fatalf("init with a wrong code: %d %s", code, e)
	}
	if st, _ := c.status(t, 0); st.Epoch != 0 {
		t.Fatalf("init with a wrong code made a key: %+v", st)
	}
	if code, e := c.operator(t, 0, "alice", "", &round, "mpc", "init"); code != 0 {
		t.Fatalf("init: %d %s", code, e)
	}
	if round.Epoch != 1 || len(round.Qualified) != 3 || round.ClusterKey == "" {
		t.Fatalf("init: %+v", round)
	}
	key := round.ClusterKey
	for i := range c.nodes {
		st, _ := c.status(t, i)
		if st.Epoch != 1 || st.ClusterKey != round.ClusterKey || st.Index != i+1 || len(st.Peers) != 3 {
			t.Fatalf("node %d after init: %+v", i+1, st)
		}
		m := metrics(t, c.nodes[i])
		if want := fmt.Sprintf("otkd_mpc_epoch{node=\"%d\"} 1", i+1); !hasSample(m, want) {
			t.Fatalf("node %d metrics lack %s:\n%s", i+1, want, m)
		}
	}
	if m := metrics(t, c.nodes[0]); !hasSample(m, `otkd_mpc_rounds_total{node="1",result="ok"} 1`) {
		t.Fatalf("node 1 metrics lack the coordinated round:\n%s", m)
	} else {
		checkMetricsDocumented(t, m)
	}
	if code, e := c.operator(t, 1, "bob", "", nil, "mpc", "init"); code == 0 || !strings.Contains(e, "exists") {
		t.Fatalf("second init: %d %s", code, e)
	}

	// A backup at node 2.
	secret := make([]byte, 48)
	rand.Read(secret)
	secretFile := filepath.Join(t.TempDir(), "seed")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	var bk mpcsvc.MPCBackup
	if code, e := c.nodes[1].otkctlJSON(t, &bk, "mpc", "backup", "--file", secretFile, "--label", "seed-1"); code != 0 {
		t.Fatalf("backup: %d %s", code, e)
	}
	if bk.Fingerprint != mpcsvc.Fingerprint(secret) || bk.Size != len(secret) || bk.Epoch != 1 {
		t.Fatalf("backup: %+v", bk)
	}
	// Nothing the daemons printed holds the secret.
	checkRecovered := func(what string, code int, out, file string) {
		t.Helper()
		if code != 0 || !strings.Contains(out, bk.Fingerprint) {
			t.Fatalf("%s: exit %d: %s", what, code, out)
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s: recovered file differs (%v)", what, err)
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: recovered file mode %v", what, fi.Mode())
		}
	}
	code, out, file := c.recover(t, c.byID(1, bk.ID), 2, "alice")
	checkRecovered("recover via node 3", code, out, file)

	// A cluster-CA certificate that names no node gets no partial, and no
	// round message.
	gwCert, gwKey := c.clusterCA.issue(t, t.TempDir(), "gateway")
	pair, err := tls.LoadX509KeyPair(gwCert, gwKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.clusterCA.cert)
	gw := &http.Client{Transport: &http.Transport{TLSClientConfig: mpc.MutualTLS(pair, nil, pool)}}
	full, err := mpcsvc.NewClient(api.Dial(c.nodes[1].sock)).MPCBackupGet(t.Context(), bk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mpc.FetchPartial(t.Context(), gw, c.clusterURL[0], full.Ciphertext); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("partial for a non-node certificate: %v", err)
	}
	if resp, err := gw.Post(c.clusterURL[0]+mpc.PathRoundDeal, "", bytes.NewReader(make([]byte, 8))); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("round message from a non-node certificate: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A wrong code: refused, nothing written.
	code, out, file = c.recover(t, c.byID(1, bk.ID), 2, "bob", "--totp", c.wrongCode("bob"))
	if code == 0 || !strings.Contains(out, "not authenticated") {
		t.Fatalf("wrong TOTP: exit %d: %s", code, out)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("wrong TOTP: a file was written")
	}

	// Node 1 down: recovery through node 2 (partials of 2 and 3) works; a
	// refresh cannot run and names the missing node.
	c.nodes[0].stop(t)
	code, out, file = c.recover(t, c.byID(1, bk.ID), 1, "alice")
	checkRecovered("recover with node 1 down", code, out, file)
	if code, e := c.operator(t, 1, "alice", c.wrongCode("alice"), nil, "mpc", "refresh"); code == 0 || !strings.Contains(e, "not authenticated") {
		t.Fatalf("refresh with a wrong code: %d %s", code, e)
	}
	if code, e := c.operator(t, 1, "alice", "", nil, "mpc", "refresh"); code == 0 || !strings.Contains(e, "node 1") {
		t.Fatalf("refresh with node 1 down: %d %s", code, e)
	}
	var peers []mpcsvc.MPCPeerState
	if code, e := c.nodes[2].otkctlJSON(t, &peers, "mpc", "peers"); code != 0 || len(peers) != 3 ||
		peers[0].Reachable || !peers[1].Reachable || peers[1].Epoch != 1 || peers[2].ClusterKey != key {
		t.Fatalf("peers with node 1 down: %d %s %+v", code, e, peers)
	}

	// Node 1 restarts from its store; a refresh coordinated by node 3.
	c.nodes[0].start(t)
	waitFor(func() bool { st, ok := c.status(t, 0); return ok && st.Epoch == 1 && st.ClusterKey == key })
	c.allReachable(t, 2)
	if code, e := c.operator(t, 2, "bob", "", &round, "mpc", "refresh"); code != 0 || round.Epoch != 2 {
		t.Fatalf("refresh: %d %s %+v", code, e, round)
	}
	for i := range c.nodes {
		if st, _ := c.status(t, i); st.Epoch != 2 || st.ClusterKey != key {
			t.Fatalf("node %d after refresh: %+v", i+1, st)
		}
	}
	bobCode := c.code(0, "bob")
	code, out, file = c.recover(t, c.byID(1, bk.ID), 0, "bob", "--totp", bobCode)
	checkRecovered("recover after refresh via node 1", code, out, file)
	// Any two: with node 2 (which holds the backup) down, nodes 1 and 3
	// recover the ciphertext saved from it.
	ctFile := filepath.Join(t.TempDir(), "backup.ct")
	if err := os.WriteFile(ctFile, full.Ciphertext, 0o644); err != nil {
		t.Fatal(err)
	}
	c.nodes[1].stop(t)
	code, out, file = c.recover(t, []string{"--ciphertext", ctFile}, 0, "alice")
	checkRecovered("recover with node 2 down", code, out, file)
	c.nodes[1].start(t)
	waitFor(func() bool { _, ok := c.status(t, 1); return ok })

	// Node 1's refresh timer (restarted with refresh_period = "1s").
	c.nodes[0].stop(t)
	c.write(0, "1s")
	c.nodes[0].start(t)
	waitFor(func() bool {
		for i := range c.nodes {
			if st, ok := c.status(t, i); !ok || st.Epoch < 4 {
				return false
			}
		}
		return true
	})
	code, out, file = c.recover(t, c.byID(1, bk.ID), 1, "bob")
	checkRecovered("recover after timed refreshes", code, out, file)
	// Node 1 restarted, yet Bob's code stays used there: the step is in its store.
	if code, out, _ = c.recover(t, c.byID(1, bk.ID), 0, "bob", "--totp", bobCode); code == 0 {
		t.Fatalf("replayed code accepted after a restart: %s", out)
	}
	// --check: only the fingerprint, the secret goes nowhere.
	f := c.ops["bob"]
	b, err := exec.Command(otkctlBin, append([]string{"mpc", "recover", "--check", "--json", "--socket", c.nodes[1].sock, "--id", bk.ID,
		"--node", c.opURL[2], "--cert", f[0], "--key", f[1], "--ca", c.clusterCA.file}, c.secretFile(2, "bob")...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(b), bk.Fingerprint) || !strings.Contains(string(b), `"matches_backup": true`) ||
		bytes.Contains(b, secret[:8]) {
		t.Fatalf("recover --check: %v\n%s", err, b)
	}
	// Deletion: refused on the socket and with a wrong code (the backup
	// stays), done with both factors at the node that stores it.
	if err := mpcsvc.NewClient(api.Dial(c.nodes[1].sock)).MPCBackupDelete(t.Context(), bk.ID); !errors.Is(err, api.ErrForbidden) ||
		!strings.Contains(err.Error(), "otkctl mpc delete --node") {
		t.Fatalf("delete on the socket: %v", err)
	}
	if code, e := c.operator(t, 1, "bob", c.wrongCode("bob"), nil, "mpc", "delete", "--id", bk.ID); code == 0 || !strings.Contains(e, "not authenticated") {
		t.Fatalf("delete with a wrong code: %d %s", code, e)
	}
	var kept []mpcsvc.MPCBackup
	if code, e := c.nodes[1].otkctlJSON(t, &kept, "mpc", "list"); code != 0 || len(kept) != 1 {
		t.Fatalf("list after a refused delete: %d %s %v", code, e, kept)
	}
	var del mpcsvc.MPCBackupResult
	if code, e := c.operator(t, 1, "bob", "", &del, "mpc", "delete", "--id", bk.ID); code != 0 || del.ID != bk.ID || del.Status != "done" {
		t.Fatalf("delete: %d %s %+v", code, e, del)
	}
	if code, e := c.operator(t, 1, "bob", "", nil, "mpc", "delete", "--id", bk.ID); code == 0 || !strings.Contains(e, "no backup") {
		t.Fatalf("second delete: %d %s", code, e)
	}
	var left []mpcsvc.MPCBackup
	if code, e := c.nodes[1].otkctlJSON(t, &left, "mpc", "list"); code != 0 || len(left) != 0 {
		t.Fatalf("list after delete: %d %s %v", code, e, left)
	}
	for _, n := range c.nodes {
		if strings.Contains(n.logString(), fmt.Sprintf("%x", secret[:8])) {
			t.Fatalf("%s logged secret bytes", n.name)
		}
	}
}
