package mpcsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/service"
)

func TestStoreVotes(t *testing.T) {
	st, err := kstore.Open(filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v := storeVotes{st}
	a, b := [32]byte{1}, [32]byte{2}
	for _, tc := range []struct {
		epoch    uint64
		in, want [32]byte
	}{{1, a, a}, {1, b, a}, {2, b, b}, {2, a, b}, {1, b, b}} {
		if got, err := v.Vote(tc.epoch, tc.in); err != nil || got != tc.want {
			t.Fatalf("Vote(%d, %x) = %x, %v; want %x", tc.epoch, tc.in[0], got[0], err, tc.want[0])
		}
	}
}

// testNode is node 1 of a three-node cluster, not started: its service,
// its configuration, the controller store's path and what the daemon
// would lend it.
type testNode struct {
	s     *Service
	cfg   *Config
	store string
	kst   *kstore.DB
	self  handshake.Identity
}

// start starts the service as the daemon would (a controller store opened
// on first use).
func (n *testNode) start() error {
	n.s = New(*n.cfg, nil)
	return n.s.Start(&service.Host{Log: slog.New(slog.DiscardHandler), Node: "n1", Self: n.self,
		Store: func() (kstore.Store, error) {
			if n.kst == nil {
				st, err := kstore.Open(n.store, nil)
				if err != nil {
					return nil, err
				}
				n.kst = st
			}
			return n.kst, nil
		}})
}

// close stops the service and closes the store.
func (n *testNode) close() {
	if n.s != nil {
		n.s.Stop()
	}
	if n.kst != nil {
		n.kst.Close()
		n.kst = nil
	}
}

// mpcTestNode writes the files of node 1 of a three-node [mpc] cluster
// and returns it, not started.
func mpcTestNode(t *testing.T) *testNode {
	t.Helper()
	dir := t.TempDir()
	var ids []handshake.Identity
	cfg := &Config{}
	store := filepath.Join(dir, "controller.db")
	for i := range 3 {
		id, err := handshake.Generate(fmt.Sprintf("otkd:n%d", i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		pub := filepath.Join(dir, fmt.Sprintf("n%d.pub", i+1))
		if err := handshake.WritePublicKey(pub, &id.Priv.PublicKey); err != nil {
			t.Fatal(err)
		}
		cfg.Peers = append(cfg.Peers, Peer{Name: fmt.Sprintf("n%d", i+1), Address: freeAddr(t), PublicKey: pub})
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "n1"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert := write("n1.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	m := cfg
	m.Enabled, m.Index, m.Threshold, m.Listen = true, 1, 2, m.Peers[0].Address
	m.CertFile, m.KeyFile = cert, write("n1.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	m.CAFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	m.Operators = []Operator{{Name: "alice", TOTPSecretFile: write("alice.totp", []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"))}}
	return &testNode{cfg: cfg, store: store, self: ids[0]}
}

func TestStartMPC(t *testing.T) {
	n := mpcTestNode(t)
	if err := n.start(); err != nil {
		t.Fatal(err)
	}
	defer n.close()
	d := n.s
	ctx := t.Context()
	st, err := d.MPCStatus(ctx)
	if err != nil || st.Epoch != 0 || st.ClusterKey != "" || len(st.Peers) != 3 || !st.Peers[0].Self ||
		st.NodeKey != st.Peers[0].NodeKey {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := d.MPCBackup(ctx, "x", []byte("secret")); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("backup before init: %v", err)
	}
	if _, err := d.run.round(ctx, true); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("refresh before init: %v", err)
	}
	// Operator requests are refused on the local socket, naming the command.
	for name, call := range map[string]func() error{
		"mpc init":    func() error { _, err := d.MPCInit(ctx); return err },
		"mpc refresh": func() error { _, err := d.MPCRefresh(ctx); return err },
		"mpc delete":  func() error { return d.MPCBackupDelete(ctx, "0123456789abcdef") },
	} {
		if err := call(); !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "otkctl "+name+" --node") {
			t.Fatalf("%s on the socket: %v", name, err)
		}
	}
	// Nothing to export without a keyring.
	for _, what := range []string{"seeds", "keyring"} {
		if _, err := d.MPCExport(ctx, what, "", ""); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "no keyring") {
			t.Fatalf("%s export without a keyring: %v", what, err)
		}
	}
	if _, err := d.MPCExport(ctx, "everything", "", ""); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("export of an unknown kind: %v", err)
	}
	if _, err := d.MPCBackupGet(ctx, "0123456789abcdef"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown backup: %v", err)
	}
	if ps, err := d.MPCPeers(ctx); err != nil || len(ps) != 3 || !ps[0].Reachable || ps[1].Reachable || ps[1].Error == "" {
		t.Fatalf("peers: %+v %v", ps, err)
	}
	// A round with every other node unreachable fails, naming them, and
	// leaves the node without a key.
	if _, err := d.run.round(ctx, false); !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "node 2") {
		t.Fatalf("init with peers down: %v", err)
	}
	if st, _ := d.MPCStatus(ctx); st.Epoch != 0 || st.LastRoundError == "" {
		t.Fatalf("after a failed init: %+v", st)
	}
	var off Service
	if _, err := off.MPCStatus(ctx); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("without [mpc]: %v", err)
	}
}

func TestStartMPCRefuses(t *testing.T) {
	var store string // the node's controller store, for the test that writes it
	tests := []struct {
		name   string
		change func(t *testing.T, c *Config)
		want   string
	}{
		{"own key", func(t *testing.T, c *Config) { c.Index = 2 }, "mpc.peer[1].public_key: not the public key of node.private_key"},
		{"peer key file", func(t *testing.T, c *Config) { c.Peers[2].PublicKey += ".missing" }, "mpc.peer[2].public_key"},
		{"TOTP not base32", func(t *testing.T, c *Config) {
			os.WriteFile(c.Operators[0].TOTPSecretFile, []byte("not base32!"), 0o600)
		}, "mpc.operator[0].totp_secret_file"},
		{"TOTP short", func(t *testing.T, c *Config) {
			os.WriteFile(c.Operators[0].TOTPSecretFile, []byte("JBSWY3DP"), 0o600)
		}, "at least 16 bytes"},
		{"CA", func(t *testing.T, c *Config) { os.WriteFile(c.CAFile, []byte("x"), 0o600) }, "mpc.ca_file"},
		{"state of another node", func(t *testing.T, c *Config) {
			st, err := kstore.Open(store, nil)
			if err != nil {
				t.Fatal(err)
			}
			st.Update(func(tx kstore.Tx) error { return tx.Put(mpcBucket, mpcStateKey, []byte{1, 5, 0}) })
			st.Close()
		}, "mpc state does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mpcTestNode(t)
			store = n.store
			tt.change(t, n.cfg)
			err := n.start()
			n.close()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// freeAddr returns a loopback address nothing listens on (just closed).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
