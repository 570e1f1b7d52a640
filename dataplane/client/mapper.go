package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/client/gfp"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// Client frame limits.
const (
	DefaultMTU = 1500 // client_mtu when not configured
	MinMTU     = 68   // the least an IPv4 host accepts
	MaxMTU     = 9600 // jumbo frames
	EthHeader  = 14   // destination, source, EtherType
	VLANTag    = 4    // one 802.1Q tag a frame may carry beyond the MTU
	EthFCS     = 4    // the Ethernet frame check sequence
	MinFrame   = 60   // the shortest MAC frame without FCS; shorter ones are padded

	// DefaultQueue is the default depth, in frames, of each ring: at MTU
	// 1500, 1.5 MB, about 100 OTN frames' worth (1.2 ms at line rate, 10 ms
	// at 10 000 frames/s). TCP through the link needs about its
	// bandwidth-delay product queued at the sender's side of a tail drop,
	// and the client writer must ride out a few milliseconds without the
	// CPU on a busy host.
	DefaultQueue = 1024
)

// OPU geometry and the payload type (G.709).
const (
	// PayloadType is the G.709 payload type of GFP mapping, sent in PSI[0].
	PayloadType = 0x05
	// PayloadLen is the OPU2 payload of one frame: columns 17-3824 of the
	// four rows.
	PayloadLen = framer.Rows * rowPayload

	payFirst   = 16 // 0-based column of the first payload octet
	rowPayload = framer.InfoCols - payFirst
	psiCol     = framer.OPUFirst - 1 // PSI: row 4, column 15
)

// ErrMTU reports an MTU outside MinMTU..MaxMTU.
var ErrMTU = errors.New("client: MTU out of range")

// Config configures a Mapper. Zero fields take the documented defaults.
type Config struct {
	// MTU is the client's MTU (client_mtu): DefaultMTU, at most MaxMTU.
	// Frames longer than MTU + EthHeader + VLANTag are dropped.
	MTU int
	// TXQueue and RXQueue are the ring depths in frames; DefaultQueue.
	TXQueue, RXQueue int
	// NoPFCS sends GFP frames without pFCS (PFI=0). The receiver accepts
	// both either way.
	NoPFCS bool
}

func (c *Config) fill() error {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MTU < MinMTU || c.MTU > MaxMTU {
		return fmt.Errorf("%w: %d, want %d..%d", ErrMTU, c.MTU, MinMTU, MaxMTU)
	}
	if c.TXQueue <= 0 {
		c.TXQueue = DefaultQueue
	}
	if c.RXQueue <= 0 {
		c.RXQueue = DefaultQueue
	}
	return nil
}

// txSlot is one client frame on its way to the line: the MAC frame, padded,
// with its FCS (n octets), and its pFCS.
type txSlot struct {
	buf  []byte
	n    int
	pfcs uint32
}

// rxSlot is one payload area on its way to the client.
type rxSlot struct {
	buf  []byte
	n    int
	pfcs bool
}

// Mapper maps one port's client frames into its frames and back. Make one
// with New. Each method belongs to one side (see the package doc) and must
// be called from that side's goroutine only; Stats may be read anywhere.
type Mapper struct {
	cfg      Config
	maxFrame int // longest MAC frame without FCS
	maxArea  int // longest GFP payload area
	st       Stats

	// TX
	txq  *ring.SPSC[txSlot]
	cur  *txSlot // the slot ReadBuffer handed out; nil: the drop buffer
	drop []byte
	enc  *gfp.Encoder
	src  txSource

	// RX
	rxq     *ring.SPSC[rxSlot]
	dec     *gfp.Decoder
	sink    rxSink
	last    uint32
	damaged uint32 // Lost calls since the last Deliver
	haveCnt bool
	plm     bool
	parked  atomic.Bool
	wake    chan struct{}
}

