package negotiation

import (
	crand "crypto/rand"
	"testing"
)

// testPair drives an initiator and a responder of one direction through the
// wire encoding, feeding them the simulator's rounds. tamper, when set, may
// replace a message (its encoding) in flight.
type testPair struct {
	tb     testing.TB
	in     *Initiator
	rs     *Responder
	sim    *simulator
	tamper func(b []byte) []byte
	next   Message // the initiator's message sent with the last result (a Release)
}

func newTestPair(tb testing.TB, p Params, prof simProfile, seed uint64) *testPair {
	tb.Helper()
	in, err := NewInitiator(p, crand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := NewResponder(p)
	if err != nil {
		tb.Fatal(err)
	}
	return &testPair{tb: tb, in: in, rs: rs, sim: newSim(prof, seed)}
}

// feed adds n rounds at both ends; the responder misses a fraction.
func (tp *testPair) feed(n int) {
	for range n {
		id, a, b := tp.sim.round()
		if err := tp.in.Add(id, a); err != nil {
			tp.tb.Fatal(err)
		}
		if tp.sim.p.RoundLossFraction > 0 && tp.sim.rng.Float64() < tp.sim.p.RoundLossFraction {
			continue
		}
		if err := tp.rs.Add(id, b); err != nil {
			tp.tb.Fatal(err)
		}
	}
}

// wire encodes m, lets tamper change it, and decodes it.
func (tp *testPair) wire(m Message) Message {
	b, err := m.MarshalBinary()
	if err != nil {
		tp.tb.Fatalf("marshal %v: %v", m.Type(), err)
	}
	if tp.tamper != nil {
		b = tp.tamper(b)
	}
	out, err := Unmarshal(b)
	if err != nil {
		tp.tb.Fatalf("unmarshal %v: %v", m.Type(), err)
	}
	return out
}

// exchange runs one message to the responder and its reply back, returning
// the initiator's next message and both results.
func (tp *testPair) exchange(m Message) (Message, *Result, *Result) {
	reply, rr, err := tp.rs.Handle(tp.wire(m))
	if err != nil {
		tp.tb.Fatalf("responder %v: %v", m.Type(), err)
	}
	next, ri, err := tp.in.Handle(tp.wire(reply))
	if err != nil {
		tp.tb.Fatalf("initiator %v: %v", reply.Type(), err)
	}
	if (ri == nil) != (rr == nil) {
		tp.tb.Fatalf("result at one end only: initiator %v, responder %v", ri, rr)
	}
	return next, ri, rr
}

// nextSeed runs the machines until both ends return a Result or rounds
// runs out of budget.
func (tp *testPair) nextSeed(maxRounds int) (*Result, *Result) {
	fed := 0
	for fed <= maxRounds {
		m, err := tp.next, error(nil)
		tp.next = nil
		if m == nil {
			m, err = tp.in.Next()
		}
		if err != nil {
			tp.tb.Fatal(err)
		}
		if m == nil {
			tp.feed(tp.in.p.N)
			fed += tp.in.p.N
			continue
		}
		for m != nil {
			var ri, rr *Result
			m, ri, rr = tp.exchange(m)
			if ri != nil {
				tp.next = m
				return ri, rr
			}
		}
	}
	tp.tb.Fatalf("no seed within %d rounds; stats %+v", maxRounds, tp.in.Stats())
	return nil, nil
}
