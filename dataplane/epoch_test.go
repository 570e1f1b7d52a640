package dataplane

import (
	"testing"

	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// TestKeySwitchAtCount: the TX changes key exactly at the scheduled COUNT
// and the RX, holding both epochs, opens every frame on both sides of it.
func TestKeySwitchAtCount(t *testing.T) {
	prof := noise.DefaultProfile()
	link, err := simfiber.New(simfiber.Config{Profile: prof, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewPort(Config{Role: RoleA, Line: link.A(), Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPort(Config{Role: RoleB, Line: link.B(), Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := framer.Key{0x11}, framer.Key{0x22}
	if err := a.ScheduleTX(1, &k1, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.InstallRX(1, &k1); err != nil {
		t.Fatal(err)
	}
	const switchAt = 10
	for count := uint32(1); count <= 20; count++ {
		if count == 5 { // announced ahead, as the controller does
			if err := b.InstallRX(2, &k2); err != nil {
				t.Fatal(err)
			}
			if err := a.ScheduleTX(2, &k2, switchAt); err != nil {
				t.Fatal(err)
			}
			if err := a.ScheduleTX(3, &k2, switchAt+1); err != ErrBusy {
				t.Fatalf("second pending switch: %v", err)
			}
		}
		if err := a.tx.frame(); err != nil {
			t.Fatal(err)
		}
		if err := link.B().Recv(b.rx.buf[:], b.rx.soft[:]); err != nil {
			t.Fatal(err)
		}
		b.rx.frame()
		want := uint8(1)
		if count >= switchAt {
			want = 2
		}
		if a.TXEpoch() != want || b.rx.st.Epoch != want || b.rx.st.Count != count {
			t.Fatalf("COUNT %d: TX epoch %d, RX saw epoch %d count %d; want epoch %d", count, a.TXEpoch(), b.rx.st.Epoch, b.rx.st.Count, want)
		}
	}
	s := b.Stats()
	if s.RXFrames != 20 || s.RXUnknownEpoch != 0 || s.PayloadErrors != 0 {
		t.Fatalf("RX stats %+v", s)
	}
	if a.SwitchPending() || s.RXEpoch != 2 || s.RXPrevEpoch != 1 {
		t.Fatalf("pending %v, RX epochs %d/%d", a.SwitchPending(), s.RXEpoch, s.RXPrevEpoch)
	}
}

// TestResetTX: after ResetTX the TX sends null-epoch frames, which the peer
// still opens although it holds two newer keys.
func TestResetTX(t *testing.T) {
	prof := noise.DefaultProfile()
	link, _ := simfiber.New(simfiber.Config{Profile: prof, Seed: 12})
	a, _ := NewPort(Config{Role: RoleA, Line: link.A(), Profile: prof})
	b, _ := NewPort(Config{Role: RoleB, Line: link.B(), Profile: prof})
	k1, k2 := framer.Key{1}, framer.Key{2}
	b.InstallRX(1, &k1)
	b.InstallRX(2, &k2)
	a.ScheduleTX(2, &k2, 0)
	if err := a.ResetTX(); err != ErrBusy {
		t.Fatalf("ResetTX with a switch pending: %v", err)
	}
	step := func() {
		if err := a.tx.frame(); err != nil {
			t.Fatal(err)
		}
		if err := link.B().Recv(b.rx.buf[:], b.rx.soft[:]); err != nil {
			t.Fatal(err)
		}
		b.rx.frame()
	}
	step()
	if b.rx.st.Epoch != 2 {
		t.Fatalf("epoch %d", b.rx.st.Epoch)
	}
	if err := a.ResetTX(); err != nil {
		t.Fatal(err)
	}
	step()
	if a.TXEpoch() != framer.NullEpoch || b.rx.st.Epoch != framer.NullEpoch || b.Stats().RXUnknownEpoch != 0 {
		t.Fatalf("after ResetTX: TX epoch %d, RX saw %d, rejected %d", a.TXEpoch(), b.rx.st.Epoch, b.Stats().RXUnknownEpoch)
	}
}
