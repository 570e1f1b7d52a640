package daemon

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
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
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

// mpcTestDaemon writes the files of node 1 of a three-node [mpc] cluster
// and returns a daemon that has not started.
func mpcTestDaemon(t *testing.T) (*Daemon, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	var ids []handshake.Identity
	cfg := config.Default()
	cfg.Controller.Store = filepath.Join(dir, "controller.db")
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
		cfg.MPC.Peers = append(cfg.MPC.Peers, config.MPCPeer{Name: fmt.Sprintf("n%d", i+1), Address: freeAddr(t), PublicKey: pub})
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
	m := &cfg.MPC
	m.Enabled, m.Index, m.Threshold, m.Listen = true, 1, 2, m.Peers[0].Address
	m.CertFile, m.KeyFile = cert, write("n1.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	m.CAFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	m.Operators = []config.MPCOperator{{Name: "alice", TOTPSecretFile: write("alice.totp", []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"))}}
	d := &Daemon{cfg: cfg, log: slog.New(slog.DiscardHandler), self: ids[0]}
	return d, cfg
}

func TestStartMPC(t *testing.T) {
	d, _ := mpcTestDaemon(t)
	if err := d.startMPC(); err != nil {
		t.Fatal(err)
	}
	defer d.closeKeyMgmt()
	ctx := t.Context()
	st, err := d.MPCStatus(ctx)
	if err != nil || st.Epoch != 0 || st.ClusterKey != "" || len(st.Peers) != 3 || !st.Peers[0].Self ||
		st.NodeKey != st.Peers[0].NodeKey {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := d.MPCBackup(ctx, "x", []byte("secret")); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("backup before init: %v", err)
	}
	if _, err := d.custody.round(ctx, true); !errors.Is(err, api.ErrConflict) {
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
	if _, err := d.custody.round(ctx, false); !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "node 2") {
		t.Fatalf("init with peers down: %v", err)
	}
	if st, _ := d.MPCStatus(ctx); st.Epoch != 0 || st.LastRoundError == "" {
		t.Fatalf("after a failed init: %+v", st)
	}
	var off Daemon
	if _, err := off.MPCStatus(ctx); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("without [mpc]: %v", err)
	}
}

func TestStartMPCRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, c *config.Config)
		want   string
	}{
		{"own key", func(t *testing.T, c *config.Config) { c.MPC.Index = 2 }, "mpc.peer[1].public_key: not the public key of node.private_key"},
		{"peer key file", func(t *testing.T, c *config.Config) { c.MPC.Peers[2].PublicKey += ".missing" }, "mpc.peer[2].public_key"},
		{"TOTP not base32", func(t *testing.T, c *config.Config) {
			os.WriteFile(c.MPC.Operators[0].TOTPSecretFile, []byte("not base32!"), 0o600)
		}, "mpc.operator[0].totp_secret_file"},
		{"TOTP short", func(t *testing.T, c *config.Config) {
			os.WriteFile(c.MPC.Operators[0].TOTPSecretFile, []byte("JBSWY3DP"), 0o600)
		}, "at least 16 bytes"},
		{"CA", func(t *testing.T, c *config.Config) { os.WriteFile(c.MPC.CAFile, []byte("x"), 0o600) }, "mpc.ca_file"},
		{"state of another node", func(t *testing.T, c *config.Config) {
			st, err := kstore.Open(c.Controller.Store, nil)
			if err != nil {
				t.Fatal(err)
			}
			st.Update(func(tx kstore.Tx) error { return tx.Put(mpcBucket, mpcStateKey, []byte{1, 5, 0}) })
			st.Close()
		}, "mpc state does not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, cfg := mpcTestDaemon(t)
			tt.change(t, cfg)
			err := d.startMPC()
			d.closeKeyMgmt()
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
