package negotiation

import (
	"fmt"
	"io"

	"github.com/otkd/otkd/internal/keys"
)

type istate uint8

const (
	iIdle istate = iota // between blocks: Next may open one
	iAwaitSiftReply
	iAwaitSyndromeReply // one-shot: Syndrome sent
	iAwaitStepReply     // incremental: Step sent
	iAwaitVerifyReply
	iAwaitReleaseReply // incremental: Release sent
)

// Initiator runs post-processing at the end that owns a direction's rounds.
// Add counts; call Next to open a block when enough are there; pass every
// reply to Handle and send what it returns. It is not safe for concurrent
// use.
type Initiator struct {
	p     Params
	rand  io.Reader
	r     rounds
	state istate
	att   attempt
	q     qberEstimator
	stats Stats

	blk     block   // block in flight
	bits    []byte  // its kept bits after the intersection
	t       int     // one-shot: its BCH strength; incremental: odd sums sent
	replies int     // incremental: StepReplies received for it
	nseeds  int     // seeds of the attempt being verified
	pending Message // the last message sent, until its reply arrives
}

// NewInitiator returns an initiator drawing nonces and Toeplitz seeds from
// rand (crypto/rand.Reader in production).
func NewInitiator(p Params, rand io.Reader) (*Initiator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if rand == nil {
		return nil, fmt.Errorf("%w: nil random source", ErrParams)
	}
	return &Initiator{p: p, rand: rand, att: attempt{id: 1}}, nil
}

// Add records the error count of a round. It refuses a duplicate id, an id
// already consumed by a block (a late round: harmless, drop it) and a count
// outside 0…65535; the state is unchanged on error.
func (in *Initiator) Add(round uint32, count int) error {
	if err := in.r.add(round, count); err != nil {
		return err
	}
	in.stats.Rounds++
	return nil
}

// Stats returns the counters.
func (in *Initiator) Stats() Stats { return in.stats }

// Restart abandons the attempt in progress (its reconciled blocks are
// wiped) so that the next block opens a new attempt, which the responder
// accepts as fresh. It is what an operator's "negotiate now" does. Only
// between blocks: ErrBusy while a message awaits its reply.
func (in *Initiator) Restart() error {
	if in.state != iIdle {
		return ErrBusy
	}
	if in.att.blocks > 0 {
		in.att.next()
	}
	return nil
}

// Params returns the parameters.
func (in *Initiator) Params() Params { return in.p }

// Pending returns the message sent last whose reply has not arrived (nil
// when none): what a transport retransmits after a loss.
func (in *Initiator) Pending() Message { return in.pending }

// Next opens the next block when the machine is between blocks and holds at
// least N counts: it consumes the N oldest rounds (fewer when their ids
// spread over more than a Sift of MaxMessageSize can carry) and returns the
// Sift to send. It returns
// nil, nil when there is nothing to send.
func (in *Initiator) Next() (Message, error) {
	if in.state != iIdle || len(in.r.counts) < in.p.N {
		return nil, nil
	}
	ids := in.r.oldest(in.p.N)
	lo := ids[0]
	span := 0
	for _, id := range ids {
		if off := int(id - lo); off < maxSiftSpan {
			span = off + 1
		}
	}
	in.blk = in.r.siftRange(lo, span, in.p.Alpha)
	in.r.consume(lo + uint32(span))
	in.state = iAwaitSiftReply
	in.stats.Blocks++
	m := &Sift{Header: Header{Attempt: in.att.id, Block: uint16(in.att.blocks)}}
	m.Lo, m.Span, m.Bitmap = lo, span, in.blk.kept
	in.pending = m
	return m, nil
}

