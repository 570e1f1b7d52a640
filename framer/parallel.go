package framer

import (
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
)

// Frame workers: sealing and opening one direction's frames on several
// goroutines at once.
//
// Sealer and Opener keep state from frame to frame, so they run on one
// goroutine. Three things in them depend on the frames before: the SM
// BIP-8 (frame i carries the BIP-8 of frame i−2's ciphertext), the
// anti-replay window of each key, and (for the Sealer) the tag material of
// the last key. The parallel form splits each into a stateless half that
// any number of workers run at once and a small ordered half that runs in
// frame order:
//
//   - TX: SealWorker.Seal encrypts, tags, encodes the FEC and scrambles with
//     a zero BIP-8 and returns the frame's own BIP-8; in frame order,
//     BIPChain.Next gives the value the frame carries and PatchBIP8 writes
//     it into the finished wire frame, adjusting the row FEC parity of its
//     codeword (the code is linear and the scrambler an XOR, see
//     fec.PatchRow). The bytes are those Sealer.Seal writes.
//   - RX: OpenWorker.Open descrambles, corrects, verifies the tag and
//     decrypts, with the key of the frame's epoch among the two it is given;
//     in arrival order, Sequence.Admit applies the key's anti-replay window
//     (only to a frame whose tag verified) and checks the BIP-8. What an
//     Opener accepts, they accept, with the same Stats.
//
// Keys are FrameKeys: the key and its tag material derived once, then only
// read, so workers share them without locks. Their owner wipes a key once no
// worker can still be using it.

// FrameKey is a session key with its tag material for one direction. Set
// derives the material (it allocates: once per key, not per frame); after
// Set a FrameKey is only read, so any number of goroutines may seal or open
// frames with it at once, until its owner calls Wipe (when none of them
// uses it any more).
type FrameKey struct {
	key keys.Key
	tag tagKey
	dir uint8
	ok  bool
}

// Set makes k the key key for direction dir (0: A to B, 1: B to A). The
// key is copied; the caller zeroises its own copy.
func (k *FrameKey) Set(key *keys.Key, dir uint8) {
	k.key, k.dir, k.ok = *key, dir, true
	k.tag.derive(key, dir)
}

// Is reports whether k holds key (in constant time in the key bytes).
func (k *FrameKey) Is(key *keys.Key) bool {
	var d byte
	for i := range key {
		d |= k.key[i] ^ key[i]
	}
	return k.ok && d == 0
}

// Wipe zeroises the key and drops its tag material.
func (k *FrameKey) Wipe() {
	clear(k.key[:])
	k.tag.wipe()
	k.ok = false
}

// SealWorker is the parallel half of a Sealer: it keeps no state from frame
// to frame, only scratch space, so a TX gives each worker goroutine its own
// and they seal consecutive frames at once.
type SealWorker struct {
	dir    uint8
	opts   Options
	ks     Keystream
	fec    *fec.Codec
	keyBuf [EncLen]byte
	mac    macScratch
}

// NewSealWorker returns a SealWorker for direction 0 (A to B) or 1 (B to
// A). The Keystream of opts is called from every worker at once: the
// package's engines keep no state.
func NewSealWorker(direction uint8, opts Options) (*SealWorker, error) {
	if direction > 1 {
		return nil, ErrDirection
	}
	return &SealWorker{dir: direction, opts: opts, ks: opts.engine(), fec: fec.New()}, nil
}

// Seal does what Sealer.Seal does, except that it writes a zero SM BIP-8
// and returns the frame's own BIP-8 (of its ciphertext) instead of keeping
// it: the caller feeds it, in frame order, to a BIPChain and writes the
// value the frame carries with PatchBIP8. k is ignored for keys.NullEpoch; for
// a keyed epoch it must hold a key Set for this worker's direction
// (ErrNoKey, ErrDirection). It does not allocate.
func (w *SealWorker) Seal(f *Frame, k *FrameKey, count uint32, epoch uint8) (bip byte, err error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if epoch != keys.NullEpoch {
		if k == nil || !k.ok {
			return 0, ErrNoKey
		}
		if k.dir != w.dir {
			return 0, ErrDirection
		}
	}
	f.SetFAS()
	f.SetCount(count)
	f.SetEpoch(epoch)
	f.SetBIP8(0)
	if epoch != keys.NullEpoch {
		w.ks.FrameKeystream(&w.keyBuf, &k.key, count, w.dir)
		bip = xorEncrypted(f, &w.keyBuf)
		w.mac.compute(&k.tag, f, w.dir, epoch, count)
		copy(f.Tag(), w.mac.tag[:])
	} else {
		bip = f.ComputeBIP8()
		clear(f.Tag())
	}
	w.fec.EncodeRows(&f.rows)
	w.fec.EncodeArea(f.InteractionArea())
	if !w.opts.NoScramble {
		scramble(f)
	}
	return bip, nil
}

// Wipe zeroises the worker's keystream and tag scratch.
func (w *SealWorker) Wipe() {
	clear(w.keyBuf[:])
	w.mac = macScratch{}
}

// BIPChain is the ordered half of parallel sealing: frame i carries the
// BIP-8 of frame i−2 (G.709). The zero value is the state of a Sealer that
// has sealed nothing.
type BIPChain struct{ bip [2]byte }

