package mpc

// The broadcast channel of key-generation and refresh rounds.
//
// One node coordinates a round; every node (the coordinator too, through
// direct calls) is a Participant. The coordinator drives four phases, each a
// POST to every node over mutual TLS, in parallel:
//
//	deal     body: epoch u64          → the node's signed Dealing for that
//	                                    epoch, made once and returned again
//	check    body: Transcript (dealings only)
//	                                  → the node's signed Complaints and its
//	                                    signed Attestation of them (a
//	                                    Transcript without dealings)
//	prepare  body: Transcript (dealings and complaints)
//	                                  → the node's signed Vote for
//	                                    SM3(transcript); one vote per epoch
//	commit   body: Commit (Transcript ‖ n Votes)
//	                                  → the node's PublicState after Finish
//
// A round needs all n nodes: a node commits only with the votes of all n on
// the digest it voted for itself. It votes only for the canonical complete
// transcript: every node's dealing and every node's attestation, in index
// order, and exactly the complaints the attestations name. Each node makes
// one dealing and one attestation per set of dealings and stores them before
// giving them out, so honest nodes have one such transcript per epoch, and
// any coordinator rebuilds it after a crash or restart. Each node checks every signature itself
// (dealings, complaints, votes against the configured SM2 keys), so the
// coordinator is trusted for liveness only:
//
//   - it cannot forge or alter a dealing, complaint or vote, nor read a share
//     (shares are encrypted to their node's key);
//   - it cannot drop or add a dealing or complaint: a node votes only for
//     a transcript holding every node's dealing and attestation, and
//     exactly the complaints they attest;
//   - it cannot make two nodes finish with different transcripts: every
//     node votes for at most one digest per epoch (the vote is recorded
//     before it is signed) and finishes only on n votes for its digest;
//   - it can stall a round, or deliver the commit to some nodes only; the
//     others stay at the old epoch until a commit reaches them, which
//     Cluster.Run does first thing (catch-up), from any node that holds the
//     commit of that epoch.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// Paths of the round endpoints (RoundHandler).
const (
	PathRoundDeal    = "/mpc/v1/round/deal"
	PathRoundCheck   = "/mpc/v1/round/check"
	PathRoundPrepare = "/mpc/v1/round/prepare"
	PathRoundCommit  = "/mpc/v1/round/commit"
	PathRoundLast    = "/mpc/v1/round/last"
	PathRoundState   = "/mpc/v1/round/state"
	// HeaderEpoch carries a node's epoch in a 409 reply, so the coordinator
	// sees who is behind or ahead.
	HeaderEpoch = "Otkd-Mpc-Epoch"
)

// Errors of the broadcast.
var (
	ErrVoteConflict = errors.New("mpc: already voted for another transcript of this epoch")
	ErrTranscript   = errors.New("mpc: transcript refused")
	ErrRound        = errors.New("mpc: round failed")
)

// Wire types of the broadcast messages.
const (
	typeTranscript  = 6
	typeVote        = 7
	typeCommit      = 8
	typeAttestation = 10 // 9 was a complaint list, before attestations
)

// maxRoundBody bounds a round message: n dealings of at most
// 16 + 63·65 + 64·141 + 81 bytes each, plus complaints and votes.
const maxRoundBody = 2 << 20

// Transcript is the broadcast content of one round: every dealing, every
// complaint and every node's attestation of its complaints. Its digest is
// what nodes vote for.
//
// Wire: 1 ‖ 6 ‖ epoch u64 ‖ count u16 ‖ count × (len u32 ‖ Dealing)
// ‖ count u16 ‖ count × (len u16 ‖ Complaint)
// ‖ count u16 ‖ count × (len u16 ‖ Attestation).
type Transcript struct {
	Epoch        uint64
	Dealings     []*Dealing
	Complaints   []*Complaint
	Attestations []*Attestation
}

