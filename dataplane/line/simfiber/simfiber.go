// Package simfiber is the simulated fibre: two line ends in one process,
// joined by one noise.Channel per direction, plus an optional tap that an
// eavesdropper reads. It implements the dataplane's Line contract and serves
// the tests, the demo and the benchmarks.
//
// What a frame meets on its way (per direction, in this order):
//
//   - loss (Profile.Loss): the frame never arrives;
//   - the soft samples of its 1984 negotiation bits (data1, data2): the
//     transmitted (ciphertext) bits modulated to the profile's levels plus
//     the fibre's Gaussian noise; the frame bytes at those positions carry
//     the line's own hard decision of the samples;
//   - bit errors on every other byte at the fibre's BER (Config.BitErrors);
//   - an error burst (Profile.Burst), which also scrambles the soft samples
//     of the bits it covers;
//   - reordering (Profile.Reorder): held back 1…ReorderDepth frames;
//   - bit flips (Config.Flip): FlipBits bits flipped at random positions
//     (a flip of a negotiation bit negates its soft sample);
//   - duplication (Config.Duplicate): the frame is delivered twice.
//
// Before all that, an Attacker (Config.Attacker, for tests) may read,
// rewrite, drop or multiply each frame and put frames of its own on the
// line, which then meet the same fibre.
//
// Latency is not modelled beyond the queue: a frame arrives as soon as the
// receiver asks for it. The tap sees every frame of both directions before
// loss, with its own independent fibre noise.
//
// Concurrency: each End's Send must be called from one goroutine at a time
// and its Recv from one (they may be different goroutines); the queues
// between them are lock-free rings. An idle receiver or a sender facing a
// full queue sleeps on a one-slot channel, so an idle link costs no CPU;
// that wake-up is the only channel operation and happens only when a side
// waits. Nothing allocates per frame.
package simfiber

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// ErrClosed is returned by Send and Recv once the link is closed.
var ErrClosed = errors.New("simfiber: line closed")

// data1Off is where the soft-sampled negotiation bits start (tests).
const data1Off = framer.Data1Off

// Config configures a link. The zero value is not valid: Profile must be set
// (noise.DefaultProfile()).
type Config struct {
	Profile noise.Profile
	// Seed makes the channel reproducible; the two directions and the tap
	// derive their own seeds from it.
	Seed uint64
	// BitErrors applies the fibre's bit errors to the bytes without soft
	// samples (the FEC then corrects them).
	BitErrors bool
	// Tap attaches an eavesdropper's tap (Link.Tap).
	Tap bool
	// Depth is the number of frames in flight per direction; default 32.
	Depth int
	// Duplicate is the probability that a frame is delivered twice.
	Duplicate float64
	// Flip is the probability that a frame gets FlipBits bits flipped at
	// uniformly random positions (default FlipBits 1). Most land where the
	// FEC corrects them; those in the negotiation bits are errors there.
	Flip     float64
	FlipBits int
	// Attacker, when set, sees every frame of both directions first.
	Attacker Attacker
}

// Attacker is an active attacker on the fibre, for tests: it sees every
// frame a direction carries, on the sending End's goroutine, before the
// fibre's impairments, and decides what the receiver gets. It must be safe
// for calls from the two senders' goroutines at once.
type Attacker interface {
	// Frame is called once for each frame sent on direction d (0: A→B,
	// 1: B→A). It may change frame in place (the receiver then gets the
	// change) and put frames of its own on the direction with inj.Inject;
	// those arrive before this one. It returns how many copies of frame
	// are delivered: 0 drops it, 1 is the normal case, n > 1 duplicates.
	Frame(d int, frame []byte, inj *Injector) int
}

// Injector puts an attacker's frames on one direction of the fibre.
type Injector struct {
	d   *dir
	l   *Link
	err error
}

// Inject delivers a copy of frame (framer.FrameLen bytes; others are
// ignored) on the direction, through the fibre like any other frame.
func (in *Injector) Inject(frame []byte) {
	if len(frame) != framer.FrameLen || in.err != nil {
		return
	}
	in.err = in.d.deliver(in.l, frame, 1)
}

type slot struct {
	frame [framer.FrameLen]byte
	soft  [noise.SamplesPerFrame]noise.Sample
}

// queue is a ring with wake-ups for a sleeping consumer or producer.
type queue struct {
	r        *ring.SPSC[slot]
	notEmpty chan struct{}
	notFull  chan struct{}
}

