package dataplane

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// Byte offsets of data1 and data2 in a contiguous frame.
const (
	data1Off = framer.Data1Off
	data2Off = framer.Data2Off
	halfBits = framer.DataLen * 8
)

// rxState is the RX pipeline's private state; only rxLoop touches it (the
// atomics are for Stats).
type rxState struct {
	p      *Port
	buf    [framer.FrameLen]byte
	soft   [noise.SamplesPerFrame]noise.Sample
	dec    [2 * framer.DataLen]byte
	f      framer.Frame
	opener *framer.Opener
	local  *noise.Local
	st     framer.Stats
	r      ichan.AreaReader
	own    []ownRound  // by id % Window; id 0 = free
	peer   []peerRound // by id % Window
	mask   uint32

	lastCount uint32
	lastGen   uint64 // key of lastCount (gaps are counted within one key)
	pattern   bool

	ch     *ichan.Chan // the session channel fed now
	chFrom uint64      // only frames under keys installed from this generation feed it
	lane   lane.Receiver
	opened [4]atomic.Uint64 // the last keys (generations) that opened frames
	openAt int

	xa3, xa4, xb3, xb4 [arrLen]byte
	c1                 [arrLen]byte

	// the round TLVs of the current frame
	ownID, respID, finID uint32
	resp, fin            []byte
	haveOwn, haveResp    bool
	haveFin              bool

	curEpoch, prevEpoch atomic.Int32

	par *rxPar // frame workers (Config.Workers > 1), else nil
}

func newRX(p *Port) (*rxState, error) {
	r := &rxState{p: p, mask: uint32(p.cfg.Window - 1), ch: p.ch}
	var err error
	// A restarted peer begins again on the null cipher: always accept it
	// (such frames carry only the interaction channel).
	fo := p.cfg.Framer
	fo.AcceptNull = true
	if r.opener, err = framer.NewOpener(p.dir^1, fo); err != nil {
		return nil, err
	}
	if p.cfg.seed != nil {
		seed := *p.cfg.seed
		seed[0] ^= 0xFF // not the TX's stream
		r.local, err = noise.NewLocalFromSeed(p.cfg.Profile, seed[:])
	} else {
		r.local, err = noise.NewLocal(p.cfg.Profile)
	}
	if err != nil {
		return nil, err
	}
	r.f, _ = framer.View(r.buf[:])
	r.own = make([]ownRound, p.cfg.Window)
	r.peer = make([]peerRound, p.cfg.Window)
	_, r.pattern = p.cfg.Payload.(*TestPattern)
	r.prevEpoch.Store(-1)
	return r, nil
}

// loop is the RX goroutine: one frame per iteration until stop closes or
// the line fails.
func (r *rxState) loop(stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := r.p.cfg.Line.Recv(r.buf[:], r.soft[:]); err != nil {
			return err
		}
		r.frame()
	}
}

// frame processes one received frame. Only a frame whose tag verified (a
// keyed frame Open accepted) feeds the rounds and the session channel; a
// null frame feeds only the handshake lane.
func (r *rxState) frame() {
	r.installKeys()
	r.decide()
	if err := r.opener.Open(&r.f, &r.st); err != nil {
		r.rejected(err)
		return
	}
	r.accepted()
}

// accepted handles a frame Open accepted (r.f, r.st): everything after
// Open, in arrival order (with frame workers, on the sequencer).
func (r *rxState) accepted() {
	p := r.p
	r.deliver()
	if r.st.Epoch == keys.NullEpoch {
		r.nullFrame()
		return
	}
	r.account()
	r.drain()
	if !r.parseArea() {
		p.st.AreaBad.Add(1)
		if r.f.Negotiation().Status() != 0 {
			p.st.RoundsDropped.Add(1)
		}
		return
	}
	r.peerRound()
	r.response()
	r.final()
}

// deliver hands the accepted frame's payload to the sink: a frame whose
// rows the FEC could not correct carries a damaged payload, which the sink
// treats as lost.
func (r *rxState) deliver() {
	s := r.p.cfg.Sink
	if s == nil {
		return
	}
	if r.st.FEC.Failed[0] != 0 { // row codewords 0..63
		s.Lost()
		return
	}
	s.Deliver(&r.f, r.st.Count, r.st.Epoch)
}

// rejected counts a frame Open refused.
func (r *rxState) rejected(err error) { r.countReject(rejectOf(err)) }

// reject is why a frame was refused, for the counters.
type reject uint8

const (
	rejNone    reject = iota
	rejFAS            // alignment lost
	rejEpoch          // epoch not held
	rejDamaged        // interaction area beyond the FEC: the tag cannot be read
	rejAuth           // tag does not verify
	rejTooOld         // behind the replay window
	rejReplay         // seen before
	rejOther          // anything else (a wrong length: a bug, not counted)
)

// rejectOf classifies an error of Open, OpenWorker.Open or Sequence.Admit
// (by type: no allocation, unlike errors.As).
func rejectOf(err error) reject {
	switch e := err.(type) {
	case nil:
		return rejNone
	case *framer.FASError:
		return rejFAS
	case *framer.EpochError:
		return rejEpoch
	case *framer.AuthError:
		if e.Uncorrectable {
			return rejDamaged
		}
		return rejAuth
	case *framer.ReplayError:
		if e.Verdict == replay.TooOld {
			return rejTooOld
		}
		return rejReplay
	}
	return rejOther
}

