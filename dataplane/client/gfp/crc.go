package gfp

import "encoding/binary"

// The HEC polynomial x^16+x^12+x^5+1 and the pFCS polynomial (IEEE 802.3),
// both in MSB-first (non-reflected) form.
const (
	hecPoly  = 0x1021
	pfcsPoly = 0x04C11DB7
)

// hecTab is the byte-at-a-time table of the HEC, MSB first.
var hecTab = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ hecPoly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// HEC returns the CRC-16 header error check (cHEC, tHEC, eHEC) of b:
// generator x^16+x^12+x^5+1, register initialised to 0, MSB first, not
// complemented (CRC-16/XMODEM).
func HEC(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ hecTab[byte(c>>8)^x]
	}
	return c
}

// hec16 is HEC of the two octets of v (big-endian), the PLI or the type
// field.
func hec16(v uint16) uint16 {
	c := hecTab[v>>8]
	return c<<8 ^ hecTab[byte(c>>8)^byte(v)]
}

// hecSyndrome[k] is the syndrome hec16(PLI) ^ cHEC of a core header whose
// bit k (0 = LSB of the cHEC, 31 = MSB of the PLI) alone is wrong. The 32
// values are distinct and non-zero, and no double error has one of them
// (the code's distance is 4), so a header whose syndrome is among them has
// exactly one error, at k.
var hecSyndrome = func() (s [32]uint16) {
	for k := range 32 {
		h := uint32(1) << k
		s[k] = hec16(uint16(h>>16)) ^ uint16(h)
	}
	return s
}()

// correctHeader returns the core header h (descrambled: PLI in the high 16
// bits, cHEC in the low) with a single-bit error corrected, and whether h
// had exactly one wrong bit. A header with no error is not passed here.
func correctHeader(h uint32) (uint32, bool) {
	syn := hec16(uint16(h>>16)) ^ uint16(h)
	for k, s := range hecSyndrome {
		if s == syn {
			return h ^ 1<<k, true
		}
	}
	return h, false
}

// pfcsTab holds the slicing-by-16 tables of the MSB-first CRC-32: pfcsTab[0]
// is the byte-at-a-time table and pfcsTab[k][i] is the register after byte i
// is followed by k zero octets.
var pfcsTab = func() (t [16][256]uint32) {
	for i := range 256 {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ pfcsPoly
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < 16; k++ {
		for i := range 256 {
			c := t[k-1][i]
			t[k][i] = c<<8 ^ t[0][c>>24]
		}
	}
	return t
}()

// PFCS returns the payload FCS of a payload information field: CRC-32 with
// the IEEE 802.3 generator, register initialised to all ones, octets fed MSB
// first, the remainder complemented (CRC-32/BZIP2). It goes on the wire
// big-endian (the x^31 coefficient first).
//
// Go's hash/crc32 computes the bit-reflected CRC of Ethernet and cannot be
// used here; this is a slicing-by-16 table CRC, written for that reason.
func PFCS(b []byte) uint32 { return ^pfcsUpdate(0xFFFFFFFF, b) }

// pfcsUpdate runs the CRC register c over b.
func pfcsUpdate(c uint32, b []byte) uint32 {
	t := &pfcsTab
	for len(b) >= 16 {
		w0 := binary.BigEndian.Uint32(b) ^ c
		w1 := binary.BigEndian.Uint32(b[4:])
		w2 := binary.BigEndian.Uint32(b[8:])
		w3 := binary.BigEndian.Uint32(b[12:])
		c = t[15][w0>>24] ^ t[14][byte(w0>>16)] ^ t[13][byte(w0>>8)] ^ t[12][byte(w0)] ^
			t[11][w1>>24] ^ t[10][byte(w1>>16)] ^ t[9][byte(w1>>8)] ^ t[8][byte(w1)] ^
			t[7][w2>>24] ^ t[6][byte(w2>>16)] ^ t[5][byte(w2>>8)] ^ t[4][byte(w2)] ^
			t[3][w3>>24] ^ t[2][byte(w3>>16)] ^ t[1][byte(w3>>8)] ^ t[0][byte(w3)]
		b = b[16:]
	}
	for len(b) >= 8 {
		hi := binary.BigEndian.Uint32(b) ^ c
		lo := binary.BigEndian.Uint32(b[4:])
		c = t[7][hi>>24] ^ t[6][byte(hi>>16)] ^ t[5][byte(hi>>8)] ^ t[4][byte(hi)] ^
			t[3][lo>>24] ^ t[2][byte(lo>>16)] ^ t[1][byte(lo>>8)] ^ t[0][byte(lo)]
		b = b[8:]
	}
	for _, x := range b {
		c = c<<8 ^ t[0][byte(c>>24)^x]
	}
	return c
}
