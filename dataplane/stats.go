package dataplane

import "sync/atomic"

// Stats are a port's counters, updated by its pipelines with atomic adds
// and readable at any time from any goroutine (Snapshot).
type Stats struct {
	TXFrames        atomic.Uint64 // frames sent, null ones included
	TXNullFrames    atomic.Uint64 // null frames sent (no key, or the handshake lane's turn)
	RXFrames        atomic.Uint64 // authentic frames opened (tag verified)
	RXAuthFrames    atomic.Uint64 // the same count, read by the controller as the peer's liveness
	RXNullFrames    atomic.Uint64 // null frames received (only their handshake lane is read)
	RXLostFAS       atomic.Uint64 // frames rejected: alignment lost
	RXUnknownEpoch  atomic.Uint64 // frames rejected: epoch not held
	RXAuthFailed    atomic.Uint64 // frames rejected: tag does not verify (forged or rewritten)
	RXReplayed      atomic.Uint64 // frames rejected: COUNT already seen under the key (replay, duplicate)
	RXTooOld        atomic.Uint64 // frames rejected: COUNT behind the anti-replay window
	RXGaps          atomic.Uint64 // COUNTs skipped between consecutive frames of one key
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
	TXKeyExhausted  atomic.Uint64 // keys dropped at the hard COUNT limit
	TXKeyReused     atomic.Uint64 // switches refused: the key was used before
	RXKeyInstalls   atomic.Uint64
	ChannelRejected atomic.Uint64 // interaction-channel TLVs the channel refused
	LaneDropped     atomic.Uint64 // lane messages lost to a full queue (the peer repeats them)
}

// Snapshot is a plain copy of Stats.
type Snapshot struct {
	TXFrames, TXNullFrames, RXFrames, RXNullFrames         uint64
	RXLostFAS, RXUnknownEpoch, RXGaps                      uint64
	RXAuthFailed, RXReplayed, RXTooOld                     uint64
	FECCorrected, FECUncorrected, BIPErrors, PayloadErrors uint64
	AreaBad, RoundsStarted, RoundsAnswered, RoundsDropped  uint64
	CountsOwn, CountsPeer, CountsDropped, ErrorBits        uint64
	TXKeySwitches, TXKeyExhausted, TXKeyReused             uint64
	RXKeyInstalls, ChannelRejected, LaneDropped            uint64
	TXCount                                                uint32
	TXEpoch                                                uint8
	TXExhausted                                            bool // the TX has no key since it dropped one at the hard limit
	RXEpoch, RXPrevEpoch                                   int
}

// Stats returns a snapshot of the port's counters.
func (p *Port) Stats() Snapshot {
	s := &p.st
	return Snapshot{
		TXFrames: s.TXFrames.Load(), TXNullFrames: s.TXNullFrames.Load(),
		RXFrames: s.RXFrames.Load(), RXNullFrames: s.RXNullFrames.Load(), RXLostFAS: s.RXLostFAS.Load(),
		RXUnknownEpoch: s.RXUnknownEpoch.Load(), RXGaps: s.RXGaps.Load(),
		RXAuthFailed: s.RXAuthFailed.Load(), RXReplayed: s.RXReplayed.Load(), RXTooOld: s.RXTooOld.Load(),
		FECCorrected: s.FECCorrected.Load(), FECUncorrected: s.FECUncorrected.Load(),
		BIPErrors: s.BIPErrors.Load(), PayloadErrors: s.PayloadErrors.Load(),
		AreaBad: s.AreaBad.Load(), RoundsStarted: s.RoundsStarted.Load(),
		RoundsAnswered: s.RoundsAnswered.Load(), RoundsDropped: s.RoundsDropped.Load(),
		CountsOwn: s.CountsOwn.Load(), CountsPeer: s.CountsPeer.Load(),
		CountsDropped: s.CountsDropped.Load(), ErrorBits: s.ErrorBits.Load(),
		TXKeySwitches: s.TXKeySwitches.Load(), TXKeyExhausted: s.TXKeyExhausted.Load(), TXKeyReused: s.TXKeyReused.Load(),
		RXKeyInstalls: s.RXKeyInstalls.Load(), ChannelRejected: s.ChannelRejected.Load(), LaneDropped: s.LaneDropped.Load(),
		TXCount: p.txCount.Load(), TXEpoch: uint8(p.txEpoch.Load()), TXExhausted: p.exhaust.Load(),
		RXEpoch: int(p.rx.curEpoch.Load()), RXPrevEpoch: int(p.rx.prevEpoch.Load()),
	}
}
