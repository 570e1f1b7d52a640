package keysync

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// pki is a throwaway CA with one server certificate (127.0.0.1) and one
// client certificate. ECDSA P-256: Go's crypto/tls has no SM2 (TLCP).
type pki struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keysync test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = leaf(2, "platform", x509.ExtKeyUsageServerAuth)
	p.client = leaf(3, "otkd node", x509.ExtKeyUsageClientAuth)
	return p
}

// platform is an application platform: it accepts pushes over mutual TLS
// 1.3, dedups them by idempotency key and counts them.
type platform struct {
	t        testing.TB
	mu       sync.Mutex
	requests int               // POSTs received
	got      map[string][]byte // delivery id → raw body of the first accepted push
	order    []string          // delivery ids in order of first acceptance
	lose     int               // this many accepted pushes get a 500 (lost answer)
	reject   map[string]bool   // delivery ids answered 422 and not applied
	bad      []string          // protocol violations seen
	srv      *httptest.Server
	addr     string
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if r.TLS == nil || r.TLS.Version != tls.VersionTLS13 || len(r.TLS.PeerCertificates) == 0 {
		p.bad = append(p.bad, "not mutual TLS 1.3")
	}
	id := r.Header.Get(IdempotencyHeader)
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || id == "" || r.Method != http.MethodPost {
		p.bad = append(p.bad, "bad request")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if p.reject[id] {
		http.Error(w, "rejected", http.StatusUnprocessableEntity)
		return
	}
	if _, dup := p.got[id]; !dup {
		p.got[id] = raw
		p.order = append(p.order, id)
	}
	if p.lose > 0 {
		p.lose--
		http.Error(w, "lost", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *platform) deliveries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

// newPlatform reserves a loopback address for a platform that is down
// until start is called.
func newPlatform(t testing.TB, ca *pki) *platform {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &platform{t: t, got: map[string][]byte{}}
	p.addr = addr
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Listener.Close() // the platform is down until start
	p.srv.Listener = nil
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	p.srv.TLS = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool,
		Certificates: []tls.Certificate{ca.server},
	}
	t.Cleanup(func() {
		if p.srv.Listener != nil {
			p.srv.Close()
		}
	})
	return p
}

func (p *platform) url() string { return "https://" + p.addr + "/keys" }

// start brings the platform up on its reserved address.
func (p *platform) start() {
	p.t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.srv.Listener = l
	p.srv.StartTLS()
}

// fakeClock is a settable Options.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a Syncer on a bbolt file with one platform, app "vpn.example".
type fixture struct {
	t     testing.TB
	path  string
	self  *sm2.PrivateKey
	ca    *pki
	plat  *platform
	clock *fakeClock
	st    *kstore.DB
	s     *Syncer
}

const app = "vpn.example"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	self, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "ctrl.db"), self: self, ca: newPKI(t),
		clock: &fakeClock{now: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)}}
	f.plat = newPlatform(t, f.ca)
	f.open()
	return f
}

func (f *fixture) options() Options {
	return Options{
		Self:      f.self,
		Platforms: map[string]Platform{app: {URL: f.plat.url(), CA: f.ca.pool, Cert: f.ca.client}},
		Clock:     f.clock.Now,
		RetryBase: time.Second,
		RetryMax:  time.Minute,
	}
}

func (f *fixture) open() {
	f.t.Helper()
	st, err := kstore.Open(f.path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.st = st
	f.s, err = New(st, f.options())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(f.close)
}

func (f *fixture) close() {
	if f.s != nil {
		f.s.Close()
		f.st.Close()
		f.s = nil
	}
}

// testRecords returns n records key-a, key-b, … with random 16-byte keys.
func testRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		k := make([]byte, 16)
		rand.Read(k)
		recs[i] = Record{ID: "key-" + string(rune('a'+i)), Key: k}
	}
	return recs
}

func (f *fixture) importKeys(recs []Record) {
	f.t.Helper()
	file, err := BuildKeyFile(rand.Reader, &f.self.PublicKey, recs)
	if err != nil {
		f.t.Fatal(err)
	}
	if n, err := f.s.Import(file); err != nil || n != len(recs) {
		f.t.Fatalf("Import = %d, %v; want %d", n, err, len(recs))
	}
}

func (f *fixture) outbox() []Pending {
	f.t.Helper()
	out, err := f.s.Outbox()
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) audit() []Event {
	f.t.Helper()
	ev, err := f.s.Audit(time.Time{})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}
