package negotiation

import (
	"encoding/binary"
)

// Messages of the incremental mode (wire format v1, types 7 … 11). Sift,
// SiftReply and VerifyReply are shared with the one-shot mode.

// Step (initiator → responder) publishes the next odd power sums of the
// block's kept bits over GF(2^m), m = fieldBits(K):
//
//	bits u16 (K) ‖ field u8 (m) ‖ first u16 ‖ count u16 ‖ count × u16 (< 2^m)
//
// Sums[i] is S_{2(first+i)+1}. First is the number of odd sums published
// before this step; count is 0 only when K is 0.
type Step struct {
	Header
	Bits  int // kept bits K of the block, 0 … MaxSpan
	First int // odd sums sent in earlier steps, 0 … maxIncT
	Sums  []uint16
}

func (*Step) Type() MsgType { return TypeStep }

// Field is m, the field's degree, which the block length fixes.
func (m *Step) Field() int { return fieldBits(m.Bits) }

func (m *Step) check() error {
	const name = "Step"
	if m.Bits < 0 || m.Bits > MaxSpan {
		return malformed(name, "bits", "%d not in 0..%d", m.Bits, MaxSpan)
	}
	if m.First < 0 || m.First+len(m.Sums) > maxIncT || (m.Bits == 0 && m.First != 0) {
		return malformed(name, "first", "%d with %d sums for %d bits (at most %d sums)", m.First, len(m.Sums), m.Bits, maxIncT)
	}
	if (len(m.Sums) == 0) != (m.Bits == 0) {
		return malformed(name, "count", "%d sums for %d bits", len(m.Sums), m.Bits)
	}
	limit := 1<<m.Field() - 1
	for i, s := range m.Sums {
		if int(s) > limit {
			return malformed(name, "sums", "value %d at %d exceeds %d bits", s, i, m.Field())
		}
	}
	return nil
}

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *Step) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := m.Header.put(make([]byte, 0, headerSize+7+2*len(m.Sums)), TypeStep)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Bits))
	b = append(b, byte(m.Field()))
	b = binary.BigEndian.AppendUint16(b, uint16(m.First))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Sums)))
	for _, s := range m.Sums {
		b = binary.BigEndian.AppendUint16(b, s)
	}
	return b, nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *Step) UnmarshalBinary(b []byte) error {
	const name = "Step"
	var n Step
	b, err := n.Header.get(b, TypeStep)
	if err != nil {
		return err
	}
	if len(b) < 7 {
		return malformed(name, "bits/field/first/count", "%d bytes, need 7", len(b))
	}
	n.Bits = int(binary.BigEndian.Uint16(b))
	if f := int(b[2]); f != fieldBits(n.Bits) {
		return malformed(name, "field", "%d, want %d for %d bits", f, fieldBits(n.Bits), n.Bits)
	}
	n.First = int(binary.BigEndian.Uint16(b[3:]))
	count := int(binary.BigEndian.Uint16(b[5:]))
	b = b[7:]
	if len(b) != 2*count {
		return malformed(name, "sums", "%d bytes, want %d", len(b), 2*count)
	}
	if count > 0 {
		n.Sums = make([]uint16, count)
	}
	for i := range n.Sums {
		n.Sums[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	if err := n.check(); err != nil {
		return err
	}
	*m = n
	return nil
}

// StepStatus is the responder's verdict after a Step.
type StepStatus uint8

const (
	StepDecoded StepStatus = 0 // consistent, confirmed decoding: the block is reconciled
	StepMore    StepStatus = 1 // not yet: send the next step
	StepFailed  StepStatus = 2 // not decoded at the cap: the block is dropped
)

// StepReply (responder → initiator) answers a Step:
//
//	status u8 (0 decoded, 1 more, 2 failed) ‖ sums u16 (odd sums received
//	in all) ‖ corrected u16 (bits flipped; 0 unless decoded, ≤ sums)
type StepReply struct {
	Header
	Status    StepStatus
	Sums      int
	Corrected int
}

func (*StepReply) Type() MsgType { return TypeStepReply }

func (m *StepReply) check() error {
	const name = "StepReply"
	if m.Status > StepFailed {
		return malformed(name, "status", "%d not 0, 1 or 2", m.Status)
	}
	if m.Sums < 0 || m.Sums > maxIncT {
		return malformed(name, "sums", "%d not in 0..%d", m.Sums, maxIncT)
	}
	if m.Corrected < 0 || m.Corrected > m.Sums || (m.Status != StepDecoded && m.Corrected != 0) {
		return malformed(name, "corrected", "%d with status %d and %d sums", m.Corrected, m.Status, m.Sums)
	}
	return nil
}

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *StepReply) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := m.Header.put(make([]byte, 0, headerSize+5), TypeStepReply)
	b = append(b, byte(m.Status))
	b = binary.BigEndian.AppendUint16(b, uint16(m.Sums))
	return binary.BigEndian.AppendUint16(b, uint16(m.Corrected)), nil
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *StepReply) UnmarshalBinary(b []byte) error {
	var n StepReply
	b, err := n.Header.get(b, TypeStepReply)
	if err != nil {
		return err
	}
	if len(b) != 5 {
		return malformed("StepReply", "body", "%d bytes, want 5", len(b))
	}
	n.Status = StepStatus(b[0])
	n.Sums, n.Corrected = int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
	if err := n.check(); err != nil {
		return err
	}
	*m = n
	return nil
}

