package mpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Cluster is the coordinator's view of the cluster: its own participant and
// the other nodes' round endpoints. Any node can coordinate a round; two
// coordinators of the same epoch at once cannot split the cluster (each node
// votes once per epoch), at worst one round fails.
type Cluster struct {
	// Self is the coordinating node's participant.
	Self *Participant
	// Client carries a MutualTLS configuration with the cluster CA.
	Client *http.Client
	// URLs[j-1] is node j's base URL (https://host:port); Self's own entry
	// is not used.
	URLs []string
}

// RoundResult describes a finished round.
type RoundResult struct {
	Epoch     uint64
	Public    *PublicState
	Qualified []int // the dealers whose dealings count
	CaughtUp  []int // nodes handed the previous epoch's commit before the round
}

// PeerError is a node's failure in a round phase.
type PeerError struct {
	Node   int
	Phase  string
	Status int    // HTTP status, 0 if the request did not complete
	Epoch  uint64 // the node's epoch when it reported one
	HasEp  bool
	Err    error
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("node %d, %s: %v", e.Node, e.Phase, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }

// maxCatchUp bounds the catch-up attempts of one Run.
const maxCatchUp = 3

// Run coordinates one round: key generation if this node has no key yet,
// else a proactive refresh. Every node must take part. Before the round, a
// node one epoch behind is handed the commit it missed, and this node
// catches up itself from a node ahead of it.
func (c *Cluster) Run(ctx context.Context) (*RoundResult, error) {
	n := c.Self.nd.n
	if len(c.URLs) != n {
		return nil, fmt.Errorf("%w: %d node URLs for %d nodes", ErrRound, len(c.URLs), n)
	}
	res := &RoundResult{}
	var dealings []*Dealing
	for attempt := 0; ; attempt++ {
		epoch := c.Self.nd.Epoch() + 1
		var errs []error
		dealings, errs = c.dealAll(ctx, epoch)
		if len(errs) == 0 {
			res.Epoch = epoch
			break
		}
		if attempt == maxCatchUp {
			return nil, fmt.Errorf("%w: deal phase of epoch %d: %w", ErrRound, epoch, errors.Join(errs...))
		}
		if !c.catchUp(ctx, epoch-1, errs, res) {
			return nil, fmt.Errorf("%w: deal phase of epoch %d: %w", ErrRound, epoch, errors.Join(errs...))
		}
	}
	t := &Transcript{Epoch: res.Epoch, Dealings: dealings}
	if err := c.checkAll(ctx, t); err != nil {
		return nil, err
	}
	votes, err := c.prepareAll(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := c.Self.checkVotes(t.Epoch, t.Digest(), votes); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRound, err)
	}
	return c.commitAll(ctx, &Commit{Transcript: t, Votes: votes}, res)
}

// catchUp hands the last commit to nodes at epoch have−1 and takes it from
// a node ahead of this one. It reports whether anything moved.
func (c *Cluster) catchUp(ctx context.Context, have uint64, errs []error, res *RoundResult) bool {
	moved := false
	for _, err := range errs {
		var pe *PeerError
		if !errors.As(err, &pe) || !pe.HasEp {
			continue
		}
		switch {
		case pe.Epoch > have:
			b, err := c.post(ctx, pe.Node, PathRoundLast, nil)
			var cm Commit
			if err == nil && cm.UnmarshalBinary(b) == nil && cm.Transcript.Epoch == have+1 {
				if _, err := c.Self.Commit(&cm); err == nil {
					res.CaughtUp = append(res.CaughtUp, c.Self.nd.index)
					return true // this node moved: start again from its new epoch
				}
			}
		case pe.Epoch+1 == have:
			last := c.Self.LastCommit()
			if last == nil {
				continue
			}
			if _, err := c.post(ctx, pe.Node, PathRoundCommit, last); err == nil {
				res.CaughtUp = append(res.CaughtUp, pe.Node)
				moved = true
			}
		}
	}
	return moved
}