// MarshalBinary encodes t in the wire format above.
func (t *Transcript) MarshalBinary() ([]byte, error) {
	b := appendHeader(nil, typeTranscript)
	b = appendU64(b, t.Epoch)
	b = appendU16(b, len(t.Dealings))
	for _, d := range t.Dealings {
		m, _ := d.MarshalBinary()
		b = append(binary.BigEndian.AppendUint32(b, uint32(len(m))), m...)
	}
	b = appendU16(b, len(t.Complaints))
	for _, c := range t.Complaints {
		m, _ := c.MarshalBinary()
		b = append(appendU16(b, len(m)), m...)
	}
	b = appendU16(b, len(t.Attestations))
	for _, a := range t.Attestations {
		m, _ := a.MarshalBinary()
		b = append(appendU16(b, len(m)), m...)
	}
	return b, nil
}

// UnmarshalBinary decodes and strictly validates the encoding (each message
// as its own decoder does); signatures are checked by the participants.
func (t *Transcript) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeTranscript, "transcript")
	out, err := readTranscript(r)
	if err != nil {
		return err
	}
	if err := r.end("transcript"); err != nil {
		return err
	}
	*t = *out
	return nil
}

func readTranscript(r *reader) (*Transcript, error) {
	out := &Transcript{Epoch: r.u64("epoch")}
	nd := r.u16("dealing count")
	if r.err == nil && (out.Epoch == 0 || nd > MaxNodes) {
		r.fail("transcript: epoch %d, %d dealings", out.Epoch, nd)
	}
	for i := 0; r.err == nil && i < nd; i++ {
		d := &Dealing{}
		if m := r.take(r.u32("dealing length"), "dealing"); r.err == nil {
			if err := d.UnmarshalBinary(m); err != nil {
				return nil, fmt.Errorf("transcript: dealing %d: %w", i, err)
			}
		}
		out.Dealings = append(out.Dealings, d)
	}
	nc := r.u16("complaint count")
	if r.err == nil && nc > MaxNodes*MaxNodes {
		r.fail("transcript: %d complaints", nc)
	}
	for i := 0; r.err == nil && i < nc; i++ {
		c := &Complaint{}
		if m := r.take(r.u16("complaint length"), "complaint"); r.err == nil {
			if err := c.UnmarshalBinary(m); err != nil {
				return nil, fmt.Errorf("transcript: complaint %d: %w", i, err)
			}
		}
		out.Complaints = append(out.Complaints, c)
	}
	na := r.u16("attestation count")
	if r.err == nil && na > MaxNodes {
		r.fail("transcript: %d attestations", na)
	}
	for i := 0; r.err == nil && i < na; i++ {
		a := &Attestation{}
		if m := r.take(r.u16("attestation length"), "attestation"); r.err == nil {
			if err := a.UnmarshalBinary(m); err != nil {
				return nil, fmt.Errorf("transcript: attestation %d: %w", i, err)
			}
		}
		out.Attestations = append(out.Attestations, a)
	}
	return out, r.err
}

