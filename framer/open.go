package framer

import (
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/internal/keys"
)

// openCore is what an Opener and an OpenWorker share: the way a frame comes
// in (length and alignment, descrambling, FEC with a backup that undoes
// both) and goes out (statistics, decryption), with their scratch space.
// They differ only in where the frame's key comes from and when the window
// and the BIP-8 check run. Not safe for concurrent use.
type openCore struct {
	dir    uint8
	opts   Options
	ks     Keystream
	fec    *fec.Codec
	keyBuf [EncLen]byte
	backup [FrameLen]byte
	mac    macScratch
	// prepared errors, so that rejecting a frame does not allocate
	epochErr EpochError
	authErr  AuthError
}

func newOpenCore(direction uint8, opts Options) (openCore, error) {
	if direction > 1 {
		return openCore{}, ErrDirection
	}
	return openCore{dir: direction, opts: opts, ks: opts.engine(), fec: fec.New()}, nil
}

// front checks the frame's length and alignment, resets st, descrambles
// the frame and corrects it with the FEC (the rows, then the interaction
// area), keeping in the backup what restore needs to undo it. bip is the
// BIP-8 the descrambler folded, valid when bipKnown (an FEC correction of
// the rows invalidates it). On error the frame is untouched.
func (c *openCore) front(f *Frame, st *Stats) (bip byte, bipKnown, rowsClean bool, err error) {
	if err := f.check(); err != nil {
		return 0, false, false, err
	}
	if d := f.fasDistance(); d > MaxFASBitErrors {
		return 0, false, false, &FASError{BitErrors: d}
	}
	*st = Stats{}
	if !c.opts.NoScramble {
		bip, bipKnown = scramble(f), true
	}
	rowsClean = c.fec.CheckRows(&f.rows)
	if !rowsClean {
		for r := range Rows {
			copy(c.backup[r*RowLen:], f.rows[r])
		}
		c.fec.DecodeRows(&f.rows, &st.FEC)
		bipKnown = false
	}
	copy(c.backup[IntOff:], f.InteractionArea())
	c.fec.DecodeArea(f.InteractionArea(), &st.FEC)
	return bip, bipKnown, rowsClean, nil
}

// restore undoes what front did: FEC corrections and descrambling.
func (c *openCore) restore(f *Frame, rowsClean bool) {
	if !rowsClean {
		for r := range Rows {
			copy(f.rows[r], c.backup[r*RowLen:(r+1)*RowLen])
		}
	}
	copy(f.InteractionArea(), c.backup[IntOff:])
	if !c.opts.NoScramble {
		scramble(f)
	}
}

// epochError prepares the error for a frame of an epoch not held; cur and
// prev are the epochs held (-1 for none).
func (c *openCore) epochError(epoch uint8, cur, prev int) *EpochError {
	c.epochErr = EpochError{Epoch: epoch, Cur: cur, Prev: prev}
	return &c.epochErr
}

// authError prepares the error for a tag that does not verify (or an
// interaction area the FEC could not correct).
func (c *openCore) authError(epoch uint8, count uint32, areaFailed bool) *AuthError {
	c.authErr = AuthError{Epoch: epoch, Count: count, Uncorrectable: areaFailed}
	return &c.authErr
}

// finish completes st for a frame accepted under key (nil for the null
// epoch) of epoch and gen, decrypts it and clears its tag, and returns the
// frame's BIP-8 (the one front folded, or computed now).
func (c *openCore) finish(f *Frame, st *Stats, key *keys.Key, epoch uint8, gen uint64, count uint32, bip byte, bipKnown bool) byte {
	st.FASOK = f.FASOK()
	st.Count = count
	st.Epoch = epoch
	st.Gen = gen
	st.CorrectedSymbols = st.FEC.CorrectedSymbols
	st.UncorrectableCodewords = st.FEC.UncorrectableCodewords
	if !bipKnown {
		bip = f.ComputeBIP8()
	}
	if epoch != keys.NullEpoch {
		c.ks.FrameKeystream(&c.keyBuf, key, count, c.dir)
		xorEncrypted(f, &c.keyBuf)
		clear(f.Tag())
	}
	return bip
}

// wipe zeroises the scratch space.
func (c *openCore) wipe() {
	clear(c.keyBuf[:])
	clear(c.backup[:])
	c.mac = macScratch{}
}
