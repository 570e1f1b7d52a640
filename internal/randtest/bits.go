package randtest

import (
	"bytes"
	"fmt"
)

// Bits is an immutable sequence of bits. Bytes are read most significant bit
// first. The zero value is the empty sequence.
type Bits struct {
	b []byte
	n int
}

// FromBytes returns the 8·len(b) bits of b, most significant bit of b[0] first.
// b is copied.
func FromBytes(b []byte) Bits {
	return Bits{b: bytes.Clone(b), n: 8 * len(b)}
}

// FromString parses a sequence of '0' and '1' characters, as the worked examples
// of SP 800-22 write them. Any other character is an error.
func FromString(s string) (Bits, error) {
	b := make([]byte, (len(s)+7)/8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '0':
		case '1':
			b[i/8] |= 0x80 >> (i % 8)
		default:
			return Bits{}, fmt.Errorf("%w: character %q at %d is not a bit", ErrBadParam, s[i], i)
		}
	}
	return Bits{b: b, n: len(s)}, nil
}

// Len returns the number of bits.
func (x Bits) Len() int { return x.n }

// Bit returns bit i (0 or 1). It panics if i is out of range.
func (x Bits) Bit(i int) int {
	if i < 0 || i >= x.n {
		panic(fmt.Sprintf("randtest: bit index %d out of range [0,%d)", i, x.n))
	}
	return int(x.b[i/8]>>(7-i%8)) & 1
}

// Prefix returns the first n bits of x, or x itself if it is no longer than n.
func (x Bits) Prefix(n int) Bits {
	if n >= x.n {
		return x
	}
	if n < 0 {
		n = 0
	}
	return Bits{b: x.b[:(n+7)/8], n: n}
}

// unpack returns the bits one per byte, each 0 or 1. The tests work on this form:
// it costs one byte per bit and keeps every test's inner loop plain.
func (x Bits) unpack() []uint8 {
	u := make([]uint8, x.n)
	full := x.n / 8
	for i, v := range x.b[:full] {
		o := (*[8]uint8)(u[8*i:])
		o[0], o[1], o[2], o[3] = v>>7, v>>6&1, v>>5&1, v>>4&1
		o[4], o[5], o[6], o[7] = v>>3&1, v>>2&1, v>>1&1, v&1
	}
	for i := 8 * full; i < x.n; i++ {
		u[i] = x.b[i/8] >> (7 - i%8) & 1
	}
	return u
}