// dealingsDigest is SM3 over a label and the transcript of t's epoch and
// dealings alone: what an attestation is about.
func dealingsDigest(t *Transcript) [32]byte {
	b, _ := (&Transcript{Epoch: t.Epoch, Dealings: t.Dealings}).MarshalBinary()
	h := sm3.New()
	h.Write([]byte("otkd/mpc/dealings/v1"))
	h.Write(b)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Attestation is a node's signed statement, for the dealings with digest
// Dealings, of the dealers it complains about (ascending): with every
// node's attestation in the transcript, no complaint can be left out or
// slipped in.
//
// Wire: 1 ‖ 10 ‖ epoch u64 ‖ index u16 ‖ dealings digest (32) ‖ count u8
// ‖ count × accused u16 ‖ sigLen u8 ‖ signature.
type Attestation struct {
	Epoch    uint64
	Index    int
	Dealings [32]byte
	Accused  []int
	sig      []byte
}

func (a *Attestation) signed() []byte {
	b := appendHeader(make([]byte, 0, 45+2*len(a.Accused)), typeAttestation)
	b = appendU64(b, a.Epoch)
	b = appendU16(b, a.Index)
	b = append(b, a.Dealings[:]...)
	b = append(b, byte(len(a.Accused)))
	for _, j := range a.Accused {
		b = appendU16(b, j)
	}
	return b
}

// MarshalBinary encodes a in the wire format above.
func (a *Attestation) MarshalBinary() ([]byte, error) {
	b := a.signed()
	b = append(b, byte(len(a.sig)))
	return append(b, a.sig...), nil
}

// UnmarshalBinary decodes and strictly validates the encoding (indices in
// range, accused ascending, not the attester).
func (a *Attestation) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeAttestation, "attestation")
	var out Attestation
	out.Epoch, out.Index = r.u64("epoch"), r.u16("index")
	copy(out.Dealings[:], r.take(32, "dealings digest"))
	if r.err == nil && (out.Epoch == 0 || out.Index < 1 || out.Index > MaxNodes) {
		r.fail("attestation: epoch %d index %d", out.Epoch, out.Index)
	}
	n := r.u8("count")
	if r.err == nil && n >= MaxNodes {
		r.fail("attestation: %d accused", n)
	}
	for i := 0; r.err == nil && i < n; i++ {
		j := r.u16("accused")
		if r.err == nil && (j < 1 || j > MaxNodes || j == out.Index || (i > 0 && j <= out.Accused[i-1])) {
			r.fail("attestation: accused %d", j)
		}
		out.Accused = append(out.Accused, j)
	}
	if l := r.u8("signature length"); r.err == nil && (l == 0 || l > maxSigLen) {
		r.fail("attestation: signature length %d", l)
	} else {
		out.sig = slices.Clone(r.take(l, "signature"))
	}
	if err := r.end("attestation"); err != nil {
		return err
	}
	*a = out
	return nil
}

// Digest returns SM3 over a label and the transcript's encoding.
func (t *Transcript) Digest() [32]byte {
	b, _ := t.MarshalBinary()
	h := sm3.New()
	h.Write([]byte("otkd/mpc/transcript/v1"))
	h.Write(b)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Vote is a node's signed statement that it accepts the transcript with
// Digest for Epoch, and will finish the round with it given all n votes.
//
// Wire: 1 ‖ 7 ‖ epoch u64 ‖ index u16 ‖ digest (32) ‖ sigLen u8 ‖ signature.
type Vote struct {
	Epoch  uint64
	Index  int
	Digest [32]byte
	sig    []byte
}

func (v *Vote) signed() []byte {
	b := appendHeader(make([]byte, 0, 44), typeVote)
	b = appendU64(b, v.Epoch)
	b = appendU16(b, v.Index)
	return append(b, v.Digest[:]...)
}

// MarshalBinary encodes v in the wire format above.
func (v *Vote) MarshalBinary() ([]byte, error) {
	b := v.signed()
	b = append(b, byte(len(v.sig)))
	return append(b, v.sig...), nil
}

// UnmarshalBinary decodes and strictly validates the encoding.
func (v *Vote) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeVote, "vote")
	var out Vote
	out.Epoch, out.Index = r.u64("epoch"), r.u16("index")
	copy(out.Digest[:], r.take(32, "digest"))
	if r.err == nil && (out.Epoch == 0 || out.Index < 1 || out.Index > MaxNodes) {
		r.fail("vote: epoch %d index %d", out.Epoch, out.Index)
	}
	if l := r.u8("signature length"); r.err == nil && (l == 0 || l > maxSigLen) {
		r.fail("vote: signature length %d", l)
	} else {
		out.sig = slices.Clone(r.take(l, "signature"))
	}
	if err := r.end("vote"); err != nil {
		return err
	}
	*v = out
	return nil
}

// Commit is the last message of a round: the transcript and the votes of
// all n nodes for its digest. Any node holding it can hand it to a node that
// missed it (it holds no secret: the shares in it are encrypted).
//
// Wire: 1 ‖ 8 ‖ Transcript body (after its header) ‖ count u8 ‖
// count × (len u8 ‖ Vote).
type Commit struct {
	Transcript *Transcript
	Votes      []*Vote
}

