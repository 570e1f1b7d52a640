package ichan

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// message returns message i of direction dir: 0..2048 random bytes,
// reproducible from (dir, i) so a receiver can check what it got. When it is
// at least 4 bytes long it starts with i, so misordering shows even between
// messages of equal length.
func message(dir, i int, buf []byte) []byte {
	r := rand.New(rand.NewPCG(uint64(dir)+1, uint64(i)))
	n := r.IntN(2049)
	if i%7 == 0 {
		n = r.IntN(4) // plenty of tiny and empty messages
	}
	m := buf[:n]
	for k := range m {
		m[k] = byte(r.Uint32())
	}
	if n >= 4 {
		m[0], m[1], m[2], m[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	}
	return m
}

// fillRound writes what the round protocol might put in an area first, so
// the channel sees the room it will see in service: usually ≈ 96 bytes,
// sometimes the whole area, sometimes almost none.
func fillRound(w *AreaWriter, r *rand.Rand) {
	var v [66]byte
	switch k := r.IntN(10); {
	case k < 6:
		w.Put(TypeOwnRound, v[:4])
		w.Put(TypeResponse, v[:])
		w.Put(TypeFinal, v[:])
	case k < 8:
		w.Put(TypeOwnRound, v[:4])
	case k < 9:
		w.Put(TypeResponse, v[:])
		w.Put(TypeFinal, v[:])
		w.Put(TypeFinal, v[:]) // leaves 34 bytes
		w.Put(0x30, v[:r.IntN(30)])
	}
}

// linkCfg describes the simulated interaction-area link of one direction.
type linkCfg struct {
	loss, reorder, dup float64
}

type heldFrame struct {
	due  int
	area [AreaSize]byte
}

// simEnd is one direction: src's TX feeding dst's RX through a lossy link.
type simEnd struct {
	src, dst *Chan
	link     linkCfg
	w        AreaWriter
	r        AreaReader
	area     [AreaSize]byte
	held     []heldFrame
}

// frame carries one frame from src to dst; it returns the areas delivered.
func (e *simEnd) frame(t testing.TB, now int, rng *rand.Rand, deliver func(area []byte)) {
	e.w.Begin(e.area[:])
	fillRound(&e.w, rng)
	e.src.FillTX(&e.w)
	e.w.Finish()
	switch p := rng.Float64(); {
	case p < e.link.loss:
	case p < e.link.loss+e.link.reorder:
		e.held = append(e.held, heldFrame{due: now + 1 + rng.IntN(4), area: e.area})
	default:
		deliver(e.area[:])
		if rng.Float64() < e.link.dup {
			deliver(e.area[:])
		}
	}
	for i := 0; i < len(e.held); {
		if e.held[i].due <= now {
			deliver(e.held[i].area[:])
			e.held = append(e.held[:i], e.held[i+1:]...)
			continue
		}
		i++
	}
}

// rxArea parses area and hands the channel TLVs to c.
func rxArea(t testing.TB, r *AreaReader, c *Chan, area []byte) {
	if err := r.Reset(area); err != nil {
		t.Fatalf("area rejected: %v", err)
	}
	for typ, val, ok := r.Next(); ok; typ, val, ok = r.Next() {
		if IsChanType(typ) {
			if err := c.HandleRX(typ, val); err != nil {
				t.Fatalf("HandleRX: %v", err)
			}
		}
	}
}

// ctl is the controller of one end in the tests: it sends its n messages
// and checks the peer's.
type ctl struct {
	c          *Chan
	dir        int // direction of the messages it sends
	n          int
	sent, got  int
	from       int // index of the first message expected (restart tests)
	sbuf, rbuf []byte
	exp        []byte
}

func newCtl(c *Chan, dir, n int) *ctl {
	return &ctl{c: c, dir: dir, n: n, sbuf: make([]byte, 2048), rbuf: make([]byte, 2048), exp: make([]byte, 2048)}
}

// step sends what the queue takes and checks what arrived; it reports
// whether it did anything.
func (k *ctl) step(t testing.TB) bool {
	did := false
	for k.sent < k.n {
		if err := k.c.Send(message(k.dir, k.sent, k.sbuf)); err != nil {
			if err != ErrFull {
				t.Errorf("Send: %v", err)
			}
			break
		}
		k.sent++
		did = true
	}
	for {
		n, ok := k.c.Recv(k.rbuf)
		if !ok {
			if n != 0 {
				t.Errorf("Recv wants %d bytes of a 2048-byte buffer", n)
			}
			return did
		}
		did = true
		want := message(1-k.dir, k.got, k.exp)
		if !bytes.Equal(k.rbuf[:n], want) {
			t.Errorf("dir %d message %d: got %d bytes, want %d (or corrupt)\n%+v", 1-k.dir, k.got, n, len(want), k.c.Stats())
		}
		k.got++
	}
}

func (k *ctl) done() bool { return k.sent == k.n && k.got == k.n }

// runSim runs a and b over the two links in one goroutine, frame by frame,
// until both controllers are done or maxFrames pass.
func runSim(t testing.TB, a, b *Chan, ab, ba linkCfg, n, maxFrames int, seed uint64, hook func(frame int)) (ka, kb *ctl) {
	rng := rand.New(rand.NewPCG(seed, 99))
	ea := &simEnd{src: a, dst: b, link: ab}
	eb := &simEnd{src: b, dst: a, link: ba}
	ka, kb = newCtl(a, 0, n), newCtl(b, 1, n)
	var ra, rb AreaReader
	for f := 0; f < maxFrames; f++ {
		ka.step(t)
		kb.step(t)
		if ka.done() && kb.done() {
			return ka, kb
		}
		ea.frame(t, f, rng, func(area []byte) { rxArea(t, &rb, ea.dst, area) })
		eb.frame(t, f, rng, func(area []byte) { rxArea(t, &ra, eb.dst, area) })
		if hook != nil {
			hook(f)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Fatalf("not done after %d frames: A sent %d got %d, B sent %d got %d\nA %+v\nB %+v",
		maxFrames, ka.sent, ka.got, kb.sent, kb.got, a.Stats(), b.Stats())
	return
}

func TestSimDeterministic(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 100
	}
	cases := []struct {
		name string
		link linkCfg
		cfg  Config
	}{
		{"clean", linkCfg{}, Config{}},
		{"loss 10%", linkCfg{loss: 0.10}, Config{}},
		{"loss 30% reorder dup", linkCfg{loss: 0.30, reorder: 0.10, dup: 0.10}, Config{}},
		{"small window and queues", linkCfg{loss: 0.2, reorder: 0.05, dup: 0.05}, Config{Window: 8, RTO: 16, SendQueue: 2, RecvQueue: 2}},
		{"small segments", linkCfg{loss: 0.05}, Config{Segment: 20, Window: 1000}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := New(tc.cfg), New(tc.cfg)
			runSim(t, a, b, tc.link, tc.link, n, 400*n, uint64(i), nil)
			sa, sb := a.Stats(), b.Stats()
			if sa.MessagesDelivered != uint64(n) || sb.MessagesDelivered != uint64(n) ||
				sa.MessagesSent != uint64(n) || sa.Malformed+sb.Malformed != 0 {
				t.Errorf("stats A %+v B %+v", sa, sb)
			}
			if tc.link.loss > 0 && sa.SegmentsRetransmitted == 0 {
				t.Error("loss without retransmissions")
			}
			t.Logf("A %+v", sa)
		})
	}
}
