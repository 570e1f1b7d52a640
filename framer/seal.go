package framer

import (
	"errors"
	"fmt"

	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
)

// Errors of the frame path. Every error Open returns leaves the caller's
// frame exactly as it was (see also ErrAuth and ErrReplay).
var (
	ErrLength       = errors.New("framer: wrong length")
	ErrLostFAS      = errors.New("framer: frame alignment lost")
	ErrUnknownEpoch = errors.New("framer: unknown key epoch")
	ErrNoKey        = errors.New("framer: no key for a ciphered epoch")
	ErrDirection    = errors.New("framer: direction must be 0 (A to B) or 1 (B to A)")
)

// MaxFASBitErrors is how many bit errors the 48-bit alignment signal may
// carry before Open declares the frame out of alignment. Fewer are corrected
// by the row FEC, which covers the FAS.
const MaxFASBitErrors = 8

// EpochError reports a frame whose key epoch the receiver does not hold.
type EpochError struct {
	Epoch     uint8 // carried by the frame
	Cur, Prev int   // epochs held, -1 for none
}

func (e *EpochError) Error() string {
	return fmt.Sprintf("framer: frame has key epoch %d, receiver holds current %d and previous %d", e.Epoch, e.Cur, e.Prev)
}

// Is makes errors.Is(err, ErrUnknownEpoch) true.
func (e *EpochError) Is(target error) bool { return target == ErrUnknownEpoch }

// FASError reports a frame whose alignment signal is too damaged.
type FASError struct{ BitErrors int }

func (e *FASError) Error() string {
	return fmt.Sprintf("framer: frame alignment lost: %d of 48 FAS bits wrong (limit %d)", e.BitErrors, MaxFASBitErrors)
}

// Is makes errors.Is(err, ErrLostFAS) true.
func (e *FASError) Is(target error) bool { return target == ErrLostFAS }

// Options configures a Sealer or an Opener. The zero value is the default.
type Options struct {
	// Keystream is the ZUC engine; nil means GenericZUC.
	Keystream Keystream
	// NoScramble skips the G.709 scrambler (for captures taken before it).
	NoScramble bool
	// AcceptNull makes an Opener accept null-epoch frames at any time, not
	// only before its first key: a peer that restarts begins again on the
	// null cipher. Such frames are not encrypted; the caller must not trust
	// their content beyond what it authenticates itself.
	AcceptNull bool
}

func (o Options) engine() Keystream {
	if o.Keystream == nil {
		return GenericZUC{}
	}
	return o.Keystream
}

// Sealer turns plaintext frames into wire frames for one direction of a
// port: encrypt, tag, FEC, scramble. It keeps the BIP-8 of the last two
// frames, the tag material of the last key it sealed with and scratch
// space, so it is not safe for concurrent use; use one per TX pipeline.
// Seal does not allocate, except once per new key (the tag key
// derivation).
type Sealer struct {
	dir     uint8
	opts    Options
	ks      Keystream
	fec     *fec.Codec
	bip     [2]byte // BIP-8 of frames i-1 and i-2
	keyBuf  [EncLen]byte
	started bool
	// tag material of tagFor, derived when Seal first sees that key
	tagFor  keys.Key
	tagHave bool
	tag     tagKey
	mac     macScratch
}

// NewSealer returns a Sealer for direction 0 (A to B) or 1 (B to A).
func NewSealer(direction uint8, opts Options) (*Sealer, error) {
	if direction > 1 {
		return nil, ErrDirection
	}
	return &Sealer{dir: direction, opts: opts, ks: opts.engine(), fec: fec.New()}, nil
}

// Seal completes a plaintext frame in place and turns it into a wire frame.
// The caller has filled the payload, the negotiation area and the MsgLen
// interaction message bytes; Seal writes FAS, MFAS, COUNT, the key epoch
// and the SM BIP-8, encrypts with key (ignored for keys.NullEpoch), writes the
// frame tag over the encrypted messages (zero for keys.NullEpoch), computes the
// row and interaction-area FEC over the ciphertext and scrambles. A COUNT
// must never repeat under one key; choosing it is the caller's job.
func (s *Sealer) Seal(f *Frame, key *keys.Key, count uint32, epoch uint8) error {
	if err := f.check(); err != nil {
		return err
	}
	if epoch != keys.NullEpoch && key == nil {
		return ErrNoKey
	}
	f.SetFAS()
	f.SetCount(count)
	f.SetEpoch(epoch)
	f.SetBIP8(s.bip[1])
	var bip byte
	if epoch != keys.NullEpoch {
		s.ks.FrameKeystream(&s.keyBuf, key, count, s.dir)
		bip = xorEncrypted(f, &s.keyBuf) // BIP-8 of the ciphertext, same pass
		if !s.tagHave || s.tagFor != *key {
			s.tag.derive(key, s.dir)
			s.tagFor, s.tagHave = *key, true
		}
		s.mac.compute(&s.tag, f, s.dir, epoch, count)
		copy(f.Tag(), s.mac.tag[:])
	} else {
		bip = f.ComputeBIP8()
		clear(f.Tag())
	}
	s.bip[1], s.bip[0] = s.bip[0], bip
	s.fec.EncodeRows(&f.rows)
	s.fec.EncodeArea(f.InteractionArea())
	if !s.opts.NoScramble {
		scramble(f)
	}
	return nil
}