// MarshalBinary encodes c in the wire format above.
func (c *Commit) MarshalBinary() ([]byte, error) {
	t, _ := c.Transcript.MarshalBinary()
	b := appendHeader(nil, typeCommit)
	b = append(b, t[2:]...)
	b = append(b, byte(len(c.Votes)))
	for _, v := range c.Votes {
		m, _ := v.MarshalBinary()
		b = append(append(b, byte(len(m))), m...)
	}
	return b, nil
}

// UnmarshalBinary decodes and strictly validates the encoding.
func (c *Commit) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeCommit, "commit")
	t, err := readTranscript(r)
	if err != nil {
		return err
	}
	out := Commit{Transcript: t}
	nv := r.u8("vote count")
	if r.err == nil && nv > MaxNodes {
		r.fail("commit: %d votes", nv)
	}
	for i := 0; r.err == nil && i < nv; i++ {
		v := &Vote{}
		if m := r.take(r.u8("vote length"), "vote"); r.err == nil {
			if err := v.UnmarshalBinary(m); err != nil {
				return fmt.Errorf("commit: vote %d: %w", i, err)
			}
		}
		out.Votes = append(out.Votes, v)
	}
	if err := r.end("commit"); err != nil {
		return err
	}
	*c = out
	return nil
}

// VoteStore records a node's votes durably: a node that restarts must not
// vote for a second transcript of an epoch it already voted in.
type VoteStore interface {
	// Vote records digest for epoch unless a vote for epoch exists; it
	// returns the recorded digest (the new one, or the earlier).
	Vote(epoch uint64, digest [32]byte) ([32]byte, error)
}

// memVotes is the VoteStore of a Participant without one: memory only.
type memVotes struct {
	mu    sync.Mutex
	votes map[uint64][32]byte
}

func (m *memVotes) Vote(epoch uint64, digest [32]byte) ([32]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.votes[epoch]; ok {
		return d, nil
	}
	if m.votes == nil {
		m.votes = map[uint64][32]byte{}
	}
	m.votes[epoch] = digest
	return digest, nil
}

// ParticipantOptions configure a Participant. The zero value is usable.
type ParticipantOptions struct {
	// Votes records the node's votes; nil keeps them in memory only (a
	// restart between prepare and commit could then vote twice).
	Votes VoteStore
	// OnFinish is called, under the participant's lock, with the node's
	// state (Node.MarshalState) and the commit after each finished round,
	// to persist both. An error is returned to the coordinator; the node
	// has moved to the new epoch in memory all the same.
	OnFinish func(state []byte, commit []byte) error
	// LastCommit is the commit of the node's current epoch as OnFinish
	// stored it, for catching up other nodes after a restart; nil if none.
	LastCommit []byte
	// SaveRound, if not nil, is called under the participant's lock with
	// the node's part of the round in progress (its dealing and its
	// complaints, as a Transcript encoding) before they are given out, to
	// persist it: a node restarted in the middle of a round then serves the
	// same dealing and complaints again, so the round can still finish with
	// the transcript nodes may already have voted for. They hold no secret
	// (the shares are encrypted to their nodes).
	SaveRound func(round []byte) error
	// Round is what SaveRound last stored; ignored unless it is for the
	// epoch after the node's.
	Round []byte
}

// Participant is a node's side of the broadcast: it answers the four
// phases for its Node. Safe for concurrent use; phases are serialised.
type Participant struct {
	nd   *Node
	opts ParticipantOptions

	mu         sync.Mutex
	dealt      *Dealing     // the node's dealing for the next epoch
	complaints []*Complaint // the complaints it made about dealt's round
	attest     *Attestation // its attestation of them, for one set of dealings
	last       []byte       // the commit of lastEpoch
	lastEpoch  uint64
	lastQual   []int              // the qualified dealers of lastEpoch
	votes      VoteStore          // never nil
	keys       []*ecdsa.PublicKey // the nodes' SM2 keys, by index−1
}

