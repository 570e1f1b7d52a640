package handshake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/internal/keys"
)

// Identity is an end's own user id and SM2 private key. It prints its id and
// public key fingerprint only.
type Identity struct {
	ID   string
	Priv *sm2.PrivateKey
}

// Peer is the other end's user id and pinned SM2 public key.
type Peer struct {
	ID  string
	Pub *ecdsa.PublicKey
}

// Peer returns the public side of id, as the other end pins it.
func (id Identity) Peer() Peer {
	if id.Priv == nil {
		return Peer{ID: id.ID}
	}
	return Peer{ID: id.ID, Pub: &id.Priv.PublicKey}
}

// String returns the id and the fingerprint of the public key.
func (id Identity) String() string {
	return id.Peer().String()
}

// Format implements fmt.Formatter so that no verb prints the private key.
func (id Identity) Format(f fmt.State, _ rune) { fmt.Fprint(f, id.String()) }

// String returns the id and the fingerprint of the public key.
func (p Peer) String() string {
	return fmt.Sprintf("%s (SM2 key %s)", p.ID, keys.PublicFingerprint(p.Pub))
}

func cryptoRand() io.Reader { return rand.Reader }

// state is where a handshake stands.
type state uint8

const (
	stateWaitReply   state = iota + 1 // initiator sent Hello
	stateWaitHello                    // responder created
	stateWaitConfirm                  // responder sent Reply
	stateDone
)

func (s state) String() string {
	switch s {
	case stateWaitReply:
		return "wait-reply"
	case stateWaitHello:
		return "wait-hello"
	case stateWaitConfirm:
		return "wait-confirm"
	case stateDone:
		return "done"
	}
	return "invalid"
}

// end is what initiator and responder share: keys in gmsm ecdh form, the Z
// values, the ephemeral key, the own nonce and the outcome.
type end struct {
	selfID, peerID string
	static         *ecdh.PrivateKey
	staticPub      *ecdh.PublicKey
	peerPub        *ecdh.PublicKey
	zSelf, zPeer   []byte
	eph            *ecdh.PrivateKey
	nonce          [NonceSize]byte
	epoch          uint8 // this end's first TX epoch, sent in the handshake

	state state
	keys  *Keys
}

func (e *end) init(self Identity, peer Peer, epoch uint8, rnd io.Reader, st state) error {
	if rnd == nil {
		rnd = rand.Reader
	}
	if epoch == 0 {
		return errors.New("handshake: the first TX epoch must be 1..255 (0 is the null cipher)")
	}
	e.epoch = epoch
	if err := CheckID(self.ID); err != nil {
		return fmt.Errorf("handshake: own identity: %w", err)
	}
	if err := CheckID(peer.ID); err != nil {
		return fmt.Errorf("handshake: peer: %w", err)
	}
	if self.Priv == nil || peer.Pub == nil {
		return errors.New("handshake: own private key and peer public key are required")
	}
	var err error
	if e.static, err = self.Priv.ECDH(); err != nil {
		return fmt.Errorf("handshake: own private key is not an SM2 key: %w", err)
	}
	if e.peerPub, err = sm2.PublicKeyToECDH(peer.Pub); err != nil {
		return fmt.Errorf("handshake: peer %s: public key is not an SM2 key: %w", peer.ID, err)
	}
	e.selfID, e.peerID, e.staticPub = self.ID, peer.ID, e.static.PublicKey()
	if e.zSelf, err = zValue(e.staticPub, self.ID); err != nil {
		return fmt.Errorf("handshake: own Z value: %w", err)
	}
	if e.zPeer, err = zValue(e.peerPub, peer.ID); err != nil {
		return fmt.Errorf("handshake: peer Z value: %w", err)
	}
	if e.eph, err = ecdh.P256().GenerateKey(rnd); err != nil {
		return fmt.Errorf("handshake: ephemeral key: %w", err)
	}
	if _, err = io.ReadFull(rnd, e.nonce[:]); err != nil {
		return fmt.Errorf("handshake: nonce: %w", err)
	}
	e.state = st
	return nil
}

// finish derives the keys from the agreed point and the final transcript
// hash; epochAB and epochBA are the two ends' first TX epochs.
func (e *end) finish(v *ecdh.PublicKey, responder bool, th []byte, epochAB, epochBA uint8) error {
	k, err := v.SM2SharedKey(responder, sharedKeyLen, e.staticPub, e.peerPub, []byte(e.selfID), []byte(e.peerID))
	if err != nil {
		return fmt.Errorf("handshake: shared key: %w", err)
	}
	defer clear(k)
	if e.keys, err = deriveKeys(k, th); err != nil {
		return err
	}
	e.keys.EpochAB, e.keys.EpochBA = epochAB, epochBA
	e.state, e.eph = stateDone, nil
	return nil
}