// New returns a Mapper with every buffer preallocated.
func New(cfg Config) (*Mapper, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	m := &Mapper{cfg: cfg, maxFrame: cfg.MTU + EthHeader + VLANTag, wake: make(chan struct{}, 1)}
	txLen := m.maxFrame + EthFCS
	m.txq = ring.New[txSlot](cfg.TXQueue)
	for range m.txq.Cap() {
		m.txq.Slot().buf = make([]byte, txLen)
		m.txq.Commit()
	}
	for m.txq.Peek() != nil {
		m.txq.Release()
	}
	m.drop = make([]byte, txLen)
	m.enc = gfp.NewEncoder(!cfg.NoPFCS)
	m.src.q = m.txq

	m.maxArea = gfp.HeaderLen + m.maxFrame + EthFCS + gfp.FCSLen
	m.rxq = ring.New[rxSlot](cfg.RXQueue)
	for range m.rxq.Cap() {
		m.rxq.Slot().buf = make([]byte, m.maxArea)
		m.rxq.Commit()
	}
	for m.rxq.Peek() != nil {
		m.rxq.Release()
	}
	m.sink.m = m
	m.dec = gfp.NewDecoder(gfp.Options{MaxPLI: m.maxArea, DeferPFCS: true, Stats: &m.st.GFP})
	return m, nil
}

// MTU returns the client MTU.
func (m *Mapper) MTU() int { return m.cfg.MTU }

// MaxFrame returns the longest client frame (without FCS) the Mapper
// carries: MTU + EthHeader + VLANTag.
func (m *Mapper) MaxFrame() int { return m.maxFrame }

// Stats returns the counters.
func (m *Mapper) Stats() *Stats { return &m.st }

// ---- TX: client reader side ----

// ReadBuffer returns the buffer the client reader reads the next frame
// into: a free TX slot or, when the ring is full, a scratch buffer whose
// frame CommitRead drops (tail drop). Its length, MaxFrame()+EthFCS, leaves
// room to see a frame that is too long.
func (m *Mapper) ReadBuffer() []byte {
	if s := m.txq.Slot(); s != nil {
		m.cur = s
		return s.buf
	}
	m.cur = nil
	return m.drop
}

// CommitRead takes the frame of n octets read into the buffer ReadBuffer
// returned: a MAC frame without FCS, as Linux hands it. It pads the frame to
// MinFrame, appends its FCS, computes its pFCS and queues it for the line.
// A frame that finds the ring still full, is longer than MaxFrame or
// shorter than an Ethernet header is dropped and counted.
func (m *Mapper) CommitRead(n int) {
	s := m.cur
	m.cur = nil
	if s == nil && n <= m.maxFrame {
		// The ring was full when the reader went to read; it may have room
		// now (a read waits for the next frame): then the frame is not
		// dropped but copied from the scratch buffer, the one extra copy
		// of a frame that came after the ring had been full.
		if s = m.txq.Slot(); s != nil {
			copy(s.buf, m.drop[:n])
		}
	}
	switch {
	case s == nil:
		m.st.DropCapacity.Add(1)
		return
	case n > m.maxFrame:
		m.st.DropMTU.Add(1)
		return
	case n < EthHeader:
		m.st.DropMalformed.Add(1)
		return
	}
	m.st.InPackets.Add(1)
	m.st.InBytes.Add(uint64(n))
	b := s.buf
	if n < MinFrame {
		clear(b[n:MinFrame])
		n = MinFrame
	}
	binary.LittleEndian.PutUint32(b[n:], crc32.ChecksumIEEE(b[:n]))
	n += EthFCS
	s.n = n
	if !m.cfg.NoPFCS {
		s.pfcs = gfp.PFCS(b[:n])
	}
	m.txq.Commit()
}

// ---- TX: frame loop side ----

// txSource is the Encoder's view of the TX ring.
type txSource struct{ q *ring.SPSC[txSlot] }

