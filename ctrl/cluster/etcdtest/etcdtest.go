// Package etcdtest runs a real etcd cluster for tests: members of the etcd
// server itself (go.etcd.io/etcd/server/v3/embed) on loopback, each in a
// temporary directory with free ports, optionally serving clients over TLS
// with client-certificate authentication. A member can be killed (stopped
// without handing over its leadership, as a crash looks to the others) and
// restarted on its data. No mock: what the tests talk to is etcd.
package etcdtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Options of Start; the zero value is a 3-member cluster without TLS.
type Options struct {
	// Members is the cluster's size; 0 means 3.
	Members int
	// TLS serves clients over TLS 1.3 and requires a client certificate
	// signed by the cluster's CA (Cluster.CAFile, CertFile, KeyFile).
	TLS bool
	// MaxTxnOps is the servers' --max-txn-ops; 0 means etcd's default
	// (128).
	MaxTxnOps uint
	// Fsync: the members fsync their log as in production (benchmarks);
	// tests turn it off to spare the disk.
	Fsync bool
}

// Cluster is a running cluster.
type Cluster struct {
	Members []*Member
	// Endpoints are the members' client URLs.
	Endpoints []string
	// CAFile, CertFile and KeyFile are a client's TLS files (TLS only).
	CAFile, CertFile, KeyFile string
	// ServerCertFile and ServerKeyFile are the members' certificate (for
	// 127.0.0.1, signed by CAFile's CA) and key: a test may serve another
	// HTTPS endpoint on loopback with them.
	ServerCertFile, ServerKeyFile string

	opt Options
	dir string
}

// Member is one etcd server of the cluster.
type Member struct {
	Name      string
	ClientURL string
	cfg       *embed.Config
	mu        sync.Mutex
	e         *embed.Etcd   // nil while killed
	closing   chan struct{} // closed when the last kill's teardown is over
}

// Start starts a cluster, waits until it has a leader and stops it when
// the test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Members == 0 {
		o.Members = 3
	}
	c := &Cluster{opt: o, dir: t.TempDir()}
	scheme := "http"
	if o.TLS {
		scheme = "https"
		c.writePKI(t)
	}
	var initial []string
	for i := range o.Members {
		name := fmt.Sprintf("m%d", i)
		peer := url.URL{Scheme: "http", Host: freeAddr(t)}
		client := url.URL{Scheme: scheme, Host: freeAddr(t)}
		cfg := embed.NewConfig()
		cfg.Name = name
		cfg.Dir = filepath.Join(c.dir, name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenMetricsUrls = nil
		cfg.InitialClusterToken = "otkd-test"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.UnsafeNoFsync = !o.Fsync
		if o.MaxTxnOps != 0 {
			cfg.MaxTxnOps = o.MaxTxnOps
		}
		if o.TLS {
			cfg.ClientTLSInfo.CertFile = c.ServerCertFile
			cfg.ClientTLSInfo.KeyFile = c.ServerKeyFile
			cfg.ClientTLSInfo.TrustedCAFile = c.CAFile
			cfg.ClientTLSInfo.ClientCertAuth = true
		}
		initial = append(initial, name+"="+peer.String())
		c.Members = append(c.Members, &Member{Name: name, ClientURL: client.String(), cfg: cfg})
		c.Endpoints = append(c.Endpoints, client.String())
	}
	for _, m := range c.Members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	t.Cleanup(c.Close)
	var wg sync.WaitGroup
	errs := make([]error, len(c.Members))
	for i, m := range c.Members {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.start() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// start starts the member on its configuration and waits until it serves.
func (m *Member) start() error {
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("etcd member %s: %w", m.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute): // a bound on a hang
		e.Close()
		return fmt.Errorf("etcd member %s: not ready within a minute", m.Name)
	}
	m.mu.Lock()
	m.e = e
	m.mu.Unlock()
	return nil
}

// Kill stops member i the way a crash looks to the others: no leadership
// handed over, no goodbye; its data stays for Restart.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	m := c.Members[i]
	m.mu.Lock()
	e := m.e
	m.e = nil
	m.mu.Unlock()
	if e == nil {
		t.Fatalf("etcd member %s is not running", m.Name)
	}
	e.Server.HardStop() // raft stops first: the others hear nothing more
	// Then its listeners, in the background: Close waits up to etcd's
	// request timeout (7 s) for the clients' streams to end, a dead
	// member does not. Restart and Close wait for it.
	done := make(chan struct{})
	m.mu.Lock()
	m.closing = done
	m.mu.Unlock()
	go func() { defer close(done); e.Close() }()
}

// waitClosed waits until the teardown of the member's last kill is over.
func (m *Member) waitClosed() {
	m.mu.Lock()
	c := m.closing
	m.mu.Unlock()
	if c != nil {
		<-c
	}
}

// Restart starts a killed member again on its data.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	m := c.Members[i]
	m.waitClosed()
	m.cfg.ClusterState = embed.ClusterStateFlagExisting
	// A member whose peers are down waits for them: start it in the
	// background and let the caller wait on quorum.
	errc := make(chan error, 1)
	go func() { errc <- m.start() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(200 * time.Millisecond):
		t.Cleanup(func() { <-errc })
	}
}

// Running reports whether member i runs.
func (c *Cluster) Running(i int) bool {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.e != nil
}

// Leader returns the index of the member that leads, -1 when none of the
// running members knows a leader.
func (c *Cluster) Leader() int {
	for i, m := range c.Members {
		m.mu.Lock()
		e := m.e
		m.mu.Unlock()
		if e != nil && e.Server.Leader() != 0 && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if c.opt.TLS {
		tc, err := c.ClientTLS()
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// ClientTLS returns the TLS configuration of a client with the cluster's
// client certificate.
func (c *Cluster) ClientTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	pemCA, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemCA)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS13}, nil
}

// WaitQuorum waits until a put through a client succeeds (bounded).
func (c *Cluster) WaitQuorum(t testing.TB, cli *clientv3.Client) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a bound on a hang
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Put(clientv3.WithRequireLeader(ctx), "/etcdtest/quorum", "1")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd has no quorum: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close stops every running member (hard: the cluster goes as a whole).
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, m := range c.Members {
		m.mu.Lock()
		e := m.e
		m.e = nil
		m.mu.Unlock()
		if e != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// No leadership transfer to members that are going too: a
				// graceful stop would wait for it for seconds.
				e.Server.HardStop()
				e.Close()
			}()
		}
	}
	wg.Wait()
	for _, m := range c.Members {
		m.waitClosed()
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writePKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, each signed by the CA, as PEM files in the cluster's
// directory.
func (c *Cluster) writePKI(t testing.TB) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcdtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(c.dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c.CAFile = write("ca.pem", "CERTIFICATE", caDER)
	leaf := func(serial int64, cn, certName, keyName string, usage []x509.ExtKeyUsage, ips []net.IP) (string, string) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(certName, "CERTIFICATE", der), write(keyName, "PRIVATE KEY", kder)
	}
	// The server certificate also serves as the members' client
	// certificate toward each other (gRPC gateway); both usages.
	c.ServerCertFile, c.ServerKeyFile = leaf(2, "etcd", "server.pem", "server.key",
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, []net.IP{net.IPv4(127, 0, 0, 1)})
	c.CertFile, c.KeyFile = leaf(3, "otkd", "client.pem", "client.key", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil)
}
