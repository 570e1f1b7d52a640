package negotiation

import (
	"bytes"
	"crypto/hmac"
	"fmt"

	"github.com/otkd/otkd/internal/keys"
)

type rstate uint8

const (
	rClosed        rstate = iota // no attempt open: a Sift for attempt+1, block 0 opens one
	rAwaitSift                   // between blocks: Sift (next block) or Verify
	rAwaitSyndrome               // a block is sifted (incremental: steps under way)
	rReleasing                   // incremental: verified, seeds left to release
)

// Responder runs post-processing at the end that does not own the
// direction's rounds. Add counts; pass every message from the initiator to
// Handle and send back what it returns. It is not safe for concurrent use.
type Responder struct {
	p     Params
	r     rounds
	state rstate
	att   attempt
	stats Stats

	blk  block  // block in flight
	mask []byte // its intersection

	bits    []byte      // incremental: the block's kept bits, held across steps
	dec     *incDecoder // incremental: its decoder, nil before the first Step
	replies int         // incremental: StepReplies sent for it

	lastIn    []byte  // encoding of the last message handled
	lastReply Message // and the reply sent to it
}

// NewResponder returns a responder; p must equal the initiator's Params.
func NewResponder(p Params) (*Responder, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Responder{p: p}, nil
}

// Add records the error count of a round; see Initiator.Add.
func (rs *Responder) Add(round uint32, count int) error {
	if err := rs.r.add(round, count); err != nil {
		return err
	}
	rs.stats.Rounds++
	return nil
}

// Stats returns the counters.
func (rs *Responder) Stats() Stats { return rs.stats }

// Ready reports whether the responder has been given a count for the last
// round of s's range or a later one. The responder's count of a round
// usually arrives after the initiator's (it needs C1, sent after C2);
// rounds still missing when the Sift is handled are dropped from the block
// and their late Adds fail with ErrRound. A caller may hold a Sift until
// Ready (with a timeout) to lose none.
func (rs *Responder) Ready(s *Sift) bool {
	return rs.r.started && int32(rs.r.newest-(s.Lo+uint32(s.Span)-1)) >= 0
}

// Handle processes a message from the initiator and returns the reply to
// send and, when a Verify's tag matches, the Result. A retransmitted copy of
// the message handled last gets the same reply again (and no Result). A
// malformed, unexpected or contradicting message is rejected with an error
// wrapping ErrMalformed, ErrUnexpected or ErrMismatch and the state is
// unchanged.
func (rs *Responder) Handle(m Message) (Message, *Result, error) {
	if isNil(m) {
		return nil, nil, fmt.Errorf("%w: nil message", ErrUnexpected)
	}
	enc, err := m.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	if rs.lastIn != nil && bytes.Equal(enc, rs.lastIn) {
		return rs.lastReply, nil, nil
	}
	var out Message
	var res *Result
	switch m := m.(type) {
	case *Sift:
		out, err = rs.onSift(m)
	case *Syndrome:
		out, err = rs.onSyndrome(m)
	case *Step:
		out, err = rs.onStep(m)
	case *Verify:
		out, res, err = rs.onVerify(m)
	case *VerifySeeds:
		out, res, err = rs.onVerifySeeds(m)
	case *Release:
		out, res, err = rs.onRelease(m)
	default:
		err = fmt.Errorf("%w: %v at the responder", ErrUnexpected, m.Type())
	}
	if err != nil {
		return nil, nil, err
	}
	rs.lastIn, rs.lastReply = enc, out
	return out, res, nil
}

func (rs *Responder) unexpected(t MsgType, h Header) error {
	return fmt.Errorf("%w: %v for attempt %d block %d (at attempt %d block %d, state %d)",
		ErrUnexpected, t, h.Attempt, h.Block, rs.att.id, rs.att.blocks, rs.state)
}

func (rs *Responder) onSift(m *Sift) (Message, error) {
	fresh := m.Attempt == rs.att.id+1 && m.Block == 0 && rs.state != rAwaitSyndrome && rs.state != rReleasing
	same := m.Attempt == rs.att.id && int(m.Block) == rs.att.blocks && rs.state == rAwaitSift
	if !fresh && !same {
		return nil, rs.unexpected(TypeSift, m.Header)
	}
	if !fresh && rs.att.blocks >= rs.p.MaxBlocks {
		return nil, fmt.Errorf("%w: block %d beyond MaxBlocks %d", ErrMismatch, m.Block, rs.p.MaxBlocks)
	}
	if rs.r.consumed && int32(m.Lo-rs.r.base) < 0 {
		return nil, fmt.Errorf("%w: Sift range from round %d reuses consumed rounds", ErrMismatch, m.Lo)
	}
	if fresh {
		if rs.state == rAwaitSift { // the initiator gave up at MaxBlocks
			rs.stats.Abandoned++
		}
		rs.att.next()
	}
	rs.endBlock()
	rs.blk = rs.r.siftRange(m.Lo, m.Span, rs.p.Alpha)
	rs.mask = bitmapAnd(rs.blk.kept, m.Bitmap)
	rs.r.consume(m.Lo + uint32(m.Span))
	rs.state = rAwaitSyndrome
	rs.stats.Blocks++
	out := &SiftReply{Header: m.Header}
	out.Lo, out.Span, out.Bitmap = m.Lo, m.Span, rs.mask
	return out, nil
}