// Wipe zeroises the key material the Sealer keeps (the last key's copy and
// its tag material) and its keystream scratch.
func (s *Sealer) Wipe() {
	clear(s.tagFor[:])
	s.tagHave = false
	s.tag.wipe()
	clear(s.keyBuf[:])
	s.mac = macScratch{}
}

// EpochKey is one session key an Opener holds, with its epoch, the tag
// material derived from it and its anti-replay window.
type EpochKey struct {
	Epoch uint8
	Key   keys.Key
	Gen   uint64 // the caller's name for this install (InstallGen)
	valid bool
	tag   tagKey
	win   replay.Filter
}

func (k *EpochKey) wipe() {
	clear(k.Key[:])
	k.tag.wipe()
	*k = EpochKey{}
}

// Stats describes one opened frame.
type Stats struct {
	FASOK                  bool   // alignment signal exact after FEC
	Count                  uint32 // frame counter
	Epoch                  uint8  // key epoch the frame carried
	Previous               bool   // decrypted with the previous epoch's key
	CorrectedSymbols       int    // FEC symbols corrected, rows and interaction area
	UncorrectableCodewords int    // codewords the FEC could not correct (left as received)
	BIPChecked             bool   // the BIP-8 of frame COUNT-2 was known and compared
	BIPErrors              int    // bits of the carried BIP-8 that disagree
	Gen                    uint64 // Gen of the key that opened the frame (0: null epoch)
	FEC                    fec.Result

	ownBIP byte // this frame's BIP-8 (OpenWorker.Open), for Sequence.Admit
}

// Opener turns wire frames into plaintext frames for one direction of a
// port: descramble, FEC decode, verify the frame tag, check the anti-replay
// window, decrypt. It holds the current and the previous session key, each
// with its own window, so frames of both epochs open and a key switch never
// drops a frame. Not safe for concurrent use; use one per RX pipeline. Open
// does not allocate; errors it returns point into the Opener and stay valid
// until the next Open.
type Opener struct {
	openCore
	cur       EpochKey
	prev      EpochKey
	bips      bipState
	replayErr ReplayError // prepared, so that rejecting a frame does not allocate
}

// NewOpener returns an Opener for direction 0 (A to B) or 1 (B to A). It
// starts holding only the null epoch.
func NewOpener(direction uint8, opts Options) (*Opener, error) {
	c, err := newOpenCore(direction, opts)
	if err != nil {
		return nil, err
	}
	o := &Opener{openCore: c}
	o.cur = EpochKey{Epoch: keys.NullEpoch, valid: true}
	return o, nil
}

// Install makes key the current key of epoch e (InstallGen with Gen 0).
func (o *Opener) Install(e uint8, key *keys.Key) { o.InstallGen(e, key, 0) }

// InstallGen makes key the current key of epoch e, named gen (Stats.Gen
// reports it for every frame the key opens); the current key becomes the
// previous one and the previous one is zeroised. Installing the epoch that
// is already current replaces its key and empties its anti-replay window;
// installing the very same key again keeps the window (a replay must not
// become new by a repeated install). It derives the key's tag material, so
// it allocates; it is not a per-frame call.
func (o *Opener) InstallGen(e uint8, key *keys.Key, gen uint64) {
	if o.cur.valid && o.cur.Epoch == e && e != keys.NullEpoch {
		if o.cur.Key != *key {
			o.cur.Key = *key
			o.cur.tag.derive(key, o.dir)
			o.cur.win.Reset()
		}
		o.cur.Gen = gen
		return
	}
	o.prev.wipe()
	o.prev = o.cur
	o.cur = EpochKey{Epoch: e, Key: *key, Gen: gen, valid: true}
	o.cur.tag.derive(key, o.dir)
}

// Retire forgets and zeroises the previous key, once the peer has moved on.
func (o *Opener) Retire() { o.prev.wipe() }

// Wipe zeroises every key the Opener holds and its scratch space; it then
// holds only the null epoch.
func (o *Opener) Wipe() {
	o.cur.wipe()
	o.prev.wipe()
	o.cur = EpochKey{Epoch: keys.NullEpoch, valid: true}
	o.openCore.wipe()
}

// Epochs returns the current and previous epochs held (-1 for none).
func (o *Opener) Epochs() (cur, prev int) {
	cur, prev = -1, -1
	if o.cur.valid {
		cur = int(o.cur.Epoch)
	}
	if o.prev.valid {
		prev = int(o.prev.Epoch)
	}
	return cur, prev
}

func (o *Opener) lookup(e uint8) (*EpochKey, bool) {
	switch {
	case o.cur.valid && o.cur.Epoch == e:
		return &o.cur, false
	case o.prev.valid && o.prev.Epoch == e:
		return &o.prev, true
	case o.opts.AcceptNull && e == keys.NullEpoch:
		return &nullKey, false
	}
	return nil, false
}

