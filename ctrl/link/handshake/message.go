package handshake

import (
	"fmt"

	"github.com/emmansun/gmsm/ecdh"
)

// Version is the protocol version this package speaks (byte 0 of every
// message). Version 2 added the first TX epochs (epoch_B in the Reply,
// epoch_A in the Confirm); version 1 messages are refused with ErrVersion.
const Version = 2

// MaxMessageSize is the largest message the interaction channel carries.
// Handshake messages are much smaller (at most 292 bytes).
const MaxMessageSize = 2048

// MaxIDLen is the longest user id, in bytes.
const MaxIDLen = 128

// NonceSize, PointSize and TagSize are the sizes of the fixed fields.
const (
	NonceSize = 32
	PointSize = 65 // uncompressed SM2 point 0x04 ‖ x ‖ y
	TagSize   = 32 // SM3 output: S_A, S_B
)

// MsgType is byte 1 of every message.
type MsgType uint8

// Message types.
const (
	MsgHello   MsgType = 1
	MsgReply   MsgType = 2
	MsgConfirm MsgType = 3
)

func (t MsgType) String() string {
	switch t {
	case MsgHello:
		return "Hello"
	case MsgReply:
		return "Reply"
	case MsgConfirm:
		return "Confirm"
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// ConfirmSize is the exact size of a Confirm message.
const ConfirmSize = 2 + 2*NonceSize + 1 + TagSize

// PeekType checks the version byte and returns the type of msg without
// parsing the rest. It lets a driver tell a new Hello (start a new Responder)
// from other traffic.
func PeekType(msg []byte) (MsgType, error) {
	if len(msg) < 2 {
		return 0, malformed(0, "header", fmt.Sprintf("%d bytes, need 2", len(msg)))
	}
	if msg[0] != Version {
		return 0, fmt.Errorf("%w: got %d, want %d", ErrVersion, msg[0], Version)
	}
	t := MsgType(msg[1])
	switch t {
	case MsgHello, MsgReply, MsgConfirm:
		return t, nil
	}
	return 0, malformed(0, "type", fmt.Sprintf("unknown type %d", msg[1]))
}

// hello is a decoded Hello.
type hello struct {
	nonceA [NonceSize]byte
	id     string
	rA     *ecdh.PublicKey
}

// reply is a decoded Reply.
type reply struct {
	nonceA, nonceB [NonceSize]byte
	id             string
	rB             *ecdh.PublicKey
	epochB         uint8
	sB             [TagSize]byte
}

// confirm is a decoded Confirm.
type confirm struct {
	nonceA, nonceB [NonceSize]byte
	epochA         uint8
	sA             [TagSize]byte
}

// reader consumes a message front to back and records the first error.
type reader struct {
	msg MsgType
	b   []byte
	err error
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = malformed(r.msg, field, fmt.Sprintf("truncated: %d bytes left, need %d", len(r.b), n))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) nonce(field string, dst *[NonceSize]byte) {
	if v := r.take(field, NonceSize); v != nil {
		copy(dst[:], v)
	}
}

func (r *reader) id(field string) string {
	n := r.take(field+" length", 1)
	if n == nil {
		return ""
	}
	if n[0] == 0 || n[0] > MaxIDLen {
		r.err = malformed(r.msg, field+" length", fmt.Sprintf("%d, want 1..%d", n[0], MaxIDLen))
		return ""
	}
	v := r.take(field, int(n[0]))
	if v == nil {
		return ""
	}
	if err := checkIDBytes(v); err != "" {
		r.err = malformed(r.msg, field, err)
		return ""
	}
	return string(v)
}

func (r *reader) point(field string) *ecdh.PublicKey {
	v := r.take(field, PointSize)
	if v == nil {
		return nil
	}
	if v[0] != 4 {
		r.err = malformed(r.msg, field, fmt.Sprintf("encoding byte 0x%02x, want 0x04 (uncompressed)", v[0]))
		return nil
	}
	p, err := ecdh.P256().NewPublicKey(v)
	if err != nil {
		r.err = malformed(r.msg, field, "not a point on the SM2 curve")
		return nil
	}
	return p
}

// epoch reads a first TX epoch: 1..255 (0 is the null cipher).
func (r *reader) epoch(field string) uint8 {
	v := r.take(field, 1)
	if v == nil {
		return 0
	}
	if v[0] == 0 {
		r.err = malformed(r.msg, field, "0 is the null cipher, want 1..255")
		return 0
	}
	return v[0]
}

func (r *reader) tag(field string, dst *[TagSize]byte) {
	if v := r.take(field, TagSize); v != nil {
		copy(dst[:], v)
	}
}

// end reports trailing bytes and returns the first error.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = malformed(r.msg, "length", fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return r.err
}

// newReader checks size, version and type, and returns a reader positioned
// after the header.
func newReader(msg []byte, want MsgType) (*reader, error) {
	if len(msg) > MaxMessageSize {
		return nil, malformed(want, "length", fmt.Sprintf("%d bytes, max %d", len(msg), MaxMessageSize))
	}
	t, err := PeekType(msg)
	if err != nil {
		return nil, err
	}
	if t != want {
		return nil, fmt.Errorf("%w: got %v, want %v", ErrState, t, want)
	}
	return &reader{msg: want, b: msg[2:]}, nil
}

func decodeHello(msg []byte) (*hello, error) {
	r, err := newReader(msg, MsgHello)
	if err != nil {
		return nil, err
	}
	var h hello
	r.nonce("nonce_A", &h.nonceA)
	h.id = r.id("ID_A")
	h.rA = r.point("R_A")
	if err := r.end(); err != nil {
		return nil, err
	}
	return &h, nil
}

func decodeReply(msg []byte) (*reply, error) {
	r, err := newReader(msg, MsgReply)
	if err != nil {
		return nil, err
	}
	var p reply
	r.nonce("nonce_A", &p.nonceA)
	r.nonce("nonce_B", &p.nonceB)
	p.id = r.id("ID_B")
	p.rB = r.point("R_B")
	p.epochB = r.epoch("epoch_B")
	r.tag("S_B", &p.sB)
	if err := r.end(); err != nil {
		return nil, err
	}
	return &p, nil
}

func decodeConfirm(msg []byte) (*confirm, error) {
	r, err := newReader(msg, MsgConfirm)
	if err != nil {
		return nil, err
	}
	var c confirm
	r.nonce("nonce_A", &c.nonceA)
	r.nonce("nonce_B", &c.nonceB)
	c.epochA = r.epoch("epoch_A")
	r.tag("S_A", &c.sA)
	if err := r.end(); err != nil {
		return nil, err
	}
	return &c, nil
}

func appendID(b []byte, id string) []byte {
	b = append(b, byte(len(id)))
	return append(b, id...)
}

// encodeHello returns the Hello bytes.
func encodeHello(h *hello) []byte {
	b := make([]byte, 0, 2+NonceSize+1+len(h.id)+PointSize)
	b = append(b, Version, byte(MsgHello))
	b = append(b, h.nonceA[:]...)
	b = appendID(b, h.id)
	return append(b, h.rA.Bytes()...)
}

// encodeReplyHead returns the Reply bytes without S_B; the caller appends it.
func encodeReplyHead(p *reply) []byte {
	b := make([]byte, 0, 2+2*NonceSize+1+len(p.id)+PointSize+1+TagSize)
	b = append(b, Version, byte(MsgReply))
	b = append(b, p.nonceA[:]...)
	b = append(b, p.nonceB[:]...)
	b = appendID(b, p.id)
	b = append(b, p.rB.Bytes()...)
	return append(b, p.epochB)
}

// encodeConfirmHead returns the Confirm bytes without S_A.
func encodeConfirmHead(nonceA, nonceB *[NonceSize]byte, epochA uint8) []byte {
	b := make([]byte, 0, ConfirmSize)
	b = append(b, Version, byte(MsgConfirm))
	b = append(b, nonceA[:]...)
	b = append(b, nonceB[:]...)
	return append(b, epochA)
}

// checkIDBytes returns "" when id is a valid user id and a reason otherwise.
func checkIDBytes(id []byte) string {
	for i, c := range id {
		if c < 0x21 || c > 0x7e {
			return fmt.Sprintf("byte %d is 0x%02x, want printable ASCII 0x21..0x7e", i, c)
		}
	}
	return ""
}

// CheckID reports whether id can be used as a user id: 1..MaxIDLen bytes of
// printable ASCII without spaces (0x21..0x7e), e.g. "otkd:node-a".
func CheckID(id string) error {
	if len(id) == 0 || len(id) > MaxIDLen {
		return fmt.Errorf("handshake: user id of %d bytes, want 1..%d", len(id), MaxIDLen)
	}
	if why := checkIDBytes([]byte(id)); why != "" {
		return fmt.Errorf("handshake: user id %q: %s", id, why)
	}
	return nil
}
