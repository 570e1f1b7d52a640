// Package lane is the handshake lane: the only thing a null-cipher frame
// carries (docs/protocol.md, "Handshake lane"). Before two ends share a
// session key, and while a restarted peer comes back, their SM2 handshake
// messages and the "I have no session" beacon travel in the clear here;
// nothing the lane delivers is trusted before the handshake itself
// authenticates it.
//
// The lane is stateless and self-healing. A sender has at most one current
// message, set by its controller (Sender.Set) and repeated, one fragment per
// null frame, for as long as it is set. Each fragment (TLV type 0x20) names
// the whole message by its length and a CRC-32C digest and gives its own
// offset. A receiver reassembles the message of one (length, digest) at a
// time: a fragment of another one starts over, and a completed message whose
// bytes do not match its digest is dropped. A complete message is delivered
// once, unless it is the same as the last one delivered: the lane's
// repetition never floods the controller, yet a forged message cannot keep
// the real one out (the real one is delivered again right after it). So
// loss, duplication, reordering and injected fragments cost at most a
// reassembly, and once an attacker stops, the next repetition of the real
// message gets through. The digest is not a MAC: it only tells fragments of
// different messages apart.
//
// Concurrency: Sender.Set and Sender.Current run on the controller
// goroutine, Sender.Fill on the TX goroutine; they meet in an atomic pointer
// to an immutable Msg. A Receiver belongs to the RX goroutine; complete
// messages go to the controller through an SPSC ring (Port). Fill and Handle
// are lock-free and allocation-free.
package lane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/ichan"
)

// Wire constants (docs/protocol.md).
const (
	// Type is the TLV type of a lane fragment.
	Type byte = 0x20
	// MaxMsg is the largest lane message.
	MaxMsg = 512
	// Header is the fragment header: digest u32, length u16, offset u16.
	Header = 8
)

