package framer

import (
	"encoding/binary"
	"fmt"
)

// Geometry of wire format v2 (docs/protocol.md has the byte map).
const (
	Rows     = 4                 // rows of an OTU2 frame
	RowLen   = 4080              // bytes per row
	OTU2Len  = Rows * RowLen     // 16 320: the standard OTU2 frame
	AreaLen  = 255               // one extension area
	ExtLen   = 2 * AreaLen       // 510: negotiation area + interaction area
	FrameLen = OTU2Len + ExtLen  // 16 830: one wire frame
	InfoCols = 3824              // information columns per row (FEC covers 3825..4080)
	OPUFirst = 15                // first OPU column (OPU overhead 15..16, payload 17..3824)
	ExtOff   = OTU2Len           // offset of the extension in a contiguous frame
	NegOff   = ExtOff            // offset of the negotiation area
	IntOff   = ExtOff + AreaLen  // offset of the interaction area
	IntMsg   = 239               // interaction-area information bytes: MsgLen messages + TagLen tag (then 16 parity bytes)
	Segments = 16                // ZUC segments (EEA3 bearers) per frame
	EncLen   = 15776             // encrypted bytes per frame
	SegLen   = EncLen / Segments // 986 bytes per segment

	encRow1 = InfoCols - (OPUFirst - 1) // 3810 encrypted bytes in row 1
	encExt  = AreaLen + IntMsg          // 494 encrypted extension bytes
)

// Frame alignment signal, row 1 columns 1-6.
var fas = [6]byte{0xF6, 0xF6, 0xF6, 0x28, 0x28, 0x28}

// Column positions (1-based, row 1) of the clear overhead fields.
const (
	colMFAS = 7  // MFAS = COUNT bits 7-0
	colSM   = 8  // SM: TTI, BIP-8, BEI/BIAE/BDI/IAE
	colBIP8 = 9  // SM byte 2
	colGCC0 = 11 // GCC0 byte 1 = key epoch; byte 2 = COUNT bits 31-24
	colRES  = 13 // RES: COUNT bits 23-8, big-endian
)

// Negotiation-area field offsets (relative to the area).
const (
	negStatus  = 0
	negSendSeq = 1
	negData1   = 3
	negRespSeq = negData1 + DataLen
	negData2   = negRespSeq + 2
	negReserve = negData2 + DataLen

	// Data1Off and Data2Off are the offsets of data1 and data2 in a
	// contiguous frame: the 1984 negotiation bits a line delivers soft
	// samples for (data1 first).
	Data1Off = NegOff + negData1
	Data2Off = NegOff + negData2

	// DataLen is the size of data1 and data2: two interleaved 496-bit arrays.
	DataLen = 124
	// ArrayBits is the length of one negotiation array (X1, X2, Y1 or Y2).
	ArrayBits = 496
	// ArrayLen is ArrayBits in bytes.
	ArrayLen = ArrayBits / 8
)

// Negotiation status bits.
const (
	StatusData1 = 1 << 0 // data1 holds the sender's own round (X1, X2)
	StatusData2 = 1 << 1 // data2 holds a response (Y1, Y2) to a peer round
)

// Frame is a view over caller-owned memory holding one wire-format-v2 frame:
// four 4080-byte rows and the 510-byte extension. The zero value is not a
// frame; make one with View or ViewRows. A Frame never copies or allocates;
// its accessors read and write the caller's bytes in place. Like the memory
// it views, a Frame is not safe for concurrent mutation.
type Frame struct {
	rows [Rows][]byte
	ext  []byte
}

// View returns the frame held in one contiguous buffer of exactly FrameLen
// bytes.
func View(buf []byte) (Frame, error) {
	if len(buf) != FrameLen {
		return Frame{}, &LengthError{What: "frame", Got: len(buf), Want: FrameLen}
	}
	var f Frame
	for r := range Rows {
		f.rows[r] = buf[r*RowLen : (r+1)*RowLen : (r+1)*RowLen]
	}
	f.ext = buf[ExtOff:FrameLen:FrameLen]
	return f, nil
}

// ViewRows returns the frame held in four separate row buffers of RowLen
// bytes and an extension of ExtLen bytes, as a zero-copy line delivers them.
func ViewRows(rows [Rows][]byte, ext []byte) (Frame, error) {
	var f Frame
	for r := range Rows {
		if len(rows[r]) != RowLen {
			return Frame{}, &LengthError{What: fmt.Sprintf("row %d", r+1), Got: len(rows[r]), Want: RowLen}
		}
		f.rows[r] = rows[r][:RowLen:RowLen]
	}
	if len(ext) != ExtLen {
		return Frame{}, &LengthError{What: "extension", Got: len(ext), Want: ExtLen}
	}
	f.ext = ext[:ExtLen:ExtLen]
	return f, nil
}

// Row returns row r (0-based) of the frame.
func (f *Frame) Row(r int) []byte { return f.rows[r] }

// Ext returns the 510-byte extension.
func (f *Frame) Ext() []byte { return f.ext }

// at returns the byte at row r, column c (both 1-based, as in G.709).
func (f *Frame) at(r, c int) *byte { return &f.rows[r-1][c-1] }

// FAS returns the six frame-alignment bytes.
func (f *Frame) FAS() [6]byte { return [6]byte(f.rows[0][:6]) }

// FASOK reports whether the frame-alignment signal is exact.
func (f *Frame) FASOK() bool { return f.FAS() == fas }

// fasDistance returns the number of bit errors in the alignment signal.
func (f *Frame) fasDistance() int {
	n := 0
	for i, b := range fas {
		n += popcount8(f.rows[0][i] ^ b)
	}
	return n
}