// Next takes, in frame order, the BIP-8 SealWorker.Seal returned for a
// frame and returns the BIP-8 that frame carries (what Sealer.Seal would
// have written).
func (c *BIPChain) Next(own byte) (carried byte) {
	carried = c.bip[1]
	c.bip[1], c.bip[0] = c.bip[0], own
	return carried
}

// PatchBIP8 writes b as the SM BIP-8 of a wire frame SealWorker.Seal made
// (which carries a zero BIP-8), and changes the parity of the row codeword
// that holds it to match: the frame is then byte for byte what Sealer.Seal
// makes. It adds b, so it must be called once per frame.
func PatchBIP8(f *Frame, b byte) {
	fec.PatchRow(f.rows[0], colBIP8-1, b)
}

// KeyRef is a key an OpenWorker may open a frame with: the current or the
// previous epoch the receiver held when the frame arrived. Key is nil for
// the null epoch. Gen is the caller's name for the install (Stats.Gen).
type KeyRef struct {
	Key   *FrameKey
	Gen   uint64
	Epoch uint8
	Valid bool
}

// OpenWorker is the parallel half of an Opener: it holds no keys and no
// window, only scratch space, so an RX gives each worker goroutine its own.
// Errors it returns point into it and stay valid until its next Open.
type OpenWorker struct {
	openCore
}

// NewOpenWorker returns an OpenWorker for direction 0 (A to B) or 1 (B to
// A). Options.AcceptNull has its Opener meaning.
func NewOpenWorker(direction uint8, opts Options) (*OpenWorker, error) {
	c, err := newOpenCore(direction, opts)
	if err != nil {
		return nil, err
	}
	return &OpenWorker{openCore: c}, nil
}

// Open does Opener.Open's work but for the anti-replay window and the BIP-8
// check, with the keys cur and prev (the epochs the receiver held for this
// frame, as Opener.Epochs would report them): descramble, FEC decode, find
// the key of the frame's epoch, verify the tag in constant time, decrypt.
// The caller then passes an accepted frame, in arrival order, to
// Sequence.Admit, which applies the window and the BIP-8 check. On error
// the frame is left exactly as it was (wrong length, lost alignment, an
// epoch not held, a tag that does not verify). It does not allocate.
func (w *OpenWorker) Open(f *Frame, cur, prev *KeyRef, st *Stats) error {
	bip, bipKnown, rowsClean, err := w.front(f, st)
	if err != nil {
		return err
	}
	epoch, count := f.Epoch(), f.Count()
	var ref *KeyRef
	switch {
	case cur.Valid && cur.Epoch == epoch:
		ref = cur
	case prev.Valid && prev.Epoch == epoch:
		ref, st.Previous = prev, true
	case w.opts.AcceptNull && epoch == keys.NullEpoch:
		ref = &nullRef
	}
	if ref == nil {
		w.restore(f, rowsClean)
		return w.epochError(epoch, cur.held(), prev.held())
	}
	var key *keys.Key
	if ref.Epoch != keys.NullEpoch {
		areaFailed := st.FEC.IsFailed(fec.AreaCodeword)
		if ref.Key == nil || !ref.Key.ok || areaFailed || !w.mac.verify(&ref.Key.tag, f, w.dir, epoch, count) {
			w.restore(f, rowsClean)
			st.Previous = false
			return w.authError(epoch, count, areaFailed)
		}
		key = &ref.Key.key
	}
	st.ownBIP = w.finish(f, st, key, ref.Epoch, ref.Gen, count, bip, bipKnown)
	return nil
}

// held is the epoch r holds, -1 for none.
func (r *KeyRef) held() int {
	if r.Valid {
		return int(r.Epoch)
	}
	return -1
}

// nullRef is the KeyRef of the null epoch accepted with AcceptNull.
var nullRef = KeyRef{Epoch: keys.NullEpoch, Valid: true}

// Wipe zeroises the worker's keystream, tag and frame scratch.
func (w *OpenWorker) Wipe() { w.openCore.wipe() }

// Sequence is the ordered half of parallel opening, one per receiver: it
// takes the frames OpenWorker.Open accepted, in arrival order, applies
// their key's anti-replay window and checks their BIP-8, as Opener.Open
// does after the tag. Not safe for concurrent use.
type Sequence struct {
	bips      bipState
	replayErr ReplayError
}

// Admit records the COUNT of a frame OpenWorker.Open accepted (with st as
// Open filled it) in win, the anti-replay window of the key that opened it
// (nil for a null-epoch frame, which has none), then checks its BIP-8 into
// st. A COUNT the window refuses gives a *ReplayError and changes nothing
// here (the frame, already decrypted, is the caller's to drop). The window
// only ever sees frames whose tag verified. It does not allocate; the error
// points into s and stays valid until the next Admit.
func (s *Sequence) Admit(f *Frame, st *Stats, win *replay.Filter) error {
	if st.Epoch != keys.NullEpoch {
		if v := win.Accept(st.Count); v != replay.OK {
			s.replayErr = ReplayError{Epoch: st.Epoch, Count: st.Count, Verdict: v}
			return &s.replayErr
		}
	}
	s.bips.check(f, st, st.ownBIP)
	return nil
}
