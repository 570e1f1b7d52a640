package ichan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/ring"
)

// Segment layout (docs/ichan.md).
const (
	dataHdr   = 11 // inc u32, seq u32, base delta u16, flags u8
	ackLen    = 8  // inc u32, cum u32, then 0..8 bytes of selective bitmap
	ackMaxLen = 16 // with the whole 64-bit selective bitmap
	sackBits  = 64

	flagFirst byte = 1 << 0
	flagLast  byte = 1 << 1

	// MaxSegment is the largest segment payload a single area can carry:
	// AreaSize minus the version byte, the TLV header and the DATA header.
	MaxSegment = AreaSize - 1 - 2 - dataHdr

	// minSegment: a new segment shorter than this is not cut unless it ends
	// the message; waiting a frame for more room beats a stream of crumbs.
	minSegment = 8

	retiredIncs = 4
)

// Config holds the channel's parameters. A zero field takes its default.
type Config struct {
	// MaxMessage is the largest message in bytes. Default 2048; at most
	// 65535.
	MaxMessage int
	// Window is the number of segments in flight (sent, not cumulatively
	// acknowledged) and the receiver's reorder window. Default 64: one
	// segment per frame fills the link when the round trip is under 64
	// frames (the RTO must exceed it anyway), and the 64-bit selective ack
	// covers a whole window. At most 32768. Both
	// ends should use the same value; a sender window larger than the
	// peer's receive window costs retransmissions, not correctness.
	Window int
	// RTO is the retransmission timeout in frames of this direction
	// (FillTX calls). Default 64 (0.78 ms at the OTU2 rate). It must exceed
	// the round trip in frames, pipelines included.
	RTO int
	// Segment caps the payload of one segment in bytes. Default and maximum
	// MaxSegment (209): each segment takes what the area has left, up to
	// this cap.
	Segment int
	// SendQueue and RecvQueue are the depths, in messages, of the queues
	// between the controller and the TX and RX goroutines. Default 16 each,
	// rounded up to a power of two.
	SendQueue, RecvQueue int
}

// Check reports an out-of-range field, the error New would panic with.
// Callers that take a Config from a user call it first.
func (c Config) Check() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d, max int, name string) error {
		if *v == 0 {
			*v = d
		}
		if *v < 0 || *v > max {
			return fmt.Errorf("ichan: Config.%s = %d out of range 1..%d", name, *v, max)
		}
		return nil
	}
	return c, errors.Join(
		def(&c.MaxMessage, 2048, 65535, "MaxMessage"),
		def(&c.Window, 64, 32768, "Window"),
		def(&c.RTO, 64, 1<<30, "RTO"),
		def(&c.Segment, MaxSegment, MaxSegment, "Segment"),
		def(&c.SendQueue, 16, 1<<16, "SendQueue"),
		def(&c.RecvQueue, 16, 1<<16, "RecvQueue"),
	)
}

// Errors of Send.
var (
	ErrFull     = errors.New("ichan: send queue full")
	ErrTooLarge = errors.New("ichan: message larger than Config.MaxMessage")
)

// msg is one queued message; b is preallocated to MaxMessage bytes.
type msg struct {
	n int
	b []byte
}

type txSeg struct {
	seq    uint32
	n      uint16
	flags  byte
	acked  bool
	sentAt uint64
	buf    [MaxSegment]byte
}

type rxSeg struct {
	seq     uint32
	n       uint16
	flags   byte
	present bool
	buf     [MaxSegment]byte
}

// txSide is owned by the TX goroutine (FillTX).
type txSide struct {
	win     []txSeg
	mask    uint32
	base    uint32 // the peer's cumulative ack: all before it delivered
	next    uint32 // next new sequence number
	now     uint64 // frames filled so far
	cur     *msg   // message being cut into segments (head of sendq)
	off     int    // bytes of cur already cut
	ackSent uint64 // owed.seq of the last ACK written
	peerAck uint64 // version of the last c.peerAck applied
	heldHi  uint32 // the highest segment the peer holds (its cum when none)
}

// rxSide is owned by the RX goroutine (HandleRX).
type rxSide struct {
	win      []rxSeg
	mask     uint32
	peerInc  uint32 // incarnation of the stream we receive; 0 = none yet
	expected uint32 // next in-order sequence number
	retired  [retiredIncs]uint32
	nretired int
	cur      *msg   // recvq slot being reassembled, when inMsg
	peerCum  uint32 // highest cumulative ack of our stream published to TX
	inMsg    bool
}

// Chan is one end of the reliable message channel carried in the
// interaction areas. See the package comment for who may call what.
type Chan struct {
	cfg    Config
	inc    uint32 // our incarnation: written by New and Reset only
	sendq  *ring.SPSC[msg]
	recvq  *ring.SPSC[msg]
	notify chan struct{}

	_  [64]byte
	tx txSide
	_  [64]byte
	rx rxSide
	_  [64]byte

	// RX → TX hand-offs.
	owed    seqBox // the ack we owe the peer (RX writes, TX reads)
	peerAck seqBox // the peer's ack of our stream (RX writes, TX reads)
	_       [64]byte
	txNext  atomic.Uint32 // TX publishes tx.next so RX can vet acks
	_       [64]byte

	st stats
}