// countReject counts a refused frame.
func (r *rxState) countReject(k reject) {
	st := &r.p.st
	switch k {
	case rejFAS:
		st.RXLostFAS.Add(1)
	case rejEpoch:
		st.RXUnknownEpoch.Add(1)
	case rejDamaged:
		st.AreaBad.Add(1)
	case rejAuth:
		st.RXAuthFailed.Add(1)
	case rejTooOld:
		st.RXTooOld.Add(1)
	case rejReplay:
		st.RXReplayed.Add(1)
	}
}

// nullFrame reads the handshake lane of a null frame and nothing else.
func (r *rxState) nullFrame() {
	p := r.p
	p.st.RXNullFrames.Add(1)
	// COUNT runs on across keys and null frames: a null frame between two
	// keyed frames of one key (the handshake lane's turn) arrived, it is
	// not a gap in them.
	if r.st.Count > r.lastCount {
		r.lastCount = r.st.Count
	}
	if r.st.FEC.IsFailed(64) || r.r.Reset(r.f.Interaction()) != nil {
		p.st.AreaBad.Add(1)
		return
	}
	for {
		typ, val, ok := r.r.Next()
		if !ok {
			return
		}
		if typ != lane.Type {
			continue
		}
		msg, done, err := r.lane.Handle(val)
		if err != nil || !done {
			continue
		}
		s := p.laneQ.Slot()
		if s == nil {
			p.st.LaneDropped.Add(1) // the controller is behind; the peer repeats
			continue
		}
		s.n = copy(s.b[:], msg)
		p.laneQ.Commit()
	}
}

// installKeys installs the keys the controller handed over.
func (r *rxState) installKeys() {
	for k := r.p.keys.Peek(); k != nil; k = r.p.keys.Peek() {
		r.opener.InstallGen(k.epoch, &k.key, k.gen)
		clear(k.key[:])
		r.p.keys.Release()
		r.p.st.RXKeyInstalls.Add(1)
		cur, prev := r.opener.Epochs()
		r.curEpoch.Store(int32(cur))
		r.prevEpoch.Store(int32(prev))
	}
}

// decide adds the local noise to the negotiation samples, one σ per round
// (data1, then data2), and writes the decisions into the frame.
func (r *rxState) decide() {
	r.local.BeginRound()
	r.local.AddAndDecide(r.soft[:halfBits], r.dec[:framer.DataLen])
	r.local.BeginRound()
	r.local.AddAndDecide(r.soft[halfBits:], r.dec[framer.DataLen:])
	copy(r.buf[data1Off:], r.dec[:framer.DataLen])
	copy(r.buf[data2Off:], r.dec[framer.DataLen:])
}

// account updates the statistics of an authentic frame, notes the key
// that opened it and adopts an armed session channel at its first frame.
func (r *rxState) account() {
	p, st := r.p, &r.st
	p.st.RXFrames.Add(1)
	p.st.RXAuthFrames.Add(1)
	p.st.FECCorrected.Add(uint64(st.CorrectedSymbols))
	p.st.FECUncorrected.Add(uint64(st.UncorrectableCodewords))
	p.st.BIPErrors.Add(uint64(st.BIPErrors))
	if st.Gen == r.lastGen && st.Count > r.lastCount+1 {
		p.st.RXGaps.Add(uint64(st.Count - r.lastCount - 1))
	}
	if st.Gen != r.lastGen || st.Count > r.lastCount {
		r.lastCount = st.Count
	}
	if st.Gen != r.lastGen {
		r.lastGen = st.Gen
		if !r.isOpened(st.Gen) {
			r.opened[r.openAt].Store(st.Gen)
			r.openAt = (r.openAt + 1) % len(r.opened)
		}
	}
	if a := p.arm.Load(); a != nil && st.Gen == a.from {
		r.ch, r.chFrom = a.ch, a.from
		p.arm.CompareAndSwap(a, nil)
	}
	if r.pattern && !checkPattern(&r.f, st.Count) {
		p.st.PayloadErrors.Add(1)
	}
}

func (r *rxState) isOpened(gen uint64) bool {
	for i := range r.opened {
		if r.opened[i].Load() == gen {
			return true
		}
	}
	return false
}

// drain moves what the TX sent since the last frame into the RX's tables.
func (r *rxState) drain() {
	p := r.p
	for s := p.ownQ.Peek(); s != nil; s = p.ownQ.Peek() {
		r.own[s.id&r.mask] = *s
		clear(s.x1[:])
		clear(s.x2[:])
		p.ownQ.Release()
	}
	for s := p.ansQ.Peek(); s != nil; s = p.ansQ.Peek() {
		if e := &r.peer[s.id&r.mask]; e.id == s.id {
			e.xb1, e.haveB1 = s.xb1, true
		}
		clear(s.xb1[:])
		p.ansQ.Release()
	}
}

