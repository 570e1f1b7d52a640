package link

import (
	"encoding/hex"
	"testing"

	"github.com/otkd/otkd/ctrl/handshake"
	"github.com/otkd/otkd/ctrl/negotiation"
)

// TestLinkKeyVector pins the rotation keys derived from a link secret
// (docs/protocol.md lists the same vectors).
func TestLinkKeyVector(t *testing.T) {
	var s handshake.Secret
	for i := range s {
		s[i] = byte(i)
	}
	for _, v := range []struct {
		d    negotiation.Direction
		idx  uint32
		want string
	}{
		{negotiation.AtoB, 1, "60788417337aaaa04ef34e5e004f2108"},
		{negotiation.BtoA, 1, "cf3d01f41d6ba5d6d747fcd403117be8"},
		{negotiation.AtoB, 2, "48046bbec7cc666eed81678a54fcef75"},
	} {
		k, err := linkKey(&s, v.d, v.idx)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k[:]); got != v.want {
			t.Errorf("direction %d index %d: %s, pinned %s", v.d, v.idx, got, v.want)
		}
	}
}
