package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestSyncMsgRoundTrip(t *testing.T) {
	m := SyncMsg{Op: OpBind, Ring: 3, Slot: 17, Consumer: 42, KeyID: 0xdeadbeef, Epoch: 494000, SeedID: 9}
	b := m.Marshal()
	if len(b) != SyncMsgSize {
		t.Fatalf("%d bytes", len(b))
	}
	var got SyncMsg
	if err := got.Unmarshal(b); err != nil || got != m {
		t.Fatalf("%+v %v", got, err)
	}
	for name, mut := range map[string]func([]byte) []byte{
		"short":    func(b []byte) []byte { return b[:10] },
		"long":     func(b []byte) []byte { return append(b, 0) },
		"version":  func(b []byte) []byte { b[0] = 2; return b },
		"op":       func(b []byte) []byte { b[1] = 3; return b },
		"ring":     func(b []byte) []byte { b[2] = MaxRings; return b },
		"consumer": func(b []byte) []byte { clear(b[7:15]); return b },
		"key":      func(b []byte) []byte { clear(b[15:23]); return b },
		"slot":     func(b []byte) []byte { b[3] = 0xff; return b },
	} {
		before := got
		if err := got.Unmarshal(mut(m.Marshal())); !errors.Is(err, ErrSyncMsg) {
			t.Errorf("%s: %v", name, err)
		}
		if got != before {
			t.Errorf("%s: failed Unmarshal changed the message", name)
		}
	}
}

// FuzzSyncMsg: Unmarshal never panics; what it accepts marshals back to the
// same bytes.
func FuzzSyncMsg(f *testing.F) {
	f.Add((&SyncMsg{Op: OpBind, Ring: 1, Slot: 2, Consumer: 3, KeyID: 4, Epoch: 5, SeedID: 6}).Marshal())
	f.Add((&SyncMsg{Op: OpUnbind, Consumer: 1, KeyID: 1}).Marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m SyncMsg
		if m.Unmarshal(b) != nil {
			return
		}
		if !bytes.Equal(m.Marshal(), b) {
			t.Fatalf("round trip %x → %+v → %x", b, m, m.Marshal())
		}
		var again SyncMsg
		if err := again.Unmarshal(m.Marshal()); err != nil || again != m {
			t.Fatalf("re-unmarshal %+v: %+v %v", m, again, err)
		}
	})
}
