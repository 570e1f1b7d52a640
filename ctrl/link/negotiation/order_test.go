package negotiation

import (
	"errors"
	"math"
	"testing"
)

// TestOutOfOrderRejected walks one block and throws every wrong message at
// both machines at every step: each is rejected and changes nothing; the
// exchange then completes normally.
func TestOutOfOrderRejected(t *testing.T) {
	forModes(t, testOutOfOrderRejected)
}

func testOutOfOrderRejected(t *testing.T, p Params) {
	p.N = 1000 // several blocks per attempt
	tp := newTestPair(t, p, defaultSim(), 31)
	var trace []Message // every message of the first seed, in order
	tp.tamper = func(b []byte) []byte {
		m, _ := Unmarshal(b)
		trace = append(trace, m)
		return b
	}
	first, _ := tp.nextSeed(40 * tp.in.p.N)
	tp.tamper = nil
	if len(trace) < 8 {
		t.Fatalf("short trace: %d messages", len(trace))
	}

	// Second attempt: at each step replay every message of the first.
	tp.feed(tp.in.p.N)
	m, _ := tp.in.Next()
	for m != nil {
		rsBefore, inBefore := responderState(tp.rs), initiatorState(tp.in)
		for _, old := range trace {
			cached := tp.rs.lastReply
			if reply, res, err := tp.rs.Handle(old); err == nil {
				// Only a retransmission of the message handled last is
				// answered, with the cached reply and no new result.
				if reply != cached || res != nil {
					t.Fatalf("responder accepted stale %v (attempt %d block %d)", old.Type(), hdr(old).Attempt, hdr(old).Block)
				}
			} else if !errors.Is(err, ErrUnexpected) && !errors.Is(err, ErrMismatch) {
				t.Fatalf("stale %v: %v", old.Type(), err)
			}
			if _, _, err := tp.in.Handle(old); err == nil {
				t.Fatalf("initiator accepted stale %v", old.Type())
			}
		}
		if responderState(tp.rs) != rsBefore || initiatorState(tp.in) != inBefore {
			t.Fatal("a rejected message changed a machine")
		}
		// The reply arrives twice: the responder answers the retransmission
		// with the same reply, the initiator rejects the duplicate reply.
		reply, rr, err := tp.rs.Handle(m)
		if err != nil {
			t.Fatal(err)
		}
		rsAfter := responderState(tp.rs)
		again, rr2, err := tp.rs.Handle(m)
		if err != nil || again != reply || rr2 != nil || responderState(tp.rs) != rsAfter {
			t.Fatalf("retransmitted %v: reply %v, err %v", m.Type(), again, err)
		}
		next, ri, err := tp.in.Handle(reply)
		if err != nil {
			t.Fatal(err)
		}
		inAfter := initiatorState(tp.in)
		if _, _, err := tp.in.Handle(reply); !errors.Is(err, ErrUnexpected) || initiatorState(tp.in) != inAfter {
			t.Fatalf("duplicate %v: err %v", reply.Type(), err)
		}
		if (ri == nil) != (rr == nil) {
			t.Fatal("result at one end only")
		}
		if ri != nil {
			if ri.Seed != rr.Seed || ri.Seed == first.Seed || ri.Attempt != 2 {
				t.Fatalf("second seed: %v / %v", ri, rr)
			}
			return
		}
		m = next
		if m == nil {
			tp.feed(tp.in.p.N)
			m, _ = tp.in.Next()
		}
	}
	t.Fatal("exchange stopped without a seed")
}

func hdr(m Message) Header {
	switch m := m.(type) {
	case *Sift:
		return m.Header
	case *SiftReply:
		return m.Header
	case *Syndrome:
		return m.Header
	case *SyndromeReply:
		return m.Header
	case *Verify:
		return m.Header
	case *VerifyReply:
		return m.Header
	case *Step:
		return m.Header
	case *StepReply:
		return m.Header
	case *VerifySeeds:
		return m.Header
	case *Release:
		return m.Header
	case *ReleaseReply:
		return m.Header
	}
	return Header{}
}

func TestSkippedAndWrongDirectionMessages(t *testing.T) {
	forModes(t, testSkippedAndWrongDirection)
}

func testSkippedAndWrongDirection(t *testing.T, p Params) {
	tp := newTestPair(t, p, defaultSim(), 32)
	tp.feed(2 * tp.in.p.N)
	sift, _ := tp.in.Next()
	// Responder: a Syndrome/Step or Verify before any Sift, a Sift skipping
	// a block, replies sent the wrong way.
	h := Header{Attempt: 1}
	bad := []Message{
		&SiftReply{Header: h, siftBody: siftBody{Span: 1, Bitmap: []byte{0}}},
		&VerifyReply{Header: h},
	}
	if p.Reconciliation == OneShot {
		bad = append(bad,
			&Syndrome{Header: h, Bits: 1, T: 1, Syndromes: []uint16{0}},
			&Verify{Header: h, Bits: 1, Toeplitz: make([]byte, toeplitzSeedBytes(1))})
	} else {
		bad = append(bad,
			&Step{Header: h, Bits: 1, Sums: []uint16{0}},
			&VerifySeeds{Header: h, Bits: 1, Seeds: 1, Toeplitz: make([]byte, toeplitzSeedBytes(1))},
			&Release{Header: h, Index: 1}, &StepReply{Header: h}, &ReleaseReply{Header: h, Index: 1})
	}
	skip := *sift.(*Sift)
	skip.Block = 1
	bad = append(bad, &skip)
	for _, m := range bad {
		if _, _, err := tp.rs.Handle(m); !errors.Is(err, ErrUnexpected) {
			t.Errorf("responder took %v: %v", m.Type(), err)
		}
		if _, _, err := tp.in.Handle(m); err == nil {
			t.Errorf("initiator took %v", m.Type())
		}
	}
	// A SiftReply claiming rounds the initiator did not keep.
	reply, _, err := tp.rs.Handle(sift)
	if err != nil {
		t.Fatal(err)
	}
	forged := *reply.(*SiftReply)
	forged.Bitmap = append([]byte(nil), forged.Bitmap...)
	for i := range forged.Bitmap {
		forged.Bitmap[i] = 0xff
	}
	if pad := forged.Span % 8; pad != 0 {
		forged.Bitmap[len(forged.Bitmap)-1] &^= 0xff >> pad
	}
	if _, _, err := tp.in.Handle(&forged); !errors.Is(err, ErrMismatch) {
		t.Fatalf("forged intersection: %v", err)
	}
	// A Syndrome or Step for the wrong number of bits.
	syn, _, err := tp.in.Handle(reply)
	if err != nil {
		t.Fatal(err)
	}
	var wrong Message
	switch s := syn.(type) {
	case *Syndrome:
		c := *s
		c.Bits++
		wrong = &c
	case *Step:
		c := *s
		c.Bits++
		wrong = &c
	}
	if _, _, err := tp.rs.Handle(wrong); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong bit count: %v", err)
	}
}