// NewParticipant returns the participant of nd.
func NewParticipant(nd *Node, opts ParticipantOptions) *Participant {
	p := &Participant{nd: nd, opts: opts, votes: opts.Votes}
	if p.votes == nil {
		p.votes = &memVotes{}
	}
	if len(opts.LastCommit) > 0 {
		var c Commit
		if c.UnmarshalBinary(opts.LastCommit) == nil && c.Transcript.Epoch == nd.Epoch() {
			p.last, p.lastEpoch = slices.Clone(opts.LastCommit), c.Transcript.Epoch
		}
	}
	for _, pt := range nd.peers {
		p.keys = append(p.keys, pt.ecdsaKey())
	}
	var r Transcript
	if len(opts.Round) > 0 && r.UnmarshalBinary(opts.Round) == nil && r.Epoch == nd.Epoch()+1 &&
		len(r.Dealings) == 1 && r.Dealings[0].Dealer == nd.index && r.Dealings[0].Epoch == r.Epoch {
		p.dealt, p.complaints = r.Dealings[0], r.Complaints
		if len(r.Attestations) == 1 && r.Attestations[0].Index == nd.index {
			p.attest = r.Attestations[0]
		}
	}
	return p
}

// saveRound persists the node's part of the round (SaveRound).
func (p *Participant) saveRound(d *Dealing, complaints []*Complaint, a *Attestation) error {
	if p.opts.SaveRound == nil {
		return nil
	}
	r := &Transcript{Epoch: d.Epoch, Dealings: []*Dealing{d}, Complaints: complaints}
	if a != nil {
		r.Attestations = []*Attestation{a}
	}
	b, _ := r.MarshalBinary()
	if err := p.opts.SaveRound(b); err != nil {
		return fmt.Errorf("mpc: persisting the round in progress: %w", err)
	}
	return nil
}

// Node returns the participant's node.
func (p *Participant) Node() *Node { return p.nd }

// EpochError reports a round message for an epoch the node is not ready
// for: the node is at Have and the message is for Want (Want = Have+1 fits).
type EpochError struct {
	Have, Want uint64
}

func (e *EpochError) Error() string {
	return fmt.Sprintf("mpc: node at epoch %d, round for epoch %d", e.Have, e.Want)
}

// Unwrap returns ErrEpoch.
func (e *EpochError) Unwrap() error { return ErrEpoch }

func (p *Participant) checkEpoch(epoch uint64) error {
	if have := p.nd.Epoch(); epoch != have+1 {
		return &EpochError{Have: have, Want: epoch}
	}
	return nil
}

// Deal returns the node's dealing for epoch (the next one), the same on
// every call of that epoch.
func (p *Participant) Deal(epoch uint64) (*Dealing, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkEpoch(epoch); err != nil {
		return nil, err
	}
	if p.dealt != nil && p.dealt.Epoch == epoch {
		return p.dealt, nil
	}
	deal := p.nd.DealRefresh
	if epoch == 1 {
		deal = p.nd.DealKey
	}
	d, err := deal()
	if err != nil {
		return nil, err
	}
	if err := p.saveRound(d, nil, nil); err != nil {
		return nil, err
	}
	p.dealt, p.complaints, p.attest = d, nil, nil
	return d, nil
}

