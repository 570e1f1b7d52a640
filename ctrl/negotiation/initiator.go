package negotiation

import (
	"fmt"
	"io"
)

type istate uint8

const (
	iIdle istate = iota // between blocks: Next may open one
	iAwaitSiftReply
	iAwaitSyndromeReply
	iAwaitVerifyReply
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
	t       int     // its BCH strength
	seed    Seed    // pending seed, released on a matching VerifyReply
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
// spread over more than MaxSpan) and returns the Sift to send. It returns
// nil, nil when there is nothing to send.
func (in *Initiator) Next() (Message, error) {
	if in.state != iIdle || len(in.r.counts) < in.p.N {
		return nil, nil
	}
	ids := in.r.oldest(in.p.N)
	lo := ids[0]
	span := 0
	for _, id := range ids {
		if off := int(id - lo); off < MaxSpan {
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
	case *VerifyReply:
		return in.onVerifyReply(m)
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
	t := chooseT(len(bits), in.q.estimate(in.p.InitialQBER), in.p.TargetFailure)
	out := &Syndrome{Header: m.Header, Bits: len(bits), T: t}
	out.Syndromes = make([]uint16, chunkCount(len(bits))*t)
	for c := range chunkCount(len(bits)) {
		s, e := chunkBounds(len(bits), c)
		oddSyndromes(out.Syndromes[c*t:(c+1)*t], bits[s:e])
	}
	in.blk.wipe()
	in.bits, in.t = bits, t
	in.state = iAwaitSyndromeReply
	in.pending = out
	in.stats.Kept += len(bits)
	in.stats.SyndromeBits += blockLeak(len(bits), t)
	return out, nil
}

func (in *Initiator) onSyndromeReply(m *SyndromeReply) (Message, error) {
	if err := in.expect(iAwaitSyndromeReply, m.Header, in.att.blocks, TypeSyndromeReply); err != nil {
		return nil, err
	}
	k := len(in.bits)
	if m.Corrected > chunkCount(k)*in.t {
		return nil, fmt.Errorf("%w: %d corrections exceed %d", ErrMismatch, m.Corrected, chunkCount(k)*in.t)
	}
	// Draw the randomness of a closing Verify before changing anything, so
	// that a failing source leaves the state as it was.
	var nonce [nonceSize]byte
	var toeplitz []byte
	closing := m.OK && Bound(in.p, len(in.att.bits)+k, in.att.leaked+blockLeak(k, in.t)+TagBits) >= SeedBits
	if closing {
		toeplitz = make([]byte, toeplitzSeedBytes(len(in.att.bits)+k))
		if err := in.readRandom(nonce[:], toeplitz); err != nil {
			return nil, err
		}
	}
	in.absorb(m)
	if closing {
		return in.close(nonce, toeplitz), nil
	}
	if in.att.blocks >= in.p.MaxBlocks {
		in.stats.Abandoned++
		in.att.next()
	}
	return in.Next()
}

// absorb adds the block just decoded to the attempt or drops it.
func (in *Initiator) absorb(m *SyndromeReply) {
	k := len(in.bits)
	if m.OK {
		in.att.add(in.bits)
		in.att.leaked += blockLeak(k, in.t)
		in.att.errs += m.Corrected
		in.att.used++
		in.q.record(m.Corrected, k)
		in.stats.Reconciled += k
		in.stats.Errors += m.Corrected
	} else {
		// More than t disagreements in some chunk: record a pessimistic
		// count so the next blocks get a stronger code.
		in.q.record(2*(in.t+1)*chunkCount(k), k)
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

// close builds the Verify of a complete attempt and the pending seed.
func (in *Initiator) close(nonce [nonceSize]byte, toeplitz []byte) Message {
	l := len(in.att.bits)
	if pad := (l + SeedBits - 1) % 8; pad != 0 {
		toeplitz[len(toeplitz)-1] &^= 0xff >> pad
	}
	v := &Verify{
		Header: Header{Attempt: in.att.id, Block: uint16(in.att.blocks)},
		Bits:   l, Leaked: in.att.leaked + TagBits, Nonce: nonce, Toeplitz: toeplitz,
	}
	v.Tag = verifyTag(&nonce, in.att.id, in.att.bits, toeplitz)
	toeplitzHash(&in.seed, in.att.bits, toeplitz)
	in.state = iAwaitVerifyReply
	in.pending = v
	return v
}

func (in *Initiator) onVerifyReply(m *VerifyReply) (Message, *Result, error) {
	if err := in.expect(iAwaitVerifyReply, m.Header, in.att.blocks, TypeVerifyReply); err != nil {
		return nil, nil, err
	}
	var res *Result
	if m.OK {
		res = in.att.result(in.p, &in.seed)
		in.stats.Seeds++
		in.stats.LeakedBits += res.LeakedBits
		in.att.failures = 0
	} else {
		in.stats.VerifyFailures++
		in.att.failures++
	}
	in.seed.Zero()
	in.att.next()
	in.state = iIdle
	in.pending = nil
	next, err := in.Next()
	return next, res, err
}
