package ichan

import (
	"errors"
	"fmt"
)

// Area format v1 (docs/ichan.md has the byte map).
const (
	// AreaSize is the size of the interaction messages of one frame (wire
	// format v2): the 239 information bytes of the interaction-area
	// RS(255,239) codeword less the 16-byte frame tag (framer.MsgLen).
	AreaSize = 223
	// AreaVersion is the area format version written in byte 0.
	AreaVersion = 1
)

// TLV types. 0x01–0x0F belong to the round protocol of the dataplane,
// 0x10–0x1F to the reliable channel of this package; the rest is reserved.
const (
	TypeEnd      byte = 0x00 // end of the TLVs; the rest of the area is padding
	TypeOwnRound byte = 0x01 // dataplane: {id u32}
	TypeResponse byte = 0x02 // dataplane: {id u32, C2 [62]byte}
	TypeFinal    byte = 0x03 // dataplane: {id u32, C1 [62]byte}
	TypeData     byte = 0x10 // reliable channel: a message segment
	TypeAck      byte = 0x11 // reliable channel: cumulative + selective ack

	RoundTypeFirst byte = 0x01
	RoundTypeLast  byte = 0x0F
	ChanTypeFirst  byte = 0x10
	ChanTypeLast   byte = 0x1F
)

// IsChanType reports whether typ belongs to the reliable channel
// (0x10–0x1F), i.e. whether the RX pipeline must pass it to HandleRX.
func IsChanType(typ byte) bool { return typ >= ChanTypeFirst && typ <= ChanTypeLast }

// ErrMalformedArea is wrapped by every *AreaError.
var ErrMalformedArea = errors.New("ichan: malformed interaction area")

// AreaError says why an area was rejected and where.
type AreaError struct {
	Offset  int    // byte offset in the area of the offending field
	Type    byte   // the TLV type at Offset, when the problem is a TLV
	Problem string // what is wrong, e.g. "length runs past the end of the area"
}

func (e *AreaError) Error() string {
	if e.Offset == 0 {
		return fmt.Sprintf("ichan: area byte 0: %s", e.Problem)
	}
	return fmt.Sprintf("ichan: area TLV type 0x%02x at offset %d: %s", e.Type, e.Offset, e.Problem)
}

// Unwrap returns ErrMalformedArea.
func (e *AreaError) Unwrap() error { return ErrMalformedArea }

// AreaWriter fills one interaction area with TLVs. Its zero value is ready
// for Begin; it does not allocate. One AreaWriter serves one goroutine (the
// TX pipeline) and is reused for every frame.
type AreaWriter struct {
	area []byte
	pos  int
}

// Begin starts a new area over area (normally AreaSize bytes, at least 1):
// it writes the version byte. The bytes after it are undefined until Finish.
func (w *AreaWriter) Begin(area []byte) {
	area[0] = AreaVersion
	w.area, w.pos = area, 1
}

// Room returns the free bytes left in the area, TLV headers included: a
// value of n bytes fits when 2+n <= Room().
func (w *AreaWriter) Room() int { return len(w.area) - w.pos }

// Put appends the TLV typ,val. It returns false and writes nothing when it
// does not fit, when val is longer than 255 bytes or when typ is TypeEnd.
func (w *AreaWriter) Put(typ byte, val []byte) bool {
	v := w.Reserve(typ, len(val))
	if v == nil {
		return false
	}
	copy(v, val)
	return true
}

// Reserve appends a TLV of type typ with an n-byte value and returns the
// value for the caller to fill in place (its contents are undefined), or
// nil when it does not fit (see Put). It saves the copy Put makes.
func (w *AreaWriter) Reserve(typ byte, n int) []byte {
	if typ == TypeEnd || n < 0 || n > 255 || 2+n > w.Room() {
		return nil
	}
	p := w.pos
	w.area[p], w.area[p+1] = typ, byte(n)
	w.pos = p + 2 + n
	return w.area[p+2 : w.pos : w.pos]
}

// Finish zero-pads the rest of the area; the first zero is the end TLV
// (none is needed when the TLVs fill the area exactly).
func (w *AreaWriter) Finish() { clear(w.area[w.pos:]) }

// Len returns the bytes written so far, version byte included.
func (w *AreaWriter) Len() int { return w.pos }

// AreaReader walks the TLVs of a received area. Its zero value is ready for
// Reset; it does not allocate. Reset checks the whole area before Next
// yields anything, so a malformed area is rejected as a whole.
type AreaReader struct {
	area []byte
	pos  int
	err  AreaError
	bad  bool
}

// Reset validates area and positions the reader at its first TLV. On a
// malformed area (empty, unknown version, a TLV header cut off by the end
// of the area, a length running past the end) it returns an *AreaError and
// Next yields nothing. The returned error points into the reader and stays
// valid until the next Reset; copy *err to keep it longer. Bytes after the
// end TLV are padding and are not inspected. Values returned by Next alias
// area.
func (r *AreaReader) Reset(area []byte) error {
	r.area, r.pos, r.bad = nil, 0, false
	if len(area) == 0 {
		return r.fail(0, 0, "empty area")
	}
	if area[0] != AreaVersion {
		return r.fail(0, 0, "unknown area format version")
	}
	for p := 1; p < len(area); {
		t := area[p]
		if t == TypeEnd {
			break
		}
		if p+1 >= len(area) {
			return r.fail(p, t, "TLV header cut off by the end of the area")
		}
		end := p + 2 + int(area[p+1])
		if end > len(area) {
			return r.fail(p, t, "length runs past the end of the area")
		}
		p = end
	}
	r.area, r.pos = area, 1
	return nil
}

func (r *AreaReader) fail(off int, typ byte, problem string) error {
	r.err = AreaError{Offset: off, Type: typ, Problem: problem}
	r.bad = true
	return &r.err
}

// Next returns the next TLV of any type (the caller skips types it does not
// know); ok is false after the last one. val aliases the area.
func (r *AreaReader) Next() (typ byte, val []byte, ok bool) {
	p := r.pos
	if p == 0 || p >= len(r.area) || r.area[p] == TypeEnd {
		r.pos = len(r.area)
		return 0, nil, false
	}
	end := p + 2 + int(r.area[p+1])
	r.pos = end
	return r.area[p], r.area[p+2 : end : end], true
}

// Err returns the error of the last Reset, or nil.
func (r *AreaReader) Err() error {
	if r.bad {
		return &r.err
	}
	return nil
}