// Check verifies every dealing of t and returns the node's complaints and
// its signed attestation of them, the same on every call with the same
// dealings. Dealings that fail their signature or do not fit the round get
// no complaint (Finish ignores them too). The node must have dealt in this
// round (Deal) first.
func (p *Participant) Check(t *Transcript) ([]*Complaint, *Attestation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkEpoch(t.Epoch); err != nil {
		return nil, nil, err
	}
	if p.dealt == nil || p.dealt.Epoch != t.Epoch {
		return nil, nil, fmt.Errorf("%w: node %d has not dealt in this round", ErrTranscript, p.nd.index)
	}
	var out []*Complaint
	all := slices.Clone(p.complaints)
	for _, d := range t.Dealings {
		if d.Epoch != t.Epoch {
			return nil, nil, fmt.Errorf("%w: dealing of node %d for epoch %d in a transcript of %d", ErrTranscript, d.Dealer, d.Epoch, t.Epoch)
		}
		c := p.complaintAbout(d.Dealer) // already checked: the same complaint again
		if c == nil {
			var err error
			if c, err = p.nd.Check(d); err != nil || c == nil {
				continue
			}
			all = append(all, c)
		}
		if !slices.ContainsFunc(out, func(o *Complaint) bool { return o.Accused == c.Accused }) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Complaint) int { return a.Accused - b.Accused })
	digest := dealingsDigest(t)
	if p.attest != nil && p.attest.Dealings == digest && len(all) == len(p.complaints) {
		return out, p.attest, nil
	}
	a := &Attestation{Epoch: t.Epoch, Index: p.nd.index, Dealings: digest}
	for _, c := range out {
		a.Accused = append(a.Accused, c.Accused)
	}
	sig, err := p.nd.key.SignWithSM2(p.nd.rand, nil, a.signed())
	if err != nil {
		return nil, nil, fmt.Errorf("mpc: sign attestation: %w", err)
	}
	a.sig = sig
	if err := p.saveRound(p.dealt, all, a); err != nil {
		return nil, nil, err
	}
	p.complaints, p.attest = all, a
	return out, a, nil
}

func (p *Participant) complaintAbout(dealer int) *Complaint {
	for _, c := range p.complaints {
		if c.Accused == dealer {
			return c
		}
	}
	return nil
}

// Prepare checks t and returns the node's signed vote for it: t must hold
// the node's own dealing and every complaint the node made, and Finish must
// succeed with it. A node votes for one digest per epoch.
func (p *Participant) Prepare(t *Transcript) (*Vote, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkEpoch(t.Epoch); err != nil {
		return nil, err
	}
	if err := canonical(t, p.nd.n); err != nil {
		return nil, err
	}
	if p.dealt == nil || p.dealt.Epoch != t.Epoch || !sameDealing(t.Dealings[p.nd.index-1], p.dealt) {
		return nil, fmt.Errorf("%w: it lacks node %d's dealing", ErrTranscript, p.nd.index)
	}
	if p.attest == nil || !bytes.Equal(t.Attestations[p.nd.index-1].signed(), p.attest.signed()) {
		return nil, fmt.Errorf("%w: it lacks node %d's attestation of its complaints", ErrTranscript, p.nd.index)
	}
	if err := p.attested(t); err != nil {
		return nil, err
	}
	if err := p.nd.canFinish(t.Dealings, t.Complaints); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTranscript, err)
	}
	digest := t.Digest()
	voted, err := p.votes.Vote(t.Epoch, digest)
	if err != nil {
		return nil, fmt.Errorf("mpc: recording the vote: %w", err)
	}
	if voted != digest {
		return nil, ErrVoteConflict
	}
	v := &Vote{Epoch: t.Epoch, Index: p.nd.index, Digest: digest}
	sig, err := p.nd.key.SignWithSM2(p.nd.rand, nil, v.signed())
	if err != nil {
		return nil, fmt.Errorf("mpc: sign vote: %w", err)
	}
	v.sig = sig
	return v, nil
}

// canonical checks that t holds one dealing of every node, in index order,
// and its complaints ordered by accuser then accused, one per pair: the one
// transcript every coordinator builds from the same messages, so a round
// interrupted after some votes can be finished by any coordinator.
func canonical(t *Transcript, n int) error {
	if len(t.Dealings) != n {
		return fmt.Errorf("%w: %d dealings, want one of each of the %d nodes", ErrTranscript, len(t.Dealings), n)
	}
	for i, d := range t.Dealings {
		if d.Dealer != i+1 {
			return fmt.Errorf("%w: dealing %d is node %d's, want node %d's (index order)", ErrTranscript, i, d.Dealer, i+1)
		}
	}
	for i := 1; i < len(t.Complaints); i++ {
		a, b := t.Complaints[i-1], t.Complaints[i]
		if a.Accuser > b.Accuser || (a.Accuser == b.Accuser && a.Accused >= b.Accused) {
			return fmt.Errorf("%w: complaints not ordered by accuser and accused, or repeated", ErrTranscript)
		}
	}
	if len(t.Attestations) != n {
		return fmt.Errorf("%w: %d attestations, want one of each of the %d nodes", ErrTranscript, len(t.Attestations), n)
	}
	for i, a := range t.Attestations {
		if a.Index != i+1 {
			return fmt.Errorf("%w: attestation %d is node %d's, want node %d's (index order)", ErrTranscript, i, a.Index, i+1)
		}
	}
	return nil
}