// afterEnd answers a message that arrives after the handshake ended.
func (e *end) afterEnd() error {
	return fmt.Errorf("%w: handshake already %v", ErrState, e.state)
}

// result implements Result for both roles.
func (e *end) result() (*Keys, error) {
	switch e.state {
	case stateDone:
		return e.keys, nil
	}
	return nil, fmt.Errorf("%w: handshake not complete (%v)", ErrState, e.state)
}

func (e *end) describe(role string) string {
	return fmt.Sprintf("handshake.%s{self=%s peer=%s state=%v}", role, e.selfID, e.peerID, e.state)
}

// Initiator is end A of a handshake. Create it with NewInitiator, send the
// Hello it returns, and pass every message from B to Handle. Not safe for
// concurrent use.
type Initiator struct {
	end
	hello []byte
}

// NewInitiator starts a handshake as A and returns its Hello. epoch is A's
// first TX epoch under the new keys (1..255), sent in the Confirm. rand is
// the source of the ephemeral key and nonce; nil means crypto/rand.Reader.
func NewInitiator(self Identity, peer Peer, epoch uint8, rand io.Reader) (*Initiator, []byte, error) {
	i := new(Initiator)
	if err := i.init(self, peer, epoch, rand, stateWaitReply); err != nil {
		return nil, nil, err
	}
	i.hello = encodeHello(&hello{nonceA: i.nonce, id: self.ID, rA: i.eph.PublicKey()})
	return i, bytes.Clone(i.hello), nil
}

