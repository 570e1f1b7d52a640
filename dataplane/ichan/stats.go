package ichan

import "sync/atomic"

// Stats is a snapshot of a channel's counters (since New; Reset keeps them).
type Stats struct {
	SegmentsSent          uint64 // DATA segments sent for the first time
	SegmentsRetransmitted uint64 // DATA segments sent again after RTO frames
	AcksSent              uint64 // ACK TLVs written
	SegmentsReceived      uint64 // well-formed DATA segments handled
	Duplicates            uint64 // DATA segments already held or delivered
	OutOfWindow           uint64 // DATA segments beyond the receive window, dropped
	AcksReceived          uint64 // well-formed ACKs of our current incarnation
	Stale                 uint64 // segments and acks of a retired or other incarnation, ignored
	Resyncs               uint64 // receiver restarts: new peer incarnation or a base past ours
	Malformed             uint64 // TLVs HandleRX rejected with an error
	MessagesSent          uint64 // messages whose last segment went out
	MessagesDelivered     uint64 // messages handed to Recv
	MessagesDropped       uint64 // partial messages discarded by a resync or an oversize reassembly
}

// stats are grouped by writer so the TX and RX goroutines do not share a
// cache line; every counter has one writer.
type stats struct {
	segSent, retx, acksSent, msgsSent atomic.Uint64
	_                                 [32]byte
	segRecv, dups, oow, acksRecv      atomic.Uint64
	stale, resyncs, malformed         atomic.Uint64
	delivered, dropped                atomic.Uint64
}

// Stats returns the counters; safe from any goroutine.
func (c *Chan) Stats() Stats {
	s := &c.st
	return Stats{
		SegmentsSent:          s.segSent.Load(),
		SegmentsRetransmitted: s.retx.Load(),
		AcksSent:              s.acksSent.Load(),
		SegmentsReceived:      s.segRecv.Load(),
		Duplicates:            s.dups.Load(),
		OutOfWindow:           s.oow.Load(),
		AcksReceived:          s.acksRecv.Load(),
		Stale:                 s.stale.Load(),
		Resyncs:               s.resyncs.Load(),
		Malformed:             s.malformed.Load(),
		MessagesSent:          s.msgsSent.Load(),
		MessagesDelivered:     s.delivered.Load(),
		MessagesDropped:       s.dropped.Load(),
	}
}