// attested checks every attestation of t (signature, epoch, dealings) and
// that t's complaints are exactly the attested ones, each validly signed.
func (p *Participant) attested(t *Transcript) error {
	digest := dealingsDigest(t)
	var want [][2]int
	for _, a := range t.Attestations {
		if a.Epoch != t.Epoch || a.Dealings != digest || !sm2.VerifyASN1WithSM2(p.keys[a.Index-1], nil, a.signed(), a.sig) {
			return fmt.Errorf("%w: attestation of node %d is not for these dealings or not signed by it", ErrTranscript, a.Index)
		}
		for _, j := range a.Accused {
			want = append(want, [2]int{a.Index, j})
		}
	}
	if len(want) != len(t.Complaints) {
		return fmt.Errorf("%w: %d complaints, %d attested", ErrTranscript, len(t.Complaints), len(want))
	}
	for i, c := range t.Complaints {
		if c.Epoch != t.Epoch || c.Accuser != want[i][0] || c.Accused != want[i][1] ||
			!sm2.VerifyASN1WithSM2(p.keys[c.Accuser-1], nil, c.signed(), c.sig) {
			return fmt.Errorf("%w: complaint %d (node %d about node %d) is not attested or not signed by its node", ErrTranscript, i, c.Accuser, c.Accused)
		}
	}
	return nil
}

// checkVotes verifies that votes holds a valid vote of every node for
// digest and epoch.
func (p *Participant) checkVotes(epoch uint64, digest [32]byte, votes []*Vote) error {
	seen := make([]bool, p.nd.n+1)
	for _, v := range votes {
		if v.Index < 1 || v.Index > p.nd.n || seen[v.Index] || v.Epoch != epoch ||
			subtle.ConstantTimeCompare(v.Digest[:], digest[:]) != 1 {
			continue
		}
		if sm2.VerifyASN1WithSM2(p.keys[v.Index-1], nil, v.signed(), v.sig) {
			seen[v.Index] = true
		}
	}
	var missing []int
	for j := 1; j <= p.nd.n; j++ {
		if !seen[j] {
			missing = append(missing, j)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: no valid vote of node(s) %v for this transcript", ErrTranscript, missing)
	}
	return nil
}

// Commit finishes the round of c: it needs the node's own vote for c's
// transcript and valid votes of all n nodes. A commit of the epoch the node
// already finished with the same transcript is acknowledged again.
func (p *Participant) Commit(c *Commit) (*PublicState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := c.Transcript
	digest := t.Digest()
	if err := p.checkVotes(t.Epoch, digest, c.Votes); err != nil {
		return nil, err
	}
	if have := p.nd.Epoch(); have == t.Epoch && p.lastEpoch == have {
		var prev Commit
		if prev.UnmarshalBinary(p.last) == nil && prev.Transcript.Digest() == digest {
			return p.nd.Public(), nil
		}
	}
	if err := p.checkEpoch(t.Epoch); err != nil {
		return nil, err
	}
	// A node that missed prepare (it was restarted, or is catching up)
	// adopts the transcript all n nodes voted for, itself included: its
	// recorded vote, if any, must be the same.
	if voted, err := p.votes.Vote(t.Epoch, digest); err != nil {
		return nil, fmt.Errorf("mpc: recording the vote: %w", err)
	} else if voted != digest {
		return nil, ErrVoteConflict
	}
	qual, err := p.nd.Finish(t.Dealings, t.Complaints)
	if err != nil {
		return nil, err
	}
	p.dealt, p.complaints, p.lastQual = nil, nil, qual
	p.last, _ = c.MarshalBinary()
	p.lastEpoch = t.Epoch
	if p.opts.OnFinish != nil {
		st, err := p.nd.MarshalState()
		if err == nil {
			err = p.opts.OnFinish(st, p.last)
		}
		if err != nil {
			return p.nd.Public(), fmt.Errorf("mpc: persisting the new state: %w", err)
		}
	}
	return p.nd.Public(), nil
}

// LastCommit returns the commit of the node's current epoch (nil if the
// node finished no round since it started and none was restored).
func (p *Participant) LastCommit() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastEpoch != p.nd.Epoch() {
		return nil
	}
	return slices.Clone(p.last)
}