// Handle processes a message from B. On a valid Reply it returns the
// Confirm to send and done = true; the keys are then available from Result
// (see the package doc on why A treats them as pending until B uses them).
// Any other message gets an error and changes nothing: the Initiator keeps
// waiting for a valid Reply.
func (i *Initiator) Handle(msg []byte) (out []byte, done bool, err error) {
	if i.state != stateWaitReply {
		return nil, i.state == stateDone, i.afterEnd()
	}
	out, err = i.handleReply(msg)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func (i *Initiator) handleReply(msg []byte) ([]byte, error) {
	p, err := decodeReply(msg)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(p.nonceA[:], i.nonce[:]) != 1 {
		return nil, fmt.Errorf("%w: Reply answers another Hello (nonce_A differs)", ErrAuth)
	}
	if p.id != i.peerID {
		return nil, fmt.Errorf("%w: Reply from %q, want %q", ErrAuth, p.id, i.peerID)
	}
	u, err := i.static.SM2MQV(i.eph, i.peerPub, p.rB)
	if err != nil {
		return nil, fmt.Errorf("%w: no shared point with R_B", ErrAuth)
	}
	rA := i.eph.PublicKey()
	thReply := transcript(i.hello, msg[:len(msg)-TagSize])
	want := confirmTag(prefixSB, u, i.zSelf, i.zPeer, rA, p.rB, thReply)
	if subtle.ConstantTimeCompare(want[:], p.sB[:]) != 1 {
		return nil, fmt.Errorf("%w: S_B does not verify (wrong pinned key or id for %s, or a modified message)", ErrAuth, i.peerID)
	}
	out := encodeConfirmHead(&i.nonce, &p.nonceB, i.epoch)
	thConfirm := transcript(i.hello, msg, out)
	sA := confirmTag(prefixSA, u, i.zSelf, i.zPeer, rA, p.rB, thConfirm)
	out = append(out, sA[:]...)
	if err := i.finish(u, false, thConfirm, i.epoch, p.epochB); err != nil {
		return nil, err
	}
	return out, nil
}

// Result returns the keys once Handle reported done, or ErrState while the
// handshake is still waiting. The caller owns the keys and zeroes them with
// Keys.Zero.
func (i *Initiator) Result() (*Keys, error) { return i.result() }

// String describes the handshake without secrets.
func (i *Initiator) String() string { return i.describe("Initiator") }

// Format implements fmt.Formatter so that no verb prints key material.
func (i *Initiator) Format(f fmt.State, _ rune) { fmt.Fprint(f, i.String()) }

// Responder is end B of a handshake. Create it with NewResponder and pass
// every message from A to Handle. Not safe for concurrent use.
type Responder struct {
	end
	hello, reply []byte
	nonceA       [NonceSize]byte
	rA           *ecdh.PublicKey
	v            *ecdh.PublicKey
}

// NewResponder prepares end B of a handshake; it waits for a Hello. epoch is
// B's first TX epoch under the new keys (1..255), sent in the Reply. rand is
// the source of the ephemeral key and nonce; nil means crypto/rand.Reader.
func NewResponder(self Identity, peer Peer, epoch uint8, rand io.Reader) (*Responder, error) {
	r := new(Responder)
	if err := r.init(self, peer, epoch, rand, stateWaitHello); err != nil {
		return nil, err
	}
	return r, nil
}

// Handle processes a message from A. On a valid Hello it returns the Reply
// to send (and again the same Reply on a byte-identical duplicate Hello); on
// a valid Confirm it returns done = true and no message, and the keys are
// available from Result. Any other message gets an error and changes
// nothing: the Responder keeps waiting (a different Hello while it waits for
// the Confirm gets ErrState; the caller decides whether to start a new
// Responder for it).
func (r *Responder) Handle(msg []byte) (out []byte, done bool, err error) {
	switch r.state {
	case stateWaitHello:
		out, err = r.handleHello(msg)
	case stateWaitConfirm:
		if bytes.Equal(msg, r.hello) {
			return bytes.Clone(r.reply), false, nil
		}
		err = r.handleConfirm(msg)
	default:
		return nil, r.state == stateDone, r.afterEnd()
	}
	if err != nil {
		return nil, false, err
	}
	return out, r.state == stateDone, nil
}

func (r *Responder) handleHello(msg []byte) ([]byte, error) {
	h, err := decodeHello(msg)
	if err != nil {
		return nil, err
	}
	if h.id != r.peerID {
		return nil, fmt.Errorf("%w: Hello from %q, want %q", ErrAuth, h.id, r.peerID)
	}
	v, err := r.static.SM2MQV(r.eph, r.peerPub, h.rA)
	if err != nil {
		return nil, fmt.Errorf("%w: no shared point with R_A", ErrAuth)
	}
	rB := r.eph.PublicKey()
	reply := encodeReplyHead(&reply{nonceA: h.nonceA, nonceB: r.nonce, id: r.selfID, rB: rB, epochB: r.epoch})
	thReply := transcript(msg, reply)
	sB := confirmTag(prefixSB, v, r.zPeer, r.zSelf, h.rA, rB, thReply)
	reply = append(reply, sB[:]...)
	r.hello, r.reply = bytes.Clone(msg), reply
	r.nonceA, r.rA, r.v = h.nonceA, h.rA, v
	r.state = stateWaitConfirm
	return bytes.Clone(reply), nil
}

func (r *Responder) handleConfirm(msg []byte) error {
	if t, err := PeekType(msg); err == nil && t == MsgHello {
		return fmt.Errorf("%w: another Hello while waiting for Confirm (a restarted initiator, or a forgery): this handshake goes on; start a new Responder to answer it", ErrState)
	}
	c, err := decodeConfirm(msg)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(c.nonceA[:], r.nonceA[:]) != 1 ||
		subtle.ConstantTimeCompare(c.nonceB[:], r.nonce[:]) != 1 {
		return fmt.Errorf("%w: Confirm belongs to another handshake (nonces differ)", ErrAuth)
	}
	head := msg[:len(msg)-TagSize]
	thConfirm := transcript(r.hello, r.reply, head)
	sA := confirmTag(prefixSA, r.v, r.zPeer, r.zSelf, r.rA, r.eph.PublicKey(), thConfirm)
	if subtle.ConstantTimeCompare(c.sA[:], sA[:]) != 1 {
		return fmt.Errorf("%w: S_A does not verify (wrong pinned key or id for %s, or a modified message)", ErrAuth, r.peerID)
	}
	v := r.v
	r.v = nil
	return r.finish(v, true, thConfirm, c.epochA, r.epoch)
}

// Result returns the keys once Handle reported done, or ErrState while the
// handshake is still waiting. The caller owns the keys and zeroes them with
// Keys.Zero.
func (r *Responder) Result() (*Keys, error) { return r.result() }

// String describes the handshake without secrets.
func (r *Responder) String() string { return r.describe("Responder") }

// Format implements fmt.Formatter so that no verb prints key material.
func (r *Responder) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }
