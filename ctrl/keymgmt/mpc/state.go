package mpc

import (
	"errors"
	"fmt"
	"slices"
)

const typeState = 5

// nodeState is what a node persists: its index, its sealed share and the
// public state of its epoch. The share stays an SM2 ciphertext to the node's
// own key, so the stored bytes are useless without that key.
//
// Wire: 1 ‖ 5 ‖ index u16 ‖ sealed share (141) ‖ PublicState encoding.
type nodeState struct {
	index  int
	sealed []byte
	pub    *PublicState
}

func (s *nodeState) MarshalBinary() ([]byte, error) {
	b := appendHeader(nil, typeState)
	b = appendU16(b, s.index)
	b = append(b, s.sealed...)
	pub, err := s.pub.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(b, pub...), nil
}

func (s *nodeState) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeState, "node state")
	var out nodeState
	out.index = r.u16("index")
	out.sealed = slices.Clone(r.take(shareCipherLen, "sealed share"))
	if r.err != nil {
		return r.err
	}
	out.pub = &PublicState{}
	if err := out.pub.UnmarshalBinary(r.b); err != nil {
		return err
	}
	if out.index < 1 || out.index > out.pub.n {
		return malformed("node state: index %d of %d", out.index, out.pub.n)
	}
	*s = out
	return nil
}

// MarshalState returns the node's persistent state (index, sealed share,
// public state) for the controller's store. It holds no share in the clear.
func (nd *Node) MarshalState() ([]byte, error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.epoch == 0 {
		return nil, ErrNoKey
	}
	return (&nodeState{index: nd.index, sealed: nd.sealed, pub: nd.pub}).MarshalBinary()
}

// RestoreState loads a state written by MarshalState, after checking that it
// belongs to this node (index, t, n), that the sealed share opens with the
// node's key and that it matches the node's public share of that epoch.
func (nd *Node) RestoreState(data []byte) error {
	var s nodeState
	if err := s.UnmarshalBinary(data); err != nil {
		return err
	}
	if s.index != nd.index || s.pub.t != nd.t || s.pub.n != nd.n {
		return fmt.Errorf("mpc: state of node %d (t=%d n=%d) does not fit node %d (t=%d n=%d)",
			s.index, s.pub.t, s.pub.n, nd.index, nd.t, nd.n)
	}
	x, err := openShare(nd.key, s.sealed, s.pub.Epoch, 0, nd.index)
	if err != nil {
		return fmt.Errorf("mpc: sealed share: %w", err)
	}
	defer x.wipe()
	if !baseMult(x).equal(s.pub.share(nd.index)) {
		return errors.New("mpc: sealed share does not match the public share")
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.epoch, nd.sealed, nd.pub = s.pub.Epoch, s.sealed, s.pub
	return nil
}
