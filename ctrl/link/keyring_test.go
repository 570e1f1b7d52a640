package link

import (
	"bytes"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane"
)

// TestKeyringMessage: SendKeyring queues a kind-0x08 message that step
// hands to the channel, and dispatch gives a received body to OnKeyring.
func TestKeyringMessage(t *testing.T) {
	c := newTestController(t, dataplane.RoleA)
	for _, bad := range [][]byte{nil, make([]byte, MaxKeyringMsg+1)} {
		if err := c.SendKeyring(bad); err == nil {
			t.Fatalf("SendKeyring(%d bytes) accepted", len(bad))
		}
	}
	body := []byte{1, 2, 3}
	if err := c.SendKeyring(body); err != nil {
		t.Fatal(err)
	}
	body[0] = 9 // the message was copied
	c.takeExternal()
	found := false
	for _, m := range c.outbox {
		if bytes.Equal(m, []byte{kindKeyring, 1, 2, 3}) {
			found = true
		}
	}
	if !found {
		t.Fatalf("outbox %x holds no keyring message", c.outbox)
	}

	var got []byte
	c.cfg.Sink = Funcs{OnKeyring: func(b []byte) { got = append([]byte(nil), b...) }}
	if err := c.dispatch([]byte{kindKeyring, 7, 8}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte{7, 8}) {
		t.Fatalf("Sink.Keyring got %x", got)
	}
	if err := c.dispatch([]byte{kindKeyring}, time.Now()); err == nil {
		t.Fatal("empty keyring message accepted")
	}
}
