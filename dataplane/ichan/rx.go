package ichan

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every *FieldError HandleRX returns.
var ErrMalformed = errors.New("ichan: malformed channel TLV")

// ErrNotChannel is returned by HandleRX for a type outside 0x10–0x1F.
var ErrNotChannel = errors.New("ichan: TLV type is not a channel type (0x10-0x1F)")

// FieldError names the TLV and field HandleRX rejected.
type FieldError struct {
	TLV, Field, Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("ichan: %s TLV: %s: %s", e.TLV, e.Field, e.Problem)
}

// Unwrap returns ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }

// The errors are values prepared once, so rejecting a TLV does not allocate.
var (
	errDataShort   = &FieldError{"DATA", "length", "shorter than the 11-byte header"}
	errDataInc     = &FieldError{"DATA", "incarnation", "zero"}
	errDataFlags   = &FieldError{"DATA", "flags", "unknown bits set"}
	errDataPayload = &FieldError{"DATA", "payload", "longer than one area can carry"}
	errAckLen      = &FieldError{"ACK", "length", "not 8 to 16 bytes"}
	errAckCum      = &FieldError{"ACK", "cumulative ack", "beyond the last segment sent"}
	errAckSack     = &FieldError{"ACK", "selective bitmap", "acknowledges segments never sent"}
)

// HandleRX processes one channel TLV of a received, FEC-clean area (types
// 0x10–0x1F; the caller skips the round protocol's). RX goroutine only.
// Unknown types of the channel range are ignored (later versions). A
// malformed TLV returns an error naming the field and changes nothing but
// the Malformed counter. Lock-free and allocation-free.
func (c *Chan) HandleRX(typ byte, val []byte) error {
	var err error
	switch {
	case typ == TypeData:
		err = c.rxData(val)
	case typ == TypeAck:
		err = c.rxAck(val)
	case !IsChanType(typ):
		return ErrNotChannel
	}
	if err != nil {
		c.st.malformed.Add(1)
	}
	return err
}

func (c *Chan) rxAck(v []byte) error {
	if len(v) < ackLen || len(v) > ackMaxLen {
		return errAckLen
	}
	inc, cum := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
	var sack uint64
	for i, b := range v[ackLen:] {
		sack |= uint64(b) << (8 * i)
	}
	if inc != c.inc {
		c.st.stale.Add(1) // an ack of our previous incarnation
		return nil
	}
	next := c.txNext.Load()
	if after(cum, next) {
		return errAckCum
	}
	if k := next - cum - 1; after(next, cum) && k < sackBits && sack>>k != 0 || !after(next, cum) && sack != 0 {
		return errAckSack
	}
	c.st.acksRecv.Add(1)
	if r := &c.rx; !after(r.peerCum, cum) { // a reordered older ack is ignored
		r.peerCum = cum
		c.peerAck.store(inc, cum, sack)
	}
	return nil
}

func (c *Chan) rxData(v []byte) error {
	if len(v) < dataHdr {
		return errDataShort
	}
	inc, seq := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
	base := seq - uint32(binary.BigEndian.Uint16(v[8:]))
	flags, pay := v[10], v[dataHdr:]
	switch {
	case inc == 0:
		return errDataInc
	case flags&^(flagFirst|flagLast) != 0:
		return errDataFlags
	case len(pay) > MaxSegment:
		return errDataPayload
	}
	c.st.segRecv.Add(1)
	r := &c.rx
	if inc != r.peerInc {
		if r.isRetired(inc) {
			c.st.stale.Add(1)
			return nil
		}
		r.retire()
		r.peerInc = inc
		c.resync(base)
	} else if after(base, r.expected) {
		c.resync(base) // the peer's window moved past ours: we restarted
	}
	c.store(seq, flags, pay)
	c.drain()
	c.publishAck()
	return nil
}

// store keeps an in-window segment for in-order delivery.
func (c *Chan) store(seq uint32, flags byte, pay []byte) {
	r := &c.rx
	switch g := &r.win[seq&r.mask]; {
	case !after(seq, r.expected-1) || g.present && g.seq == seq:
		c.st.dups.Add(1)
	case int(seq-r.expected) >= c.cfg.Window:
		c.st.oow.Add(1)
	default:
		g.seq, g.flags, g.n, g.present = seq, flags, uint16(len(pay)), true
		copy(g.buf[:], pay)
	}
}

// drain hands in-order segments to reassembly until a gap or a full
// receive queue (then the segments wait and the peer's retransmission
// calls drain again).
func (c *Chan) drain() {
	r := &c.rx
	for {
		g := &r.win[r.expected&r.mask]
		if !g.present || g.seq != r.expected || !c.deliver(g) {
			return
		}
		g.present = false
		r.expected++
	}
}

// deliver appends g to the message being reassembled; false when the
// receive queue has no slot for a new message.
func (c *Chan) deliver(g *rxSeg) bool {
	r := &c.rx
	if g.flags&flagFirst != 0 {
		s := c.recvq.Slot()
		if s == nil {
			return false
		}
		if r.inMsg {
			c.st.dropped.Add(1) // peer restarted a message midway
		}
		r.cur, r.inMsg, s.n = s, true, 0
	}
	if !r.inMsg {
		return true // tail of a message whose start a resync cut off
	}
	if r.cur.n+int(g.n) > len(r.cur.b) {
		r.inMsg = false
		c.st.dropped.Add(1)
		return true
	}
	r.cur.n += copy(r.cur.b[r.cur.n:], g.buf[:g.n])
	if g.flags&flagLast != 0 {
		r.inMsg = false
		c.recvq.Commit()
		c.st.delivered.Add(1)
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	return true
}

// publishAck tells the TX side which ACK to send: the cumulative ack and
// which of the next 32 segments are held.
func (c *Chan) publishAck() {
	r := &c.rx
	var sack uint64
	for i := uint32(0); i < sackBits && int(i)+1 < len(r.win); i++ {
		s := r.expected + 1 + i
		if g := &r.win[s&r.mask]; g.present && g.seq == s {
			sack |= 1 << i
		}
	}
	c.owed.store(r.peerInc, r.expected, sack)
}

// resync restarts the receiver at base: stored segments and a partial
// message are dropped (they belong to a previous incarnation of one end).
func (c *Chan) resync(base uint32) {
	r := &c.rx
	for i := range r.win {
		r.win[i].present = false
	}
	if r.inMsg {
		r.inMsg = false
		c.st.dropped.Add(1)
	}
	r.expected = base
	c.st.resyncs.Add(1)
}

func (r *rxSide) isRetired(inc uint32) bool {
	for _, v := range r.retired[:r.nretired] {
		if v == inc {
			return true
		}
	}
	return false
}

func (r *rxSide) retire() {
	if r.peerInc == 0 {
		return
	}
	copy(r.retired[1:], r.retired[:retiredIncs-1])
	r.retired[0] = r.peerInc
	r.nretired = min(r.nretired+1, retiredIncs)
}
