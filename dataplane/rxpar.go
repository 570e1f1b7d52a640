package dataplane

import (
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// rxSlot is one frame in flight through a parallel RX.
type rxSlot struct {
	slotState
	buf         [framer.FrameLen]byte
	f           framer.Frame
	cur, prev   framer.KeyRef // the keys held when the frame arrived
	curK, prevK *poolKey      // their pool entries (windows); nil for the null epoch
	st          framer.Stats
	rej         reject // from the worker's Open
}

// rxPar is an RX with frame workers (workers.go): the receiver takes frames
// from the line, decides their negotiation bits and names their keys; W
// workers open them; the sequencer applies the replay window and the BIP-8
// check and runs everything after Open (rxState) in arrival order.
type rxPar struct {
	pipe
	p     *Port
	r     *rxState
	slots []rxSlot
	pool  *keyPool
	opens []*framer.OpenWorker
	seq   framer.Sequence

	// receiver only: the keys held now, as Opener.InstallGen keeps them
	cur, prev   framer.KeyRef
	curK, prevK *poolKey
	soft        [noise.SamplesPerFrame]noise.Sample
	next        uint64
}

func newRXPar(p *Port, r *rxState) (*rxPar, error) {
	w := p.cfg.Workers
	x := &rxPar{p: p, r: r}
	x.pipe.init(w, p.cfg.workerDelay)
	x.slots = make([]rxSlot, PipelineDepth(w))
	for i := range x.slots {
		x.slots[i].f, _ = framer.View(x.slots[i].buf[:])
	}
	// Current and previous, those retired by the frames in flight, and
	// room for a burst of installs (the install ring holds eight).
	x.pool = newKeyPool(len(x.slots) + 12)
	fo := p.cfg.Framer
	fo.AcceptNull = true // as the sequential RX (newRX)
	for range w {
		o, err := framer.NewOpenWorker(p.dir^1, fo)
		if err != nil {
			return nil, err
		}
		x.opens = append(x.opens, o)
	}
	x.cur = framer.KeyRef{Epoch: keys.NullEpoch, Valid: true} // a new Opener's state
	return x, nil
}

// install is Opener.InstallGen over the pool: the previous key is retired
// from frame x.next on (the frame about to be received is the first that
// cannot use it), wiped once the frames before it are through.
func (x *rxPar) install(epoch uint8, key *keys.Key, gen uint64, stop <-chan struct{}) bool {
	if x.cur.Valid && x.cur.Epoch == epoch && epoch != keys.NullEpoch {
		if !x.curK.fk.Is(key) {
			k := x.takeKey(stop)
			if k == nil {
				return false
			}
			k.fk.Set(key, x.p.dir^1)
			x.pool.retire(x.curK, x.next)
			x.curK, x.cur.Key = k, &k.fk
		}
		x.cur.Gen = gen
		return true
	}
	k := x.takeKey(stop)
	if k == nil {
		return false
	}
	k.fk.Set(key, x.p.dir^1)
	x.pool.retire(x.prevK, x.next)
	x.prev, x.prevK = x.cur, x.curK
	x.cur, x.curK = framer.KeyRef{Key: &k.fk, Gen: gen, Epoch: epoch, Valid: true}, k
	return true
}

// takeKey returns a free pool entry, waiting for the sequencer to release
// frames if all are in use (nil: stopped).
func (x *rxPar) takeKey(stop <-chan struct{}) *poolKey {
	for {
		if k := x.pool.get(); k != nil {
			return k
		}
		x.pool.reclaim(x.freed.Load())
		if k := x.pool.get(); k != nil {
			return k
		}
		if !x.front.await(&x.freed, x.freed.Load()+1, stop) {
			return nil
		}
	}
}

// installKeys installs the keys the controller handed over (rxState.
// installKeys for the pool).
func (x *rxPar) installKeys(stop <-chan struct{}) bool {
	p := x.p
	for k := p.keys.Peek(); k != nil; k = p.keys.Peek() {
		ok := x.install(k.epoch, &k.key, k.gen, stop)
		clear(k.key[:])
		p.keys.Release()
		if !ok {
			return false
		}
		p.st.RXKeyInstalls.Add(1)
		cur, prev := -1, -1
		if x.cur.Valid {
			cur = int(x.cur.Epoch)
		}
		if x.prev.Valid {
			prev = int(x.prev.Epoch)
		}
		x.r.curEpoch.Store(int32(cur))
		x.r.prevEpoch.Store(int32(prev))
	}
	return true
}

// receiver is the RX's front stage: receive, install keys, decide the
// negotiation bits, name the frame's keys, hand it to its worker.
func (x *rxPar) receiver(stop <-chan struct{}) error {
	r, p := x.r, x.p
	for n := uint64(0); ; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		if !x.slotFree(n, stop) {
			return nil
		}
		s := &x.slots[n&x.mask]
		if err := p.cfg.Line.Recv(s.buf[:], x.soft[:]); err != nil {
			return err
		}
		x.next = n
		if !x.installKeys(stop) {
			return nil
		}
		x.pool.reclaim(x.freed.Load())
		r.local.BeginRound()
		r.local.AddAndDecide(x.soft[:halfBits], r.dec[:framer.DataLen])
		r.local.BeginRound()
		r.local.AddAndDecide(x.soft[halfBits:], r.dec[framer.DataLen:])
		copy(s.buf[data1Off:], r.dec[:framer.DataLen])
		copy(s.buf[data2Off:], r.dec[framer.DataLen:])
		s.cur, s.prev, s.curK, s.prevK = x.cur, x.prev, x.curK, x.prevK
		s.ready.Store(n + 1)
		x.workers[n%x.w].wake(n + 1)
	}
}

