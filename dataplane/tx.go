package dataplane

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// usedKeys is how many retired keys the TX remembers (by a keyed hash, not
// the bytes) to refuse switching back to one. Keys are fresh by
// construction (new seeds, new KDF indexes, new sessions); this is defence
// in depth, so that a controller bug can never make a key seal a COUNT
// range twice.
const usedKeys = 16

// txState is the TX pipeline's private state; only txLoop touches it.
type txState struct {
	p      *Port
	buf    [framer.FrameLen]byte
	f      framer.Frame
	sealer *framer.Sealer
	rng    *drbg
	count  uint32 // COUNT of the next frame, keyed or null
	epoch  uint8
	key    keys.Key
	sealed uint32 // frames sealed under key
	ch     *ichan.Chan
	frames uint64 // frames sent, null ones included (the lane's clock)
	nextID uint32
	w      ichan.AreaWriter
	xb2    [arrLen]byte
	c2     [arrLen]byte
	tlv    [4 + arrLen]byte

	par *txPar // frame workers (Config.Workers > 1), else nil

	seed   maphash.Seed
	used   [usedKeys]uint64
	nused  int
	usedAt int
}

func newTX(p *Port) (*txState, error) {
	t := &txState{p: p, ch: p.ch, seed: maphash.MakeSeed(), count: p.cfg.FirstCount}
	var err error
	if t.sealer, err = framer.NewSealer(p.dir, p.cfg.Framer); err != nil {
		return nil, err
	}
	if t.rng, err = newDRBG(p.cfg.seed); err != nil {
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

// frame builds, seals and sends one frame: a keyed frame (payload, rounds,
// the session channel) or a null frame (the handshake lane only), when the
// TX has no key or it is the lane's turn.
func (t *txState) frame() error {
	p := t.p
	t.maybeSwitch()
	if t.epoch != keys.NullEpoch && t.sealed >= p.cfg.HardLimit {
		t.exhausted()
	}
	t.frames++
	clear(t.buf[:])
	if t.epoch == keys.NullEpoch || t.laneTurn() {
		return t.nullFrame()
	}
	count := t.count
	p.cfg.Payload.Fill(&t.f, count)
	t.w.Begin(t.f.Interaction())
	t.negotiate()
	t.ch.FillTX(&t.w)
	t.w.Finish()
	if err := t.sealer.Seal(&t.f, &t.key, count, t.epoch); err != nil {
		return err
	}
	if p.cfg.Sealed != nil {
		p.cfg.Sealed(&t.key, t.epoch, count)
	}
	t.count++
	t.sealed++
	p.keyFrames.Store(t.sealed)
	if err := p.cfg.Line.Send(t.buf[:]); err != nil {
		return err
	}
	p.txCount.Store(count)
	p.st.TXFrames.Add(1)
	return nil
}

// laneTurn: while a lane message is set, every LaneEvery-th frame of a
// keyed TX is a null frame for it.
func (t *txState) laneTurn() bool {
	return t.frames%uint64(t.p.cfg.LaneEvery) == 0 && t.p.laneTX.Current() != nil
}

// nullFrame sends a frame of the null epoch: no payload, no rounds, no
// session channel, only the handshake lane.
func (t *txState) nullFrame() error {
	p := t.p
	t.w.Begin(t.f.Interaction())
	p.laneTX.Fill(&t.w)
	t.w.Finish()
	t.drainRounds()
	count := t.count
	if err := t.sealer.Seal(&t.f, nil, count, keys.NullEpoch); err != nil {
		return err
	}
	t.count++
	if err := p.cfg.Line.Send(t.buf[:]); err != nil {
		return err
	}
	p.txCount.Store(count)
	p.st.TXFrames.Add(1)
	p.st.TXNullFrames.Add(1)
	return nil
}

// exhausted drops a key that has sealed HardLimit frames: it never seals
// another. The TX sends null frames until a new key.
func (t *txState) exhausted() {
	t.retire()
	t.epoch = keys.NullEpoch
	t.p.txEpoch.Store(0)
	t.p.exhaust.Store(true)
	t.p.st.TXKeyExhausted.Add(1)
}

// retire zeroises the current key, remembering its hash.
func (t *txState) retire() {
	if t.epoch == keys.NullEpoch {
		return
	}
	t.used[t.usedAt] = maphash.Bytes(t.seed, t.key[:])
	t.usedAt = (t.usedAt + 1) % usedKeys
	t.nused = min(t.nused+1, usedKeys)
	clear(t.key[:])
	t.sealer.Wipe()
	if t.par != nil {
		t.par.retireKey()
	}
}

// wasUsed reports whether key is the current key or one of the last
// usedKeys keys retired.
func (t *txState) wasUsed(key *keys.Key) bool {
	if t.epoch != keys.NullEpoch && *key == t.key {
		return true
	}
	h := maphash.Bytes(t.seed, key[:])
	for _, u := range t.used[:t.nused] {
		if u == h {
			return true
		}
	}
	return false
}

// maybeSwitch takes the scheduled key when its COUNT has come (a session
// switch, or any switch while the TX has no key, at once). A switch that
// is not due stays in the mailbox untouched, so SwitchPending holds until
// the TX has really switched (the controller announces the next key only
// then). The TX owns a switch only after taking it out with a
// compare-and-swap, so the controller may replace a pending one
// concurrently (SwitchSession): the replaced one is the controller's to
// wipe, and the TX reads nothing of it but its immutable epoch, at and now.
func (t *txState) maybeSwitch() {
	p := t.p
	ks := p.sw.Load()
	if ks == nil {
		return
	}
	if !ks.now && t.epoch != keys.NullEpoch && int32(t.count-ks.at) < 0 {
		return
	}
	if !p.sw.CompareAndSwap(ks, nil) {
		return // replaced meanwhile: the new one is taken at a later frame
	}
	if ks.ch != nil {
		t.ch = ks.ch
		p.txCh.Store(ks.ch)
	}
	if t.wasUsed(&ks.key) {
		// A key must never seal a second run of COUNTs; refuse and keep
		// what we have.
		clear(ks.key[:])
		p.st.TXKeyReused.Add(1)
		return
	}
	t.retire()
	t.key, t.epoch, t.sealed = ks.key, ks.epoch, 0
	p.keyFrames.Store(0)
	clear(ks.key[:])
	if t.par != nil {
		t.par.newKey(&t.key)
	}
	p.txEpoch.Store(uint32(t.epoch))
	p.exhaust.Store(false)
	p.st.TXKeySwitches.Add(1)
}

// drainRounds drops what the RX queued for the TX: no rounds in a null
// frame (the arrays must not travel in the clear).
func (t *txState) drainRounds() {
	p := t.p
	for p.toAnsQ.Peek() != nil {
		p.toAnsQ.Release()
	}
	for p.finQ.Peek() != nil {
		p.finQ.Release()
	}
}

// negotiate fills the negotiation area and the round TLVs: a new own round
// in data1, an answer to a peer round in data2, a pending FINAL.
func (t *txState) negotiate() {
	p := t.p
	neg := t.f.Negotiation()
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
	t.sealer.Wipe()
	t.rng.wipe()
	if ks := t.p.sw.Swap(nil); ks != nil {
		clear(ks.key[:])
	}
	if t.par != nil {
		t.par.wipe()
	}
}
