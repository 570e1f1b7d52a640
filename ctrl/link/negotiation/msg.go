package negotiation

import (
	"encoding"
	"encoding/binary"
	"fmt"
)

// Wire format v1. Every message starts with an 8-byte header:
//
//	version u8 (= 1) ‖ type u8 ‖ attempt u32 ‖ block u16
//
// All integers are big-endian; bitmaps and bit strings are MSB-first with
// zero padding. Sizes and validation rules are catalogued in
// docs/postprocessing.md. Types 1 … 6 are the one-shot mode's (and Sift,
// SiftReply, VerifyReply shared); 7 … 11 the incremental mode's
// (msg_inc.go).

// Version is the wire-format version carried in every message.
const Version = 1

// MsgType identifies a message.
type MsgType uint8

const (
	TypeSift          MsgType = 1
	TypeSiftReply     MsgType = 2
	TypeSyndrome      MsgType = 3
	TypeSyndromeReply MsgType = 4
	TypeVerify        MsgType = 5
	TypeVerifyReply   MsgType = 6
	TypeStep          MsgType = 7  // incremental mode
	TypeStepReply     MsgType = 8  // incremental mode
	TypeVerifySeeds   MsgType = 9  // incremental mode
	TypeRelease       MsgType = 10 // incremental mode
	TypeReleaseReply  MsgType = 11 // incremental mode
)

