package dataplane

import "sync/atomic"

// Stats are a port's counters, updated by its pipelines with atomic adds
// and readable at any time from any goroutine (Snapshot).
type Stats struct {
	TXFrames        atomic.Uint64
	RXFrames        atomic.Uint64 // frames opened
	RXLostFAS       atomic.Uint64 // frames rejected: alignment lost
	RXUnknownEpoch  atomic.Uint64 // frames rejected: epoch not held
	RXGaps          atomic.Uint64 // COUNTs skipped between consecutive frames opened
	FECCorrected    atomic.Uint64 // symbols corrected
	FECUncorrected  atomic.Uint64 // codewords left uncorrectable
	BIPErrors       atomic.Uint64
	PayloadErrors   atomic.Uint64 // frames whose test pattern did not check out
	AreaBad         atomic.Uint64 // interaction areas unusable (FEC failure or malformed)
	RoundsStarted   atomic.Uint64 // own rounds sent
	RoundsAnswered  atomic.Uint64 // peer rounds answered
	RoundsDropped   atomic.Uint64 // rounds dropped at this end (any check failed)
	CountsOwn       atomic.Uint64 // E1 counts queued (own rounds)
	CountsPeer      atomic.Uint64 // E2 counts queued (peer rounds)
	CountsDropped   atomic.Uint64 // counts lost to a full queue
	ErrorBits       atomic.Uint64 // sum of all counts (for the disagreement figures)
	TXKeySwitches   atomic.Uint64
	RXKeyInstalls   atomic.Uint64
	ChannelRejected atomic.Uint64 // interaction-channel TLVs the channel refused
}

// Snapshot is a plain copy of Stats.
type Snapshot struct {
	TXFrames, RXFrames, RXLostFAS, RXUnknownEpoch, RXGaps  uint64
	FECCorrected, FECUncorrected, BIPErrors, PayloadErrors uint64
	AreaBad, RoundsStarted, RoundsAnswered, RoundsDropped  uint64
	CountsOwn, CountsPeer, CountsDropped, ErrorBits        uint64
	TXKeySwitches, RXKeyInstalls, ChannelRejected          uint64
	TXCount                                                uint32
	TXEpoch                                                uint8
	RXEpoch, RXPrevEpoch                                   int
}

// Stats returns a snapshot of the port's counters.
func (p *Port) Stats() Snapshot {
	s := &p.st
	return Snapshot{
		TXFrames: s.TXFrames.Load(), RXFrames: s.RXFrames.Load(), RXLostFAS: s.RXLostFAS.Load(),
		RXUnknownEpoch: s.RXUnknownEpoch.Load(), RXGaps: s.RXGaps.Load(),
		FECCorrected: s.FECCorrected.Load(), FECUncorrected: s.FECUncorrected.Load(),
		BIPErrors: s.BIPErrors.Load(), PayloadErrors: s.PayloadErrors.Load(),
		AreaBad: s.AreaBad.Load(), RoundsStarted: s.RoundsStarted.Load(),
		RoundsAnswered: s.RoundsAnswered.Load(), RoundsDropped: s.RoundsDropped.Load(),
		CountsOwn: s.CountsOwn.Load(), CountsPeer: s.CountsPeer.Load(),
		CountsDropped: s.CountsDropped.Load(), ErrorBits: s.ErrorBits.Load(),
		TXKeySwitches: s.TXKeySwitches.Load(), RXKeyInstalls: s.RXKeyInstalls.Load(),
		ChannelRejected: s.ChannelRejected.Load(),
		TXCount:         p.txCount.Load(), TXEpoch: uint8(p.txEpoch.Load()),
		RXEpoch: int(p.rx.curEpoch.Load()), RXPrevEpoch: int(p.rx.prevEpoch.Load()),
	}
}