// New returns a channel with a fresh random incarnation. It allocates all
// buffers; nothing allocates afterwards. It panics on an out-of-range
// Config field (see Config.Check).
func New(cfg Config) *Chan {
	cfg, err := cfg.withDefaults()
	if err != nil {
		panic(err)
	}
	w := 2
	for w < cfg.Window {
		w <<= 1
	}
	c := &Chan{
		cfg:    cfg,
		sendq:  newMsgRing(cfg.SendQueue, cfg.MaxMessage),
		recvq:  newMsgRing(cfg.RecvQueue, cfg.MaxMessage),
		notify: make(chan struct{}, 1),
	}
	c.tx.win, c.tx.mask = make([]txSeg, w), uint32(w-1)
	c.rx.win, c.rx.mask = make([]rxSeg, w), uint32(w-1)
	c.inc = newInc(0)
	return c
}

// newMsgRing preallocates every slot's buffer by cycling each slot once.
func newMsgRing(depth, size int) *ring.SPSC[msg] {
	r := ring.New[msg](depth)
	for range r.Cap() {
		r.Slot().b = make([]byte, size)
		r.Commit()
	}
	for r.Peek() != nil {
		r.Release()
	}
	return r
}

func newInc(old uint32) uint32 {
	for {
		if v := rand.Uint32(); v != 0 && v != old {
			return v
		}
	}
}

// Incarnation returns the channel's current incarnation id (for logs and
// tests).
func (c *Chan) Incarnation() uint32 { return c.inc }

// Config returns the configuration in use, defaults filled in.
func (c *Chan) Config() Config { return c.cfg }

// Reset makes the channel a new session, as a restarted process would be:
// a new incarnation, empty queues (queued and undelivered messages are
// discarded), empty windows. Stats are kept. Reset must not run
// concurrently with any other method; the caller stops the TX, RX and
// controller goroutines first and orders the restart after them (a
// sync.WaitGroup does).
func (c *Chan) Reset() {
	c.inc = newInc(c.inc)
	for c.sendq.Peek() != nil {
		c.sendq.Release()
	}
	for c.recvq.Peek() != nil {
		c.recvq.Release()
	}
	select {
	case <-c.notify:
	default:
	}
	tw, rw := c.tx.win, c.rx.win
	clear(tw)
	clear(rw)
	c.tx = txSide{win: tw, mask: c.tx.mask}
	c.rx = rxSide{win: rw, mask: c.rx.mask}
	c.owed.reset()
	c.peerAck.reset()
	c.txNext.Store(0)
}

// Send queues a copy of m for transmission; controller goroutine only. It
// returns ErrTooLarge when len(m) > MaxMessage and ErrFull when SendQueue
// messages wait already (retry after frames have gone out). It does not
// block and does not allocate.
func (c *Chan) Send(m []byte) error {
	if len(m) > c.cfg.MaxMessage {
		return ErrTooLarge
	}
	s := c.sendq.Slot()
	if s == nil {
		return ErrFull
	}
	s.n = copy(s.b, m)
	c.sendq.Commit()
	return nil
}

// Recv copies the oldest delivered message into buf and returns its length
// with ok = true; controller goroutine only. With nothing delivered it
// returns 0, false. When buf is shorter than the message it returns the
// message's length and false and keeps the message. It does not block.
func (c *Chan) Recv(buf []byte) (n int, ok bool) {
	m := c.recvq.Peek()
	if m == nil {
		return 0, false
	}
	if len(buf) < m.n {
		return m.n, false
	}
	n = copy(buf, m.b[:m.n])
	c.recvq.Release()
	return n, true
}

// Notify returns a channel that receives a token (capacity 1, never closed)
// after a message was delivered. Drain Recv until it reports nothing, then
// wait on Notify: a delivery after the last Recv leaves a token, so no
// wake-up is lost.
func (c *Chan) Notify() <-chan struct{} { return c.notify }

// seqBox is a seqlock over the ack we owe: one writer (RX), one reader (TX),
// both lock-free; all fields are atomics, so the race detector checks it.
type seqBox struct {
	seq atomic.Uint64 // odd while the writer is mid-update
	w0  atomic.Uint64 // peer incarnation << 32 | cumulative ack
	w1  atomic.Uint64 // selective bitmap
}

func (b *seqBox) store(inc, cum uint32, sack uint64) {
	b.seq.Add(1)
	b.w0.Store(uint64(inc)<<32 | uint64(cum))
	b.w1.Store(sack)
	b.seq.Add(1)
}

// load returns a consistent snapshot and its version; ok is false when the
// writer kept it busy for a few tries (the caller tries again next frame).
func (b *seqBox) load() (inc, cum uint32, sack, ver uint64, ok bool) {
	for range 4 {
		s := b.seq.Load()
		if s&1 != 0 {
			continue
		}
		w0, w1 := b.w0.Load(), b.w1.Load()
		if b.seq.Load() == s {
			return uint32(w0 >> 32), uint32(w0), w1, s, true
		}
	}
	return 0, 0, 0, 0, false
}

func (b *seqBox) reset() {
	b.seq.Store(0)
	b.w0.Store(0)
	b.w1.Store(0)
}

// after reports whether sequence number a comes after b (serial arithmetic).
func after(a, b uint32) bool { return int32(a-b) > 0 }