func newQueue(depth int) *queue {
	return &queue{r: ring.New[slot](depth), notEmpty: make(chan struct{}, 1), notFull: make(chan struct{}, 1)}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// dir is one direction: the sender's channel state and the queue.
type dir struct {
	ch   *noise.Channel
	rng  *rand.Rand // duplication and flips (not the fibre's noise)
	tmp  slot       // scratch for a frame delivered more than once
	dup  float64
	flip float64
	nflp int
	att  Attacker
	id   int
	q    *queue
	bit  bool
	hold []held // frames held back for reordering (preallocated)
	soft [noise.SamplesPerFrame]noise.Sample
	thr  noise.Sample
	prof noise.Profile
	// the tap's copy of this direction
	tapCh *noise.Channel
	tapQ  *queue
}

type held struct {
	s    slot
	left int // frames still to wait; 0 = free
}

// Link is a simulated fibre between two ends.
type Link struct {
	a, b   *End
	tap    *Tap
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once
}

// End is one end of the link: it sends on one direction and receives the
// other.
type End struct {
	link *Link
	tx   *dir
	rx   *queue
	name string
}

// New builds a link. It returns the profile's validation error when the
// profile is invalid.
func New(cfg Config) (*Link, error) {
	if cfg.Depth <= 0 {
		cfg.Depth = 32
	}
	if !(cfg.Duplicate >= 0 && cfg.Duplicate <= 1) || !(cfg.Flip >= 0 && cfg.Flip <= 1) || cfg.FlipBits < 0 {
		return nil, fmt.Errorf("simfiber: Duplicate %v and Flip %v must be probabilities, FlipBits %d ≥ 0", cfg.Duplicate, cfg.Flip, cfg.FlipBits)
	}
	l := &Link{done: make(chan struct{})}
	var dirs [2]*dir
	for i := range dirs {
		ch, err := noise.NewChannel(cfg.Profile, cfg.Seed*4+uint64(i))
		if err != nil {
			return nil, err
		}
		d := &dir{ch: ch, q: newQueue(cfg.Depth), bit: cfg.BitErrors, thr: cfg.Profile.Threshold(), prof: cfg.Profile,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+0x51f)), dup: cfg.Duplicate, flip: cfg.Flip, nflp: max(cfg.FlipBits, 1),
			att: cfg.Attacker, id: i}
		if cfg.Profile.Reorder > 0 {
			d.hold = make([]held, min(cfg.Profile.ReorderDepth, 8))
		}
		if cfg.Tap {
			if d.tapCh, err = noise.NewChannel(cfg.Profile, cfg.Seed*4+2+uint64(i)); err != nil {
				return nil, err
			}
			d.tapQ = newQueue(cfg.Depth)
		}
		dirs[i] = d
	}
	l.a = &End{link: l, tx: dirs[0], rx: dirs[1].q, name: "A"}
	l.b = &End{link: l, tx: dirs[1], rx: dirs[0].q, name: "B"}
	if cfg.Tap {
		l.tap = &Tap{link: l, q: [2]*queue{dirs[0].tapQ, dirs[1].tapQ}}
	}
	return l, nil
}

// A returns end A (sends A→B, receives B→A).
func (l *Link) A() *End { return l.a }

// B returns end B.
func (l *Link) B() *End { return l.b }

// Tap returns the eavesdropper's tap, nil unless Config.Tap.
func (l *Link) Tap() *Tap { return l.tap }

// Close closes the whole link: pending and later Send and Recv calls of
// both ends and the tap return ErrClosed.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.done)
	})
	return nil
}

// Close closes the link (both ends).
func (e *End) Close() error { return e.link.Close() }

// Send transmits one wire frame of framer.FrameLen bytes; it waits while the
// direction's queue is full.
func (e *End) Send(frame []byte) error {
	if len(frame) != framer.FrameLen {
		return &framer.LengthError{What: "frame", Got: len(frame), Want: framer.FrameLen}
	}
	d := e.tx
	if e.link.closed.Load() {
		return ErrClosed
	}
	n := 1
	if d.att != nil {
		inj := Injector{d: d, l: e.link}
		n = d.att.Frame(d.id, frame, &inj)
		if inj.err != nil {
			return inj.err
		}
	}
	return d.deliver(e.link, frame, n)
}

// deliver puts copies copies of frame through the fibre.
func (d *dir) deliver(l *Link, frame []byte, copies int) error {
	if copies <= 0 {
		return d.release(l)
	}
	if d.dup > 0 && d.chance(d.dup) {
		copies++
	}
	d.modulate(frame)
	if d.tapQ != nil {
		d.toTap(frame)
	}
	if d.ch.Lose() {
		return d.release(l)
	}
	if copies > 1 || d.flip > 0 {
		return d.deliverImpaired(l, frame, copies)
	}
	s, err := d.q.slotWait(l)
	if err != nil {
		return err
	}
	copy(s.frame[:], frame)
	copy(s.soft[:], d.soft[:])
	d.impair(s)
	return d.commitOrHold(l, s)
}

