package dataplane

import (
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// txSlot is one frame in flight through a parallel TX.
type txSlot struct {
	slotState
	buf   [framer.FrameLen]byte
	f     framer.Frame
	count uint32
	epoch uint8
	key   *poolKey // nil for a null frame
	bip   byte     // the frame's own BIP-8, from its worker
	err   error
}

// txPar is a TX with frame workers (workers.go): the builder is txState's
// frame logic writing into slots, W workers seal, the sender writes the
// BIP-8 and sends in COUNT order.
type txPar struct {
	pipe
	p       *Port
	t       *txState
	slots   []txSlot
	pool    *keyPool
	cur     *poolKey // the builder's current key
	seals   []*framer.SealWorker
	chain   framer.BIPChain
	next    uint64 // builder: the next frame's number
	stop    <-chan struct{}
	stopped bool // stop closed while the builder waited for a key entry
}

func newTXPar(p *Port, t *txState) (*txPar, error) {
	w := p.cfg.Workers
	x := &txPar{p: p, t: t}
	x.pipe.init(w, p.cfg.workerDelay)
	x.slots = make([]txSlot, PipelineDepth(w))
	for i := range x.slots {
		x.slots[i].f, _ = framer.View(x.slots[i].buf[:])
	}
	// The current key, one retired per frame in flight, and room.
	x.pool = newKeyPool(len(x.slots) + 4)
	for range w {
		s, err := framer.NewSealWorker(p.dir, p.cfg.Framer)
		if err != nil {
			return nil, err
		}
		x.seals = append(x.seals, s)
	}
	return x, nil
}

// newKey makes key the builder's current key (txState.maybeSwitch has
// just taken it into t.key). Builder only; it waits for a free entry, which
// the sender's progress always makes, and notes a stop.
func (x *txPar) newKey(key *keys.Key) {
	if !x.takeKey(key, x.stop) {
		x.stopped = true
	}
}

func (x *txPar) takeKey(key *keys.Key, stop <-chan struct{}) bool {
	for {
		if k := x.pool.get(); k != nil {
			k.fk.Set(key, x.p.dir)
			x.cur = k
			return true
		}
		x.pool.reclaim(x.freed.Load())
		if k := x.pool.get(); k != nil {
			k.fk.Set(key, x.p.dir)
			x.cur = k
			return true
		}
		if !x.front.await(&x.freed, x.freed.Load()+1, stop) {
			return false
		}
	}
}

// retireKey retires the builder's current key from the frame being built
// on (txState.retire).
func (x *txPar) retireKey() {
	x.pool.retire(x.cur, x.next)
	x.cur = nil
}

// build is the builder's step: the sequential part of txState.frame, into
// the next slot. It returns false when stop closed while it waited.
func (x *txPar) build(stop <-chan struct{}) (bool, error) {
	t, p := x.t, x.p
	n := x.next
	if !x.slotFree(n, stop) {
		return false, nil
	}
	s := &x.slots[n&x.mask]
	t.f = s.f
	t.maybeSwitch()
	if x.stopped {
		return false, nil
	}
	if t.epoch != keys.NullEpoch && t.sealed >= p.cfg.HardLimit {
		t.exhausted()
	}
	t.frames++
	clear(s.buf[:])
	s.count, s.err = t.count, nil
	if t.epoch == keys.NullEpoch || t.laneTurn() {
		t.w.Begin(t.f.Interaction())
		p.laneTX.Fill(&t.w)
		t.w.Finish()
		t.drainRounds()
		s.epoch, s.key = keys.NullEpoch, nil
	} else {
		p.cfg.Payload.Fill(&t.f, s.count)
		t.w.Begin(t.f.Interaction())
		t.negotiate()
		t.ch.FillTX(&t.w)
		t.w.Finish()
		s.epoch, s.key = t.epoch, x.cur
		if p.cfg.Sealed != nil {
			p.cfg.Sealed(&t.key, t.epoch, s.count)
		}
		t.sealed++
		p.keyFrames.Store(t.sealed)
	}
	t.count++
	p.txCount.Store(s.count)
	x.next++
	s.ready.Store(n + 1)
	x.workers[n%x.w].wake(n + 1)
	return true, nil
}

// builder is the TX's front stage.
func (x *txPar) builder(stop <-chan struct{}) error {
	x.stop = stop
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		ok, err := x.build(stop)
		if err != nil || !ok {
			return err
		}
	}
}

// worker seals the frames of stride w.
func (x *txPar) worker(w int, stop <-chan struct{}) error {
	sw, me := x.seals[w], x.workers[w]
	for n := uint64(w); ; n += x.w {
		s := &x.slots[n&x.mask]
		if !me.await(&s.ready, n+1, stop) {
			return nil
		}
		var fk *framer.FrameKey
		if s.key != nil {
			fk = &s.key.fk
		}
		s.bip, s.err = sw.Seal(&s.f, fk, s.count, s.epoch)
		if x.delay != nil {
			x.delay(n)
		}
		s.done.Store(n + 1)
		x.back.wake(n + 1)
	}
}

// sender is the TX's back stage: BIP-8 and Line.Send in COUNT order.
func (x *txPar) sender(stop <-chan struct{}) error {
	p := x.p
	for n := uint64(0); ; n++ {
		s := &x.slots[n&x.mask]
		if !x.back.await(&s.done, n+1, stop) {
			return nil
		}
		if s.err != nil {
			return s.err
		}
		framer.PatchBIP8(&s.f, x.chain.Next(s.bip))
		if err := p.cfg.Line.Send(s.buf[:]); err != nil {
			return err
		}
		p.st.TXFrames.Add(1)
		if s.epoch == keys.NullEpoch {
			p.st.TXNullFrames.Add(1)
		}
		x.freed.Store(n + 1)
		x.front.wake(n + 1)
		x.pool.reclaim(n + 1)
	}
}

func (x *txPar) wipe() {
	for i := range x.slots {
		clear(x.slots[i].buf[:])
		x.slots[i].key = nil
	}
	for _, s := range x.seals {
		s.Wipe()
	}
	x.pool.wipeAll()
	x.cur = nil
	x.chain = framer.BIPChain{}
}
