package mpc

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sync"

	"github.com/emmansun/gmsm/sm2"
)

// Errors of the key-generation and refresh rounds.
var (
	ErrBadSignature  = errors.New("mpc: bad signature")
	ErrBadDealing    = errors.New("mpc: dealing does not fit this round")
	ErrEpoch         = errors.New("mpc: wrong epoch")
	ErrTooFewDealers = errors.New("mpc: fewer than t qualified dealers")
	ErrNoKey         = errors.New("mpc: node holds no key share yet")
	ErrShareInvalid  = errors.New("mpc: own share from a qualified dealer is invalid; broadcast the complaint first")
)

// Config describes one node of the cluster.
type Config struct {
	// Index is this node's index, 1 … len(Peers).
	Index int
	// Threshold is t, the number of nodes needed to decrypt: 1 < t < n.
	Threshold int
	// Key is this node's own SM2 key: it signs dealings and complaints and
	// decrypts the shares dealt to this node.
	Key *sm2.PrivateKey
	// Peers[j-1] is node j's SM2 public key, this node's own included.
	Peers []*ecdsa.PublicKey
	// Rand is the entropy source; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Node is one custodian. Its share of the cluster key exists in memory only
// while it is used: at rest it is held as an SM2 ciphertext to the node's own
// key (sealed). A Node is safe for concurrent use.
type Node struct {
	index, t, n int
	key         *sm2.PrivateKey
	peers       []point
	rand        io.Reader

	mu     sync.Mutex
	epoch  uint64       // 0 before key generation
	sealed []byte       // SM2 encryption of epoch ‖ index ‖ x_i to key
	pub    *PublicState // nil before key generation
}

// NewNode checks cfg and returns a node without a key share.
func NewNode(cfg Config) (*Node, error) {
	n := len(cfg.Peers)
	if err := checkTN(cfg.Threshold, n); err != nil {
		return nil, fmt.Errorf("mpc: %w", err)
	}
	if cfg.Index < 1 || cfg.Index > n || cfg.Key == nil {
		return nil, fmt.Errorf("mpc: index %d of %d nodes, or no key", cfg.Index, n)
	}
	nd := &Node{index: cfg.Index, t: cfg.Threshold, n: n, key: cfg.Key, rand: cfg.Rand}
	if nd.rand == nil {
		nd.rand = rand.Reader
	}
	for j, k := range cfg.Peers {
		p, err := pointOfKey(k)
		if err != nil {
			return nil, fmt.Errorf("mpc: key of node %d: %w", j+1, err)
		}
		nd.peers = append(nd.peers, p)
	}
	if own, _ := pointOfKey(&cfg.Key.PublicKey); !own.equal(nd.peers[cfg.Index-1]) {
		return nil, errors.New("mpc: Key does not match Peers[Index-1]")
	}
	return nd, nil
}

// Index returns the node's index.
func (nd *Node) Index() int { return nd.index }

// Epoch returns the node's epoch: 0 before key generation, 1 after it,
// one more after each refresh.
func (nd *Node) Epoch() uint64 {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.epoch
}

// Threshold returns t.
func (nd *Node) Threshold() int { return nd.t }

// Nodes returns n.
func (nd *Node) Nodes() int { return nd.n }

// Public returns the current public state, nil before key generation.
func (nd *Node) Public() *PublicState {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.pub
}

// DealKey makes this node's dealing for the distributed key generation
// (epoch 1): a random polynomial of degree t−1.
func (nd *Node) DealKey() (*Dealing, error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.epoch != 0 {
		return nil, fmt.Errorf("%w: key already generated (epoch %d)", ErrEpoch, nd.epoch)
	}
	return nd.deal(1, false)
}

// DealRefresh makes this node's dealing for the next proactive refresh: a
// random polynomial of degree t−1 with constant term 0.
func (nd *Node) DealRefresh() (*Dealing, error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.epoch == 0 {
		return nil, ErrNoKey
	}
	return nd.deal(nd.epoch+1, true)
}

// deal draws the polynomial, commits to it, encrypts each node's share and
// signs. The coefficients are bigmod scalars, wiped before returning.
func (nd *Node) deal(epoch uint64, zero bool) (*Dealing, error) {
	coeffs := make([]scalar, nd.t)
	defer func() {
		for _, a := range coeffs {
			a.wipe()
		}
	}()
	d := &Dealing{Epoch: epoch, Dealer: nd.index, t: nd.t, n: nd.n}
	for k := range coeffs {
		if k == 0 && zero {
			coeffs[0] = newScalar()
			d.commits = append(d.commits, identity())
			continue
		}
		a, err := randomScalar(nd.rand)
		if err != nil {
			return nil, err
		}
		coeffs[k] = a
		d.commits = append(d.commits, baseMult(a))
	}
	for j := 1; j <= nd.n; j++ {
		s := evalPoly(coeffs, j)
		ct, err := sealShare(nd.rand, nd.peers[j-1], epoch, nd.index, j, s)
		s.wipe()
		if err != nil {
			return nil, err
		}
		d.shares = append(d.shares, ct)
	}
	sig, err := nd.key.SignWithSM2(nd.rand, nil, d.signed())
	if err != nil {
		return nil, fmt.Errorf("mpc: sign dealing: %w", err)
	}
	d.sig = sig
	return d, nil
}

// evalPoly returns f(j) = Σ a_k·j^k by Horner's rule in constant time.
func evalPoly(coeffs []scalar, j int) scalar {
	x := scalarFromUint(uint(j))
	acc := coeffs[len(coeffs)-1].clone()
	for k := len(coeffs) - 2; k >= 0; k-- {
		acc.mul(x).add(coeffs[k])
	}
	return acc
}

// evalCommit returns Σ C_k·j^k, the point a share for node j must match.
func evalCommit(commits []point, j int) point {
	acc := identity()
	pow := big.NewInt(1)
	jj := big.NewInt(int64(j))
	for _, c := range commits {
		acc = acc.add(c.multPublic(pow))
		pow.Mul(pow, jj)
	}
	return acc
}

// sealShare encrypts epoch ‖ dealer ‖ recipient ‖ s to the recipient's key.
func sealShare(r io.Reader, to point, epoch uint64, dealer, recipient int, s scalar) ([]byte, error) {
	pt := make([]byte, 0, sharePlainLen)
	pt = appendU64(pt, epoch)
	pt = appendU16(pt, dealer)
	pt = appendU16(pt, recipient)
	pt = append(pt, s.bytes()...)
	defer clear(pt)
	ct, err := sm2.Encrypt(r, to.ecdsaKey(), pt, nil)
	if err != nil {
		return nil, fmt.Errorf("mpc: encrypt share: %w", err)
	}
	return ct, nil
}

// openShare decrypts a sealed share and checks its context fields.
func openShare(key *sm2.PrivateKey, ct []byte, epoch uint64, dealer, recipient int) (scalar, error) {
	pt, err := sm2.Decrypt(key, ct)
	defer clear(pt)
	if err != nil || len(pt) != sharePlainLen {
		return scalar{}, errors.New("share does not decrypt")
	}
	if binary.BigEndian.Uint64(pt) != epoch || int(binary.BigEndian.Uint16(pt[8:])) != dealer ||
		int(binary.BigEndian.Uint16(pt[10:])) != recipient {
		return scalar{}, errors.New("share context mismatch")
	}
	s, err := scalarFromBytes(pt[12:])
	if err != nil {
		return scalar{}, err
	}
	return s, nil
}

// checkDealing validates d for the round following the node's epoch.
func (nd *Node) checkDealing(d *Dealing) error {
	if d == nil {
		return fmt.Errorf("%w: nil", ErrBadDealing)
	}
	if d.Epoch != nd.epoch+1 {
		return fmt.Errorf("%w: dealing for epoch %d, node at %d", ErrEpoch, d.Epoch, nd.epoch)
	}
	if d.t != nd.t || d.n != nd.n || d.Dealer < 1 || d.Dealer > nd.n ||
		len(d.commits) != d.t || len(d.shares) != d.n {
		return fmt.Errorf("%w: t=%d n=%d dealer %d", ErrBadDealing, d.t, d.n, d.Dealer)
	}
	if !sm2.VerifyASN1WithSM2(nd.peers[d.Dealer-1].ecdsaKey(), nil, d.signed(), d.sig) {
		return fmt.Errorf("%w: dealing of node %d", ErrBadSignature, d.Dealer)
	}
	if refresh := d.Epoch > 1; refresh != d.commits[0].isIdentity() {
		return fmt.Errorf("%w: constant term of dealer %d (refresh must share zero)", ErrBadDealing, d.Dealer)
	}
	return nil
}

// ownShare decrypts this node's share of d and verifies it against the
// commitments: s·G = Σ C_k·i^k.
func (nd *Node) ownShare(d *Dealing) (scalar, bool) {
	s, err := openShare(nd.key, d.shares[nd.index-1], d.Epoch, d.Dealer, nd.index)
	if err != nil {
		return scalar{}, false
	}
	if !baseMult(s).equal(evalCommit(d.commits, nd.index)) {
		s.wipe()
		return scalar{}, false
	}
	return s, true
}

// Check verifies a dealing of the current round. A dealing that is not for
// this round or whose signature fails returns an error and must be dropped
// (it counts as not received). A signed dealing whose share for this node
// does not decrypt or fails Feldman verification returns a signed Complaint
// to broadcast; otherwise (nil, nil).
func (nd *Node) Check(d *Dealing) (*Complaint, error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if err := nd.checkDealing(d); err != nil {
		return nil, err
	}
	if s, ok := nd.ownShare(d); ok {
		s.wipe()
		return nil, nil
	}
	c := &Complaint{Epoch: d.Epoch, Accuser: nd.index, Accused: d.Dealer}
	sig, err := nd.key.SignWithSM2(nd.rand, nil, c.signed())
	if err != nil {
		return nil, fmt.Errorf("mpc: sign complaint: %w", err)
	}
	c.sig = sig
	return c, nil
}

// qualified applies the exclusion rule to the round's transcript and returns
// the qualified dealings sorted by dealer: a dealing counts if it passes
// checkDealing, its dealer sent no second, different dealing, and no validly
// signed complaint of this round accuses its dealer.
func (nd *Node) qualified(dealings []*Dealing, complaints []*Complaint) []*Dealing {
	byDealer := map[int]*Dealing{}
	excluded := map[int]bool{}
	for _, d := range dealings {
		if nd.checkDealing(d) != nil {
			continue
		}
		if prev, ok := byDealer[d.Dealer]; ok && !sameDealing(prev, d) {
			excluded[d.Dealer] = true // equivocation
		}
		byDealer[d.Dealer] = d
	}
	for _, c := range complaints {
		if c == nil || c.Epoch != nd.epoch+1 || c.Accuser < 1 || c.Accuser > nd.n ||
			c.Accused < 1 || c.Accused > nd.n || c.Accuser == c.Accused ||
			!sm2.VerifyASN1WithSM2(nd.peers[c.Accuser-1].ecdsaKey(), nil, c.signed(), c.sig) {
			continue
		}
		excluded[c.Accused] = true
	}
	var out []*Dealing
	for j := 1; j <= nd.n; j++ {
		if d, ok := byDealer[j]; ok && !excluded[j] {
			out = append(out, d)
		}
	}
	return out
}

func sameDealing(a, b *Dealing) bool {
	x, _ := a.MarshalBinary()
	y, _ := b.MarshalBinary()
	return subtle.ConstantTimeCompare(x, y) == 1
}

// canFinish reports whether Finish would succeed with this transcript,
// without changing the node: enough qualified dealers, and the node's share
// of each is valid.
func (nd *Node) canFinish(dealings []*Dealing, complaints []*Complaint) error {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	qual := nd.qualified(dealings, complaints)
	if len(qual) < nd.t {
		return fmt.Errorf("%w: %d qualified, t=%d", ErrTooFewDealers, len(qual), nd.t)
	}
	for _, d := range qual {
		s, ok := nd.ownShare(d)
		if !ok {
			return fmt.Errorf("%w: dealer %d", ErrShareInvalid, d.Dealer)
		}
		s.wipe()
	}
	return nil
}

// Finish closes a key-generation or refresh round. Every node must call it
// with the same broadcast transcript (all dealings and complaints of the
// round) so that all agree on the qualified set. It returns the qualified
// dealers. On success the node's share, epoch and public state move to the
// new epoch; the old share is gone.
func (nd *Node) Finish(dealings []*Dealing, complaints []*Complaint) ([]int, error) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	qual := nd.qualified(dealings, complaints)
	if len(qual) < nd.t {
		return nil, fmt.Errorf("%w: %d qualified, t=%d", ErrTooFewDealers, len(qual), nd.t)
	}
	share := newScalar()
	defer share.wipe()
	commits := make([]point, nd.t)
	for k := range commits {
		commits[k] = identity()
	}
	if nd.epoch > 0 {
		old, err := nd.unseal()
		if err != nil {
			return nil, err
		}
		share.add(old)
		old.wipe()
		copy(commits, nd.pub.commits)
	}
	ids := make([]int, 0, len(qual))
	for _, d := range qual {
		s, ok := nd.ownShare(d)
		if !ok {
			return nil, fmt.Errorf("%w: dealer %d", ErrShareInvalid, d.Dealer)
		}
		share.add(s)
		s.wipe()
		for k, c := range d.commits {
			commits[k] = commits[k].add(c)
		}
		ids = append(ids, d.Dealer)
	}
	pub := &PublicState{Epoch: nd.epoch + 1, t: nd.t, n: nd.n, commits: commits}
	if commits[0].isIdentity() || !baseMult(share).equal(pub.share(nd.index)) {
		return nil, errors.New("mpc: new share does not match the aggregated commitments")
	}
	sealed, err := sealShare(nd.rand, nd.peers[nd.index-1], pub.Epoch, 0, nd.index, share)
	if err != nil {
		return nil, err
	}
	nd.epoch, nd.sealed, nd.pub = pub.Epoch, sealed, pub
	return ids, nil
}

