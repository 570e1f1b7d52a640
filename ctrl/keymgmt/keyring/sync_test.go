package keyring

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSyncMsgRoundTrip(t *testing.T) {
	valid := []SyncMsg{
		{Pool: "default", Op: OpBind, Stream: 5, Seq: 1, Ring: 3, Slot: 17, Consumer: 42, KeyID: 0xdeadbeef, Epoch: 494000, SeedID: 9},
		{Pool: "p", Op: OpUnbind, Stream: 5, Seq: 2, Ring: 3, Slot: 17, Consumer: 42, KeyID: 0xdeadbeef, Epoch: 494000, SeedID: 9},
		{Pool: "plugin-2", Op: OpRelease, Stream: 5, Seq: 3, Ring: 1, Slot: 3, Consumer: 42, KeyID: 1, Epoch: 1, SeedID: 0},
		{Pool: "a", Op: OpFill, Stream: 5, Seq: 4, Acked: 3, Ring: 1, Epoch: 494001, SeedID: 9},
		{Pool: "0123456789abcdef0123456789abcdef", Op: OpAck, Stream: 7, Seq: 4},
	}
	for _, m := range valid {
		b := m.Marshal()
		if len(b) != 64+len(m.Pool) || b[0] != SyncVersion || b[63] != byte(len(m.Pool)) {
			t.Fatalf("%v: %d bytes, version %d", m, len(b), b[0])
		}
		var got SyncMsg
		if err := got.Unmarshal(b); err != nil || got != m {
			t.Fatalf("%v: got %+v %v", m, got, err)
		}
	}
	bind, fill, ack := valid[0], valid[3], valid[4]
	for _, tc := range []struct {
		name string
		m    SyncMsg
		mut  func([]byte) []byte
		want string
	}{
		{"short", bind, func(b []byte) []byte { return b[:10] }, "10 bytes"},
		{"long", bind, func(b []byte) []byte { return append(b, 'x') }, "72 bytes, pool name of 7"},
		{"too long", bind, func(b []byte) []byte { return append(b, make([]byte, 40)...) }, "111 bytes"},
		{"v1", bind, func(b []byte) []byte { b[0] = 1; return b[:39] }, "version 1"},
		{"v2", bind, func(b []byte) []byte { b[0] = 2; return b[:63] }, "version 2 (63 bytes)"},
		{"version", bind, func(b []byte) []byte { b[0] = 4; return b }, "version 4"},
		{"no pool", bind, func(b []byte) []byte { b[63] = 0; return b[:64] }, "64 bytes"},
		{"pool length", bind, func(b []byte) []byte { b[63] = 6; return b }, "pool name of 6"},
		{"pool char", bind, func(b []byte) []byte { b[64] = 'D'; return b }, `pool name "Default"`},
		{"pool dash", bind, func(b []byte) []byte { b[64] = '-'; return b }, `pool name "-efault"`},
		{"op 0", bind, func(b []byte) []byte { b[1] = 0; return b }, "op 0"},
		{"op 6", bind, func(b []byte) []byte { b[1] = 6; return b }, "op 6"},
		{"stream", bind, func(b []byte) []byte { clear(b[2:10]); return b }, "zero stream"},
		{"seq", bind, func(b []byte) []byte { clear(b[10:18]); return b }, "zero stream or seq"},
		{"acked", bind, func(b []byte) []byte { b[25] = 1; return b }, "acked 1 not below seq 1"},
		{"ring", bind, func(b []byte) []byte { b[26] = MaxRings; return b }, "ring 64"},
		{"slot", bind, func(b []byte) []byte { b[27] = 0xff; return b }, "slot"},
		{"consumer", bind, func(b []byte) []byte { clear(b[31:39]); return b }, "zero consumer"},
		{"key", bind, func(b []byte) []byte { clear(b[39:47]); return b }, "zero consumer or key"},
		{"fill without seed", fill, func(b []byte) []byte { clear(b[55:63]); return b }, "seed id"},
		{"fill with consumer", fill, func(b []byte) []byte { b[38] = 1; return b }, "no consumer"},
		{"ack with acked", ack, func(b []byte) []byte { b[25] = 1; return b }, "nothing but"},
		{"ack with ring", ack, func(b []byte) []byte { b[26] = 1; return b }, "nothing but"},
		{"ack with seed", ack, func(b []byte) []byte { b[62] = 1; return b }, "nothing but"},
	} {
		got := bind
		before := got
		err := got.Unmarshal(tc.mut(tc.m.Marshal()))
		if !errors.Is(err, ErrSyncMsg) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrSyncMsg naming %q", tc.name, err, tc.want)
		}
		if got != before {
			t.Errorf("%s: failed Unmarshal changed the message", tc.name)
		}
	}
}

// FuzzSyncMsg: Unmarshal never panics; what it accepts marshals back to the
// same bytes.
func FuzzSyncMsg(f *testing.F) {
	f.Add((&SyncMsg{Pool: "p", Op: OpBind, Stream: 1, Seq: 1, Ring: 1, Slot: 2, Consumer: 3, KeyID: 4, Epoch: 5, SeedID: 6}).Marshal())
	f.Add((&SyncMsg{Pool: "p", Op: OpUnbind, Stream: 1, Seq: 2, Consumer: 1, KeyID: 1}).Marshal())
	f.Add((&SyncMsg{Pool: "p", Op: OpFill, Stream: 1, Seq: 3, Ring: 1, Epoch: 7, SeedID: 6}).Marshal())
	f.Add((&SyncMsg{Pool: "p", Op: OpAck, Stream: 1, Seq: 3}).Marshal())
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