func (t MsgType) String() string {
	switch t {
	case TypeSift:
		return "Sift"
	case TypeSiftReply:
		return "SiftReply"
	case TypeSyndrome:
		return "Syndrome"
	case TypeSyndromeReply:
		return "SyndromeReply"
	case TypeVerify:
		return "Verify"
	case TypeVerifyReply:
		return "VerifyReply"
	case TypeStep:
		return "Step"
	case TypeStepReply:
		return "StepReply"
	case TypeVerifySeeds:
		return "VerifySeeds"
	case TypeRelease:
		return "Release"
	case TypeReleaseReply:
		return "ReleaseReply"
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// Message is one post-processing message.
type Message interface {
	Type() MsgType
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

const (
	headerSize = 8
	// MaxSpan bounds the round-id span of one block (a u16 on the wire).
	MaxSpan = 1<<16 - 1
	// maxAttemptBits bounds an attempt's reconciled bit string.
	maxAttemptBits = maxBlocksLimit * MaxSpan
	// MaxMessageSize is the largest message the machines send: with the
	// link's kind byte it fits the reliable interaction channel's 2048
	// bytes. The initiator keeps its Sift spans and attempts within it.
	MaxMessageSize = 2047
	// maxSiftSpan is the longest span whose Sift fits MaxMessageSize.
	maxSiftSpan = 8 * (MaxMessageSize - headerSize - 8)
)

// Header is the common head of every message.
type Header struct {
	Attempt uint32 // seed attempt, from 1, incremented after each result or abandonment
	Block   uint16 // block index within the attempt (Verify: number of blocks)
}

func (h Header) put(b []byte, t MsgType) []byte {
	b = append(b, Version, byte(t))
	b = binary.BigEndian.AppendUint32(b, h.Attempt)
	return binary.BigEndian.AppendUint16(b, h.Block)
}

func (h *Header) get(b []byte, t MsgType) ([]byte, error) {
	name := t.String()
	if len(b) < headerSize {
		return nil, malformed(name, "header", "%d bytes, need %d", len(b), headerSize)
	}
	if b[0] != Version {
		return nil, malformed(name, "version", "%d, want %d", b[0], Version)
	}
	if MsgType(b[1]) != t {
		return nil, malformed(name, "type", "%d, want %d", b[1], t)
	}
	if a := binary.BigEndian.Uint32(b[2:]); a == 0 {
		return nil, malformed(name, "attempt", "zero")
	}
	h.Attempt = binary.BigEndian.Uint32(b[2:])
	h.Block = binary.BigEndian.Uint16(b[6:])
	return b[headerSize:], nil
}

// isNil reports whether m is nil or a nil pointer of a message type.
func isNil(m Message) bool {
	switch v := m.(type) {
	case *Sift:
		return v == nil
	case *SiftReply:
		return v == nil
	case *Syndrome:
		return v == nil
	case *SyndromeReply:
		return v == nil
	case *Verify:
		return v == nil
	case *VerifyReply:
		return v == nil
	case *Step:
		return v == nil
	case *StepReply:
		return v == nil
	case *VerifySeeds:
		return v == nil
	case *Release:
		return v == nil
	case *ReleaseReply:
		return v == nil
	}
	return m == nil
}

// Unmarshal decodes any message by its type byte.
func Unmarshal(b []byte) (Message, error) {
	if len(b) < 2 {
		return nil, malformed("message", "type", "%d bytes", len(b))
	}
	var m Message
	switch MsgType(b[1]) {
	case TypeSift:
		m = new(Sift)
	case TypeSiftReply:
		m = new(SiftReply)
	case TypeSyndrome:
		m = new(Syndrome)
	case TypeSyndromeReply:
		m = new(SyndromeReply)
	case TypeVerify:
		m = new(Verify)
	case TypeVerifyReply:
		m = new(VerifyReply)
	case TypeStep:
		m = new(Step)
	case TypeStepReply:
		m = new(StepReply)
	case TypeVerifySeeds:
		m = new(VerifySeeds)
	case TypeRelease:
		m = new(Release)
	case TypeReleaseReply:
		m = new(ReleaseReply)
	default:
		return nil, malformed("message", "type", "unknown type %d", b[1])
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}

// siftBody is the body shared by Sift and SiftReply:
//
//	lo u32 ‖ span u16 (≥ 1) ‖ kept u16 (= popcount of bitmap) ‖ bitmap ⌈span/8⌉ B
type siftBody struct {
	Lo     uint32 // first round id of the block
	Span   int    // round ids covered: Lo … Lo+Span−1 (mod 2^32); 1 … MaxSpan
	Bitmap []byte // bit i (MSB-first) = round Lo+i kept
}

func (s *siftBody) marshal(h Header, t MsgType) ([]byte, error) {
	if err := s.check(t.String()); err != nil {
		return nil, err
	}
	b := make([]byte, 0, headerSize+8+len(s.Bitmap))
	b = h.put(b, t)
	b = binary.BigEndian.AppendUint32(b, s.Lo)
	b = binary.BigEndian.AppendUint16(b, uint16(s.Span))
	b = binary.BigEndian.AppendUint16(b, uint16(bitmapCount(s.Bitmap)))
	return append(b, s.Bitmap...), nil
}

func (s *siftBody) check(name string) error {
	if s.Span < 1 || s.Span > MaxSpan {
		return malformed(name, "span", "%d not in 1..%d", s.Span, MaxSpan)
	}
	if len(s.Bitmap) != (s.Span+7)/8 {
		return malformed(name, "bitmap", "%d bytes for span %d", len(s.Bitmap), s.Span)
	}
	if pad := s.Span % 8; pad != 0 && s.Bitmap[len(s.Bitmap)-1]&(0xff>>pad) != 0 {
		return malformed(name, "bitmap", "padding bits set")
	}
	return nil
}

func (s *siftBody) unmarshal(h *Header, b []byte, t MsgType) error {
	name := t.String()
	b, err := h.get(b, t)
	if err != nil {
		return err
	}
	if len(b) < 8 {
		return malformed(name, "lo/span/kept", "%d bytes, need 8", len(b))
	}
	lo := binary.BigEndian.Uint32(b)
	span := int(binary.BigEndian.Uint16(b[4:]))
	kept := int(binary.BigEndian.Uint16(b[6:]))
	n := siftBody{Lo: lo, Span: span, Bitmap: b[8:]}
	if span == 0 {
		return malformed(name, "span", "zero")
	}
	if err := n.check(name); err != nil {
		return err
	}
	if c := bitmapCount(n.Bitmap); c != kept {
		return malformed(name, "kept", "%d, bitmap has %d", kept, c)
	}
	s.Lo, s.Span, s.Bitmap = lo, span, append([]byte(nil), n.Bitmap...)
	return nil
}

// Sift (initiator → responder) opens a block: the round-id range and the
// rounds the initiator keeps after its guard band.
type Sift struct {
	Header
	siftBody
}

func (*Sift) Type() MsgType { return TypeSift }

// MarshalBinary encodes m; it fails on an invalid span or bitmap.
func (m *Sift) MarshalBinary() ([]byte, error) { return m.marshal(m.Header, TypeSift) }

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *Sift) UnmarshalBinary(b []byte) error {
	var h Header
	var s siftBody
	if err := s.unmarshal(&h, b, TypeSift); err != nil {
		return err
	}
	m.Header, m.siftBody = h, s
	return nil
}

// SiftReply (responder → initiator) carries the intersection: rounds kept
// at both ends. Same layout as Sift; Lo and Span echo the Sift.
type SiftReply struct {
	Header
	siftBody
}

func (*SiftReply) Type() MsgType { return TypeSiftReply }

// MarshalBinary encodes m; it fails on an invalid span or bitmap.
func (m *SiftReply) MarshalBinary() ([]byte, error) { return m.marshal(m.Header, TypeSiftReply) }

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *SiftReply) UnmarshalBinary(b []byte) error {
	var h Header
	var s siftBody
	if err := s.unmarshal(&h, b, TypeSiftReply); err != nil {
		return err
	}
	m.Header, m.siftBody = h, s
	return nil
}

// Syndrome (initiator → responder) carries the BCH syndromes of the block's
// kept bits:
//
//	bits u16 (kept bits K) ‖ t u8 ‖ chunks u8 (= ⌈K/1023⌉) ‖ chunks·t × u16 (< 1024)
//
// Syndromes[c*T+k] is S_{2k+1} of chunk c.
type Syndrome struct {
	Header
	Bits      int // kept bits K of the block, 0 … MaxSpan
	T         int // corrections per chunk, 0 … 120; 0 iff Bits = 0
	Syndromes []uint16
}

func (*Syndrome) Type() MsgType { return TypeSyndrome }

func (m *Syndrome) check() error {
	const name = "Syndrome"
	if m.Bits < 0 || m.Bits > MaxSpan {
		return malformed(name, "bits", "%d not in 0..%d", m.Bits, MaxSpan)
	}
	if m.T < 0 || m.T > maxT || (m.T == 0) != (m.Bits == 0) {
		return malformed(name, "t", "%d for %d bits", m.T, m.Bits)
	}
	if len(m.Syndromes) != chunkCount(m.Bits)*m.T {
		return malformed(name, "syndromes", "%d values, want %d", len(m.Syndromes), chunkCount(m.Bits)*m.T)
	}
	for i, s := range m.Syndromes {
		if s > gfOrder {
			return malformed(name, "syndromes", "value %d at %d exceeds 10 bits", s, i)
		}
	}
	return nil
}

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *Syndrome) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, headerSize+4+2*len(m.Syndromes))
	b = m.Header.put(b, TypeSyndrome)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Bits))
	b = append(b, byte(m.T), byte(chunkCount(m.Bits)))
	for _, s := range m.Syndromes {
		b = binary.BigEndian.AppendUint16(b, s)
	}
	return b, nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *Syndrome) UnmarshalBinary(b []byte) error {
	const name = "Syndrome"
	var n Syndrome
	b, err := n.Header.get(b, TypeSyndrome)
	if err != nil {
		return err
	}
	if len(b) < 4 {
		return malformed(name, "bits/t/chunks", "%d bytes, need 4", len(b))
	}
	n.Bits, n.T = int(binary.BigEndian.Uint16(b)), int(b[2])
	if c := int(b[3]); c != chunkCount(n.Bits) {
		return malformed(name, "chunks", "%d, want %d for %d bits", c, chunkCount(n.Bits), n.Bits)
	}
	b = b[4:]
	if len(b)%2 != 0 || len(b)/2 != chunkCount(n.Bits)*n.T {
		return malformed(name, "syndromes", "%d bytes, want %d", len(b), 2*chunkCount(n.Bits)*n.T)
	}
	n.Syndromes = make([]uint16, len(b)/2)
	for i := range n.Syndromes {
		n.Syndromes[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	if err := n.check(); err != nil {
		return err
	}
	*m = n
	return nil
}

// SyndromeReply (responder → initiator) reports the decoding:
//
//	status u8 (0 = corrected, 1 = failed) ‖ corrected u16 (0 when failed)
type SyndromeReply struct {
	Header
	OK        bool
	Corrected int // bits flipped at the responder, 0 … MaxSpan
}

func (*SyndromeReply) Type() MsgType { return TypeSyndromeReply }

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *SyndromeReply) MarshalBinary() ([]byte, error) {
	if m.Corrected < 0 || m.Corrected > MaxSpan || (!m.OK && m.Corrected != 0) {
		return nil, malformed("SyndromeReply", "corrected", "%d (ok=%v)", m.Corrected, m.OK)
	}
	b := m.Header.put(make([]byte, 0, headerSize+3), TypeSyndromeReply)
	st := byte(1)
	if m.OK {
		st = 0
	}
	b = append(b, st)
	return binary.BigEndian.AppendUint16(b, uint16(m.Corrected)), nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *SyndromeReply) UnmarshalBinary(b []byte) error {
	const name = "SyndromeReply"
	var n SyndromeReply
	b, err := n.Header.get(b, TypeSyndromeReply)
	if err != nil {
		return err
	}
	if len(b) != 3 {
		return malformed(name, "body", "%d bytes, want 3", len(b))
	}
	if b[0] > 1 {
		return malformed(name, "status", "%d not 0 or 1", b[0])
	}
	n.OK, n.Corrected = b[0] == 0, int(binary.BigEndian.Uint16(b[1:]))
	if !n.OK && n.Corrected != 0 {
		return malformed(name, "corrected", "%d with status failed", n.Corrected)
	}
	*m = n
	return nil
}

// Verify (initiator → responder) closes an attempt:
//
//	bits u32 (L) ‖ leaked u32 ‖ nonce 16 B ‖ tag 8 B ‖ toeplitz ⌈(L+255)/8⌉ B
//
// Bits is the length of the attempt's reconciled string, Leaked the
// initiator's leak total (a cross-check: both ends count the same), Nonce
// keys the tag, Tag is the truncated HMAC-SM3 and Toeplitz the public
// privacy-amplification seed (L+255 bits, zero padding).
type Verify struct {
	Header
	Bits     int
	Leaked   int
	Nonce    [nonceSize]byte
	Tag      [tagSize]byte
	Toeplitz []byte
}

func (*Verify) Type() MsgType { return TypeVerify }

func (m *Verify) check() error {
	const name = "Verify"
	if m.Bits < 1 || m.Bits > maxAttemptBits {
		return malformed(name, "bits", "%d not in 1..%d", m.Bits, maxAttemptBits)
	}
	if m.Leaked < 0 || m.Leaked > 1<<31-1 {
		return malformed(name, "leaked", "%d", m.Leaked)
	}
	nb := m.Bits + SeedBits - 1
	if len(m.Toeplitz) != (nb+7)/8 {
		return malformed(name, "toeplitz", "%d bytes, want %d", len(m.Toeplitz), (nb+7)/8)
	}
	if pad := nb % 8; pad != 0 && m.Toeplitz[len(m.Toeplitz)-1]&(0xff>>pad) != 0 {
		return malformed(name, "toeplitz", "padding bits set")
	}
	return nil
}

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *Verify) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := m.Header.put(make([]byte, 0, headerSize+32+len(m.Toeplitz)), TypeVerify)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Bits))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Leaked))
	b = append(b, m.Nonce[:]...)
	b = append(b, m.Tag[:]...)
	return append(b, m.Toeplitz...), nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *Verify) UnmarshalBinary(b []byte) error {
	const name = "Verify"
	var n Verify
	b, err := n.Header.get(b, TypeVerify)
	if err != nil {
		return err
	}
	if len(b) < 32 {
		return malformed(name, "bits/leaked/nonce/tag", "%d bytes, need 32", len(b))
	}
	l, leak := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if l < 1 || l > maxAttemptBits {
		return malformed(name, "bits", "%d not in 1..%d", l, maxAttemptBits)
	}
	if leak > 1<<31-1 {
		return malformed(name, "leaked", "%d", leak)
	}
	n.Bits, n.Leaked = int(l), int(leak)
	copy(n.Nonce[:], b[8:24])
	copy(n.Tag[:], b[24:32])
	n.Toeplitz = append([]byte(nil), b[32:]...)
	if err := n.check(); err != nil {
		return err
	}
	*m = n
	return nil
}

// VerifyReply (responder → initiator) reports the tag comparison:
//
//	status u8 (0 = match, the responder has taken the seed; 1 = mismatch)
type VerifyReply struct {
	Header
	OK bool
}

func (*VerifyReply) Type() MsgType { return TypeVerifyReply }

// MarshalBinary encodes m.
func (m *VerifyReply) MarshalBinary() ([]byte, error) {
	b := m.Header.put(make([]byte, 0, headerSize+1), TypeVerifyReply)
	if m.OK {
		return append(b, 0), nil
	}
	return append(b, 1), nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *VerifyReply) UnmarshalBinary(b []byte) error {
	var n VerifyReply
	b, err := n.Header.get(b, TypeVerifyReply)
	if err != nil {
		return err
	}
	if len(b) != 1 || b[0] > 1 {
		return malformed("VerifyReply", "status", "want one byte 0 or 1, got % x", b)
	}
	n.OK = b[0] == 0
	*m = n
	return nil
}