// modeError reports a message of the other reconciliation mode.
func (rs *Responder) modeError(t MsgType) error {
	return fmt.Errorf("%w: %v belongs to the %v reconciliation, this end runs %v: the ends' Params.Reconciliation differ",
		ErrMismatch, t, rs.p.Reconciliation^1, rs.p.Reconciliation)
}

func (rs *Responder) onSyndrome(m *Syndrome) (Message, error) {
	if rs.p.Reconciliation != OneShot {
		return nil, rs.modeError(TypeSyndrome)
	}
	if rs.state != rAwaitSyndrome || m.Attempt != rs.att.id || int(m.Block) != rs.att.blocks {
		return nil, rs.unexpected(TypeSyndrome, m.Header)
	}
	k := bitmapCount(rs.mask)
	if m.Bits != k {
		return nil, fmt.Errorf("%w: Syndrome for %d bits, intersection has %d", ErrMismatch, m.Bits, k)
	}
	bits := rs.blk.keptBits(rs.mask)
	corrected, ok := 0, true
	for c := range chunkCount(k) {
		s, e := chunkBounds(k, c)
		n, good := bchDecode(bits[s:e], m.Syndromes[c*m.T:(c+1)*m.T])
		corrected += n
		ok = ok && good
	}
	rs.blk.wipe()
	rs.stats.Kept += k
	rs.stats.Steps++
	rs.stats.SyndromeBits += blockLeak(k, m.T)
	if ok {
		rs.att.add(bits)
		rs.att.leaked += blockLeak(k, m.T)
		rs.att.errs += corrected
		rs.att.used++
		rs.stats.Reconciled += k
		rs.stats.Errors += corrected
	} else {
		corrected = 0
		rs.stats.DecodeFailures++
		rs.att.failures++
	}
	clear(bits)
	rs.att.blocks++
	rs.state = rAwaitSift
	return &SyndromeReply{Header: m.Header, OK: ok, Corrected: corrected}, nil
}

func (rs *Responder) onVerify(m *Verify) (Message, *Result, error) {
	if rs.p.Reconciliation != OneShot {
		return nil, nil, rs.modeError(TypeVerify)
	}
	if rs.state != rAwaitSift || m.Attempt != rs.att.id || int(m.Block) != rs.att.blocks {
		return nil, nil, rs.unexpected(TypeVerify, m.Header)
	}
	l, leaked := len(rs.att.bits), rs.att.leaked+TagBits
	if m.Bits != l || m.Leaked != leaked {
		return nil, nil, fmt.Errorf("%w: Verify for %d bits and %d leaked, here %d and %d",
			ErrMismatch, m.Bits, m.Leaked, l, leaked)
	}
	if b := Bound(rs.p, l, leaked); b < SeedBits {
		return nil, nil, fmt.Errorf("%w: bound %d < %d bits for %d kept, %d leaked (Params differ?)",
			ErrMismatch, b, SeedBits, l, leaked)
	}
	tag := verifyTag(&m.Nonce, m.Attempt, rs.att.bits, m.Toeplitz)
	var res *Result
	if hmac.Equal(tag[:], m.Tag[:]) {
		var seed keys.Seed
		toeplitzHash(&seed, rs.att.bits, m.Toeplitz)
		res = rs.att.result(rs.p, &seed, 0, 1)
		seed.Zero()
		rs.att.verified(rs.p, &rs.stats)
		rs.stats.Seeds++
		rs.att.failures = 0
	} else {
		rs.stats.VerifyFailures++
		rs.att.failures++
	}
	rs.att.wipe() // the next attempt is opened by the initiator's Sift
	rs.state = rClosed
	return &VerifyReply{Header: m.Header, OK: res != nil}, res, nil
}

// endBlock wipes the incremental state of the block just finished.
func (rs *Responder) endBlock() {
	clear(rs.bits)
	rs.bits, rs.dec, rs.replies = nil, nil, 0
}

// checkStep validates a Step against the block and this end's schedule.
func (rs *Responder) checkStep(m *Step) error {
	if rs.p.Reconciliation != Incremental {
		return rs.modeError(TypeStep)
	}
	if rs.state != rAwaitSyndrome || m.Attempt != rs.att.id || int(m.Block) != rs.att.blocks {
		return rs.unexpected(TypeStep, m.Header)
	}
	k := bitmapCount(rs.mask)
	if m.Bits != k {
		return fmt.Errorf("%w: Step for %d bits, intersection has %d", ErrMismatch, m.Bits, k)
	}
	sent := 0
	if rs.dec != nil {
		sent = len(rs.dec.syn)
	}
	if m.First != sent {
		return fmt.Errorf("%w: Step from odd sum %d, %d received", ErrUnexpected, m.First, sent)
	}
	n, capT := len(m.Sums), incCap(rs.p, k)
	want := min(rs.p.step(), capT-sent)
	if (sent == 0 && (n > capT || (n == 0) != (k == 0))) || (sent > 0 && n != want) {
		return fmt.Errorf("%w: Step of %d odd sums after %d; this end's schedule (step %d, cap %d for %d bits) differs: Params differ",
			ErrMismatch, n, sent, rs.p.step(), capT, k)
	}
	return nil
}