// Handle processes a reply from the responder. It returns the next message
// to send (nil: none now; call Next after more Adds) and, when an attempt
// ends with matching tags, the Result. A malformed, unexpected or
// contradicting message is rejected with an error wrapping ErrMalformed,
// ErrUnexpected or ErrMismatch and the state is unchanged.
func (in *Initiator) Handle(m Message) (Message, *Result, error) {
	if isNil(m) {
		return nil, nil, fmt.Errorf("%w: nil message", ErrUnexpected)
	}
	if _, err := m.MarshalBinary(); err != nil { // validates a message built in memory
		return nil, nil, err
	}
	switch m := m.(type) {
	case *SiftReply:
		out, err := in.onSiftReply(m)
		return out, nil, err
	case *SyndromeReply:
		out, err := in.onSyndromeReply(m)
		return out, nil, err
	case *StepReply:
		out, err := in.onStepReply(m)
		return out, nil, err
	case *VerifyReply:
		return in.onVerifyReply(m)
	case *ReleaseReply:
		return in.onReleaseReply(m)
	}
	return nil, nil, fmt.Errorf("%w: %v at the initiator", ErrUnexpected, m.Type())
}

func (in *Initiator) expect(st istate, h Header, block int, t MsgType) error {
	if in.state != st || h.Attempt != in.att.id || int(h.Block) != block {
		return fmt.Errorf("%w: %v for attempt %d block %d (at attempt %d block %d, state %d)",
			ErrUnexpected, t, h.Attempt, h.Block, in.att.id, block, in.state)
	}
	return nil
}

func (in *Initiator) onSiftReply(m *SiftReply) (Message, error) {
	if err := in.expect(iAwaitSiftReply, m.Header, in.att.blocks, TypeSiftReply); err != nil {
		return nil, err
	}
	if m.Lo != in.blk.lo || m.Span != in.blk.span || !bitmapSubset(m.Bitmap, in.blk.kept) {
		return nil, fmt.Errorf("%w: SiftReply range or intersection does not match the Sift", ErrMismatch)
	}
	bits := in.blk.keptBits(m.Bitmap)
	in.blk.wipe()
	in.bits, in.replies = bits, 0
	in.stats.Kept += len(bits)
	in.stats.Steps++
	var out Message
	if in.p.Reconciliation == OneShot {
		out = in.syndrome(m.Header)
	} else {
		q := in.q.rate(in.p.InitialQBER)
		t0 := firstStep(len(bits), q, in.p.firstStep(), in.p.confirm(), incCap(in.p, len(bits)))
		out = in.step(m.Header, 0, t0)
	}
	in.pending = out
	return out, nil
}

// syndrome builds the one-shot Syndrome of the block in in.bits.
func (in *Initiator) syndrome(h Header) Message {
	bits := in.bits
	t := chooseT(len(bits), in.q.estimate(in.p.InitialQBER), in.p.TargetFailure)
	out := &Syndrome{Header: h, Bits: len(bits), T: t}
	out.Syndromes = make([]uint16, chunkCount(len(bits))*t)
	for c := range chunkCount(len(bits)) {
		s, e := chunkBounds(len(bits), c)
		oddSyndromes(out.Syndromes[c*t:(c+1)*t], bits[s:e])
	}
	in.t = t
	in.state = iAwaitSyndromeReply
	in.stats.SyndromeBits += blockLeak(len(bits), t)
	return out
}

// step builds the incremental Step publishing odd sums first … first+n−1
// of the block in in.bits.
func (in *Initiator) step(h Header, first, n int) Message {
	k := len(in.bits)
	out := &Step{Header: h, Bits: k, First: first, Sums: make([]uint16, n)}
	if n > 0 {
		gf(fieldBits(k)).oddSums(out.Sums, in.bits, first)
	}
	in.t = first + n
	in.state = iAwaitStepReply
	in.stats.SyndromeBits += fieldBits(k) * n
	return out
}

func (in *Initiator) onSyndromeReply(m *SyndromeReply) (Message, error) {
	if err := in.expect(iAwaitSyndromeReply, m.Header, in.att.blocks, TypeSyndromeReply); err != nil {
		return nil, err
	}
	k := len(in.bits)
	if m.Corrected > chunkCount(k)*in.t {
		return nil, fmt.Errorf("%w: %d corrections exceed %d", ErrMismatch, m.Corrected, chunkCount(k)*in.t)
	}
	// A decode failure records a pessimistic count so that the next
	// blocks get a stronger code.
	return in.blockDone(m.OK, blockLeak(k, in.t), m.Corrected, 2*(in.t+1)*chunkCount(k))
}