// SetFAS writes the frame-alignment signal.
func (f *Frame) SetFAS() { copy(f.rows[0][:6], fas[:]) }

// MFAS returns the multiframe alignment byte (= COUNT bits 7-0).
func (f *Frame) MFAS() byte { return *f.at(1, colMFAS) }

// Epoch returns the key epoch carried in GCC0 byte 1.
func (f *Frame) Epoch() uint8 { return *f.at(1, colGCC0) }

// SetEpoch writes the key epoch.
func (f *Frame) SetEpoch(e uint8) { *f.at(1, colGCC0) = e }

// Count returns the 32-bit frame counter (COUNT) from GCC0 byte 2, RES and MFAS.
func (f *Frame) Count() uint32 {
	r := f.rows[0]
	return uint32(r[colGCC0])<<24 | uint32(binary.BigEndian.Uint16(r[colRES-1:]))<<8 | uint32(r[colMFAS-1])
}

// SetCount writes the frame counter; its low byte becomes the MFAS.
func (f *Frame) SetCount(c uint32) {
	r := f.rows[0]
	r[colGCC0] = byte(c >> 24)
	binary.BigEndian.PutUint16(r[colRES-1:], uint16(c>>8))
	r[colMFAS-1] = byte(c)
}

// BIP8 returns the SM BIP-8 byte (row 1 column 9). By G.709 it carries the
// BIP-8 of the frame sent two frames earlier.
func (f *Frame) BIP8() byte { return *f.at(1, colBIP8) }

// SetBIP8 writes the SM BIP-8 byte.
func (f *Frame) SetBIP8(b byte) { *f.at(1, colBIP8) = b }

// ComputeBIP8 returns the bit-interleaved parity (XOR) of the OPU bytes,
// columns 15-3824 of all four rows, as the frame stands now.
func (f *Frame) ComputeBIP8() byte {
	var acc byte
	for r := range Rows {
		acc ^= fold(f.rows[r][OPUFirst-1 : InfoCols])
	}
	return acc
}

// Negotiation returns a view of the 255-byte negotiation area.
func (f *Frame) Negotiation() Negotiation { return Negotiation(f.ext[:AreaLen:AreaLen]) }

// Interaction returns the MsgLen (223) message bytes of the interaction
// area: the version byte and TLVs, without the frame tag.
func (f *Frame) Interaction() []byte { return f.ext[AreaLen:tagOff:tagOff] }

// Tag returns the TagLen (16) bytes of the frame tag, after the messages.
// Seal writes it; Open checks it and leaves it zero in the plaintext.
func (f *Frame) Tag() []byte { return f.ext[tagOff : tagOff+TagLen : tagOff+TagLen] }

// InteractionArea returns the whole 255-byte interaction codeword (messages
// and RS parity).
func (f *Frame) InteractionArea() []byte { return f.ext[AreaLen:ExtLen:ExtLen] }

// Negotiation is a view of the 255-byte negotiation area (no FEC: its bit
// errors are the signal). The arrays of data1 and data2 are byte-interleaved:
// X1[0] X2[0] X1[1] X2[1] …
type Negotiation []byte

// Status returns the status byte (StatusData1, StatusData2).
func (n Negotiation) Status() byte { return n[negStatus] }

// SetStatus writes the status byte.
func (n Negotiation) SetStatus(s byte) { n[negStatus] = s }

// SendSeq returns the sender's round sequence (1..65535, 0 = none).
func (n Negotiation) SendSeq() uint16 { return binary.BigEndian.Uint16(n[negSendSeq:]) }

// SetSendSeq writes the sender's round sequence.
func (n Negotiation) SetSendSeq(s uint16) { binary.BigEndian.PutUint16(n[negSendSeq:], s) }

// RespSeq returns the sequence of the peer round answered in data2 (0 = none).
func (n Negotiation) RespSeq() uint16 { return binary.BigEndian.Uint16(n[negRespSeq:]) }

// SetRespSeq writes the answered peer round's sequence.
func (n Negotiation) SetRespSeq(s uint16) { binary.BigEndian.PutUint16(n[negRespSeq:], s) }

// Data1 returns the 124 interleaved bytes of the sender's own round.
func (n Negotiation) Data1() []byte { return n[negData1 : negData1+DataLen : negData1+DataLen] }

// Data2 returns the 124 interleaved bytes of the response arrays.
func (n Negotiation) Data2() []byte { return n[negData2 : negData2+DataLen : negData2+DataLen] }

// Interleave writes the arrays a and b (ArrayLen bytes each) into data
// (DataLen bytes) as a[0] b[0] a[1] b[1] …
func Interleave(data []byte, a, b *[ArrayLen]byte) {
	_ = data[DataLen-1]
	for i := range ArrayLen {
		data[2*i] = a[i]
		data[2*i+1] = b[i]
	}
}

// Deinterleave splits data (DataLen bytes) into the arrays a and b.
func Deinterleave(data []byte, a, b *[ArrayLen]byte) {
	_ = data[DataLen-1]
	for i := range ArrayLen {
		a[i] = data[2*i]
		b[i] = data[2*i+1]
	}
}

// LengthError reports a buffer of the wrong size.
type LengthError struct {
	What      string
	Got, Want int
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("framer: %s is %d bytes, want %d", e.What, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrLength) true for every LengthError.
func (e *LengthError) Is(target error) bool { return target == ErrLength }

func popcount8(b byte) int {
	b = b - (b>>1)&0x55
	b = b&0x33 + (b>>2)&0x33
	return int((b + b>>4) & 0x0F)
}