// Qualified returns the qualified dealers of the round that brought the
// node to epoch, if this participant finished it.
func (p *Participant) Qualified(epoch uint64) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastEpoch != epoch {
		return nil
	}
	return slices.Clone(p.lastQual)
}

// RoundHandler serves p's side of the broadcast (the PathRound* routes).
// Like PartialHandler it refuses requests without a verified client
// certificate; allow, if not nil, must also accept the certificate's
// subject common name (the cluster's node names).
func RoundHandler(p *Participant, allow func(cn string) bool) http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, fn func(body []byte) (encoder, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
				http.Error(w, "client certificate required", http.StatusUnauthorized)
				return
			}
			if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; allow != nil && !allow(cn) {
				http.Error(w, "not a node of this cluster", http.StatusForbidden)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRoundBody))
			if err != nil {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			out, err := fn(body)
			var ee *EpochError
			switch {
			case errors.As(err, &ee):
				w.Header().Set(HeaderEpoch, strconv.FormatUint(ee.Have, 10))
				http.Error(w, err.Error(), http.StatusConflict)
			case errors.Is(err, ErrMalformed):
				http.Error(w, err.Error(), http.StatusBadRequest)
			case errors.Is(err, ErrVoteConflict):
				http.Error(w, err.Error(), http.StatusConflict)
			case err != nil:
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			}
			if err != nil {
				return
			}
			b, _ := out.MarshalBinary()
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set(HeaderEpoch, strconv.FormatUint(p.nd.Epoch(), 10))
			w.Write(b)
		})
	}
	handle(PathRoundDeal, func(body []byte) (encoder, error) {
		if len(body) != 8 {
			return nil, malformed("deal request: %d bytes, want an 8-byte epoch", len(body))
		}
		return p.Deal(binary.BigEndian.Uint64(body))
	})
	handle(PathRoundCheck, func(body []byte) (encoder, error) {
		var t Transcript
		if err := t.UnmarshalBinary(body); err != nil {
			return nil, err
		}
		cs, a, err := p.Check(&t)
		if err != nil {
			return nil, err
		}
		return &Transcript{Epoch: t.Epoch, Complaints: cs, Attestations: []*Attestation{a}}, nil
	})
	handle(PathRoundPrepare, func(body []byte) (encoder, error) {
		var t Transcript
		if err := t.UnmarshalBinary(body); err != nil {
			return nil, err
		}
		return p.Prepare(&t)
	})
	handle(PathRoundCommit, func(body []byte) (encoder, error) {
		var c Commit
		if err := c.UnmarshalBinary(body); err != nil {
			return nil, err
		}
		return p.Commit(&c)
	})
	handle(PathRoundState, func([]byte) (encoder, error) {
		pub := p.nd.Public()
		if pub == nil {
			return nil, &EpochError{Have: 0, Want: 1}
		}
		return pub, nil
	})
	handle(PathRoundLast, func([]byte) (encoder, error) {
		last := p.LastCommit()
		if last == nil {
			return nil, errors.New("mpc: no commit of the current epoch held")
		}
		return rawMessage(last), nil
	})
	return mux
}

type encoder interface{ MarshalBinary() ([]byte, error) }

type rawMessage []byte

func (m rawMessage) MarshalBinary() ([]byte, error) { return m, nil }