// VerifySeeds (initiator → responder) closes an incremental attempt that
// yields Seeds seeds:
//
//	bits u32 (L) ‖ leaked u32 ‖ seeds u8 (1 … maxSeedsWire) ‖ nonce 16 B ‖ tag 8 B
//	‖ toeplitz ⌈(L + 256·seeds − 1)/8⌉ B
//
// As Verify, with the privacy-amplification output 256·Seeds bits long
// (seed c is output bits 256·c … 256·c+255) and the tag over label
// "otkd/verify/v2", which also covers Seeds. The responder answers with a
// VerifyReply; seeds after the first are released by Release messages.
type VerifySeeds struct {
	Header
	Bits     int
	Leaked   int
	Seeds    int
	Nonce    [nonceSize]byte
	Tag      [tagSize]byte
	Toeplitz []byte
}

func (*VerifySeeds) Type() MsgType { return TypeVerifySeeds }

func (m *VerifySeeds) check() error {
	const name = "VerifySeeds"
	if m.Bits < 1 || m.Bits > maxAttemptBits {
		return malformed(name, "bits", "%d not in 1..%d", m.Bits, maxAttemptBits)
	}
	if m.Leaked < 0 || m.Leaked > 1<<31-1 {
		return malformed(name, "leaked", "%d", m.Leaked)
	}
	if m.Seeds < 1 || m.Seeds > maxSeedsWire {
		return malformed(name, "seeds", "%d not in 1..%d", m.Seeds, maxSeedsWire)
	}
	nb := m.Bits + m.Seeds*SeedBits - 1
	if len(m.Toeplitz) != (nb+7)/8 {
		return malformed(name, "toeplitz", "%d bytes, want %d", len(m.Toeplitz), (nb+7)/8)
	}
	if pad := nb % 8; pad != 0 && m.Toeplitz[len(m.Toeplitz)-1]&(0xff>>pad) != 0 {
		return malformed(name, "toeplitz", "padding bits set")
	}
	return nil
}

// MarshalBinary encodes m; it fails on inconsistent fields.
func (m *VerifySeeds) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := m.Header.put(make([]byte, 0, verifySeedsFixed+len(m.Toeplitz)), TypeVerifySeeds)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Bits))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Leaked))
	b = append(b, byte(m.Seeds))
	b = append(b, m.Nonce[:]...)
	b = append(b, m.Tag[:]...)
	return append(b, m.Toeplitz...), nil
}

// verifySeedsFixed is the size of a VerifySeeds without its Toeplitz seed.
const verifySeedsFixed = headerSize + 9 + nonceSize + tagSize

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *VerifySeeds) UnmarshalBinary(b []byte) error {
	const name = "VerifySeeds"
	var n VerifySeeds
	b, err := n.Header.get(b, TypeVerifySeeds)
	if err != nil {
		return err
	}
	if len(b) < verifySeedsFixed-headerSize {
		return malformed(name, "bits/leaked/seeds/nonce/tag", "%d bytes, need %d", len(b), verifySeedsFixed-headerSize)
	}
	l, leak := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if l < 1 || l > maxAttemptBits {
		return malformed(name, "bits", "%d not in 1..%d", l, maxAttemptBits)
	}
	if leak > 1<<31-1 {
		return malformed(name, "leaked", "%d", leak)
	}
	n.Bits, n.Leaked, n.Seeds = int(l), int(leak), int(b[8])
	if n.Seeds < 1 || n.Seeds > maxSeedsWire {
		return malformed(name, "seeds", "%d not in 1..%d", n.Seeds, maxSeedsWire)
	}
	copy(n.Nonce[:], b[9:25])
	copy(n.Tag[:], b[25:33])
	n.Toeplitz = append([]byte(nil), b[33:]...)
	if err := n.check(); err != nil {
		return err
	}
	*m = n
	return nil
}

// Release (initiator → responder) asks for seed Index (1 … Seeds−1) of a
// verified attempt: index u8. Each end returns that seed's Result when it
// handles the Release (responder) or its ReleaseReply (initiator), so one
// Handle call never has two results.
type Release struct {
	Header
	Index int
}

func (*Release) Type() MsgType { return TypeRelease }

// MarshalBinary encodes m; it fails on an index out of range.
func (m *Release) MarshalBinary() ([]byte, error) { return putIndex(m.Header, TypeRelease, m.Index) }

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *Release) UnmarshalBinary(b []byte) error {
	return getIndex(&m.Header, &m.Index, b, TypeRelease)
}

// ReleaseReply (responder → initiator) confirms a Release: index u8, the
// Release's.
type ReleaseReply struct {
	Header
	Index int
}

func (*ReleaseReply) Type() MsgType { return TypeReleaseReply }

// MarshalBinary encodes m; it fails on an index out of range.
func (m *ReleaseReply) MarshalBinary() ([]byte, error) {
	return putIndex(m.Header, TypeReleaseReply, m.Index)
}

// UnmarshalBinary decodes b into m; on error m is unchanged.
func (m *ReleaseReply) UnmarshalBinary(b []byte) error {
	return getIndex(&m.Header, &m.Index, b, TypeReleaseReply)
}

func putIndex(h Header, t MsgType, i int) ([]byte, error) {
	if i < 1 || i >= maxSeedsWire {
		return nil, malformed(t.String(), "index", "%d not in 1..%d", i, maxSeedsWire-1)
	}
	return append(h.put(make([]byte, 0, headerSize+1), t), byte(i)), nil
}

func getIndex(h *Header, i *int, b []byte, t MsgType) error {
	var n Header
	b, err := n.get(b, t)
	if err != nil {
		return err
	}
	if len(b) != 1 || b[0] < 1 || int(b[0]) >= maxSeedsWire {
		return malformed(t.String(), "index", "want one byte 1..%d, got % x", maxSeedsWire-1, b)
	}
	*h, *i = n, int(b[0])
	return nil
}
