package mpc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

func TestTOTPVectors(t *testing.T) {
	// RFC 6238 appendix B (SHA-1), truncated to 6 digits: what TOTP and
	// Authorize use.
	secret := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924"} {
		if got := TOTP(secret, time.Unix(unix, 0)); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
	// The whole table of RFC 6238 appendix B (8 digits, three hashes)
	// through the same code path with the RFC's parameters.
	seed := func(n int) string {
		return base32.StdEncoding.EncodeToString([]byte(strings.Repeat("1234567890", 7)[:n]))
	}
	algs := []struct {
		alg    otp.Algorithm
		secret string
	}{{otp.AlgorithmSHA1, seed(20)}, {otp.AlgorithmSHA256, seed(32)}, {otp.AlgorithmSHA512, seed(64)}}
	for _, v := range []struct {
		unix int64
		want [3]string // SHA-1, SHA-256, SHA-512
	}{
		{59, [3]string{"94287082", "46119246", "90693936"}},
		{1111111109, [3]string{"07081804", "68084774", "25091201"}},
		{1111111111, [3]string{"14050471", "67062674", "99943326"}},
		{1234567890, [3]string{"89005924", "91819424", "93441116"}},
		{2000000000, [3]string{"69279037", "90698825", "38618901"}},
		{20000000000, [3]string{"65353130", "77737706", "47863826"}},
	} {
		for i, a := range algs {
			got, ok := hotpCode(a.secret, totpCounter(time.Unix(v.unix, 0)), hotp.ValidateOpts{Digits: otp.DigitsEight, Algorithm: a.alg})
			if !ok || got != v.want[i] {
				t.Errorf("T=%d %v: %q, want %s", v.unix, a.alg, got, v.want[i])
			}
		}
	}
}

// TestTOTPMalformedCodes: codes of the wrong length or form never match,
// count as wrong codes and lead to the lockout like any other.
func TestTOTPMalformedCodes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := NewAuthenticator(func() time.Time { return now })
	secret := []byte("0123456789abcdef0123")
	if err := a.AddOperator("alice", secret); err != nil {
		t.Fatal(err)
	}
	cs := &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "alice"}}}}}
	right := TOTP(secret, now)
	for _, code := range []string{"", right[:5], right + "0", " " + right[1:], "\x00\x00\x00\x00\x00\x00"} {
		if _, err := a.Authorize(cs, code); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "wrong code") {
			t.Fatalf("code %q: %v", code, err)
		}
	}
	if _, err := a.Authorize(cs, right); !strings.Contains(fmt.Sprint(err), "locked") {
		t.Fatalf("after %d malformed codes the right one: %v, want the lockout", MaxTOTPFailures, err)
	}
}

// testCA issues certificates for the loopback tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert, key, pool}
}