// each runs fn for every node in parallel and returns the errors in node
// order.
func (c *Cluster) each(fn func(j int) error) []error {
	n := c.Self.nd.n
	errs := make([]error, n)
	var wg sync.WaitGroup
	for j := 1; j <= n; j++ {
		wg.Go(func() { errs[j-1] = fn(j) })
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(e error) bool { return e == nil })
}

func (c *Cluster) self(j int) bool { return j == c.Self.nd.index }

func (c *Cluster) dealAll(ctx context.Context, epoch uint64) ([]*Dealing, []error) {
	out := make([]*Dealing, c.Self.nd.n)
	errs := c.each(func(j int) error {
		if c.self(j) {
			d, err := c.Self.Deal(epoch)
			if err != nil {
				var ee *EpochError
				pe := &PeerError{Node: j, Phase: "deal", Err: err}
				if errors.As(err, &ee) {
					pe.Epoch, pe.HasEp = ee.Have, true
				}
				return pe
			}
			out[j-1] = d
			return nil
		}
		b, err := c.post(ctx, j, PathRoundDeal, binary.BigEndian.AppendUint64(nil, epoch))
		if err != nil {
			return err
		}
		d := &Dealing{}
		if err := d.UnmarshalBinary(b); err != nil {
			return &PeerError{Node: j, Phase: "deal", Err: err}
		}
		if d.Dealer != j || d.Epoch != epoch {
			return &PeerError{Node: j, Phase: "deal", Err: fmt.Errorf("dealing of node %d for epoch %d", d.Dealer, d.Epoch)}
		}
		out[j-1] = d
		return nil
	})
	return out, errs
}

// checkAll sends the dealings to every node and completes t with their
// complaints (ordered by accuser, then accused) and attestations.
func (c *Cluster) checkAll(ctx context.Context, t *Transcript) error {
	body, _ := t.MarshalBinary()
	n := c.Self.nd.n
	lists := make([][]*Complaint, n)
	atts := make([]*Attestation, n)
	errs := c.each(func(j int) error {
		if c.self(j) {
			cs, a, err := c.Self.Check(t)
			lists[j-1], atts[j-1] = cs, a
			return peerErr(j, "check", err)
		}
		b, err := c.post(ctx, j, PathRoundCheck, body)
		if err != nil {
			return err
		}
		var r Transcript
		if err := r.UnmarshalBinary(b); err != nil {
			return &PeerError{Node: j, Phase: "check", Err: err}
		}
		if len(r.Attestations) != 1 || r.Attestations[0].Index != j || r.Epoch != t.Epoch {
			return &PeerError{Node: j, Phase: "check", Err: errors.New("reply without the node's attestation")}
		}
		lists[j-1], atts[j-1] = r.Complaints, r.Attestations[0]
		return nil
	})
	if len(errs) > 0 {
		return fmt.Errorf("%w: check phase of epoch %d: %w", ErrRound, t.Epoch, errors.Join(errs...))
	}
	for j, l := range lists {
		for _, cp := range l {
			if cp.Accuser != j+1 || cp.Epoch != t.Epoch {
				return fmt.Errorf("%w: node %d returned a complaint of node %d for epoch %d", ErrRound, j+1, cp.Accuser, cp.Epoch)
			}
			t.Complaints = append(t.Complaints, cp)
		}
	}
	// The canonical order (see canonical): by accuser, then accused.
	slices.SortStableFunc(t.Complaints, func(a, b *Complaint) int {
		if a.Accuser != b.Accuser {
			return a.Accuser - b.Accuser
		}
		return a.Accused - b.Accused
	})
	t.Attestations = atts
	return nil
}