// worker opens the frames of stride w.
func (x *rxPar) worker(w int, stop <-chan struct{}) error {
	o, me := x.opens[w], x.workers[w]
	for n := uint64(w); ; n += x.w {
		s := &x.slots[n&x.mask]
		if !me.await(&s.ready, n+1, stop) {
			return nil
		}
		s.rej = rejectOf(o.Open(&s.f, &s.cur, &s.prev, &s.st))
		if x.delay != nil {
			x.delay(n)
		}
		s.done.Store(n + 1)
		x.back.wake(n + 1)
	}
}

// sequencer is the RX's back stage: in arrival order, the replay window
// and the BIP-8 (Sequence.Admit), then everything rxState does after Open.
func (x *rxPar) sequencer(stop <-chan struct{}) error {
	r := x.r
	for n := uint64(0); ; n++ {
		s := &x.slots[n&x.mask]
		if !x.back.await(&s.done, n+1, stop) {
			return nil
		}
		r.f = s.f
		switch {
		case s.rej != rejNone:
			r.countReject(s.rej)
		default:
			var win *replay.Filter
			if s.st.Epoch != keys.NullEpoch {
				k := s.curK
				if s.st.Previous {
					k = s.prevK
				}
				win = &k.win
			}
			r.st = s.st
			if err := x.seq.Admit(&r.f, &r.st, win); err != nil {
				r.countReject(rejectOf(err))
			} else {
				r.accepted()
			}
		}
		x.freed.Store(n + 1)
		x.front.wake(n + 1)
		x.pool.reclaim(n + 1)
	}
}

func (x *rxPar) wipe() {
	for i := range x.slots {
		s := &x.slots[i]
		clear(s.buf[:])
		s.cur, s.prev, s.curK, s.prevK = framer.KeyRef{}, framer.KeyRef{}, nil, nil
		s.st = framer.Stats{}
	}
	for _, o := range x.opens {
		o.Wipe()
	}
	x.pool.wipeAll()
	x.cur, x.prev, x.curK, x.prevK = framer.KeyRef{Valid: true}, framer.KeyRef{}, nil, nil
	clear(x.soft[:])
	x.seq = framer.Sequence{}
}