func (ca *testCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func serveTLS(t *testing.T, h http.Handler, cfg *tls.Config) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.TLS = cfg
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func tlsClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func TestRecoverOverMutualTLS(t *testing.T) {
	c := newCluster(t, 3, 5)
	c.round(t, false, nil)
	secret := seed(t)
	ct := c.backup(t, secret)

	clusterCA, opCA, rogueCA := newTestCA(t, "cluster"), newTestCA(t, "operators"), newTestCA(t, "rogue")
	var urls []string
	var servers []*httptest.Server
	for i, nd := range c.nodes {
		s := serveTLS(t, PartialHandler(nd), MutualTLS(clusterCA.issue(t, "node"+string(rune('1'+i))), clusterCA.pool, nil))
		urls = append(urls, s.URL)
		servers = append(servers, s)
	}
	gwClient := tlsClient(MutualTLS(clusterCA.issue(t, "gateway"), nil, clusterCA.pool))

	now := time.Unix(1_800_000_000, 0)
	auth := NewAuthenticator(func() time.Time { return now })
	otp := bytes.Repeat([]byte{7}, 20)
	if err := auth.AddOperator("alice", otp); err != nil {
		t.Fatal(err)
	}
	gw := serveTLS(t, RecoverHandler(auth, c.nodes[0].Public, gwClient, urls),
		MutualTLS(clusterCA.issue(t, "gateway"), opCA.pool, nil))

	post := func(client *http.Client, code string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+PathRecover, bytes.NewReader(ct))
		req.Header.Set(HeaderTOTP, code)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	alice := tlsClient(MutualTLS(opCA.issue(t, "alice"), nil, clusterCA.pool))
	bob := tlsClient(MutualTLS(opCA.issue(t, "bob"), nil, clusterCA.pool))
	rogue := tlsClient(MutualTLS(rogueCA.issue(t, "alice"), nil, clusterCA.pool))
	noCert := tlsClient(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: clusterCA.pool})

	if code, _ := post(alice, "000000"); code != http.StatusUnauthorized {
		t.Fatalf("wrong TOTP: %d", code)
	}
	if code, _ := post(bob, TOTP(otp, now)); code != http.StatusUnauthorized {
		t.Fatalf("unregistered operator: %d", code)
	}
	for name, cl := range map[string]*http.Client{"rogue CA": rogue, "no certificate": noCert} {
		if code, _ := post(cl, TOTP(otp, now)); code != 0 {
			t.Fatalf("%s: handshake accepted (%d)", name, code)
		}
	}
	code, body := post(alice, TOTP(otp, now))
	if code != http.StatusOK || !bytes.Equal(body, secret) {
		t.Fatalf("recover: %d %q", code, body)
	}
	if code, _ := post(alice, TOTP(otp, now)); code != http.StatusUnauthorized {
		t.Fatalf("replayed TOTP: %d", code)
	}

	// A node cannot be asked by a client outside the cluster CA.
	if _, err := FetchPartial(t.Context(), alice, urls[0], ct); err == nil {
		t.Fatal("node served an operator certificate from another CA")
	}

	// Two nodes down: service continues; three down: 503.
	servers[1].Close()
	servers[3].Close()
	now = now.Add(totpStep)
	if code, body := post(alice, TOTP(otp, now)); code != http.StatusOK || !bytes.Equal(body, secret) {
		t.Fatalf("two nodes down: %d", code)
	}
	servers[4].Close()
	now = now.Add(totpStep)
	if code, body := post(alice, TOTP(otp, now)); code != http.StatusServiceUnavailable ||
		!strings.Contains(string(body), "fewer than t") {
		t.Fatalf("three nodes down: %d %q", code, body)
	}
}

func TestAuthorizeWithoutTLS(t *testing.T) {
	a := NewAuthenticator(nil)
	if _, err := a.Authorize(nil, "123456"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	if a.AddOperator("x", []byte("short")) == nil {
		t.Fatal("short TOTP secret accepted")
	}
}

func TestTOTPLockoutAndRestore(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := NewAuthenticator(func() time.Time { return now })
	secret := bytes.Repeat([]byte{9}, 20)
	if err := a.AddOperator("alice", secret); err != nil {
		t.Fatal(err)
	}
	var accepted []uint64
	a.OnAccept(func(name string, step uint64) error {
		accepted = append(accepted, step)
		return nil
	})
	cs := &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "alice"}}}}}
	wrong := "000000"
	if TOTP(secret, now) == wrong {
		wrong = "111111"
	}
	for range MaxTOTPFailures {
		if _, err := a.Authorize(cs, wrong); !errors.Is(err, ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	if _, err := a.Authorize(cs, TOTP(secret, now)); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("right code while locked: %v", err)
	}
	now = now.Add(TOTPLockout)
	if _, err := a.Authorize(cs, TOTP(secret, now)); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	if len(accepted) != 1 {
		t.Fatalf("OnAccept calls: %v", accepted)
	}
	// A restarted authenticator with the recorded step refuses the replay.
	b := NewAuthenticator(func() time.Time { return now })
	b.AddOperator("alice", secret)
	if err := b.SetLastStep("alice", accepted[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authorize(cs, TOTP(secret, now)); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replay after restart: %v", err)
	}
	if b.SetLastStep("bob", 1) == nil {
		t.Fatal("unknown operator restored")
	}
	// A failing OnAccept refuses the code.
	b.OnAccept(func(string, uint64) error { return errors.New("disk full") })
	if _, err := b.Authorize(cs, TOTP(secret, now.Add(totpStep))); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
}
