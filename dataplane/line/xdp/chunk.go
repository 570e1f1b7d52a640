package xdp

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/otkd/otkd/framer"
)

// A wire frame (framer.FrameLen bytes) is larger than an Ethernet MTU, so
// the line cuts it into chunks, each one Ethernet frame of EtherType
// 0x88B5:
//
//	off len field
//	  0   6 destination MAC (the peer)
//	  6   6 source MAC (this end)
//	 12   2 EtherType 0x88B5 (IEEE 802 local experimental EtherType 1)
//	 14   2 magic 0x4F54 ("OT")
//	 16   1 version 1
//	 17   1 chunk count of the frame (2…255)
//	 18   4 frame sequence number (the line's own, big-endian, +1 per frame)
//	 22   1 chunk index (0…count-1)
//	 23   1 reserved, 0
//	 24   2 offset of the chunk's bytes in the frame
//	 26   2 length of the chunk's bytes (≥ 1)
//	 28   2 reserved, 0
//	 30   … the chunk's bytes; then padding to the Ethernet minimum (60)
//
// The sequence number is the line's, not the frame's COUNT: the line knows
// nothing of the frame's contents, and a frame that the framer rejects is
// still one frame to the line.

// EtherType is the EtherType of otkd's chunks: 0x88B5, the first of the two
// EtherTypes IEEE 802 sets aside for local experiments, so that it cannot
// collide with a registered protocol on a point-to-point line.
const EtherType = 0x88B5

const (
	ethHdr      = 14
	chunkHdr    = 16
	hdrLen      = ethHdr + chunkHdr
	minEthFrame = 60
	chunkMagic  = 0x4F54
	chunkVer    = 1
	maxChunks   = 255
)

// putChunk writes the headers of chunk idx of count of frame seq, carrying
// frame[off:off+n], into pkt (which holds at least hdrLen+n bytes, and 60),
// and returns the packet's length.
func putChunk(pkt []byte, dst, src [6]byte, seq uint32, idx, count, off, n int, frame []byte) int {
	copy(pkt[0:6], dst[:])
	copy(pkt[6:12], src[:])
	binary.BigEndian.PutUint16(pkt[12:], EtherType)
	binary.BigEndian.PutUint16(pkt[14:], chunkMagic)
	pkt[16], pkt[17] = chunkVer, byte(count)
	binary.BigEndian.PutUint32(pkt[18:], seq)
	pkt[22], pkt[23] = byte(idx), 0
	binary.BigEndian.PutUint16(pkt[24:], uint16(off))
	binary.BigEndian.PutUint16(pkt[26:], uint16(n))
	pkt[28], pkt[29] = 0, 0
	copy(pkt[hdrLen:], frame[off:off+n])
	l := hdrLen + n
	if l < minEthFrame {
		clear(pkt[l:minEthFrame])
		l = minEthFrame
	}
	return l
}

// chunk is a parsed chunk header.
type chunk struct {
	seq             uint32
	idx, count, off int
	n               int
	src             [6]byte
	payload         []byte
}

// parseChunk validates pkt's headers. It reports false for anything that
// is not a well-formed chunk of otkd's format: a short packet, another
// EtherType, a wrong magic or version, non-zero reserved bytes, an index or
// a range that does not fit the frame.
func parseChunk(pkt []byte, c *chunk) bool {
	if len(pkt) < hdrLen || binary.BigEndian.Uint16(pkt[12:]) != EtherType ||
		binary.BigEndian.Uint16(pkt[14:]) != chunkMagic || pkt[16] != chunkVer || pkt[23] != 0 || pkt[28] != 0 || pkt[29] != 0 {
		return false
	}
	c.count, c.idx = int(pkt[17]), int(pkt[22])
	c.seq = binary.BigEndian.Uint32(pkt[18:])
	c.off, c.n = int(binary.BigEndian.Uint16(pkt[24:])), int(binary.BigEndian.Uint16(pkt[26:]))
	if c.count < 2 || c.idx >= c.count || c.n == 0 || c.off+c.n > framer.FrameLen || hdrLen+c.n > len(pkt) {
		return false
	}
	last := c.idx == c.count-1
	if (c.idx == 0) != (c.off == 0) || last != (c.off+c.n == framer.FrameLen) {
		return false
	}
	copy(c.src[:], pkt[6:12])
	c.payload = pkt[hdrLen : hdrLen+c.n]
	return true
}

