package gfp

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
)

// State is the receiver's frame delineation state (G.7041 6.3.1).
type State uint8

// The delineation states.
const (
	// Hunt: searching the stream octet by octet for a correct core header.
	Hunt State = iota
	// PreSync: at least one candidate header waits for its confirmation
	// (Delta correct headers at the positions its PLI announces). The
	// search for other candidates goes on meanwhile.
	PreSync
	// Sync: frames are delineated and delivered.
	Sync
)

func (s State) String() string {
	switch s {
	case Hunt:
		return "HUNT"
	case PreSync:
		return "PRESYNC"
	}
	return "SYNC"
}

// Sink receives the client frames a Decoder delineates in SYNC. Its methods
// run on the Decoder's goroutine.
type Sink interface {
	// Buffer returns memory for the payload area of a client frame of n
	// octets (4 ≤ n ≤ 65535), into which the Decoder descrambles it, or nil
	// to have the frame skipped (too long, no room: the Sink counts it).
	Buffer(n int) []byte
	// Frame hands back the buffer Buffer returned with the frame's verdict.
	// err == nil: area is the payload area (payload header, information
	// field, pFCS), info the information field inside it and pfcs whether
	// a pFCS follows it (checked unless Options.DeferPFCS). Otherwise err
	// is ErrTHEC, ErrType, ErrLength, ErrPFCS or ErrCut (area then holds the
	// octets received before the cut) and the frame must not be used.
	Frame(area, info []byte, pfcs bool, err error)
}

// Options configures a Decoder. The zero value is the default.
type Options struct {
	// MaxPLI bounds the payload areas the hunt accepts as candidates
	// (fewer false candidates); default (0) MaxPLI. In SYNC every client
	// frame reaches Sink.Buffer, which decides.
	MaxPLI int
	// DeferPFCS leaves the pFCS check to the Sink (CheckPFCS), for a
	// receiver that checks on another goroutine.
	DeferPFCS bool
	// Stats, when set, receives the counts (shared with the owner's other
	// counters); default: the Decoder's own.
	Stats *Stats
}

// Stats counts a Decoder's delineation events. Fields are atomics so that
// another goroutine may read them while the Decoder runs.
type Stats struct {
	Syncs      atomic.Uint64 // entries into SYNC
	Resyncs    atomic.Uint64 // losses of SYNC: a core header that did not check, or Lose
	Corrected  atomic.Uint64 // core headers with one bit corrected in SYNC
	Control    atomic.Uint64 // control frames with a reserved PLI (1..3), skipped
	Candidates atomic.Uint64 // candidate headers dropped for want of room
}

// candidate is a header the hunt found, waiting for its confirmation.
type candidate struct {
	at   uint64 // stream offset just past the next header it announces
	good int    // correct headers after the first
	prev uint64 // the 8 octets before the last header of the chain (descrambler state)
	pli  int    // PLI of the last header of the chain
}

// maxCand bounds the candidates checked in parallel. False candidates come
// at 2^-16 per octet in random data; real ones last one frame.
const maxCand = 16

// Decoder delineates a GFP-F stream and delivers its client frames to a
// Sink. Its zero value is not ready: use NewDecoder. Not safe for concurrent
// use; Stats may be read from anywhere.
type Decoder struct {
	opt   Options
	state State
	ds    Scrambler
	pos   uint64 // octets fed since NewDecoder

	// HUNT/PRESYNC: the last 16 octets (r1 older, r0 newer), how many are
	// valid, the candidates and the earliest offset one of them waits for.
	r0, r1 uint64
	hn     int
	cand   [maxCand]candidate
	nc     int
	due    uint64

	// SYNC: the core header being read and the payload area in progress.
	hdr    uint32
	hdrN   int
	inArea bool
	pli    int
	got    int
	buf    []byte // nil: skipped

	st  *Stats
	own Stats
}

// NewDecoder returns a Decoder in HUNT.
func NewDecoder(opt Options) *Decoder {
	if opt.MaxPLI <= 0 || opt.MaxPLI > MaxPLI {
		opt.MaxPLI = MaxPLI
	}
	d := &Decoder{opt: opt, st: opt.Stats}
	if d.st == nil {
		d.st = &d.own
	}
	return d
}

// State returns the delineation state.
func (d *Decoder) State() State {
	if d.state == Hunt && d.nc > 0 {
		return PreSync
	}
	return d.state
}

// Stats returns the delineation counters.
func (d *Decoder) Stats() *Stats { return d.st }

// Write feeds the next octets of the stream.
func (d *Decoder) Write(p []byte, sink Sink) {
	for len(p) > 0 {
		switch {
		case d.inArea:
			p = d.area(p, sink)
		case d.state == Sync:
			p = d.header(p, sink)
		default:
			p = d.hunt(p, sink)
		}
	}
}