// deliverImpaired is deliver with bit flips or several copies: the frame
// is impaired once in a scratch slot, then each copy goes into the queue
// (the last one may be held back for reordering).
func (d *dir) deliverImpaired(l *Link, frame []byte, copies int) error {
	t := &d.tmp
	copy(t.frame[:], frame)
	copy(t.soft[:], d.soft[:])
	d.impair(t)
	if d.flip > 0 && d.chance(d.flip) {
		d.flipBits(t)
	}
	for i := range copies {
		s, err := d.q.slotWait(l)
		if err != nil {
			return err
		}
		*s = *t
		if i == copies-1 {
			return d.commitOrHold(l, s)
		}
		d.q.r.Commit()
		wake(d.q.notEmpty)
	}
	return nil
}

// commitOrHold commits slot s, or holds it back for reordering.
func (d *dir) commitOrHold(l *Link, s *slot) error {
	if delay := d.ch.ReorderDelay(); delay > 0 {
		// Hold the frame back in a free hold slot; it is committed after
		// delay more frames (or now, when every hold slot is busy).
		for i := range d.hold {
			if h := &d.hold[i]; h.left == 0 {
				h.s, h.left = *s, delay+1
				return d.release(l)
			}
		}
	}
	d.q.r.Commit()
	wake(d.q.notEmpty)
	return d.release(l)
}

func (d *dir) chance(q float64) bool { return d.rng.Float64() < q }

// flipBits flips nflp random bits of the frame; a negotiation bit's flip
// negates its soft sample (the receiver decides from the samples).
func (d *dir) flipBits(s *slot) {
	for range d.nflp {
		bit := d.rng.IntN(framer.FrameLen * 8)
		off := bit / 8
		switch {
		case off >= framer.Data1Off && off < framer.Data1Off+framer.DataLen:
			k := (off-framer.Data1Off)*8 + bit%8
			s.soft[k] = -s.soft[k]
		case off >= framer.Data2Off && off < framer.Data2Off+framer.DataLen:
			k := framer.DataLen*8 + (off-framer.Data2Off)*8 + bit%8
			s.soft[k] = -s.soft[k]
		}
		s.frame[off] ^= 0x80 >> (bit % 8)
	}
}

// release counts down the held frames and commits those whose delay has
// run out.
func (d *dir) release(l *Link) error {
	for i := range d.hold {
		h := &d.hold[i]
		if h.left == 0 {
			continue
		}
		if h.left--; h.left > 0 {
			continue
		}
		s, err := d.q.slotWait(l)
		if err != nil {
			return err
		}
		*s = h.s
		d.q.r.Commit()
		wake(d.q.notEmpty)
	}
	return nil
}

// modulate makes the clean soft samples of the frame's negotiation bits.
func (d *dir) modulate(frame []byte) {
	channel.Modulate(frame, d.soft[:], &d.prof)
}

// impair applies the fibre to a slot (package channel).
func (d *dir) impair(s *slot) {
	channel.Impair(d.ch, s.frame[:], s.soft[:], d.thr, d.bit)
}

// toTap hands the tap its copy, with its own fibre noise, unless the tap's
// queue is full (the tap never slows the link down).
func (d *dir) toTap(frame []byte) {
	s := d.tapQ.r.Slot()
	if s == nil {
		return
	}
	copy(s.frame[:], frame)
	copy(s.soft[:], d.soft[:])
	d.tapCh.AddFibreNoise(s.soft[:])
	channel.Decide(s.frame[:], s.soft[:], d.thr)
	d.tapQ.r.Commit()
	wake(d.tapQ.notEmpty)
}

func (q *queue) slotWait(l *Link) (*slot, error) {
	for {
		if s := q.r.Slot(); s != nil {
			return s, nil
		}
		select {
		case <-q.notFull:
		case <-l.done:
			return nil, ErrClosed
		}
	}
}

func (q *queue) recv(l *Link, frame []byte, soft []noise.Sample) error {
	if len(frame) != framer.FrameLen || len(soft) != noise.SamplesPerFrame {
		return &framer.LengthError{What: "receive buffer", Got: len(frame), Want: framer.FrameLen}
	}
	for {
		if l.closed.Load() {
			return ErrClosed
		}
		if s := q.r.Peek(); s != nil {
			copy(frame, s.frame[:])
			copy(soft, s.soft[:])
			q.r.Release()
			wake(q.notFull)
			return nil
		}
		select {
		case <-q.notEmpty:
		case <-l.done:
			return ErrClosed
		}
	}
}

// Recv waits for the next frame of the other direction and copies it into
// frame (framer.FrameLen bytes) and its negotiation soft samples into soft
// (noise.SamplesPerFrame).
func (e *End) Recv(frame []byte, soft []noise.Sample) error {
	return e.rx.recv(e.link, frame, soft)
}

// String names the end.
func (e *End) String() string { return "simfiber end " + e.name }

// Tap is an eavesdropper's view of both directions.
type Tap struct {
	link *Link
	q    [2]*queue
}

// Recv waits for the next frame the tap saw on direction d (0 = A→B,
// 1 = B→A). Each direction may be read by its own goroutine.
func (t *Tap) Recv(d int, frame []byte, soft []noise.Sample) error {
	return t.q[d&1].recv(t.link, frame, soft)
}
