package client

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/otkd/otkd/dataplane/client/gfp"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// direction is one direction of an in-memory link: a mapper's TX, a Sealer,
// a line that loses, damages, reorders and interleaves null-cipher frames,
// an Opener and the far mapper's RX, driven frame by frame. A monitor
// decoder reads the clean stream to learn which frames each client frame
// spans.
type direction struct {
	t       *testing.T
	rng     *rand.Rand
	tx, rx  *Mapper
	sealer  *framer.Sealer
	opener  *framer.Opener
	key     keys.Key
	count   uint32
	wire    []byte
	f       framer.Frame
	held    []byte // a frame held back to be sent after the next one
	heldCnt uint32

	// faults, per frame
	loss, damage, reorder, null float64

	sent    map[uint64][]byte // seq → frame as sent
	order   []uint64          // seq in sending order
	damaged map[uint32]bool   // counts that did not arrive intact and in order
	mon     *gfp.Decoder
	spans   *spanSink
	got     []uint64
	seqs    uint64
}

// spanSink records, per client frame of the clean stream, the COUNT of the
// frame holding its core header and of the frame holding its last octet.
type spanSink struct {
	buf   [gfp.MaxPLI]byte
	count uint32
	start uint32
	span  map[uint64][2]uint32
}

func (s *spanSink) Buffer(n int) []byte { s.start = s.count; return s.buf[:n] }
func (s *spanSink) Frame(area, info []byte, pfcs bool, err error) {
	if err == nil {
		s.span[frameSeq(info)] = [2]uint32{s.start, s.count}
	}
}

func newDirection(t *testing.T, seed uint64, dir uint8, tx, rx *Mapper) *direction {
	d := &direction{t: t, rng: rand.New(rand.NewPCG(seed, 99)), tx: tx, rx: rx,
		sent: map[uint64][]byte{}, damaged: map[uint32]bool{}}
	d.sealer, _ = framer.NewSealer(dir, framer.Options{})
	d.opener, _ = framer.NewOpener(dir, framer.Options{AcceptNull: true})
	d.key = keys.Key{dir, 1, 2, 3}
	d.opener.Install(1, &d.key)
	d.wire = make([]byte, framer.FrameLen)
	d.f, _ = framer.View(d.wire)
	d.spans = &spanSink{span: map[uint64][2]uint32{}}
	d.mon = gfp.NewDecoder(gfp.Options{})
	return d
}

// offer queues a random client frame if the TX ring has room.
func (d *direction) offer(maxLen int) {
	if d.tx.txq.Len() == d.tx.txq.Cap() {
		return
	}
	d.seqs++
	n := 60 + d.rng.IntN(maxLen-60+1)
	if d.rng.IntN(20) == 0 {
		n = 22 + d.rng.IntN(38) // shorter than 60: padded
	}
	fr := testFrame(d.seqs|uint64(d.wire[0])<<56, n)
	seq := frameSeq(fr)
	push(d.tx, fr)
	if n < MinFrame {
		fr = append(fr, make([]byte, MinFrame-n)...)
	}
	d.sent[seq] = fr
	d.order = append(d.order, seq)
}

// step sends one frame over the line.
func (d *direction) step() {
	d.count++
	c := d.count
	clear(d.wire)
	epoch := uint8(1)
	if d.rng.Float64() < d.null {
		epoch = keys.NullEpoch // a handshake frame: no payload
	} else {
		d.tx.Fill(&d.f, c)
		d.spans.count = c
		for r := range framer.Rows {
			d.mon.Write(d.f.Row(r)[16:3824], d.spans)
		}
	}
	if err := d.sealer.Seal(&d.f, &d.key, c, epoch); err != nil {
		d.t.Fatal(err)
	}
	switch r := d.rng.Float64(); {
	case r < d.loss:
		d.damaged[c] = true
		return
	case r < d.loss+d.damage:
		d.damaged[c] = true
		// Far beyond the FEC: 40 symbols of one codeword per row.
		for row := range framer.Rows {
			cw := d.rng.IntN(16)
			for range 40 {
				d.wire[row*framer.RowLen+16*(1+d.rng.IntN(250))+cw] ^= byte(1 + d.rng.IntN(255))
			}
		}
	case r < d.loss+d.damage+d.reorder && d.held == nil:
		d.damaged[c], d.damaged[c+1] = true, true
		d.held = append([]byte(nil), d.wire...)
		d.heldCnt = c
		return
	}
	d.receive(d.wire)
	if d.held != nil && d.heldCnt != c {
		d.receive(d.held)
		d.held = nil
	}
}