// parseArea reads the interaction TLVs: the round TLVs are kept for the
// round checks, the channel's go to the channel. False for a malformed area.
func (r *rxState) parseArea() bool {
	r.haveOwn, r.haveResp, r.haveFin = false, false, false
	if err := r.r.Reset(r.f.Interaction()); err != nil {
		return false
	}
	for {
		typ, val, ok := r.r.Next()
		if !ok {
			break
		}
		switch typ {
		case tlvOwnRound:
			if len(val) == 4 {
				r.ownID, r.haveOwn = binary.BigEndian.Uint32(val), true
			}
		case tlvResponse:
			if len(val) == 4+arrLen {
				r.respID, r.resp, r.haveResp = binary.BigEndian.Uint32(val), val[4:], true
			}
		case tlvFinal:
			if len(val) == 4+arrLen {
				r.finID, r.fin, r.haveFin = binary.BigEndian.Uint32(val), val[4:], true
			}
		default:
			// The session channel takes only frames under its session's
			// keys; a straggler of an older session is not its business.
			if ichan.IsChanType(typ) && r.st.Gen >= r.chFrom {
				if err := r.ch.HandleRX(typ, val); err != nil {
					r.p.st.ChannelRejected.Add(1)
				}
			}
		}
	}
	return r.r.Err() == nil
}

// peerRound handles data1: the peer's own round, to be answered.
func (r *rxState) peerRound() {
	p := r.p
	neg := r.f.Negotiation()
	inStatus := neg.Status()&framer.StatusData1 != 0
	if !inStatus && !r.haveOwn {
		return
	}
	if !inStatus || !r.haveOwn || r.ownID == 0 || seq16(r.ownID) != neg.SendSeq() {
		p.st.RoundsDropped.Add(1)
		return
	}
	a := p.toAnsQ.Slot()
	if a == nil {
		p.st.RoundsDropped.Add(1)
		return
	}
	framer.Deinterleave(neg.Data1(), &a.xa3, &r.xa4)
	a.id = r.ownID
	e := &r.peer[r.ownID&r.mask]
	e.id, e.xa4, e.haveB1 = r.ownID, r.xa4, false
	p.toAnsQ.Commit()
}

// response handles data2: the answer to one of this end's rounds. It makes
// the round's E1 count and queues C1.
func (r *rxState) response() {
	p := r.p
	neg := r.f.Negotiation()
	inStatus := neg.Status()&framer.StatusData2 != 0
	if !inStatus && !r.haveResp {
		return
	}
	o := &r.own[r.respID&r.mask]
	if !inStatus || !r.haveResp || r.respID == 0 || seq16(r.respID) != neg.RespSeq() || o.id != r.respID {
		p.st.RoundsDropped.Add(1)
		return
	}
	fi := p.finQ.Slot()
	if fi == nil {
		p.st.RoundsDropped.Add(1)
		return
	}
	framer.Deinterleave(neg.Data2(), &r.xb3, &r.xb4)
	// E1 = XB4 ⊕ XA1 ⊕ C2
	n := noise.PopCountXOR3(r.xb4[:], o.x1[:], r.resp)
	// C1 = XB3 ⊕ XA2
	xorArrays(&fi.c1, &r.xb3, &o.x2)
	fi.id = o.id
	p.finQ.Commit()
	r.count(o.id, n, true)
	o.id = 0
	clear(o.x1[:])
	clear(o.x2[:])
}

// final handles a FINAL: C1 of a peer round this end answered; it makes the
// round's E2 count.
func (r *rxState) final() {
	if !r.haveFin {
		return
	}
	e := &r.peer[r.finID&r.mask]
	if r.finID == 0 || e.id != r.finID || !e.haveB1 {
		r.p.st.RoundsDropped.Add(1)
		return
	}
	// E2 = XA4 ⊕ XB1 ⊕ C1
	n := noise.PopCountXOR3(e.xa4[:], e.xb1[:], r.fin)
	r.count(e.id, n, false)
	e.id, e.haveB1 = 0, false
	clear(e.xa4[:])
	clear(e.xb1[:])
}

// count queues a round's count for the controller.
func (r *rxState) count(id uint32, n int, own bool) {
	p := r.p
	c := p.cnt.Slot()
	if c == nil {
		p.st.CountsDropped.Add(1)
		return
	}
	c.Round, c.Value, c.Own = id, uint16(n), own
	p.cnt.Commit()
	if own {
		p.st.CountsOwn.Add(1)
	} else {
		p.st.CountsPeer.Add(1)
	}
	p.st.ErrorBits.Add(uint64(n))
}

func (r *rxState) wipe() {
	r.local.Wipe()
	for i := range r.own {
		r.own[i] = ownRound{}
	}
	for i := range r.peer {
		r.peer[i] = peerRound{}
	}
	r.opener.Wipe()
	clear(r.buf[:])
	clear(r.dec[:])
	r.xa3, r.xa4, r.xb3, r.xb4, r.c1 = [arrLen]byte{}, [arrLen]byte{}, [arrLen]byte{}, [arrLen]byte{}, [arrLen]byte{}
	if r.par != nil {
		r.par.wipe()
	}
}
