package handshake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

func TestKeyFilesRoundTrip(t *testing.T) {
	a, b, _ := ids(t)
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")
	if err := WritePrivateKey(privPath, a.Priv); err != nil {
		t.Fatal(err)
	}
	if err := WritePublicKey(pubPath, a.Peer().Pub); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(privPath); st.Mode().Perm() != 0o600 {
		t.Errorf("private key written with mode %v", st.Mode().Perm())
	}
	if err := WritePrivateKey(privPath, a.Priv); err == nil {
		t.Error("WritePrivateKey overwrote an existing file")
	}
	id, err := LoadIdentity(a.ID, privPath)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Priv.Equal(a.Priv) {
		t.Fatal("loaded private key differs")
	}
	peer, err := LoadPeer(a.ID, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !peer.Pub.Equal(a.Peer().Pub) {
		t.Fatal("loaded public key differs")
	}
	// Loaded keys do a handshake.
	o := run(t, id, b.Peer(), b, peer, nil)
	if o.errA != nil || o.errB != nil {
		t.Fatal(o.errA, o.errB)
	}
	if keys.PublicFingerprint(peer.Pub) != keys.PublicFingerprint(a.Peer().Pub) {
		t.Fatal("fingerprint differs")
	}
}

func TestKeyFileErrors(t *testing.T) {
	a, _, _ := ids(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if err := WritePrivateKey(good, a.Priv); err != nil {
		t.Fatal(err)
	}
	goodPEM, _ := os.ReadFile(good)
	pubPath := filepath.Join(dir, "good.pub")
	if err := WritePublicKey(pubPath, a.Peer().Pub); err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(pubPath)

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256DER, _ := x509.MarshalPKCS8PrivateKey(p256)
	p256PubDER, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	pemOf := func(typ string, der []byte, h map[string]string) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: h, Bytes: der})
	}
	block, _ := pem.Decode(goodPEM)

	tests := []struct {
		name    string
		public  bool
		content []byte // nil: do not create
		mode    os.FileMode
		dir     bool
		want    string
	}{
		{"missing file", false, nil, 0, false, "no such file"},
		{"directory", false, nil, 0, true, "not a regular file"},
		{"group readable", false, goodPEM, 0o640, false, "mode 0640 is too open"},
		{"world readable", false, goodPEM, 0o644, false, "mode 0644 is too open"},
		{"empty", false, []byte{}, 0o600, false, "no PEM block"},
		{"garbage", false, []byte("not a key\n"), 0o600, false, "no PEM block"},
		{"public key as private", false, pubPEM, 0o600, false, `"PUBLIC KEY", want "PRIVATE KEY"`},
		{"encrypted", false, pemOf("PRIVATE KEY", block.Bytes, map[string]string{"Proc-Type": "4,ENCRYPTED"}), 0o600, false, "PEM headers"},
		{"trailing data", false, append(append([]byte{}, goodPEM...), "junk"...), 0o600, false, "data after the PEM block"},
		{"bad DER", false, pemOf("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}, nil), 0o600, false, "not a PKCS#8"},
		{"P-256 private key", false, pemOf("PRIVATE KEY", p256DER, nil), 0o600, false, "not an SM2 private key"},
		{"too large", false, make([]byte, maxKeyFileSize+1), 0o600, false, "larger than any key file"},
		{"public world writable", true, pubPEM, 0o666, false, "mode 0666 is too open"},
		{"private key as public", true, goodPEM, 0o644, false, `"PRIVATE KEY", want "PUBLIC KEY"`},
		{"P-256 public key", true, pemOf("PUBLIC KEY", p256PubDER, nil), 0o644, false, "not an SM2 public key"},
		{"bad public DER", true, pemOf("PUBLIC KEY", []byte{0x30, 0x00}, nil), 0o644, false, "not a PKIX public key"},
	}
	secret := hex.EncodeToString(a.Priv.D.Bytes())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.pem")
			switch {
			case tt.dir:
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			case tt.content != nil:
				if err := os.WriteFile(path, tt.content, tt.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil { // umask
					t.Fatal(err)
				}
			}
			var err error
			if tt.public {
				_, err = LoadPublicKey(path)
			} else {
				_, err = LoadPrivateKey(path)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !errors.Is(err, ErrKeyFile) || !strings.Contains(msg, path) || !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q: want ErrKeyFile, the path and %q", msg, tt.want)
			}
			if strings.Contains(strings.ToLower(msg), secret) {
				t.Fatal("error contains key bytes")
			}
		})
	}
}
