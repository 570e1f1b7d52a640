package handshake

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// secretForms returns the ways a secret's bytes could show up in text.
func secretForms(b []byte) []string {
	forms := []string{hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b))}
	forms = append(forms, fmt.Sprint([]byte(b)))                                     // "[12 34 ...]"
	forms = append(forms, strings.TrimPrefix(fmt.Sprintf("%#v", b), "[]byte{")[:20]) // "0x12, 0x34, ..."
	return forms
}

func TestKeysNeverPrinted(t *testing.T) {
	a, b, _ := ids(t)
	o := run(t, a, b.Peer(), b, a.Peer(), nil)
	k, err := o.i.Result()
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, s := range [][]byte{k.AB[:], k.BA[:], k.LinkSecret[:], a.Priv.D.Bytes(), b.Priv.D.Bytes()} {
		secrets = append(secrets, secretForms(s)...)
	}
	secrets = append(secrets, a.Priv.D.String(), b.Priv.D.String())

	values := map[string]any{
		"*Keys": k, "Keys": *k, "AB": k.AB, "BA": k.BA, "LinkSecret": k.LinkSecret,
		"Identity": a, "*Identity": &a, "Initiator": o.i, "Responder": o.r,
		"slice of keys": []*Keys{k}, "struct holding keys": struct{ K Keys }{*k},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("fmt %s of %s prints secret bytes: %s", verb, name, out)
				}
			}
		}
	}
	if s := fmt.Sprint(k); !strings.Contains(s, k.Fingerprint()) {
		t.Errorf("Keys prints %q, want its fingerprint", s)
	}
}
