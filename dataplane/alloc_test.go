package dataplane

import (
	"testing"

	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// TestFramePathNoAlloc drives one TX and one RX frame per iteration in both
// directions (rounds, responses, finals, counts, channel) and asserts that
// the per-frame path allocates nothing.
func TestFramePathNoAlloc(t *testing.T) {
	prof := noise.DefaultProfile()
	link, err := simfiber.New(simfiber.Config{Profile: prof, Seed: 5, BitErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	var ports [2]*Port
	for i, l := range []Line{link.A(), link.B()} {
		if ports[i], err = NewPort(Config{Role: Role(i), Line: l, Profile: prof}); err != nil {
			t.Fatal(err)
		}
	}
	keys := [2]keys.Key{{1}, {2}}
	for i, p := range ports {
		if err := p.ScheduleTX(1, &keys[i], 0); err != nil {
			t.Fatal(err)
		}
		if err := p.InstallRX(1, &keys[1-i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := ports[0].Chan().Send([]byte("a control message on the channel")); err != nil {
		t.Fatal(err)
	}
	// A handshake-lane message on both sides: every LaneEvery-th frame is a
	// null frame carrying its fragments, and the peer reassembles them.
	for _, p := range ports {
		if err := p.SetLane(make([]byte, 300)); err != nil {
			t.Fatal(err)
		}
	}
	var laneBuf [512]byte
	var c Count
	step := func() {
		for i, p := range ports {
			if err := p.tx.frame(); err != nil {
				t.Fatal(err)
			}
			peer := ports[1-i]
			if err := peer.cfg.Line.Recv(peer.rx.buf[:], peer.rx.soft[:]); err != nil {
				t.Fatal(err)
			}
			peer.rx.frame()
		}
		for _, p := range ports {
			for p.Counts().Pop(&c) {
			}
			for {
				if _, ok := p.LaneRecv(laneBuf[:]); !ok {
					break
				}
			}
		}
	}
	for range 20 { // warm up: keys installed, rounds and finals in flight
		step()
	}
	if a := testing.AllocsPerRun(50, step); a != 0 {
		t.Fatalf("%v allocations per frame pair", a)
	}
	s := ports[0].Stats()
	if s.CountsOwn == 0 || s.CountsPeer == 0 || s.RoundsAnswered == 0 || s.TXNullFrames == 0 || ports[1].LaneStats().Fragments == 0 {
		t.Fatalf("the loop did not exercise the rounds: %+v", s)
	}
}
