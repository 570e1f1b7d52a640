package negotiation

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestSeedNeverPrinted(t *testing.T) {
	var s Seed
	for i := range s {
		s[i] = byte(0xa0 + i)
	}
	secret := hex.EncodeToString(s[:])
	res := &Result{Seed: s}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), fmt.Sprintf("%d", s),
		fmt.Sprintf("%v", &s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", res), res.String(),
		fmt.Sprintf("%v", []Seed{s}),
	} {
		if strings.Contains(strings.ToLower(out), secret[:8]) || strings.Contains(out, "160") {
			t.Errorf("seed bytes printed: %q", out)
		}
		if !strings.Contains(out, s.Fingerprint()) {
			t.Errorf("no fingerprint in %q", out)
		}
	}
	if len(s.Fingerprint()) != 16 {
		t.Errorf("fingerprint %q", s.Fingerprint())
	}
	s.Zero()
	if s != (Seed{}) {
		t.Error("Zero left bytes")
	}
}

func TestSessionKey(t *testing.T) {
	var s Seed
	for i := range s {
		s[i] = byte(i)
	}
	k0, err := SessionKey(&s, AtoB, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SessionKey(&s, AtoB, 0)
	if k0 != again {
		t.Fatal("KDF not deterministic")
	}
	seen := map[[16]byte]string{}
	for _, dir := range []Direction{AtoB, BtoA} {
		for idx := range uint64(4) {
			k, err := SessionKey(&s, dir, idx)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("dir %d index %d", dir, idx)
			if prev, dup := seen[k]; dup {
				t.Fatalf("%s and %s give the same key", prev, name)
			}
			seen[k] = name
		}
	}
	if _, err := SessionKey(&s, 2, 0); err == nil {
		t.Error("direction 2 accepted")
	}
	// Regression vector: pins the documented IV layout and keystream use.
	const want = "7f5e3c1d58cb34a8b4029bf78db96035"
	if got := hex.EncodeToString(k0[:]); got != want {
		t.Errorf("SessionKey(0..31, A→B, 0) = %s, want %s", got, want)
	}
	iv := kdfIV(BtoA, 0x0102030405060708)
	wantIV := append([]byte("otkdKDF1\x01\x01\x02\x03\x04\x05\x06\x07\x08"), make([]byte, 6)...)
	if !bytes.Equal(iv[:], wantIV) {
		t.Errorf("IV = % x", iv)
	}
}