// reassembler rebuilds frames from chunks that arrive in order. Its rule is
// strict: chunk i of a frame is taken only right after chunk i-1 of the
// same frame, at the offset where chunk i-1 ended, with the same count; the
// frame is complete when its last chunk ends at framer.FrameLen. Anything
// else abandons the frame being built, so a frame is delivered only when
// every one of its bytes came from its own chunks, each once: a lost,
// reordered or foreign chunk costs that frame, never splices two. A chunk
// that repeats the one just taken (same frame, index and offset: a
// duplicate on the wire) is skipped without harm.
type reassembler struct {
	buf     [framer.FrameLen]byte
	active  bool   // a frame is being built
	seq     uint32 // its sequence number
	count   int
	next    int  // the index expected next
	filled  int  // bytes filled, = the offset expected next
	lastOff int  // offset of the chunk taken last
	taken   bool // the chunk at r.seq, r.next-1, r.lastOff was taken and nothing dropped since

	seen    bool   // a sequence number has been seen
	maxSeq  uint32 // the newest sequence number seen
	maxDone bool   // the frame maxSeq was delivered
	out     bool   // a frame has been delivered
	lastOut uint32 // the sequence number of the newest frame delivered
	stats   reasmStats
}

// staleWindow: a whole frame whose sequence number is at most this far
// behind the newest delivered one is not delivered (a repeat, or overtaken
// on the way: the line keeps frames in order and delivers each once);
// farther behind it is taken as a peer that restarted with a new sequence.
const staleWindow = 1 << 16

// reasmStats count what the reassembler dropped (atomics: Stats reads them
// from any goroutine).
type reasmStats struct {
	Incomplete atomic.Uint64 // frames seen in part and abandoned
	Missed     atomic.Uint64 // frames of which no chunk was seen (gaps in the sequence)
	Stray      atomic.Uint64 // chunks not taken: out of order, or of an abandoned or old frame
	Duplicate  atomic.Uint64 // chunks repeating the one just taken, skipped
	Stale      atomic.Uint64 // whole frames not newer than one delivered
	Resync     atomic.Uint64 // jumps of the sequence beyond the window
}

// add takes one chunk and reports whether it completed a frame (then in
// r.buf, valid until the next add).
func (r *reassembler) add(c *chunk) bool {
	r.account(c.seq)
	if r.taken && c.seq == r.seq && c.idx == r.next-1 && c.off == r.lastOff && c.count == r.count {
		r.stats.Duplicate.Add(1)
		return false
	}
	if c.idx == 0 {
		r.active, r.seq, r.count, r.next, r.filled = true, c.seq, c.count, 0, 0
	}
	if !r.active || c.seq != r.seq || c.idx != r.next || c.count != r.count || c.off != r.filled {
		r.stats.Stray.Add(1)
		r.active, r.taken = false, false
		return false
	}
	r.taken = true
	copy(r.buf[c.off:], c.payload)
	r.lastOff = c.off
	r.filled += c.n
	r.next++
	if c.idx < c.count-1 {
		return false
	}
	r.active = false
	if c.seq == r.maxSeq {
		r.maxDone = true
	}
	if d := int32(c.seq - r.lastOut); r.out && d <= 0 && d > -staleWindow {
		r.stats.Stale.Add(1) // delivered already, or older than one that was
		return false
	}
	r.out, r.lastOut = true, c.seq
	return r.filled == framer.FrameLen // always, by parseChunk's checks
}

// account keeps the per-frame tally: when a newer sequence number shows
// up, the frame before it that was seen but not delivered is incomplete,
// and the numbers skipped were missed entirely.
func (r *reassembler) account(seq uint32) {
	if !r.seen {
		r.seen, r.maxSeq = true, seq
		return
	}
	d := int32(seq - r.maxSeq)
	if d <= 0 && d > -staleWindow {
		return
	}
	if !r.maxDone {
		r.stats.Incomplete.Add(1)
	}
	if d > 0 && d <= staleWindow {
		r.stats.Missed.Add(uint64(d - 1))
	} else {
		// Farther than the window either way: a restarted peer, or a
		// chunk that is not the peer's. Start counting afresh.
		r.stats.Resync.Add(1)
	}
	r.maxSeq, r.maxDone = seq, false
}