func (in *Initiator) onStepReply(m *StepReply) (Message, error) {
	if err := in.expect(iAwaitStepReply, m.Header, in.att.blocks, TypeStepReply); err != nil {
		return nil, err
	}
	k, capT := len(in.bits), incCap(in.p, len(in.bits))
	switch {
	case m.Sums != in.t:
		return nil, fmt.Errorf("%w: StepReply for %d odd sums, %d sent", ErrMismatch, m.Sums, in.t)
	case m.Status == StepDecoded && m.Corrected > in.t:
		return nil, fmt.Errorf("%w: %d corrections from %d odd sums", ErrMismatch, m.Corrected, in.t)
	case m.Status == StepMore && in.t >= capT:
		return nil, fmt.Errorf("%w: responder asks for more than the cap of %d odd sums (Params differ?)", ErrMismatch, capT)
	case m.Status == StepFailed && in.t < capT:
		return nil, fmt.Errorf("%w: responder gave up at %d of %d odd sums (Params differ?)", ErrMismatch, in.t, capT)
	}
	if m.Status == StepMore {
		in.replies++
		in.stats.SyndromeBits++ // the status bit
		in.stats.Steps++
		out := in.step(m.Header, in.t, min(in.p.step(), capT-in.t))
		in.pending = out
		return out, nil
	}
	m0, t, replies := fieldBits(k), in.t, in.replies+1
	leak := m0*t + replies
	if m.Status == StepDecoded {
		leak = incLeak(m0, t, replies)
	}
	out, err := in.blockDone(m.Status == StepDecoded, leak, m.Corrected, 2*(t+1))
	if err != nil { // the random source failed: nothing changed
		return nil, err
	}
	in.stats.SyndromeBits += leak - m0*t - (replies - 1) // the last status bit and the count
	return out, nil
}

// blockDone ends the block in flight, reconciled with leak bits published
// and corrected disagreements (ok) or dropped (failErrs is the count the
// disagreement estimate records); then it closes the attempt, abandons it
// (MaxBlocks or the Verify size reached without enough seeds) or opens the
// next block. The randomness of a closing Verify is drawn before anything
// changes, so that a failing source leaves the state as it was.
func (in *Initiator) blockDone(ok bool, leak, corrected, failErrs int) (Message, error) {
	l, leaked := len(in.att.bits), in.att.leaked
	if ok {
		l, leaked = l+len(in.bits), leaked+leak
	}
	seeds := seedsFor(in.p, l, leaked)
	last := in.att.blocks+1 >= in.p.MaxBlocks || !verifyFits(in.p, l+in.p.N, 1)
	closing := seeds >= 1 && (in.p.Reconciliation == OneShot || seeds >= in.p.minSeeds() || last)
	var nonce [nonceSize]byte
	var toeplitz []byte
	if closing {
		toeplitz = make([]byte, (l+seeds*SeedBits-1+7)/8)
		if err := in.readRandom(nonce[:], toeplitz); err != nil {
			return nil, err
		}
	}
	in.absorb(ok, leak, corrected, failErrs)
	if closing {
		return in.close(nonce, toeplitz, seeds), nil
	}
	if last {
		in.stats.Abandoned++
		in.att.next()
	}
	return in.Next()
}

// absorb adds the block just decoded to the attempt or drops it.
func (in *Initiator) absorb(ok bool, leak, corrected, failErrs int) {
	k := len(in.bits)
	if ok {
		in.att.add(in.bits)
		in.att.leaked += leak
		in.att.errs += corrected
		in.att.used++
		in.q.record(corrected, k)
		in.stats.Reconciled += k
		in.stats.Errors += corrected
	} else {
		in.q.record(failErrs, k)
		in.stats.DecodeFailures++
		in.att.failures++
	}
	clear(in.bits)
	in.bits = nil
	in.att.blocks++
	in.state = iIdle
	in.pending = nil
}

