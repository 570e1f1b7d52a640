package negotiation

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

func TestSeedNeverPrinted(t *testing.T) {
	var s keys.Seed
	for i := range s {
		s[i] = byte(0xa0 + i)
	}
	secret := hex.EncodeToString(s[:])
	res := &Result{Seed: s}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), fmt.Sprintf("%d", s),
		fmt.Sprintf("%v", &s), fmt.Sprintf("%#v", s), fmt.Sprintf("%+v", res), res.String(),
		fmt.Sprintf("%v", []keys.Seed{s}),
	} {
		if strings.Contains(strings.ToLower(out), secret[:8]) || strings.Contains(out, "160") {
			t.Errorf("seed bytes printed: %q", out)
		}
		if !strings.Contains(out, s.Fingerprint().String()) {
			t.Errorf("no fingerprint in %q", out)
		}
	}
	if len(s.Fingerprint().String()) != 16 {
		t.Errorf("fingerprint %q", s.Fingerprint().String())
	}
	s.Zero()
	if s != (keys.Seed{}) {
		t.Error("Zero left bytes")
	}
}
