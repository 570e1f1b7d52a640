package dataplane

import (
	"encoding/binary"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/framer"
)

// txState is the TX pipeline's private state; only txLoop touches it.
type txState struct {
	p      *Port
	buf    [framer.FrameLen]byte
	f      framer.Frame
	sealer *framer.Sealer
	rng    *drbg
	count  uint32
	epoch  uint8
	key    framer.Key
	nextID uint32
	w      ichan.AreaWriter
	xb2    [arrLen]byte
	c2     [arrLen]byte
	tlv    [4 + arrLen]byte
}

func newTX(p *Port) (*txState, error) {
	t := &txState{p: p}
	var err error
	if t.sealer, err = framer.NewSealer(p.dir, p.cfg.Framer); err != nil {
		return nil, err
	}
	if t.rng, err = newDRBG(); err != nil {
		return nil, err
	}
	t.f, _ = framer.View(t.buf[:])
	return t, nil
}

// loop is the TX goroutine: one frame per iteration until stop closes or
// the line fails.
func (t *txState) loop(stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := t.frame(); err != nil {
			return err
		}
	}
}

// frame builds, seals and sends one frame.
func (t *txState) frame() error {
	p := t.p
	t.count++
	t.maybeSwitch()
	clear(t.buf[:])
	if t.epoch != framer.NullEpoch {
		p.cfg.Payload.Fill(&t.f, t.count)
	}
	t.w.Begin(t.f.Interaction())
	t.negotiate()
	p.ch.FillTX(&t.w)
	t.w.Finish()
	if err := t.sealer.Seal(&t.f, &t.key, t.count, t.epoch); err != nil {
		return err
	}
	if err := p.cfg.Line.Send(t.buf[:]); err != nil {
		return err
	}
	p.txCount.Store(t.count)
	p.st.TXFrames.Add(1)
	return nil
}

// maybeSwitch takes the scheduled key when its COUNT has come.
func (t *txState) maybeSwitch() {
	ks := t.p.sw.Load()
	if ks == nil || (ks.epoch != framer.NullEpoch && int32(t.count-ks.at) < 0) {
		return
	}
	clear(t.key[:])
	t.key, t.epoch = ks.key, ks.epoch
	clear(ks.key[:])
	t.p.sw.Store(nil)
	t.p.txEpoch.Store(uint32(t.epoch))
	t.p.st.TXKeySwitches.Add(1)
}

// negotiate fills the negotiation area and the round TLVs: a new own round
// in data1, an answer to a peer round in data2, a pending FINAL.
func (t *txState) negotiate() {
	p := t.p
	neg := t.f.Negotiation()
	if t.epoch == framer.NullEpoch {
		// No rounds in the clear: drop what the RX queued.
		for p.toAnsQ.Peek() != nil {
			p.toAnsQ.Release()
		}
		for p.finQ.Peek() != nil {
			p.finQ.Release()
		}
		return
	}
	var status byte
	if s := p.ownQ.Slot(); s != nil {
		t.nextID++
		s.id = t.nextID
		t.rng.read(s.x1[:])
		t.rng.read(s.x2[:])
		framer.Interleave(neg.Data1(), &s.x1, &s.x2)
		neg.SetSendSeq(seq16(s.id))
		status |= framer.StatusData1
		var idb [4]byte
		binary.BigEndian.PutUint32(idb[:], s.id)
		t.w.Put(tlvOwnRound, idb[:])
		p.ownQ.Commit()
		p.st.RoundsStarted.Add(1)
	}
	if a := p.toAnsQ.Peek(); a != nil {
		if s := p.ansQ.Slot(); s != nil {
			s.id = a.id
			t.rng.read(s.xb1[:])
			t.rng.read(t.xb2[:])
			framer.Interleave(neg.Data2(), &s.xb1, &t.xb2)
			neg.SetRespSeq(seq16(a.id))
			status |= framer.StatusData2
			xorArrays(&t.c2, &a.xa3, &t.xb2)
			t.w.Put(tlvResponse, putArrayTLV(&t.tlv, a.id, &t.c2))
			p.ansQ.Commit()
			p.st.RoundsAnswered.Add(1)
		} else {
			p.st.RoundsDropped.Add(1)
		}
		clear(a.xa3[:])
		p.toAnsQ.Release()
	}
	if fi := p.finQ.Peek(); fi != nil {
		t.w.Put(tlvFinal, putArrayTLV(&t.tlv, fi.id, &fi.c1))
		p.finQ.Release()
	}
	neg.SetStatus(status)
}

func (t *txState) wipe() {
	clear(t.key[:])
	clear(t.buf[:])
	clear(t.xb2[:])
	clear(t.c2[:])
	t.rng.wipe()
}