func (t *txSource) Next() ([]byte, uint32, bool) {
	s := t.q.Peek()
	if s == nil {
		return nil, 0, false
	}
	return s.buf[:s.n], s.pfcs, true
}

func (t *txSource) Done() { t.q.Release() }

// Fill writes the OPU payload of a frame about to be sealed: the GFP stream
// (client frames queued, idle frames for the rest) in columns 17-3824 of
// the four rows, the payload type in PSI[0] (row 4 column 15 of the frame
// whose MFAS, COUNT bits 7-0, is 0) and zeros in the rest of the OPU
// overhead. It implements dataplane.PayloadSource: it runs on the TX frame
// loop, never waits and allocates nothing.
func (m *Mapper) Fill(f *framer.Frame, count uint32) {
	for r := range framer.Rows {
		row := f.Row(r)
		row[framer.OPUFirst-1], row[framer.OPUFirst] = 0, 0
	}
	if byte(count) == 0 {
		f.Row(framer.Rows - 1)[psiCol] = PayloadType
	}
	for r := range framer.Rows {
		m.enc.Encode(PayloadRow(f, r), &m.src)
	}
}

// TXPending reports whether client frames are queued or partly mapped: a
// caller that must flush the stream (otkctl) fills frames until it is false.
func (m *Mapper) TXPending() bool { return m.txq.Len() > 0 }

// TXRoom returns the number of free TX slots: a client reader that must not
// drop (otkctl, tests) queues only that many frames before the next Fill.
func (m *Mapper) TXRoom() int { return m.txq.Cap() - m.txq.Len() }

// PayloadRow returns the OPU payload of row r (0-based) of f: columns
// 17-3824, the part of the GFP stream the row carries.
func PayloadRow(f *framer.Frame, r int) []byte { return f.Row(r)[payFirst:framer.InfoCols] }

// ---- RX: frame loop side ----

// lateWindow bounds how far behind the last COUNT a frame counts as late
// (reordered or repeated); further back, or further ahead, the sequence is
// taken to have started again (a restarted peer).
const lateWindow = 1 << 16

// Deliver takes the OPU payload of a frame the RX frame loop opened and
// accepted (decrypted, authenticated, no uncorrectable codeword in its
// rows), with its COUNT and key epoch. A frame of the null epoch carries no
// payload: the GFP stream runs on across it. A COUNT that skips frames, or
// comes late, breaks the stream there: the client frame in progress is
// dropped and counted, and the receiver resynchronises. While the PSI
// announces another payload type than GFP the payload is ignored and
// counted (PayloadMismatch). Deliver allocates nothing.
func (m *Mapper) Deliver(f *framer.Frame, count uint32, epoch uint8) {
	if !m.sequence(count) || epoch == keys.NullEpoch {
		return
	}
	if byte(count) == 0 {
		m.plm = f.Row(framer.Rows - 1)[psiCol] != PayloadType
	}
	if m.plm {
		m.st.PayloadMismatch.Add(1)
		m.dec.Lose(&m.sink)
		return
	}
	for r := range framer.Rows {
		m.dec.Write(PayloadRow(f, r), &m.sink)
	}
}

// Lost tells the Mapper that the frame after the last one delivered arrived
// but cannot be used (FEC failure, failed authentication): the client frame
// in progress is dropped now rather than at the next Deliver, whose COUNT
// gap says the same. Call it only for frames known to belong to this
// stream: a spurious call costs a resynchronisation.
func (m *Mapper) Lost() {
	m.st.DamagedFrames.Add(1)
	m.damaged++
	m.dec.Lose(&m.sink)
}