func (rs *Responder) onStep(m *Step) (Message, error) {
	if err := rs.checkStep(m); err != nil {
		return nil, err
	}
	k := m.Bits
	if rs.dec == nil {
		rs.bits = rs.blk.keptBits(rs.mask)
		rs.blk.wipe()
		rs.dec = newIncDecoder(k)
		rs.stats.Kept += k
	}
	rs.stats.Steps++
	rs.dec.add(rs.bits, m.Sums)
	rs.replies++
	fm, t := fieldBits(k), len(rs.dec.syn)
	rs.stats.SyndromeBits += fm*len(m.Sums) + 1
	reply := &StepReply{Header: m.Header, Status: StepMore, Sums: t}
	pos, ok := []int(nil), k == 0
	if k > 0 {
		pos, ok = rs.dec.decode(rs.p.confirm())
	}
	switch {
	case ok:
		for _, p := range pos {
			rs.bits[p] ^= 1
		}
		leak := incLeak(fm, t, rs.replies)
		rs.stats.SyndromeBits += leak - fm*t - rs.replies
		rs.att.add(rs.bits)
		rs.att.leaked += leak
		rs.att.errs += len(pos)
		rs.att.used++
		rs.stats.Reconciled += k
		rs.stats.Errors += len(pos)
		reply.Status, reply.Corrected = StepDecoded, len(pos)
	case t >= incCap(rs.p, k):
		rs.stats.DecodeFailures++
		rs.att.failures++
		reply.Status = StepFailed
	default:
		return reply, nil
	}
	rs.endBlock()
	rs.att.blocks++
	rs.state = rAwaitSift
	return reply, nil
}

func (rs *Responder) onVerifySeeds(m *VerifySeeds) (Message, *Result, error) {
	if rs.p.Reconciliation != Incremental {
		return nil, nil, rs.modeError(TypeVerifySeeds)
	}
	if rs.state != rAwaitSift || m.Attempt != rs.att.id || int(m.Block) != rs.att.blocks {
		return nil, nil, rs.unexpected(TypeVerifySeeds, m.Header)
	}
	l, leaked := len(rs.att.bits), rs.att.leaked+TagBits
	if m.Bits != l || m.Leaked != leaked {
		return nil, nil, fmt.Errorf("%w: VerifySeeds for %d bits and %d leaked, here %d and %d",
			ErrMismatch, m.Bits, m.Leaked, l, leaked)
	}
	if b := Bound(rs.p, l, leaked); b < m.Seeds*SeedBits {
		return nil, nil, fmt.Errorf("%w: bound %d < %d bits (%d seeds) for %d kept, %d leaked (Params differ?)",
			ErrMismatch, b, m.Seeds*SeedBits, m.Seeds, l, leaked)
	}
	tag := verifySeedsTag(&m.Nonce, m.Attempt, m.Seeds, rs.att.bits, m.Toeplitz)
	if !hmac.Equal(tag[:], m.Tag[:]) {
		rs.stats.VerifyFailures++
		rs.att.failures++
		rs.att.wipe()
		rs.state = rClosed
		return &VerifyReply{Header: m.Header}, nil, nil
	}
	rs.att.seeds = hashSeeds(rs.att.seeds[:0], rs.att.bits, m.Toeplitz, m.Seeds)
	rs.att.verified(rs.p, &rs.stats)
	res := rs.releaseSeed()
	return &VerifyReply{Header: m.Header, OK: true}, res, nil
}

func (rs *Responder) onRelease(m *Release) (Message, *Result, error) {
	if rs.state != rReleasing || m.Attempt != rs.att.id || int(m.Block) != rs.att.blocks {
		return nil, nil, rs.unexpected(TypeRelease, m.Header)
	}
	if m.Index != rs.att.released {
		return nil, nil, fmt.Errorf("%w: Release of seed %d, seed %d is next", ErrUnexpected, m.Index, rs.att.released)
	}
	res := rs.releaseSeed()
	return &ReleaseReply{Header: m.Header, Index: m.Index}, res, nil
}

// releaseSeed returns the next seed of the verified attempt; after the
// last one the attempt is wiped and closed.
func (rs *Responder) releaseSeed() *Result {
	i, n := rs.att.released, len(rs.att.seeds)
	res := rs.att.result(rs.p, &rs.att.seeds[i], i, n)
	rs.att.seeds[i].Zero()
	rs.stats.Seeds++
	if i == 0 {
		rs.att.failures = 0
	}
	rs.att.released++
	rs.state = rReleasing
	if rs.att.released == n {
		rs.att.wipe() // the next attempt is opened by the initiator's Sift
		rs.state = rClosed
	}
	return res
}