// receive opens a wire frame and hands it to the RX mapper as the RX frame
// loop would: only frames that open with no uncorrectable row codeword.
func (d *direction) receive(wire []byte) {
	f, _ := framer.View(wire)
	var st framer.Stats
	if err := d.opener.Open(&f, &st); err != nil {
		return
	}
	for k := range 64 {
		if st.FEC.IsFailed(k) {
			if d.rng.IntN(2) == 0 {
				d.rx.Lost()
			}
			return
		}
	}
	d.rx.Deliver(&f, st.Count, st.Epoch)
	d.drain()
}

// drain takes what the RX mapper delivers and checks it.
func (d *direction) drain() {
	for fr := d.rx.NextOut(); fr != nil; fr = d.rx.NextOut() {
		seq := frameSeq(fr)
		want, ok := d.sent[seq]
		if !ok || !bytes.Equal(fr, want) {
			d.t.Fatalf("delivered a frame (seq %#x, %d octets) that was not sent like this", seq, len(fr))
		}
		if n := len(d.got); n > 0 && seq <= d.got[n-1] {
			d.t.Fatalf("seq %#x delivered after %#x", seq, d.got[n-1])
		}
		d.got = append(d.got, seq)
		d.rx.ReleaseOut(true)
	}
}

// check asserts that every frame sent was delivered except those a damaged
// frame could take with it: those spanning a damaged COUNT and the first two
// that begin after one (hunted; the descrambler not yet in step).
func (d *direction) check(name string) {
	exposed := map[uint64]bool{}
	var bad []uint32
	for c := range d.damaged {
		bad = append(bad, c)
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i] < bad[j] })
	for _, c := range bad {
		after := 0
		for _, seq := range d.order {
			sp, ok := d.spans.span[seq]
			if !ok { // never fully sent
				continue
			}
			if sp[0] <= c && c <= sp[1] {
				exposed[seq] = true
			} else if sp[0] > c && after < 2 {
				exposed[seq] = true
				after++
			}
		}
	}
	got := map[uint64]bool{}
	for _, s := range d.got {
		got[s] = true
	}
	missing := 0
	for _, seq := range d.order {
		if _, sent := d.spans.span[seq]; !sent {
			continue
		}
		if !got[seq] {
			missing++
			if !exposed[seq] {
				sp := d.spans.span[seq]
				d.t.Fatalf("%s: frame %#x (counts %d..%d) lost though no damage explains it", name, seq, sp[0], sp[1])
			}
		}
	}
	st := d.rx.Stats()
	drops := st.DropDelineation.Load() + st.DropMalformed.Load() + st.DropPFCS.Load() + st.DropFCS.Load()
	if len(bad) > 0 && (st.GFP.Resyncs.Load() == 0 || st.LostFrames.Load()+st.LateFrames.Load()+st.DamagedFrames.Load() == 0) {
		d.t.Fatalf("%s: %d damaged frames but no resync or lost frame counted", name, len(bad))
	}
	if st.OutPackets.Load() != uint64(len(d.got)) {
		d.t.Fatalf("%s: OutPackets %d, delivered %d", name, st.OutPackets.Load(), len(d.got))
	}
	d.t.Logf("%s: %d frames sent, %d delivered, %d lost near %d damaged OTN frames; drops %d, resyncs %d, lost %d, late %d",
		name, len(d.spans.span), len(d.got), missing, len(bad), drops, st.GFP.Resyncs.Load(), st.LostFrames.Load(), st.LateFrames.Load())
}

