package dataplane

import (
	"bytes"
	"testing"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// stepPair is two ports over a simfiber driven frame by frame by the test
// (no goroutines): step sends one frame A→B and lets B's RX take it.
type stepPair struct {
	t    *testing.T
	link *simfiber.Link
	a, b *Port
}

func newStepPair(t *testing.T, cfg Config) *stepPair {
	t.Helper()
	prof := noise.DefaultProfile()
	link, err := simfiber.New(simfiber.Config{Profile: prof, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := cfg, cfg
	ca.Role, ca.Line, cb.Role, cb.Line = RoleA, link.A(), RoleB, link.B()
	a, err := NewPort(ca)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPort(cb)
	if err != nil {
		t.Fatal(err)
	}
	return &stepPair{t: t, link: link, a: a, b: b}
}

func (sp *stepPair) step() {
	sp.t.Helper()
	if err := sp.a.tx.frame(); err != nil {
		sp.t.Fatal(err)
	}
	if err := sp.link.B().Recv(sp.b.rx.buf[:], sp.b.rx.soft[:]); err != nil {
		sp.t.Fatal(err)
	}
	sp.b.rx.frame()
}

// gen checks an InstallRX.
func (sp *stepPair) gen(gen uint64, err error) uint64 {
	sp.t.Helper()
	if err != nil {
		sp.t.Fatal(err)
	}
	return gen
}

// TestKeySwitchAtCount: the TX changes key exactly at the scheduled COUNT,
// COUNT runs on across the switch, and the RX, holding both epochs, opens
// every frame on both sides of the switch.
func TestKeySwitchAtCount(t *testing.T) {
	sp := newStepPair(t, Config{FirstCount: 100})
	a, b := sp.a, sp.b
	k1, k2 := keys.Key{0x11}, keys.Key{0x22}
	if err := a.ScheduleTX(1, &k1, 0); err != nil {
		t.Fatal(err)
	}
	sp.gen(b.InstallRXGen(1, &k1))
	const switchAt = 110
	for i := range 20 {
		if i == 5 { // announced ahead, as the controller does
			sp.gen(b.InstallRXGen(2, &k2))
			if err := a.ScheduleTX(2, &k2, switchAt); err != nil {
				t.Fatal(err)
			}
			if err := a.ScheduleTX(3, &k2, switchAt+1); err != ErrBusy {
				t.Fatalf("second pending switch: %v", err)
			}
		}
		sp.step()
		wantEpoch, wantCount := uint8(1), uint32(100+i)
		if i >= switchAt-100 {
			wantEpoch = 2
		}
		if a.TXEpoch() != wantEpoch || b.rx.st.Epoch != wantEpoch || b.rx.st.Count != wantCount {
			t.Fatalf("frame %d: TX epoch %d, RX saw epoch %d COUNT %d; want epoch %d COUNT %d",
				i, a.TXEpoch(), b.rx.st.Epoch, b.rx.st.Count, wantEpoch, wantCount)
		}
	}
	s := b.Stats()
	if s.RXFrames != 20 || s.RXUnknownEpoch != 0 || s.PayloadErrors != 0 || s.RXGaps != 0 || s.RXReplayed != 0 {
		t.Fatalf("RX stats %+v", s)
	}
	if a.SwitchPending() || s.RXEpoch != 2 || s.RXPrevEpoch != 1 {
		t.Fatalf("pending %v, RX epochs %d/%d", a.SwitchPending(), s.RXEpoch, s.RXPrevEpoch)
	}
}

// TestNullFramesCarryOnlyTheLane: a null frame's channel and round TLVs are
// ignored (an attacker can write anything in the clear); its lane fragments
// reach the controller, each message once.
func TestNullFramesCarryOnlyTheLane(t *testing.T) {
	sp := newStepPair(t, Config{})
	a, b := sp.a, sp.b
	if err := a.SetLane([]byte{lane.KindBeacon}); err != nil {
		t.Fatal(err)
	}
	for range 5 { // no key: every frame is null and repeats the beacon
		sp.step()
	}
	var buf [lane.MaxMsg]byte
	n, ok := b.LaneRecv(buf[:])
	if !ok || !bytes.Equal(buf[:n], []byte{lane.KindBeacon}) {
		t.Fatalf("lane: %v %x", ok, buf[:n])
	}
	if _, ok := b.LaneRecv(buf[:]); ok {
		t.Fatal("the repeated beacon was delivered twice")
	}
	// A forged null frame with an ichan DATA segment of a new incarnation
	// and a round TLV, as the attacker of issue 11 sent.
	wire := make([]byte, framer.FrameLen)
	f, _ := framer.View(wire)
	var w ichan.AreaWriter
	w.Begin(f.Interaction())
	w.Put(ichan.TypeOwnRound, []byte{0, 0, 0, 9})
	w.Put(ichan.TypeData, []byte{0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0, 0, 0, 3, 0x04, 0, 200})
	w.Finish()
	s, _ := framer.NewSealer(0, framer.Options{})
	if err := s.Seal(&f, nil, 1, keys.NullEpoch); err != nil {
		t.Fatal(err)
	}
	before := b.Chan().Stats()
	copy(b.rx.buf[:], wire)
	b.rx.frame()
	if got := b.Chan().Stats(); got != before {
		t.Fatalf("a null frame fed the channel: %+v → %+v", before, got)
	}
	if st := b.Stats(); st.CountsPeer != 0 || st.RXNullFrames != 6 || st.RXFrames != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLaneInterleaved: with a key and a lane message, every LaneEvery-th
// frame is null (the lane), the others keyed; the peer gets the message.
func TestLaneInterleaved(t *testing.T) {
	sp := newStepPair(t, Config{LaneEvery: 4})
	a, b := sp.a, sp.b
	k := keys.Key{7}
	a.ScheduleTX(1, &k, 0)
	sp.gen(b.InstallRXGen(1, &k))
	a.SetLane(bytes.Repeat([]byte{lane.KindHandshake}, 300)) // two fragments
	for range 16 {
		sp.step()
	}
	st := b.Stats()
	if st.RXNullFrames != 4 || st.RXFrames != 12 {
		t.Fatalf("%d null and %d keyed frames, want 4 and 12", st.RXNullFrames, st.RXFrames)
	}
	if st.RXGaps != 0 {
		t.Errorf("the lane's %d null frames were counted as %d keyed frames lost", st.RXNullFrames, st.RXGaps)
	}
	var buf [lane.MaxMsg]byte
	if n, ok := b.LaneRecv(buf[:]); !ok || n != 300 {
		t.Fatalf("lane message: %v, %d bytes", ok, n)
	}
	a.SetLane(nil)
	for range 8 {
		sp.step()
	}
	if st := b.Stats(); st.RXNullFrames != 4 {
		t.Fatalf("null frames without a lane message: %d", st.RXNullFrames-4)
	}
}

// TestSessionSwitch: SwitchSession replaces a switch pending from the old
// session and moves the TX to the new channel at its next frame; the RX
// adopts its armed channel at the first frame under the key it names, and
// from then on only frames under that key (or later ones) feed it.
func TestSessionSwitch(t *testing.T) {
	sp := newStepPair(t, Config{})
	a, b := sp.a, sp.b
	old, k1, k2 := keys.Key{1}, keys.Key{2}, keys.Key{3}
	a.ScheduleTX(1, &old, 0)
	sp.gen(b.InstallRXGen(1, &old))
	sp.step()
	a.ScheduleTX(2, &k1, 1000) // the old session's rotation, pending
	chA, chB := a.NewChan(), b.NewChan()
	gen := sp.gen(b.InstallRXGen(5, &k2))
	b.ArmChannel(chB, gen)
	if err := a.SwitchSession(5, &k2, chA); err != nil {
		t.Fatal(err)
	}
	chA.Send([]byte("first message of the new session"))
	for range 8 {
		sp.step()
	}
	if a.TXEpoch() != 5 || a.SwitchPending() || a.Chan() != chA {
		t.Fatalf("TX epoch %d, pending %v", a.TXEpoch(), a.SwitchPending())
	}
	if !b.RXOpened(gen) {
		t.Fatal("RX does not report the new key as opened")
	}
	buf := make([]byte, 64)
	if n, ok := chB.Recv(buf); !ok || string(buf[:n]) != "first message of the new session" {
		t.Fatalf("new channel got %q %v", buf[:n], ok)
	}
}

// TestHardLimit: a key never seals more than HardLimit frames: the TX drops
// it, sends null frames and says so; COUNT runs on (across its wrap at
// 2^32); a new key starts a new count of sealed frames; a key used before
// is refused; no (key, COUNT) is sealed twice.
func TestHardLimit(t *testing.T) {
	type sealed struct {
		key   keys.Key
		count uint32
	}
	var rec []sealed
	sp := newStepPair(t, Config{FirstCount: 1<<32 - 10, SoftLimit: 10, HardLimit: 20,
		Sealed: func(k *keys.Key, _ uint8, c uint32) { rec = append(rec, sealed{*k, c}) }})
	a, b := sp.a, sp.b
	k1, k2 := keys.Key{1}, keys.Key{2}
	a.ScheduleTX(1, &k1, 0)
	sp.gen(b.InstallRXGen(1, &k1))
	for range 30 {
		sp.step()
	}
	if c, ex := a.TXKeyState(); !ex || c != 20 || a.TXEpoch() != 0 || a.TXCount() != 19 {
		t.Fatalf("after 30 frames: %d frames under the key, exhausted %v, epoch %d, COUNT %d", c, ex, a.TXEpoch(), a.TXCount())
	}
	if st := a.Stats(); st.TXKeyExhausted != 1 || st.TXNullFrames != 10 {
		t.Fatalf("stats %+v", st)
	}
	if err := a.ScheduleTX(2, &k1, 0); err != nil { // the same key again
		t.Fatal(err)
	}
	sp.step()
	if a.TXEpoch() != 0 || a.Stats().TXKeyReused != 1 {
		t.Fatalf("a used key was taken again: epoch %d", a.TXEpoch())
	}
	a.ScheduleTX(2, &k2, 12345) // no key now: taken at once
	sp.gen(b.InstallRXGen(2, &k2))
	sp.step()
	if c, ex := a.TXKeyState(); ex || c != 1 || a.TXEpoch() != 2 || a.TXCount() != 21 {
		t.Fatalf("after a new key: %d frames under it, exhausted %v, epoch %d, COUNT %d", c, ex, a.TXEpoch(), a.TXCount())
	}
	seen := map[sealed]bool{}
	perKey := map[keys.Key]int{}
	for _, r := range rec {
		if seen[r] {
			t.Fatalf("sealed twice: %v", r)
		}
		seen[r] = true
		perKey[r.key]++
	}
	if perKey[k1] != 20 || perKey[k2] != 1 {
		t.Fatalf("frames per key: %v", perKey)
	}
	if len(rec) != 21 {
		t.Fatalf("%d frames sealed, want 21", len(rec))
	}
}