func (c *Cluster) prepareAll(ctx context.Context, t *Transcript) ([]*Vote, error) {
	body, _ := t.MarshalBinary()
	votes := make([]*Vote, c.Self.nd.n)
	errs := c.each(func(j int) error {
		if c.self(j) {
			v, err := c.Self.Prepare(t)
			votes[j-1] = v
			return peerErr(j, "prepare", err)
		}
		b, err := c.post(ctx, j, PathRoundPrepare, body)
		if err != nil {
			return err
		}
		v := &Vote{}
		if err := v.UnmarshalBinary(b); err != nil {
			return &PeerError{Node: j, Phase: "prepare", Err: err}
		}
		votes[j-1] = v
		return nil
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: prepare phase of epoch %d: %w", ErrRound, t.Epoch, errors.Join(errs...))
	}
	return votes, nil
}

func (c *Cluster) commitAll(ctx context.Context, cm *Commit, res *RoundResult) (*RoundResult, error) {
	body, _ := cm.MarshalBinary()
	pubs := make([][]byte, c.Self.nd.n)
	errs := c.each(func(j int) error {
		if c.self(j) {
			ps, err := c.Self.Commit(cm)
			if err != nil {
				return peerErr(j, "commit", err)
			}
			pubs[j-1], _ = ps.MarshalBinary()
			return nil
		}
		b, err := c.post(ctx, j, PathRoundCommit, body)
		pubs[j-1] = b
		return err
	})
	own := pubs[c.Self.nd.index-1]
	for j, b := range pubs {
		if b != nil && own != nil && !bytes.Equal(b, own) {
			errs = append(errs, &PeerError{Node: j + 1, Phase: "commit", Err: errors.New("public state differs from the coordinator's")})
		}
	}
	res.Public = c.Self.nd.Public()
	res.Qualified = c.Self.Qualified(cm.Transcript.Epoch)
	if len(errs) > 0 {
		return res, fmt.Errorf("%w: commit phase of epoch %d (nodes that failed catch up at the next round): %w",
			ErrRound, cm.Transcript.Epoch, errors.Join(errs...))
	}
	return res, nil
}

func peerErr(j int, phase string, err error) error {
	if err == nil {
		return nil
	}
	pe := &PeerError{Node: j, Phase: phase, Err: err}
	var ee *EpochError
	if errors.As(err, &ee) {
		pe.Epoch, pe.HasEp = ee.Have, true
	}
	return pe
}

// post sends one round message to node j and returns the reply body.
func (c *Cluster) post(ctx context.Context, j int, path string, body []byte) ([]byte, error) {
	phase := strings.TrimPrefix(path, "/mpc/v1/round/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URLs[j-1]+path, bytes.NewReader(body))
	if err != nil {
		return nil, &PeerError{Node: j, Phase: phase, Err: err}
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, &PeerError{Node: j, Phase: phase, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRoundBody))
	if err != nil {
		return nil, &PeerError{Node: j, Phase: phase, Status: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		pe := &PeerError{Node: j, Phase: phase, Status: resp.StatusCode,
			Err: fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))}
		if resp.StatusCode == http.StatusConflict {
			if e, err := strconv.ParseUint(resp.Header.Get(HeaderEpoch), 10, 64); err == nil {
				pe.Epoch, pe.HasEp = e, true
			}
		}
		return nil, pe
	}
	return b, nil
}

// PeerState is what Cluster.States reports of one node.
type PeerState struct {
	Node   int
	Public *PublicState // nil before key generation or when unreachable
	Err    error        // why the node did not answer
}

// States asks every node (this one directly) for its public state, in
// parallel, for an operator's view of the cluster: who is reachable, at
// which epoch, with which cluster key.
func (c *Cluster) States(ctx context.Context) []PeerState {
	out := make([]PeerState, c.Self.nd.n)
	c.each(func(j int) error {
		out[j-1].Node = j
		if c.self(j) {
			out[j-1].Public = c.Self.nd.Public()
			return nil
		}
		b, err := c.post(ctx, j, PathRoundState, nil)
		var pe *PeerError
		switch {
		case errors.As(err, &pe) && pe.HasEp && pe.Epoch == 0:
			// reachable, no key yet
		case err != nil:
			out[j-1].Err = err
		default:
			ps := &PublicState{}
			if err := ps.UnmarshalBinary(b); err != nil {
				out[j-1].Err = &PeerError{Node: j, Phase: "state", Err: err}
			} else {
				out[j-1].Public = ps
			}
		}
		return nil
	})
	return out
}