// TestEndToEnd maps random client frames of 22..9600 octets both ways
// through sealed and opened frames, with idle runs, null-cipher frames,
// lost frames, frames damaged beyond the FEC and reordered frames. Every
// frame delivered is byte-exact and in order; every frame not delivered is
// explained by damage; a clean link loses nothing.
func TestEndToEnd(t *testing.T) {
	frames := 1500
	if testing.Short() {
		frames = 150
	}
	for _, tc := range []struct {
		name                        string
		loss, damage, reorder, null float64
		mtu                         int
		short                       bool
	}{
		{"clean", 0, 0, 0, 0, 9600, false},
		{"clean with null frames", 0, 0, 0, 0.05, 9600, true},
		{"faults", 0.01, 0.01, 0.01, 0.02, 9600, false},
		{"faults mtu 1500", 0.02, 0.02, 0.02, 0.02, 1500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && !tc.short {
				t.Skip("-short: the other cases cover it")
			}
			a, _ := New(Config{MTU: tc.mtu})
			b, _ := New(Config{MTU: tc.mtu})
			dirs := []*direction{newDirection(t, 1, 0, a, b), newDirection(t, 2, 1, b, a)}
			for i, d := range dirs {
				d.loss, d.damage, d.reorder, d.null = tc.loss, tc.damage, tc.reorder, tc.null
				d.wire[0] = byte(i) // marks the sequence numbers per direction
			}
			maxLen := min(9600, a.MaxFrame())
			for i := range frames {
				idle := (i/100)%4 == 3 // idle runs of 100 frames
				for _, d := range dirs {
					if !idle {
						for d.rng.IntN(4) != 0 {
							d.offer(maxLen)
						}
					}
					d.step()
				}
			}
			for _, d := range dirs { // flush: no more faults
				d.loss, d.damage, d.reorder, d.null = 0, 0, 0, 0
				for d.tx.TXPending() {
					d.step()
				}
				d.step()
				d.step()
			}
			for i, d := range dirs {
				d.check(fmt.Sprintf("%s dir %d", tc.name, i))
				if tc.loss+tc.damage+tc.reorder == 0 {
					st := d.rx.Stats()
					if len(d.got) != len(d.order) || st.GFP.Resyncs.Load() != 0 || st.DropDelineation.Load() != 0 {
						t.Fatalf("clean link: %d of %d delivered, resyncs %d", len(d.got), len(d.order), st.GFP.Resyncs.Load())
					}
				}
			}
		})
	}
}

// TestCorruptPayloadNeverDelivered hands the RX mapper frames whose payload
// was changed after opening (what a frame path that delivered damaged frames
// would do): the CRCs catch it, nothing corrupted reaches the client.
func TestCorruptPayloadNeverDelivered(t *testing.T) {
	a, _ := New(Config{MTU: 9600})
	b, _ := New(Config{MTU: 9600})
	rng := rand.New(rand.NewPCG(21, 22))
	_, f := newFrame()
	sent := map[uint64][]byte{}
	delivered := 0
	seq := uint64(0)
	n := uint32(2000)
	if testing.Short() {
		n = 500
	}
	for c := uint32(1); c < n; c++ {
		for range rng.IntN(6) {
			seq++
			fr := testFrame(seq, 60+rng.IntN(3000))
			sent[frameSeq(fr)] = fr
			push(a, fr)
		}
		a.Fill(&f, c)
		for range rng.IntN(4) {
			row := f.Row(rng.IntN(4))
			row[16+rng.IntN(3808)] ^= byte(1 << rng.IntN(8))
		}
		b.Deliver(&f, c, 1)
		for fr := b.NextOut(); fr != nil; fr = b.NextOut() {
			if want, ok := sent[frameSeq(fr)]; !ok || !bytes.Equal(fr, want) {
				t.Fatal("a corrupted frame was delivered")
			}
			delivered++
			b.ReleaseOut(true)
		}
	}
	st := b.Stats()
	caught := st.DropPFCS.Load() + st.DropFCS.Load() + st.DropMalformed.Load() + st.DropDelineation.Load()
	if delivered == 0 || caught == 0 || st.DropPFCS.Load() == 0 {
		t.Fatalf("delivered %d, caught %d (pFCS %d)", delivered, caught, st.DropPFCS.Load())
	}
	t.Logf("delivered %d, dropped %d (pFCS %d, FCS %d, header %d, cut %d), corrected headers %d",
		delivered, caught, st.DropPFCS.Load(), st.DropFCS.Load(), st.DropMalformed.Load(),
		st.DropDelineation.Load(), st.GFP.Corrected.Load())
}