func (in *Initiator) readRandom(bufs ...[]byte) error {
	for _, b := range bufs {
		if _, err := io.ReadFull(in.rand, b); err != nil {
			return fmt.Errorf("negotiation: random source: %w", err)
		}
	}
	return nil
}

// close builds the Verify (one-shot) or VerifySeeds of a complete attempt
// and its pending seeds.
func (in *Initiator) close(nonce [nonceSize]byte, toeplitz []byte, seeds int) Message {
	l := len(in.att.bits)
	if pad := (l + seeds*SeedBits - 1) % 8; pad != 0 {
		toeplitz[len(toeplitz)-1] &^= 0xff >> pad
	}
	h := Header{Attempt: in.att.id, Block: uint16(in.att.blocks)}
	in.att.seeds = hashSeeds(in.att.seeds[:0], in.att.bits, toeplitz, seeds)
	in.nseeds = seeds
	in.state = iAwaitVerifyReply
	if in.p.Reconciliation == OneShot {
		v := &Verify{Header: h, Bits: l, Leaked: in.att.leaked + TagBits, Nonce: nonce, Toeplitz: toeplitz}
		v.Tag = verifyTag(&nonce, in.att.id, in.att.bits, toeplitz)
		in.pending = v
		return v
	}
	v := &VerifySeeds{Header: h, Bits: l, Leaked: in.att.leaked + TagBits, Seeds: seeds, Nonce: nonce, Toeplitz: toeplitz}
	v.Tag = verifySeedsTag(&nonce, in.att.id, seeds, in.att.bits, toeplitz)
	in.pending = v
	return v
}

// hashSeeds appends the n seeds that the Toeplitz seed s extracts from x.
func hashSeeds(dst []keys.Seed, x, s []byte, n int) []keys.Seed {
	out := make([]byte, n*SeedBits/8)
	toeplitzHashN(out, x, s)
	for i := range n {
		var seed keys.Seed
		copy(seed[:], out[i*len(seed):])
		dst = append(dst, seed)
	}
	clear(out)
	return dst
}

func (in *Initiator) onVerifyReply(m *VerifyReply) (Message, *Result, error) {
	if err := in.expect(iAwaitVerifyReply, m.Header, in.att.blocks, TypeVerifyReply); err != nil {
		return nil, nil, err
	}
	if !m.OK {
		in.stats.VerifyFailures++
		in.att.failures++
		return in.endAttempt(nil)
	}
	in.att.verified(in.p, &in.stats)
	return in.release(m.Header)
}

func (in *Initiator) onReleaseReply(m *ReleaseReply) (Message, *Result, error) {
	if err := in.expect(iAwaitReleaseReply, m.Header, in.att.blocks, TypeReleaseReply); err != nil {
		return nil, nil, err
	}
	if m.Index != in.att.released {
		return nil, nil, fmt.Errorf("%w: ReleaseReply for seed %d, seed %d released", ErrMismatch, m.Index, in.att.released)
	}
	return in.release(m.Header)
}

// release returns the next seed of a verified attempt, with the Release of
// the one after it or, after the last, whatever comes next.
func (in *Initiator) release(h Header) (Message, *Result, error) {
	i := in.att.released
	res := in.att.result(in.p, &in.att.seeds[i], i, in.nseeds)
	in.att.seeds[i].Zero()
	in.stats.Seeds++
	if i == 0 {
		in.att.failures = 0
	}
	if i+1 == in.nseeds {
		return in.endAttempt(res)
	}
	in.att.released = i + 1
	out := &Release{Header: h, Index: i + 1}
	in.state = iAwaitReleaseReply
	in.pending = out
	return out, res, nil
}

// endAttempt wipes the attempt, starts the next one and opens a block if
// the counts are there.
func (in *Initiator) endAttempt(res *Result) (Message, *Result, error) {
	in.att.next()
	in.state = iIdle
	in.pending = nil
	next, err := in.Next()
	return next, res, err
}
