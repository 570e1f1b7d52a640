package lane

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/otkd/otkd/dataplane/ichan"
)

// frags cuts m into the fragments a Sender writes into areas of size area
// (one per frame), one full cycle.
func frags(t testing.TB, m []byte, area int) [][]byte {
	t.Helper()
	msg, err := NewMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	var s Sender
	s.Set(msg)
	var out [][]byte
	buf := make([]byte, area)
	for covered := 0; covered < len(m); {
		var w ichan.AreaWriter
		w.Begin(buf)
		if !s.Fill(&w) {
			t.Fatal("Fill wrote nothing")
		}
		w.Finish()
		var r ichan.AreaReader
		if err := r.Reset(buf); err != nil {
			t.Fatal(err)
		}
		typ, v, ok := r.Next()
		if !ok || typ != Type {
			t.Fatalf("area holds %#x", typ)
		}
		out = append(out, append([]byte(nil), v...))
		covered += len(v) - Header
	}
	return out
}

func deliver(t testing.TB, r *Receiver, fs [][]byte) [][]byte {
	t.Helper()
	var got [][]byte
	for _, f := range fs {
		m, ok, err := r.Handle(f)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = append(got, append([]byte(nil), m...))
		}
	}
	return got
}

func msgOf(n int, seed byte) []byte {
	m := make([]byte, n)
	for i := range m {
		m[i] = seed + byte(i*13)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 100, 212, 213, 300, MaxMsg} {
		m := msgOf(n, byte(n))
		fs := frags(t, m, ichan.AreaSize)
		var r Receiver
		got := deliver(t, &r, fs)
		if len(got) != 1 || !bytes.Equal(got[0], m) {
			t.Fatalf("%d bytes: delivered %d messages", n, len(got))
		}
		// The sender repeats: the same message is not delivered again.
		if again := deliver(t, &r, append(fs, fs...)); len(again) != 0 {
			t.Fatalf("%d bytes: repetition delivered %d times", n, len(again))
		}
	}
	if _, err := NewMsg(nil); !errors.Is(err, ErrSize) {
		t.Fatal("empty message accepted")
	}
	if _, err := NewMsg(make([]byte, MaxMsg+1)); !errors.Is(err, ErrSize) {
		t.Fatal("long message accepted")
	}
}

// TestReorderAndLoss: fragments of a repeated message arrive shuffled, some
// lost, some twice; the message is delivered exactly once.
func TestReorderAndLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := msgOf(MaxMsg, 7)
	fs := frags(t, m, 60) // many small fragments
	var stream [][]byte
	for range 6 {
		for _, f := range fs {
			switch k := rng.IntN(10); {
			case k == 0: // lost
			case k == 1:
				stream = append(stream, f, f)
			default:
				stream = append(stream, f)
			}
		}
	}
	rng.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
	var r Receiver
	got := deliver(t, &r, stream)
	if len(got) != 1 || !bytes.Equal(got[0], m) {
		t.Fatalf("delivered %d messages", len(got))
	}
}

// TestForgeryCannotPoison: an attacker interleaves fragments of its own
// (another message, or the real message's digest with wrong bytes). While
// it does, the real message may not complete; as soon as it stops, the
// real message's next repetition is delivered, also when the forged one
// was delivered last.
func TestForgeryCannotPoison(t *testing.T) {
	real := msgOf(300, 1)
	fs := frags(t, real, ichan.AreaSize)
	forged := frags(t, msgOf(300, 99), ichan.AreaSize)
	// Fragments claiming the real message's digest and length but with
	// other bytes: the reassembled message fails its digest.
	bad := append([]byte(nil), fs[0]...)
	bad[Header+5] ^= 0xFF
	var r Receiver
	var stream [][]byte
	for i := range 10 {
		stream = append(stream, fs[i%len(fs)], forged[i%len(forged)], bad)
	}
	got := deliver(t, &r, stream)
	for _, g := range got {
		if bytes.Equal(g, real) {
			t.Log("the real message got through the interleaving")
		}
	}
	// Attacker gone: the real message arrives on its next repetition.
	got = deliver(t, &r, append(fs, fs...))
	if len(got) != 1 || !bytes.Equal(got[0], real) {
		t.Fatalf("after the attack: delivered %d messages", len(got))
	}
	// The last delivered message was forged: the real one still comes.
	deliver(t, &r, forged)
	if got := deliver(t, &r, fs); len(got) != 1 || !bytes.Equal(got[0], real) {
		t.Fatal("the real message is not delivered after a forged one")
	}
	if st := r.Stats(); st.BadDigest == 0 || st.Restarts == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMalformed(t *testing.T) {
	var r Receiver
	good := frags(t, msgOf(10, 3), ichan.AreaSize)[0]
	cases := map[string][]byte{
		"short":          good[:Header-1],
		"zero length":    setU16(good, 4, 0),
		"long length":    setU16(good, 4, MaxMsg+1),
		"past the end":   setU16(good, 6, 5),
		"offset too big": setU16(good, 6, 0xFFFF),
	}
	for name, f := range cases {
		if _, _, err := r.Handle(f); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := deliver(t, &r, [][]byte{good}); len(got) != 1 {
		t.Fatal("malformed fragments disturbed the receiver")
	}
}

func setU16(b []byte, off int, v uint16) []byte {
	c := append([]byte(nil), b...)
	binary.BigEndian.PutUint16(c[off:], v)
	return c
}

func TestNoAlloc(t *testing.T) {
	m, _ := NewMsg(msgOf(300, 5))
	var s Sender
	s.Set(m)
	var r Receiver
	buf := make([]byte, ichan.AreaSize)
	var w ichan.AreaWriter
	var rd ichan.AreaReader
	if a := testing.AllocsPerRun(200, func() {
		w.Begin(buf)
		s.Fill(&w)
		w.Finish()
		if rd.Reset(buf) != nil {
			t.Fatal("area")
		}
		_, v, _ := rd.Next()
		if _, _, err := r.Handle(v); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
}

// FuzzReceiver feeds arbitrary fragments to a Receiver after a real
// message: no panic, nothing delivered that does not match its digest, and
// the real message is delivered once its fragments come again.
func FuzzReceiver(f *testing.F) {
	real := msgOf(300, 1)
	fs := frags(f, real, ichan.AreaSize)
	f.Add(fs[0], fs[1])
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 9}, []byte{})
	f.Add(setU16(fs[1], 6, 0), fs[0][:Header])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var r Receiver
		for _, v := range [][]byte{fs[0], a, b, fs[1], a} {
			m, ok, _ := r.Handle(v)
			if ok && Digest(m) != binary.BigEndian.Uint32(v) {
				t.Fatal("delivered a message that does not match its digest")
			}
		}
		var got [][]byte
		for _, v := range append(fs, fs...) {
			if m, ok, _ := r.Handle(v); ok {
				got = append(got, append([]byte(nil), m...))
			}
		}
		if len(got) > 1 || (len(got) == 0 && r.lastDigest != Digest(real)) {
			t.Fatalf("after the fuzz input the real message came %d times", len(got))
		}
	})
}