// Lose tells the Decoder that the stream broke (octets lost or damaged
// before the next Write): a frame in progress is handed back with ErrCut and
// the Decoder hunts again.
func (d *Decoder) Lose(sink Sink) {
	if d.inArea && d.buf != nil {
		sink.Frame(d.buf[:d.got], nil, false, ErrCut)
	}
	if d.state == Sync {
		d.st.Resyncs.Add(1)
	}
	d.toHunt()
	d.hn = 0
}

func (d *Decoder) toHunt() {
	d.state = Hunt
	d.inArea, d.buf = false, nil
	d.hdrN = 0
	d.nc = 0
}

// candidateOK reports whether w (four octets as received) is a core header
// the hunt may take: a correct cHEC and a PLI that is idle or a client frame
// within bounds.
func (d *Decoder) candidateOK(w uint32) (int, bool) {
	h := w ^ CoreMask
	pli := int(h >> 16)
	if pli > d.opt.MaxPLI || (pli != 0 && pli < CoreLen) {
		return 0, false
	}
	return pli, headerOK(h)
}

// hunt scans octet by octet for candidate headers and checks the candidates
// whose next header falls due; the first chain of Delta+1 correct headers
// takes the Decoder to SYNC at its last header.
//
// The history registers (r0, r1, pos) describe the stream up to p[0] on
// entry; windows that begin in an earlier span go through them octet by
// octet, the others are loaded from p, and the registers catch up only where
// a window needs a closer look and at the end.
func (d *Decoder) hunt(p []byte, sink Sink) []byte {
	i := 0
	for ; i < len(p) && i < CoreLen-1; i++ {
		d.push(p[i])
		if d.hn >= CoreLen && d.check(uint32(d.r0), d.prev(), sink) {
			return p[i+1:]
		}
	}
	seen := i // the registers hold p[:seen]
	for ; i < len(p); i++ {
		w := binary.BigEndian.Uint32(p[i-3:])
		if !(d.nc > 0 && d.pos+uint64(i+1-seen) == d.due) {
			// Most windows announce a PLI above the bound.
			if int((w^CoreMask)>>16) > d.opt.MaxPLI {
				continue
			}
			if _, ok := d.candidateOK(w); !ok {
				continue
			}
		}
		d.advance(p[seen : i+1])
		seen = i + 1
		if d.check(w, d.prev(), sink) {
			return p[i+1:]
		}
	}
	d.advance(p[seen:])
	return nil
}

// push shifts one octet into the hunt's history.
func (d *Decoder) push(b byte) {
	d.r1 = d.r1<<8 | d.r0>>56
	d.r0 = d.r0<<8 | uint64(b)
	d.pos++
	if d.hn < 16 {
		d.hn++
	}
}

// advance moves the history over the octets q.
func (d *Decoder) advance(q []byte) {
	if n := len(q); n >= 16 {
		d.r1 = binary.BigEndian.Uint64(q[n-16:])
		d.r0 = binary.BigEndian.Uint64(q[n-8:])
		d.pos += uint64(n)
		d.hn = 16
		return
	}
	for _, b := range q {
		d.push(b)
	}
}

// prev returns the 8 octets before the last four of the history.
func (d *Decoder) prev() uint64 { return d.r1<<32 | d.r0>>32 }

// check handles the window w that ends at d.pos (prev: the 8 octets before
// it): a due confirmation first, then a new candidate. True when SYNC is
// reached; the frame of w has then begun.
func (d *Decoder) check(w uint32, prev uint64, sink Sink) bool {
	if d.nc > 0 && d.pos == d.due {
		if pli, ok := d.confirm(w, d.pos, prev); ok {
			d.state = Sync
			d.st.Syncs.Add(1)
			d.nc = 0
			d.begin(pli, true, sink)
			return true
		}
	}
	if pli, ok := d.candidateOK(w); ok {
		d.add(d.pos+CoreLen+uint64(pli), prev, pli)
	}
	return false
}

// add records a candidate that expects its next header to end at offset at.
func (d *Decoder) add(at uint64, prev uint64, pli int) {
	if d.nc == maxCand {
		d.st.Candidates.Add(1)
		return
	}
	d.cand[d.nc] = candidate{at: at, prev: prev, pli: pli}
	d.nc++
	if d.nc == 1 || at < d.due {
		d.due = at
	}
}

