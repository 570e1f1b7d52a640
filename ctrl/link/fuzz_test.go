package link

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/noise"
)

func newTestController(t testing.TB, role dataplane.Role) *Controller {
	t.Helper()
	l, err := simfiber.New(simfiber.Config{Profile: noise.DefaultProfile()})
	if err != nil {
		t.Fatal(err)
	}
	port, err := dataplane.NewPort(dataplane.Config{Role: role, Line: l.A()})
	if err != nil {
		t.Fatal(err)
	}
	self, _ := handshake.Generate("otkd:self", rand.Reader)
	peer, _ := handshake.Generate("otkd:peer", rand.Reader)
	c, err := New(Config{Port: port, Self: self, Peer: peer.Peer()})
	if err != nil {
		t.Fatal(err)
	}
	c.start(time.Now())
	return c
}

// FuzzDispatch feeds arbitrary control messages to a controller of either
// role: no panic, and no key ever scheduled or installed from garbage.
func FuzzDispatch(f *testing.F) {
	act := make([]byte, 15)
	act[0], act[2] = kindActivate, 2
	binary.BigEndian.PutUint32(act[3:], 99)
	sift := &negotiation.Sift{}
	sift.Lo, sift.Span, sift.Bitmap = 1, 8, []byte{0xFF}
	sb, _ := sift.MarshalBinary()
	f.Add(byte(0), append([]byte{kindToResponder}, sb...))
	f.Add(byte(1), act)
	f.Add(byte(0), []byte{kindAck, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(byte(1), []byte{0x01, 1, 1, 0, 0}) // v1's handshake kind: gone
	f.Add(byte(0), []byte{kindToInitiator, 2, 0, 0, 0, 1})
	f.Add(byte(1), []byte{kindKeyring, 1, 1})
	f.Add(byte(1), []byte{0xEE})
	f.Add(byte(0), []byte{})
	f.Fuzz(func(t *testing.T, role byte, m []byte) {
		c := newTestController(t, dataplane.Role(role&1))
		now := time.Now()
		_ = c.dispatch(m, now) // errors are expected; panics are not
		c.negotiate(now)
		c.switchTX(now)
		if c.port.SwitchPending() || c.port.TXEpoch() != 0 {
			t.Fatal("garbage scheduled a TX key")
		}
		if s := c.Stats(); s.RXInstalls != 0 || s.TXSwitches != 0 {
			t.Fatalf("garbage changed keys: %+v", s)
		}
	})
}

// FuzzLane feeds arbitrary handshake-lane messages (what anyone can put in
// a null frame) to a controller of either role, with or without a dead
// peer: no panic, no key scheduled or installed, no session.
func FuzzLane(f *testing.F) {
	f.Add(byte(0), []byte{lane.KindBeacon})
	f.Add(byte(1), []byte{lane.KindBeacon})
	f.Add(byte(1), append([]byte{lane.KindHandshake, handshake.Version, byte(handshake.MsgHello)}, make([]byte, 120)...))
	f.Add(byte(0), append([]byte{lane.KindHandshake, handshake.Version, byte(handshake.MsgReply)}, make([]byte, 190)...))
	f.Add(byte(1), append([]byte{lane.KindHandshake, handshake.Version, byte(handshake.MsgConfirm)}, make([]byte, 97)...))
	f.Add(byte(2), []byte{})
	f.Fuzz(func(t *testing.T, role byte, m []byte) {
		c := newTestController(t, dataplane.Role(role&1))
		now := time.Now()
		_ = c.onLane(m, now)
		c.handshake(now)
		if c.port.SwitchPending() || c.port.TXEpoch() != 0 || c.ch != nil || c.hsKeys != nil {
			t.Fatal("a lane message made a session")
		}
		if s := c.Stats(); s.RXInstalls != 0 || s.TXSwitches != 0 || s.Sessions != 0 {
			t.Fatalf("a lane message changed keys: %+v", s)
		}
	})
}
