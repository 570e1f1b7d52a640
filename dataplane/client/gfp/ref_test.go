package gfp

// Slow reference implementations written from the definitions in G.7041,
// bit by bit, to check the table and word-at-a-time code against.

// refHEC computes the CRC-16 HEC as a polynomial division: the octets are
// the coefficients of M(x), first bit highest; R(x) = M(x)·x^16 mod G(x).
func refHEC(b []byte) uint16 {
	var r uint32 // 17-bit division register
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			r = r<<1 | uint32(x>>i&1)
			if r&0x10000 != 0 {
				r ^= 0x11021
			}
		}
	}
	for range 16 { // multiply by x^16
		r <<= 1
		if r&0x10000 != 0 {
			r ^= 0x11021
		}
	}
	return uint16(r)
}

// refPFCS follows G.7041 6.1.2.2.1 step by step: complement the first 32
// bits of the field, take them as M(x) (first bit highest), divide M(x)·x^32
// by G(x), complement the remainder; x^31 goes into the first octet's MSB.
// Fields shorter than 4 octets are padded in the reference's own way: the
// complement applies to the bits that exist, then the x^32 multiplication
// continues with register content that stands for the missing ones (the
// usual register formulation, which is what the catalogue values assume).
func refPFCS(b []byte) uint32 {
	bits := make([]byte, 0, 8*len(b))
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			bits = append(bits, x>>i&1)
		}
	}
	// The register formulation: r starts at all ones, each message bit is
	// XORed into the top bit before the shift.
	r := uint32(0xFFFFFFFF)
	for _, bit := range bits {
		top := r>>31 ^ uint32(bit)
		r <<= 1
		if top != 0 {
			r ^= 0x04C11DB7
		}
	}
	return ^r
}

// refPFCSDivision is the literal long division of step 1-5 for fields of at
// least 4 octets (the complemented first 32 bits, then M(x)·x^32 mod G(x)).
func refPFCSDivision(b []byte) uint32 {
	m := append([]byte(nil), b...)
	for i := range 4 {
		m[i] ^= 0xFF
	}
	m = append(m, 0, 0, 0, 0) // ·x^32
	var r uint64              // 33-bit division register
	for _, x := range m {
		for i := 7; i >= 0; i-- {
			r = r<<1 | uint64(x>>i&1)
			if r&(1<<32) != 0 {
				r ^= 0x104C11DB7
			}
		}
	}
	return ^uint32(r)
}

// refScrambler is the x^43+1 self-synchronous scrambler bit by bit:
// s[n] = d[n] XOR s[n-43]; the history starts at zero like Scrambler's.
type refScrambler struct{ hist []byte }

func (r *refScrambler) bit(n int) byte {
	if n < 0 {
		return 0
	}
	return r.hist[n]
}

func (r *refScrambler) scramble(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		var o byte
		for k := 7; k >= 0; k-- {
			n := len(r.hist)
			s := x>>k&1 ^ r.bit(n-43)
			r.hist = append(r.hist, s)
			o |= s << k
		}
		out[i] = o
	}
	return out
}

// refFrame assembles one GFP frame as sent from its parts, with the
// reference scrambler: core header masked, payload area scrambled.
func refFrame(scr *refScrambler, typ uint16, info []byte, pfcs bool) []byte {
	area := []byte{byte(typ >> 8), byte(typ)}
	h := refHEC(area)
	area = append(area, byte(h>>8), byte(h))
	area = append(area, info...)
	if pfcs {
		c := refPFCS(info)
		area = append(area, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
	}
	pli := len(area)
	ph := []byte{byte(pli >> 8), byte(pli)}
	c := refHEC(ph)
	core := []byte{ph[0] ^ 0xB6, ph[1] ^ 0xAB, byte(c>>8) ^ 0x31, byte(c) ^ 0xE0}
	return append(core, scr.scramble(area)...)
}
