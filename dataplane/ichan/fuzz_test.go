package ichan

import (
	"math/rand/v2"
	"testing"
)

// rxSnap is what HandleRX may change; a rejected TLV must leave it alone.
type rxSnap struct {
	peerInc, expected, peerCum uint32
	inMsg                      bool
	nretired                   int
	owed, peerAck              uint64
	held                       uint64
	st                         Stats
}

func snap(c *Chan) rxSnap {
	s := rxSnap{
		peerInc: c.rx.peerInc, expected: c.rx.expected, peerCum: c.rx.peerCum,
		inMsg: c.rx.inMsg, nretired: c.rx.nretired,
		owed: c.owed.seq.Load(), peerAck: c.peerAck.seq.Load(), st: c.Stats(),
	}
	for i := range c.rx.win {
		if g := &c.rx.win[i]; g.present {
			s.held += uint64(g.seq)*31 + uint64(g.n)
		}
	}
	s.st.Malformed = 0
	return s
}

// FuzzHandleRX feeds one arbitrary channel TLV to B in the middle of a
// stream. HandleRX never panics; when it rejects the TLV, B's state is
// unchanged and the stream still completes exactly. (An accepted TLV may be
// a valid segment of a foreign incarnation, which legitimately resets B.)
func FuzzHandleRX(f *testing.F) {
	f.Add(byte(TypeData), []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'h', 'i'})
	f.Add(byte(TypeData), []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80})
	f.Add(byte(TypeAck), []byte{0, 0, 0, 1, 0, 0, 0, 9})
	f.Add(byte(TypeAck), []byte{0, 0, 0, 1, 0, 0, 0, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1})
	f.Add(byte(0x12), []byte{})
	f.Add(byte(0x03), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, typ byte, val []byte) {
		const n = 12
		a, b := New(Config{Window: 16, RTO: 8}), New(Config{Window: 16, RTO: 8})
		// Seeded with the peer's real incarnation so the fuzzer can reach
		// the in-stream paths: bytes 0–3 = 0xA5A5A5A5 stand for it.
		if len(val) >= 4 && val[0] == 0xA5 && val[1] == 0xA5 && val[2] == 0xA5 && val[3] == 0xA5 {
			v := append([]byte(nil), val...)
			inc := a.Incarnation()
			if typ == TypeAck {
				inc = b.Incarnation()
			}
			v[0], v[1], v[2], v[3] = byte(inc>>24), byte(inc>>16), byte(inc>>8), byte(inc)
			val = v
		}
		rng := rand.New(rand.NewPCG(1, 2))
		link := linkCfg{loss: 0.1, reorder: 0.05}
		ea := &simEnd{src: a, dst: b, link: link}
		eb := &simEnd{src: b, dst: a, link: link}
		ka, kb := newCtl(a, 0, n), newCtl(b, 1, n)
		var r AreaReader
		for f := 0; !(ka.done() && kb.done()); f++ {
			if f == 30 {
				before := snap(b)
				err := b.HandleRX(typ, val)
				if err == nil {
					return
				}
				if after := snap(b); after != before {
					t.Fatalf("rejected TLV (%v) changed state:\n%+v\n%+v", err, before, after)
				}
			}
			if f > 20000 {
				t.Fatalf("stream did not complete after a rejected TLV")
			}
			ka.step(t)
			kb.step(t)
			ea.frame(t, f, rng, func(area []byte) { rxArea(t, &r, b, area) })
			eb.frame(t, f, rng, func(area []byte) { rxArea(t, &r, a, area) })
		}
	})
}