func TestSiftReusingRoundsRejected(t *testing.T) {
	p := DefaultParams()
	p.MaxSeeds = 1 // the attempt is over with its first seed
	tp := newTestPair(t, p, defaultSim(), 33)
	tp.nextSeed(40 * tp.in.p.N)
	// A Sift for the next attempt over rounds already consumed.
	old := &Sift{Header: Header{Attempt: 2}}
	old.Lo, old.Span, old.Bitmap = 1, 8, []byte{0xff}
	if _, _, err := tp.rs.Handle(old); !errors.Is(err, ErrMismatch) {
		t.Fatalf("reuse of consumed rounds: %v", err)
	}
}

func TestAddRejects(t *testing.T) {
	in, _ := NewInitiator(DefaultParams(), zeroReader{})
	if err := in.Add(5, 3); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id    uint32
		count int
	}{{5, 1}, {6, -1}, {7, math.MaxUint16 + 1}} {
		if err := in.Add(c.id, c.count); !errors.Is(err, ErrRound) {
			t.Errorf("Add(%d, %d): %v", c.id, c.count, err)
		}
	}
	if in.Stats().Rounds != 1 {
		t.Fatal("rejected Add counted")
	}
	if _, err := NewInitiator(DefaultParams(), nil); !errors.Is(err, ErrParams) {
		t.Error("nil random source accepted")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestRandomFailureLeavesState(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 34)
	tp.in.rand = failReader{}
	for range 10 {
		tp.feed(tp.in.p.N)
		m, _ := tp.in.Next()
		for m != nil {
			reply, _, err := tp.rs.Handle(tp.wire(m))
			if err != nil {
				t.Fatal(err)
			}
			before := initiatorState(tp.in)
			next, _, err := tp.in.Handle(tp.wire(reply))
			if err != nil {
				if initiatorState(tp.in) != before {
					t.Fatal("failed random read changed the initiator")
				}
				tp.in.rand = zeroReader{}
				if next, _, err = tp.in.Handle(tp.wire(reply)); err != nil || (next.Type() != TypeVerify && next.Type() != TypeVerifySeeds) {
					t.Fatalf("retry after the random source recovered: %v %v", next, err)
				}
				return
			}
			m = next
		}
	}
	t.Fatal("never reached a Verify")
}

func TestLossAtResponderAndWrap(t *testing.T) {
	prof := defaultSim()
	prof.RoundLossFraction = 0.02
	tp := newTestPair(t, DefaultParams(), prof, 35)
	tp.sim.id = math.MaxUint32 - 1500 // round ids wrap inside the first blocks
	for range 3 {
		ri, rr := tp.nextSeed(40 * tp.in.p.N)
		if ri.Seed != rr.Seed {
			t.Fatal("seeds differ")
		}
	}
}

func TestNilMessages(t *testing.T) {
	in, _ := NewInitiator(DefaultParams(), zeroReader{})
	rs, _ := NewResponder(DefaultParams())
	for _, m := range []Message{nil, (*Sift)(nil), (*SiftReply)(nil), (*Syndrome)(nil),
		(*SyndromeReply)(nil), (*Verify)(nil), (*VerifyReply)(nil)} {
		if _, _, err := in.Handle(m); !errors.Is(err, ErrUnexpected) {
			t.Errorf("initiator %T: %v", m, err)
		}
		if _, _, err := rs.Handle(m); !errors.Is(err, ErrUnexpected) {
			t.Errorf("responder %T: %v", m, err)
		}
	}
}

func TestResponderReady(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 36)
	for i := range tp.in.p.N {
		id, a, b := tp.sim.round()
		tp.in.Add(id, a)
		if i < tp.in.p.N-4 { // the responder lags by four rounds
			tp.rs.Add(id, b)
		}
	}
	m, _ := tp.in.Next()
	s := m.(*Sift)
	if tp.rs.Ready(s) {
		t.Fatal("ready before the last rounds arrived")
	}
	for id := s.Lo + uint32(s.Span) - 4; id != s.Lo+uint32(s.Span); id++ {
		tp.rs.Add(id, 100)
	}
	if !tp.rs.Ready(s) {
		t.Fatal("not ready with every round of the range")
	}
}
