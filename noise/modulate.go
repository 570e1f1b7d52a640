package noise

// Sample is one soft sample: the analogue value the receiver sees at a negotiation bit
// position before its hard decision.
type Sample = float32

// SamplesPerFrame is the number of negotiation bits, and so of soft samples, per
// received frame: data1 and data2 of the negotiation area, 992 bits each.
const SamplesPerFrame = 2 * 992

// Modulate maps the first nbits bits of bits to soft samples in out[:nbits]: bit 0 →
// p.Level0, bit 1 → p.Level1 (default −1 and +1; a nil p means DefaultProfile's levels).
//
// Bit order is MSB-first within each byte: bit k is (bits[k/8] >> (7 − k%8)) & 1, the
// order in which the bytes of the negotiation area go on the wire. AddAndDecide packs
// its decisions the same way, so a noiseless round trip returns the input.
//
// Modulate does not allocate. It panics if nbits < 0, if bits holds fewer than nbits bits
// or if out is shorter than nbits.
func Modulate(bits []byte, nbits int, out []Sample, p *Profile) {
	if nbits < 0 || nbits > 8*len(bits) {
		panic("noise: Modulate: nbits out of range of the bit array")
	}
	if len(out) < nbits {
		panic("noise: Modulate: output shorter than nbits")
	}
	l0, l1 := Sample(-1), Sample(1)
	if p != nil {
		l0, l1 = p.Level0, p.Level1
	}
	modulate(bits, out[:nbits], l0, l1)
}

// Decide packs the hard decisions of soft, sample > thr → 1 (a NaN sample decides 0),
// MSB-first into out: Modulate's inverse for a noiseless sample. Unused low bits of a
// last partial byte are zero. It panics if out is shorter than ⌈len(soft)/8⌉ bytes. It
// does not allocate; like Modulate it runs a vector kernel where the CPU has one.
func Decide(soft []Sample, thr Sample, out []byte) {
	if len(out) < (len(soft)+7)/8 {
		panic("noise: Decide: out shorter than ⌈len(soft)/8⌉")
	}
	decide(soft, thr, out)
}