// confirm checks the header w ending at pos against the candidates due there
// (prev: the 8 octets before it). It drops those that fail, advances those
// that pass, and returns the PLI of w when a chain is complete.
func (d *Decoder) confirm(w uint32, pos uint64, prev uint64) (int, bool) {
	pli, ok := d.candidateOK(w)
	done := false
	var state uint64
	n := 0
	for _, c := range d.cand[:d.nc] {
		if c.at == pos {
			if !ok {
				continue // a false candidate: dropped
			}
			if c.good+1 >= Delta && !done {
				// The descrambler state before this header: the end of
				// the previous frame's payload area, or, when that frame
				// was idle, what preceded its header.
				state = prev
				if c.pli == 0 {
					state = c.prev
				}
				done = true
			}
			c.good++
			c.at = pos + CoreLen + uint64(pli)
			c.prev, c.pli = prev, pli
		}
		d.cand[n] = c
		n++
	}
	d.nc = n
	if done {
		d.ds.Set(state)
		return pli, true
	}
	d.due = ^uint64(0)
	for _, c := range d.cand[:d.nc] {
		d.due = min(d.due, c.at)
	}
	return 0, false
}

// header reads a core header in SYNC and starts its frame; a header that
// does not check (after single-bit correction) loses SYNC.
func (d *Decoder) header(p []byte, sink Sink) []byte {
	if d.hdrN == 0 {
		// Runs of idle frames, 64 then 8 octets at a time.
		i := 0
		for ; i+64 <= len(p) && bytes.Equal(p[i:i+64], idleRun[:64]); i += 64 {
		}
		for ; i+8 <= len(p) && binary.BigEndian.Uint64(p[i:]) == idle8; i += 8 {
		}
		d.pos += uint64(i)
		p = p[i:]
		if len(p) >= CoreLen {
			d.hdr = binary.BigEndian.Uint32(p)
			d.hdrN = CoreLen
			p = p[CoreLen:]
			d.pos += CoreLen
		}
	}
	for d.hdrN < CoreLen && len(p) > 0 {
		d.hdr = d.hdr<<8 | uint32(p[0])
		d.hdrN++
		p = p[1:]
		d.pos++
	}
	if d.hdrN < CoreLen {
		return p
	}
	d.hdrN = 0
	h := d.hdr ^ CoreMask
	if !headerOK(h) {
		var ok bool
		if h, ok = correctHeader(h); !ok {
			d.st.Resyncs.Add(1)
			d.toHunt()
			// Hunt on from the octet after the failed header's first.
			d.r0, d.r1, d.hn = uint64(d.hdr), 0, CoreLen
			return p
		}
		d.st.Corrected.Add(1)
	}
	d.begin(int(h>>16), true, sink)
	return p
}

// begin starts the payload area of a frame whose header announced pli.
func (d *Decoder) begin(pli int, deliver bool, sink Sink) {
	switch {
	case pli == 0:
		return
	case pli < CoreLen:
		d.st.Control.Add(1)
		deliver = false
	}
	d.inArea, d.pli, d.got, d.buf = true, pli, 0, nil
	if deliver {
		if b := sink.Buffer(pli); len(b) >= pli {
			d.buf = b[:pli]
		}
	}
}

// area takes the octets of the payload area in progress.
func (d *Decoder) area(p []byte, sink Sink) []byte {
	n := min(d.pli-d.got, len(p))
	if d.buf != nil {
		d.ds.Descramble(d.buf[d.got:d.got+n], p[:n])
	} else {
		d.ds.Absorb(p[:n])
	}
	d.got += n
	d.pos += uint64(n)
	if d.got == d.pli {
		d.inArea = false
		if d.buf != nil {
			buf := d.buf
			d.buf = nil
			d.finish(buf, sink)
		}
	}
	return p[n:]
}

// finish checks a complete payload area and hands it to the sink.
func (d *Decoder) finish(area []byte, sink Sink) {
	typ := binary.BigEndian.Uint16(area)
	if hec16(typ) != binary.BigEndian.Uint16(area[2:]) {
		sink.Frame(area, nil, false, ErrTHEC)
		return
	}
	pfcs := typ&pfiBit != 0
	if typ>>ptiShift != 0 || typ>>exiShift&0xF != 0 || byte(typ) != UPIEthernet {
		sink.Frame(area, nil, pfcs, ErrType)
		return
	}
	end := len(area)
	if pfcs {
		end -= FCSLen
	}
	if end <= HeaderLen {
		sink.Frame(area, nil, pfcs, ErrLength)
		return
	}
	if pfcs && !d.opt.DeferPFCS && !CheckPFCS(area) {
		sink.Frame(area, nil, pfcs, ErrPFCS)
		return
	}
	sink.Frame(area, area[HeaderLen:end], pfcs, nil)
}
