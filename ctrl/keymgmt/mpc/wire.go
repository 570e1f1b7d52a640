package mpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire format: every message starts with a version byte (wireVersion) and a
// type byte; integers are big-endian; points are 65 bytes (see pointLen);
// scalars are 32 bytes below the group order. Decoders reject anything that
// is not exactly what the encoder would write: unknown version or type,
// out-of-range counts and indices, off-curve points, trailing bytes.
const (
	wireVersion = 1

	typeDealing   = 1
	typeComplaint = 2
	typePartial   = 3
	typePublic    = 4
)

// MaxNodes bounds n. It keeps every message small and every decoder's
// allocation bounded by the input length.
const MaxNodes = 64

// maxSigLen bounds an ASN.1 SM2 signature (two 33-byte INTEGERs + headers).
const maxSigLen = 80

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("mpc: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// reader consumes a message front to back; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = malformed("truncated %s", what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8(what string) int {
	b := r.take(1, what)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) u16(what string) int {
	b := r.take(2, what)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (r *reader) u32(what string) int {
	b := r.take(4, what)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint32(b))
}

func (r *reader) u64(what string) uint64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) point(what string) point {
	b := r.take(pointLen, what)
	if b == nil {
		return point{}
	}
	p, err := pointFromBytes(b)
	if err != nil {
		r.err = malformed("%s: %v", what, err)
	}
	return p
}

func (r *reader) scalar(what string) scalar {
	b := r.take(scalarLen, what)
	if b == nil {
		return scalar{}
	}
	s, err := scalarFromBytes(b)
	if err != nil {
		r.err = malformed("%s: %v", what, err)
	}
	return s
}

// header checks the version and type bytes.
func (r *reader) header(typ int, name string) {
	if v := r.u8("version"); r.err == nil && v != wireVersion {
		r.err = malformed("%s: version %d, want %d", name, v, wireVersion)
	}
	if t := r.u8("type"); r.err == nil && t != typ {
		r.err = malformed("%s: type %d, want %d", name, t, typ)
	}
}

// fail records err unless an earlier error is already recorded.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(format, args...)
	}
}

// end returns the first error, or an error for trailing bytes.
func (r *reader) end(name string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = malformed("%s: %d trailing bytes", name, len(r.b))
	}
	return r.err
}

func appendHeader(b []byte, typ byte) []byte { return append(b, wireVersion, typ) }

func appendU16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// checkTN validates a threshold t and node count n.
func checkTN(t, n int) error {
	if n < 3 || n > MaxNodes || t < 2 || t >= n {
		return fmt.Errorf("threshold %d of %d nodes: want 1 < t < n ≤ %d", t, n, MaxNodes)
	}
	return nil
}