// nullKey is the "key" of the null epoch.
var nullKey = EpochKey{Epoch: keys.NullEpoch, valid: true}

// Open turns a wire frame into the plaintext frame in place and fills st.
// Uncorrectable row codewords are not an error: they stay as received and
// are counted in st. For a frame of epoch ≥ 1 Open verifies the frame tag
// (in constant time) before anything else depends on the frame, then
// records its COUNT in the epoch's anti-replay window, then decrypts; it
// leaves the tag bytes zero. On error the frame is left exactly as it was
// and nothing the Opener keeps has changed (the window moves only for an
// authentic frame): wrong length, lost alignment, an epoch the Opener does
// not hold (*EpochError), a tag that does not verify or an interaction area
// the FEC could not correct (*AuthError), a COUNT seen before or too old
// (*ReplayError). A null-epoch frame (accepted while the Opener holds no key,
// or always with Options.AcceptNull) carries no tag and is not
// authenticated: its content is the caller's to distrust.
func (o *Opener) Open(f *Frame, st *Stats) error {
	// The descrambler folds the BIP-8 of the rows it writes; it stands if
	// the FEC leaves the rows as they are.
	bip, bipKnown, rowsClean, err := o.front(f, st)
	if err != nil {
		return err
	}
	epoch, count := f.Epoch(), f.Count()
	ek, prev := o.lookup(epoch)
	if ek == nil {
		cur, prevEpoch := o.Epochs()
		o.restore(f, rowsClean)
		return o.epochError(epoch, cur, prevEpoch)
	}
	if ek.Epoch != keys.NullEpoch {
		if err := o.authenticate(f, ek, epoch, count, st.FEC.IsFailed(fec.AreaCodeword)); err != nil {
			o.restore(f, rowsClean)
			return err
		}
	}
	st.Previous = prev
	bip = o.finish(f, st, &ek.Key, ek.Epoch, ek.Gen, count, bip, bipKnown)
	o.bips.check(f, st, bip)
	return nil
}

// authenticate checks the tag, then the window; the window moves only when
// both pass.
func (o *Opener) authenticate(f *Frame, ek *EpochKey, epoch uint8, count uint32, areaFailed bool) error {
	if areaFailed || !o.mac.verify(&ek.tag, f, o.dir, epoch, count) {
		return o.authError(epoch, count, areaFailed)
	}
	if v := ek.win.Accept(count); v != replay.OK {
		o.replayErr = ReplayError{Epoch: epoch, Count: count, Verdict: v}
		return &o.replayErr
	}
	return nil
}

// bipState is a receiver's record of the BIP-8 computed over the frames
// COUNT-1 and COUNT-2 it accepted.
type bipState struct {
	bip   [2]byte
	count uint32
	n     int
}

// check compares the BIP-8 the frame carries with the one computed over
// the frame two counts earlier, then records this frame's, bip.
func (b *bipState) check(f *Frame, st *Stats, bip byte) {
	c := st.Count
	switch {
	case b.n > 0 && c == b.count+1:
		if b.n >= 2 {
			st.BIPChecked = true
			st.BIPErrors = popcount8(f.BIP8() ^ b.bip[1])
		}
		b.bip[1] = b.bip[0]
		b.n = min(b.n+1, 2)
	default: // first frame or a gap: start over
		b.n = 1
	}
	b.bip[0] = bip
	b.count = c
}

// check rejects a Frame that was not made by View or ViewRows.
func (f *Frame) check() error {
	for r := range Rows {
		if len(f.rows[r]) != RowLen {
			return &LengthError{What: fmt.Sprintf("row %d", r+1), Got: len(f.rows[r]), Want: RowLen}
		}
	}
	if len(f.ext) != ExtLen {
		return &LengthError{What: "extension", Got: len(f.ext), Want: ExtLen}
	}
	return nil
}

// Peek returns the key epoch and COUNT a wire frame carries, after
// descrambling and FEC correction, without changing the frame. It lets a
// receiver (or a diagnostic tool) learn which key a frame needs before
// opening it. It shares the Opener's scratch space, so it is no more
// concurrent than Open.
func (o *Opener) Peek(f *Frame) (epoch uint8, count uint32, err error) {
	if err := f.check(); err != nil {
		return 0, 0, err
	}
	if d := f.fasDistance(); d > MaxFASBitErrors {
		return 0, 0, &FASError{BitErrors: d}
	}
	for r := range Rows {
		copy(o.backup[r*RowLen:], f.rows[r])
	}
	copy(o.backup[ExtOff:], f.ext)
	c, _ := View(o.backup[:])
	if !o.opts.NoScramble {
		scramble(&c)
	}
	var res fec.Result
	if !o.fec.CheckRows(&c.rows) {
		o.fec.DecodeRows(&c.rows, &res)
	}
	return c.Epoch(), c.Count(), nil
}
