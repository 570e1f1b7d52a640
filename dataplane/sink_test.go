package dataplane

import (
	"testing"

	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// recSink records what the RX hands a PayloadSink.
type recSink struct {
	counts []uint32
	epochs []uint8
	lost   int
}

func (s *recSink) Deliver(_ *framer.Frame, count uint32, epoch uint8) {
	s.counts = append(s.counts, count)
	s.epochs = append(s.epochs, epoch)
}

func (s *recSink) Lost() { s.lost++ }

// TestSinkSeesOneSequence: the sink gets every accepted frame in COUNT
// order, one unbroken sequence across a key switch and across the null
// frames the handshake lane interleaves, and nothing for a refused frame.
func TestSinkSeesOneSequence(t *testing.T) {
	sink := &recSink{}
	sp := newStepPair(t, Config{FirstCount: 1<<32 - 8, LaneEvery: 4})
	sp.b.cfg.Sink = sink
	a, b := sp.a, sp.b
	k1, k2 := keys.Key{0x31}, keys.Key{0x32}
	a.ScheduleTX(1, &k1, 0)
	sp.gen(b.InstallRXGen(1, &k1))
	for i := range 24 {
		switch i {
		case 6:
			if err := a.SetLane([]byte{lane.KindBeacon}); err != nil {
				t.Fatal(err)
			}
		case 14:
			a.SetLane(nil)
			sp.gen(b.InstallRXGen(2, &k2))
			if err := a.ScheduleTX(2, &k2, a.TXCount()+3); err != nil {
				t.Fatal(err)
			}
		}
		sp.step()
	}
	if len(sink.counts) != 24 || sink.lost != 0 {
		t.Fatalf("sink got %d frames (%d lost), want 24", len(sink.counts), sink.lost)
	}
	var null, e2 int
	for i, c := range sink.counts {
		if c != uint32(1<<32-8+i) {
			t.Fatalf("frame %d: COUNT %d, want %d (one sequence across the wrap, the lane and the switch)", i, c, uint32(1<<32-8+i))
		}
		switch sink.epochs[i] {
		case 0:
			null++
		case 2:
			e2++
		}
	}
	if null == 0 || e2 == 0 {
		t.Fatalf("null frames %d, epoch-2 frames %d: the test did not cross the lane and the switch", null, e2)
	}
	// A replayed frame is refused before the sink.
	if err := a.tx.frame(); err != nil {
		t.Fatal(err)
	}
	if err := sp.link.B().Recv(b.rx.buf[:], b.rx.soft[:]); err != nil {
		t.Fatal(err)
	}
	wire := append([]byte(nil), b.rx.buf[:]...)
	b.rx.frame()
	before := len(sink.counts)
	copy(b.rx.buf[:], wire)
	b.rx.frame()
	if len(sink.counts) != before || b.Stats().RXReplayed != 1 {
		t.Fatalf("a replayed frame reached the sink (%d → %d) or was not counted", before, len(sink.counts))
	}
}