// Kinds of lane message (the first byte of every message).
const (
	KindHandshake byte = 0x01 // an SM2 handshake message (ctrl/link/handshake)
	KindBeacon    byte = 0x02 // "this end has no session": empty body
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Digest is the CRC-32C of a message.
func Digest(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Msg is an immutable lane message.
type Msg struct {
	b      []byte
	digest uint32
}

// ErrSize is returned for an empty message or one longer than MaxMsg.
var ErrSize = fmt.Errorf("lane: message must be 1..%d bytes", MaxMsg)

// NewMsg returns a copy of b as a lane message.
func NewMsg(b []byte) (*Msg, error) {
	if len(b) == 0 || len(b) > MaxMsg {
		return nil, ErrSize
	}
	c := append([]byte(nil), b...)
	return &Msg{b: c, digest: Digest(c)}, nil
}

// Bytes returns the message (do not modify it).
func (m *Msg) Bytes() []byte { return m.b }

// Sender repeats the current message of one end, one fragment per null
// frame. The zero value has no message.
type Sender struct {
	cur  atomic.Pointer[Msg]
	sent *Msg // TX: the message being cut
	off  int  // TX: offset of the next fragment
}

// Set makes m the current message (nil: none); controller goroutine.
func (s *Sender) Set(m *Msg) { s.cur.Store(m) }

// Current returns the current message, nil for none.
func (s *Sender) Current() *Msg { return s.cur.Load() }

// Fill writes the next fragment of the current message into w, as much as
// its room allows; TX goroutine, once per null frame. It returns false when
// there is no message (or no room for a byte of it).
func (s *Sender) Fill(w *ichan.AreaWriter) bool {
	m := s.cur.Load()
	if m == nil {
		return false
	}
	if m != s.sent || s.off >= len(m.b) {
		s.sent, s.off = m, 0
	}
	n := min(len(m.b)-s.off, w.Room()-2-Header, 255-Header)
	if n <= 0 {
		return false
	}
	v := w.Reserve(Type, Header+n)
	binary.BigEndian.PutUint32(v[0:], m.digest)
	binary.BigEndian.PutUint16(v[4:], uint16(len(m.b)))
	binary.BigEndian.PutUint16(v[6:], uint16(s.off))
	copy(v[Header:], m.b[s.off:s.off+n])
	s.off += n
	return true
}

// Errors of Handle; prepared values, so that a rejection does not allocate.
var (
	ErrMalformed = errors.New("lane: malformed fragment")
	errShort     = fmt.Errorf("%w: shorter than its %d-byte header", ErrMalformed, Header)
	errLength    = fmt.Errorf("%w: message length not 1..%d", ErrMalformed, MaxMsg)
	errRange     = fmt.Errorf("%w: fragment runs past the message length", ErrMalformed)
)

// Stats counts what a Receiver did.
type Stats struct {
	Fragments uint64 // well-formed fragments handled
	Malformed uint64 // fragments refused
	Restarts  uint64 // reassemblies dropped for a fragment of another message
	BadDigest uint64 // complete messages whose bytes did not match their digest
	Delivered uint64 // messages delivered
	Repeats   uint64 // complete messages equal to the last one delivered
}

// counters are the Stats as atomics: the RX goroutine writes them, any
// goroutine reads them.
type counters struct {
	fragments, malformed, restarts, badDigest, delivered, repeats atomic.Uint64
}

// Receiver reassembles the peer's lane messages. The zero value is ready.
// Handle is for the RX goroutine only; Stats for any.
type Receiver struct {
	buf    [MaxMsg]byte
	have   [MaxMsg / 64]uint64 // bytes received, one bit each
	digest uint32
	length int // 0: nothing under way
	got    int // bytes received so far

	lastDigest uint32
	lastLength int

	st counters
}

// Handle takes one fragment (a TLV value of type Type). When it completes
// a message that differs from the last one delivered, it returns the
// message (aliasing the Receiver's buffer, valid until the next Handle) and
// true. A malformed fragment returns an error and changes nothing.
func (r *Receiver) Handle(v []byte) ([]byte, bool, error) {
	if len(v) < Header {
		r.st.malformed.Add(1)
		return nil, false, errShort
	}
	digest := binary.BigEndian.Uint32(v)
	length, off := int(binary.BigEndian.Uint16(v[4:])), int(binary.BigEndian.Uint16(v[6:]))
	frag := v[Header:]
	switch {
	case length == 0 || length > MaxMsg:
		r.st.malformed.Add(1)
		return nil, false, errLength
	case off+len(frag) > length:
		r.st.malformed.Add(1)
		return nil, false, errRange
	}
	r.st.fragments.Add(1)
	if length != r.length || digest != r.digest {
		if r.length != 0 {
			r.st.restarts.Add(1)
		}
		r.reset(length, digest)
	}
	copy(r.buf[off:], frag)
	for i := off; i < off+len(frag); i++ {
		if w, b := &r.have[i/64], uint64(1)<<(i%64); *w&b == 0 {
			*w |= b
			r.got++
		}
	}
	if r.got < r.length {
		return nil, false, nil
	}
	msg := r.buf[:r.length]
	r.length = 0 // the next fragment starts a new reassembly
	if Digest(msg) != digest {
		r.st.badDigest.Add(1)
		return nil, false, nil
	}
	if length == r.lastLength && digest == r.lastDigest {
		r.st.repeats.Add(1)
		return nil, false, nil
	}
	r.lastLength, r.lastDigest = length, digest
	r.st.delivered.Add(1)
	return msg, true, nil
}

func (r *Receiver) reset(length int, digest uint32) {
	r.length, r.digest, r.got = length, digest, 0
	clear(r.have[:])
}

// Stats returns the counters; safe from any goroutine.
func (r *Receiver) Stats() Stats {
	c := &r.st
	return Stats{Fragments: c.fragments.Load(), Malformed: c.malformed.Load(), Restarts: c.restarts.Load(),
		BadDigest: c.badDigest.Load(), Delivered: c.delivered.Load(), Repeats: c.repeats.Load()}
}
