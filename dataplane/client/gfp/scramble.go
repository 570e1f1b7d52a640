package gfp

import "encoding/binary"

// Scrambler is the state of the x^43+1 self-synchronous scrambler of the
// GFP payload area, on either side: the last 64 scrambled bits of payload
// area sent (or received), the newest in bit 0. The zero value is a valid
// start (both ends starting from it agree from the first octet on); a
// descrambler that starts anywhere else agrees with its scrambler after 43
// bits.
//
// Scrambled bit n is s[n] = d[n] XOR s[n-43]. On a big-endian 64-bit word
// (its first bit in bit 63) whose previous 64 scrambled bits are S, that is
// t = d XOR S<<21, then s = t XOR t>>43: bits 63..21 take their s[n-43]
// from S, bits 20..0 from bits 63..43 of the same word, already final.
// Descrambling needs no such feedback: d = s XOR s>>43 XOR S<<21.
type Scrambler struct{ s uint64 }

// Scramble writes the scrambled src into dst (len(dst) ≥ len(src); they may
// be the same slice) and advances the state.
func (x *Scrambler) Scramble(dst, src []byte) {
	s := x.s
	dst = dst[:len(src)]
	for len(src) >= 8 && len(dst) >= 8 {
		t := binary.BigEndian.Uint64(src) ^ s<<21
		t ^= t >> 43
		binary.BigEndian.PutUint64(dst, t)
		s = t
		src, dst = src[8:], dst[8:]
	}
	for i, o := range src {
		o ^= byte(s >> 35)
		dst[i] = o
		s = s<<8 | uint64(o)
	}
	x.s = s
}

// Descramble writes the descrambled src into dst (len(dst) ≥ len(src); they
// may be the same slice) and advances the state with the received bits.
func (x *Scrambler) Descramble(dst, src []byte) {
	s := x.s
	dst = dst[:len(src)]
	for len(src) >= 8 && len(dst) >= 8 {
		o := binary.BigEndian.Uint64(src)
		binary.BigEndian.PutUint64(dst, o^o>>43^s<<21)
		s = o
		src, dst = src[8:], dst[8:]
	}
	for i, o := range src {
		dst[i] = o ^ byte(s>>35)
		s = s<<8 | uint64(o)
	}
	x.s = s
}

// Absorb advances a descrambler's state over received bits that are not
// kept (a frame the receiver skips).
func (x *Scrambler) Absorb(src []byte) {
	if n := len(src); n >= 8 {
		x.s = binary.BigEndian.Uint64(src[n-8:])
		return
	}
	for _, o := range src {
		x.s = x.s<<8 | uint64(o)
	}
}

// Set makes the state the eight octets b (big-endian): the last 64 bits of
// payload area received.
func (x *Scrambler) Set(b uint64) { x.s = b }
