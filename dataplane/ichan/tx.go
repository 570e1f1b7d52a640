package ichan

import (
	"encoding/binary"
	"math/bits"
)

// FillTX adds this frame's channel TLVs to w, within the room the round
// protocol left: first an ACK when the RX side has received data since the
// last ACK, then at most one DATA segment, an expired one (retransmission,
// oldest first) before a new one. TX goroutine only; one call per frame,
// also when nothing is queued, since the call counts the frames the RTO is
// measured in. Lock-free and allocation-free.
func (c *Chan) FillTX(w *AreaWriter) {
	t := &c.tx
	t.now++
	c.putAck(w)
	c.applyPeerAck()
	if g := c.expired(w.Room()); g != nil {
		c.putData(w, g)
		c.st.retx.Add(1)
		return
	}
	if g := c.cut(w.Room()); g != nil {
		c.putData(w, g)
		c.st.segSent.Add(1)
	}
}

// putAck writes the ACK the RX side published, once per publication.
func (c *Chan) putAck(w *AreaWriter) {
	inc, cum, sack, ver, ok := c.owed.load()
	if !ok || ver == c.tx.ackSent || inc == 0 {
		return
	}
	n := ackLen + (bits.Len64(sack)+7)/8 // trailing zero bytes trimmed
	v := w.Reserve(TypeAck, n)
	if v == nil {
		return
	}
	binary.BigEndian.PutUint32(v[0:], inc)
	binary.BigEndian.PutUint32(v[4:], cum)
	for i := range v[ackLen:] {
		v[ackLen+i] = byte(sack >> (8 * i))
	}
	c.tx.ackSent = ver
	c.st.acksSent.Add(1)
}

// applyPeerAck slides the base to the peer's cumulative ack and marks the
// segments its latest selective bitmap holds. The marks are recomputed from
// each new ack rather than accumulated: a receiver that restarted lost what
// it held, and its next ack unmarks those segments so they go out again.
func (c *Chan) applyPeerAck() {
	t := &c.tx
	_, cum, sack, ver, ok := c.peerAck.load()
	if !ok || ver == t.peerAck {
		return
	}
	t.peerAck = ver
	if after(cum, t.base) {
		t.base = cum // RX vetted cum <= next
	}
	// The base stays at the cumulative ack even when the segments after it
	// are selectively acked: those are held by the peer, not delivered (its
	// receive queue may be full), and the base we send must never pass the
	// peer's cumulative point, or the peer takes it for a restart.
	for s := t.base; s != t.next; s++ {
		i := s - cum - 1
		t.win[s&t.mask].acked = i < sackBits && sack>>i&1 != 0
	}
	t.heldHi = cum + uint32(bits.Len64(sack))
}

// expired returns the oldest unacknowledged segment whose RTO ran out and
// that fits in room, or nil. A segment the peer lacks while it holds one
// at least three sequence numbers later waits half the RTO only (early
// retransmit: a frame link loses frames, it does not reorder them). The
// scan is O(Window) per frame, which the default 64 keeps small.
func (c *Chan) expired(room int) *txSeg {
	t := &c.tx
	rto, early := uint64(c.cfg.RTO), uint64(max(c.cfg.RTO/2, 1))
	for s := t.base; s != t.next; s++ {
		g := &t.win[s&t.mask]
		lim := rto
		if after(t.heldHi, s+2) {
			lim = early
		}
		if !g.acked && t.now-g.sentAt >= lim && 2+dataHdr+int(g.n) <= room {
			return g
		}
	}
	return nil
}

// cut makes the next new segment from the head of the send queue, or
// returns nil (window full, nothing queued, too little room).
func (c *Chan) cut(room int) *txSeg {
	t := &c.tx
	if int(t.next-t.base) >= c.cfg.Window {
		return nil
	}
	if t.cur == nil {
		if t.cur = c.sendq.Peek(); t.cur == nil {
			return nil
		}
		t.off = 0
	}
	left := t.cur.n - t.off
	n := min(left, room-2-dataHdr, c.cfg.Segment)
	if n < 0 || n < min(left, minSegment) {
		return nil
	}
	g := &t.win[t.next&t.mask]
	g.seq, g.n, g.acked, g.flags = t.next, uint16(n), false, 0
	if t.off == 0 {
		g.flags |= flagFirst
	}
	copy(g.buf[:n], t.cur.b[t.off:])
	if t.off += n; t.off == t.cur.n {
		g.flags |= flagLast
		t.cur = nil
		c.sendq.Release()
		c.st.msgsSent.Add(1)
	}
	t.next++
	c.txNext.Store(t.next) // before the segment can reach the peer
	return g
}

// putData writes segment g; the caller checked that it fits.
func (c *Chan) putData(w *AreaWriter, g *txSeg) {
	v := w.Reserve(TypeData, dataHdr+int(g.n))
	binary.BigEndian.PutUint32(v[0:], c.inc)
	binary.BigEndian.PutUint32(v[4:], g.seq)
	binary.BigEndian.PutUint16(v[8:], uint16(g.seq-c.tx.base))
	v[10] = g.flags
	copy(v[dataHdr:], g.buf[:g.n])
	g.sentAt = c.tx.now
}