// sequence follows the COUNT of the frames delivered and breaks the stream
// where it does not run on by one. False: the frame is not to be used.
func (m *Mapper) sequence(count uint32) bool {
	// Frames reported damaged since the last delivery fill the gap they
	// leave: they are counted once, as DamagedFrames.
	dmg := m.damaged
	m.damaged = 0
	if !m.haveCnt {
		m.haveCnt, m.last = true, count
		return true
	}
	switch d := int32(count - m.last); {
	case d == 1:
	case d > 1 && d < lateWindow:
		gap := uint64(d - 1)
		m.st.LostFrames.Add(gap - min(uint64(dmg), gap))
		m.dec.Lose(&m.sink)
	case d <= 0 && d > -lateWindow:
		m.st.LateFrames.Add(1)
		m.dec.Lose(&m.sink)
		return false
	default:
		m.st.Restarts.Add(1)
		m.dec.Lose(&m.sink)
	}
	m.last = count
	return true
}

// rxSink is the Decoder's view of the RX ring.
type rxSink struct{ m *Mapper }

func (s rxSink) Buffer(n int) []byte {
	m := s.m
	if n > m.maxArea {
		m.st.DropMTU.Add(1)
		return nil
	}
	sl := m.rxq.Slot()
	if sl == nil {
		m.st.DropQueue.Add(1)
		return nil
	}
	return sl.buf[:n]
}

func (s rxSink) Frame(area, info []byte, pfcs bool, err error) {
	m := s.m
	switch {
	case err == gfp.ErrCut:
		m.st.DropDelineation.Add(1)
		return
	case err == gfp.ErrPFCS:
		m.st.DropPFCS.Add(1)
		return
	case err != nil:
		m.st.DropMalformed.Add(1)
		return
	case len(info) < MinFrame+EthFCS:
		m.st.DropMalformed.Add(1)
		return
	case len(info) > m.maxFrame+EthFCS:
		m.st.DropMTU.Add(1)
		return
	}
	sl := m.rxq.Slot()
	sl.n, sl.pfcs = len(area), pfcs
	m.rxq.Commit()
	if m.parked.Load() && m.parked.CompareAndSwap(true, false) {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// ---- RX: client writer side ----

// NextOut returns the next frame for the client, checked (its pFCS when it
// has one, its Ethernet FCS) and without its FCS, or nil when none is
// waiting. Frames that fail a check are dropped and counted here. The frame
// stays valid until ReleaseOut.
func (m *Mapper) NextOut() []byte {
	for {
		sl := m.rxq.Peek()
		if sl == nil {
			return nil
		}
		area := sl.buf[:sl.n]
		end := len(area)
		if sl.pfcs {
			if !gfp.CheckPFCS(area) {
				m.st.DropPFCS.Add(1)
				m.rxq.Release()
				continue
			}
			end -= gfp.FCSLen
		}
		fr := area[gfp.HeaderLen:end]
		k := len(fr) - EthFCS
		if crc32.ChecksumIEEE(fr[:k]) != binary.LittleEndian.Uint32(fr[k:]) {
			m.st.DropFCS.Add(1)
			m.rxq.Release()
			continue
		}
		return fr[:k]
	}
}

// ReleaseOut hands back the frame NextOut returned; delivered says whether
// the client took it (counted in OutPackets/OutBytes) or refused it
// (DropClient).
func (m *Mapper) ReleaseOut(delivered bool) {
	sl := m.rxq.Peek()
	if sl == nil {
		return
	}
	if delivered {
		n := sl.n - gfp.HeaderLen - EthFCS
		if sl.pfcs {
			n -= gfp.FCSLen
		}
		m.st.OutPackets.Add(1)
		m.st.OutBytes.Add(uint64(n))
	} else {
		m.st.DropClient.Add(1)
	}
	m.rxq.Release()
}

// WaitOut blocks until a frame may be waiting for the client (true) or done
// is closed (false). It sleeps without spinning; the RX frame loop wakes it.
func (m *Mapper) WaitOut(done <-chan struct{}) bool {
	for m.rxq.Peek() == nil {
		m.parked.Store(true)
		if m.rxq.Peek() != nil {
			m.parked.Store(false)
			break
		}
		select {
		case <-m.wake:
		case <-done:
			m.parked.Store(false)
			return false
		}
	}
	return true
}
