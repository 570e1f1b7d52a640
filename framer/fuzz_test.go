package framer

import (
	"bytes"
	"errors"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// FuzzOpen feeds arbitrary wire frames to Open. Whatever the bytes, Open
// never panics; when it fails the frame is unchanged; when it succeeds the
// frame carried an epoch the Opener holds, and a frame of epoch 1 opens
// only when its messages are those the Sealer tagged (a changed message
// byte that the FEC does not undo never opens).
func FuzzOpen(f *testing.F) {
	key := keys.Key{0x11, 0x22}
	seed := make([]byte, FrameLen)
	fr, _ := View(seed)
	for i := range MsgLen {
		fr.Interaction()[i] = byte(i * 7)
	}
	plainMsgs := append([]byte(nil), fr.Interaction()...)
	s, _ := NewSealer(0, Options{})
	_ = s.Seal(&fr, &key, 9, 1)
	f.Add(seed[:64], uint16(0), byte(0))
	f.Add([]byte{0x42}, uint16(IntOff+10), byte(0))               // one message byte: the FEC undoes it
	f.Add(bytes.Repeat([]byte{0x42}, 9), uint16(IntOff), byte(0)) // nine: beyond the FEC
	f.Add([]byte{0xF6, 0xF6, 0xF6, 0x28, 0x28, 0x28, 1, 2, 3}, uint16(4000), byte(0xFF))
	f.Add([]byte{}, uint16(16829), byte(1))
	f.Fuzz(func(t *testing.T, patch []byte, at uint16, flip byte) {
		wire := append([]byte(nil), seed...)
		copy(wire[int(at)%FrameLen:], patch)
		for i := int(at) % 97; i < FrameLen; i += 97 + int(flip) {
			wire[i] ^= flip
		}
		before := append([]byte(nil), wire...)
		fr, err := View(wire)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := NewOpener(0, Options{})
		o.Install(1, &key)
		var st Stats
		err = o.Open(&fr, &st)
		if err != nil {
			if !errors.Is(err, ErrLostFAS) && !errors.Is(err, ErrUnknownEpoch) && !errors.Is(err, ErrAuth) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if !bytes.Equal(before, wire) {
				t.Fatal("failed Open changed the frame")
			}
			return
		}
		if st.Epoch != 1 && st.Epoch != keys.NullEpoch {
			t.Fatalf("opened a frame of epoch %d", st.Epoch)
		}
		if st.CorrectedSymbols > 8*65 || st.UncorrectableCodewords > 65 {
			t.Fatalf("impossible stats %+v", st)
		}
		if st.Epoch == 1 && (st.Count != 9 || !bytes.Equal(fr.Interaction(), plainMsgs)) {
			t.Fatalf("a frame of epoch 1 opened with COUNT %d and messages that were never sealed", st.Count)
		}
	})
}

// FuzzNegotiation parses arbitrary negotiation areas: every field reads back
// what was written and the array split is lossless.
func FuzzNegotiation(f *testing.F) {
	f.Add(make([]byte, AreaLen))
	f.Add(bytes.Repeat([]byte{0xA5}, AreaLen))
	f.Fuzz(func(t *testing.T, area []byte) {
		if len(area) < AreaLen {
			area = append(area, make([]byte, AreaLen-len(area))...)
		}
		n := Negotiation(area[:AreaLen])
		st, ss, rs := n.Status(), n.SendSeq(), n.RespSeq()
		var a, b [ArrayLen]byte
		d1 := append([]byte(nil), n.Data1()...)
		Deinterleave(n.Data1(), &a, &b)
		Interleave(n.Data1(), &a, &b)
		if !bytes.Equal(d1, n.Data1()) {
			t.Fatal("data1 split is lossy")
		}
		n.SetSendSeq(ss)
		n.SetRespSeq(rs)
		n.SetStatus(st)
		if n.Status() != st || n.SendSeq() != ss || n.RespSeq() != rs {
			t.Fatal("field round trip")
		}
	})
}