// unseal decrypts the node's current share. The caller wipes it.
func (nd *Node) unseal() (scalar, error) {
	if nd.epoch == 0 {
		return scalar{}, ErrNoKey
	}
	s, err := openShare(nd.key, nd.sealed, nd.epoch, 0, nd.index)
	if err != nil {
		return scalar{}, fmt.Errorf("mpc: sealed share: %w", err)
	}
	return s, nil
}

// SealedShare returns the node's share as stored: an SM2 ciphertext (C1‖C3‖C2)
// of epoch ‖ 0 ‖ index ‖ x_i to the node's own key. Only that key opens it.
func (nd *Node) SealedShare() []byte {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return slices.Clone(nd.sealed)
}

// valid reports whether s is a decoded or computed state (not a zero value).
func (s *PublicState) valid() bool {
	return s != nil && checkTN(s.t, s.n) == nil && len(s.commits) == s.t && !s.commits[0].isIdentity()
}

// PublicKey returns the cluster SM2 public key Y = A_0, nil for a zero
// PublicState.
func (s *PublicState) PublicKey() *ecdsa.PublicKey {
	if !s.valid() {
		return nil
	}
	return s.commits[0].ecdsaKey()
}

// Threshold returns t.
func (s *PublicState) Threshold() int { return s.t }

// Nodes returns n.
func (s *PublicState) Nodes() int { return s.n }

// share returns node j's public share Y_j = x_j·G = Σ A_k·j^k.
func (s *PublicState) share(j int) point { return evalCommit(s.commits, j) }
