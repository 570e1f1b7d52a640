package keys

import (
	"bytes"
	"crypto/ecdsa"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// counting fills b with base, base+1, …
func counting(b []byte, base byte) {
	for i := range b {
		b[i] = base + byte(i)
	}
}

// TestFingerprintVector pins the one fingerprint scheme: the wire's
// SM3("otkd v1 session key" ‖ key)[:8] (docs/protocol.md), for a session
// key and a seed (the C reader's test checks the same values).
func TestFingerprintVector(t *testing.T) {
	var k Key
	counting(k[:], 0)
	var s Seed
	counting(s[:], 0)
	for _, v := range []struct {
		name string
		got  Fingerprint
		want string
	}{
		{"key 00..0f", k.Fingerprint(), "1cb233f1f36d78dd"},
		{"seed 00..1f", s.Fingerprint(), "b39c1ccac58e0d17"},
		{"bytes 00..0f", FingerprintOf(k[:]), "1cb233f1f36d78dd"},
	} {
		if v.got.String() != v.want {
			t.Errorf("%s: fingerprint %s, pinned %s", v.name, v.got, v.want)
		}
	}
	h := sm3.New()
	h.Write([]byte(FingerprintLabel))
	h.Write(k[:])
	if sum := h.Sum(nil); !bytes.Equal(sum[:8], func() []byte { f := k.Fingerprint(); return f[:] }()) {
		t.Error("fingerprint is not the first 8 bytes of SM3(label ‖ key)")
	}
}

// TestID: a key's id is its fingerprint read big-endian, so %016x of the
// id prints the fingerprint; 0 (no key) is never an id.
func TestID(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		var k Key
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		f := k.Fingerprint()
		if got := fmt.Sprintf("%016x", f.ID()); got != f.String() {
			t.Fatalf("id %s, fingerprint %s", got, f)
		}
		if IDOf(k[:]) != f.ID() {
			t.Fatal("IDOf differs from Fingerprint.ID")
		}
	}
	if (Fingerprint{}).ID() != 1 {
		t.Error("the zero fingerprint gives id 0")
	}
	var s Seed
	counting(s[:], 0)
	if s.ID() != s.Fingerprint().ID() {
		t.Error("a seed's id is not its fingerprint")
	}
}

// TestNeverPrinted: no fmt verb prints the bytes of a Key, a Seed or a
// Secret.
func TestNeverPrinted(t *testing.T) {
	var k Key
	counting(k[:], 0xa0)
	var s Seed
	counting(s[:], 0xa0)
	var x Secret
	counting(x[:], 0xa0)
	secret := hex.EncodeToString(k[:4])
	for _, v := range []any{k, &k, s, &s, x, &x, []Seed{s}, struct{ K Key }{k}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%d", "%s"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), secret) || strings.Contains(out, "160") {
				t.Errorf("%s of %T printed the bytes: %q", verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(s); got != "seed:"+s.Fingerprint().String() {
		t.Errorf("seed prints %q", got)
	}
	k.Zero()
	s.Zero()
	x.Zero()
	if k != (Key{}) || s != (Seed{}) || x != (Secret{}) {
		t.Error("Zero left bytes")
	}
}

func TestNextEpoch(t *testing.T) {
	for e, want := range map[Epoch]Epoch{0: 1, 1: 2, 254: 255, 255: 1} {
		if got := NextEpoch(e); got != want {
			t.Errorf("NextEpoch(%d) = %d, want %d", e, got, want)
		}
	}
}

// TestPublicFingerprint: the short name is the first 8 bytes of the full
// digest over 04 ‖ X ‖ Y; a missing key is "none".
func TestPublicFingerprint(t *testing.T) {
	priv, err := sm2.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := &priv.PublicKey
	enc := append([]byte{4}, append(pub.X.FillBytes(make([]byte, 32)), pub.Y.FillBytes(make([]byte, 32))...)...)
	want := sm3.Sum(enc)
	if PublicDigest(pub) != want {
		t.Fatal("PublicDigest is not SM3(04 ‖ X ‖ Y)")
	}
	if got := PublicFingerprint(pub); got != hex.EncodeToString(want[:8]) {
		t.Errorf("PublicFingerprint %s, want %x", got, want[:8])
	}
	if PublicFingerprint(nil) != "none" || PublicFingerprint(&ecdsa.PublicKey{}) != "none" {
		t.Error("a missing key is not \"none\"")
	}
}
