package zuc

import "encoding/binary"

// Lanes16 is sixteen ZUC-128 generators stepped together, one per lane:
// the engine behind Segments16, which keys the sixteen segments of a frame
// at once. On amd64 with AVX-512 (F, BW, VBMI, VBMI2) and GFNI an assembly
// kernel runs the sixteen lanes in the sixteen dwords of each 512-bit
// register; with AVX2 and GFNI (or AES-NI) but no AVX-512, another runs
// them as two halves of eight in 256-bit registers; elsewhere, with -tags
// noasm, or
// when SetKernel selects it, a pure-Go twin with the same state layout and
// output does the work.
//
// The zero value is not keyed; call Init. A Lanes16 is not safe for
// concurrent use. It holds key-derived state: callers that retire a key
// should zero the value (*l = Lanes16{}).
//
// Keystream is produced in blocks of sixteen words (64 bytes) per lane; see
// Keystream for what that means for lengths that are not a multiple of 64.
type Lanes16 struct {
	// s[i][l] is the LFSR cell s_i of lane l. At every call boundary the
	// ring offset is 0 (cell i is s_i), because both engines step in
	// whole blocks of sixteen and Init rotates the ring back after its
	// odd thirty-third step. The assembly kernel relies on this layout:
	// cells at byte 0, r1 at 1024, r2 at 1088.
	s      [16][16]uint32
	r1, r2 [16]uint32
}

// Init keys lane l with keys[l] and ivs[l], runs the 32 initialisation
// rounds and the first (discarded) working round of every lane.
func (l *Lanes16) Init(keys, ivs *[16][16]byte) {
	l.load(keys, ivs)
	l.init()
	announceState(l)
}

// init runs the initialisation on the kernel or its twin.
func (l *Lanes16) init() {
	switch kernel {
	case AVX512:
		init16Asm(l)
	case AVX2, AVX2AES:
		init16AVX2(l, kernel == AVX2AES)
	default:
		l.genericInit()
	}
}

// load puts key, D and IV into the cells (key loading of the standard).
func (l *Lanes16) load(keys, ivs *[16][16]byte) {
	for i := range 16 {
		c := &l.s[i]
		for ln := range 16 {
			c[ln] = uint32(keys[ln][i])<<23 | d[i]<<8 | uint32(ivs[ln][i])
		}
	}
	l.r1, l.r2 = [16]uint32{}, [16]uint32{}
}

// Keystream fills dst[l] with the next keystream bytes of lane l
// (big-endian within each word, as State.Keystream). All sixteen slices must
// have the same length n, or Keystream panics.
//
// The lanes advance by whole 64-byte blocks: when n is not a multiple of 64,
// the rest of the last block is discarded and a following call starts at the
// next block. A single call, or calls with lengths that are multiples of 64
// followed by one of any length, therefore give exactly State's keystream.
// Keystream does not allocate.
func (l *Lanes16) Keystream(dst *[16][]byte) {
	n := len(dst[0])
	for i := 1; i < 16; i++ {
		if len(dst[i]) != n {
			panic("zuc: Lanes16.Keystream: lanes of different lengths")
		}
	}
	if n == 0 {
		return
	}
	l.keystream(dst, n, false)
	announceState(l)
}

// keystream runs the kernel or its twin for n > 0 bytes per lane. With
// final set the kernel may stop the last block early and leave l unusable.
func (l *Lanes16) keystream(dst *[16][]byte, n int, final bool) {
	switch kernel {
	case AVX512:
		keystream16Asm(l, dst, n, final)
	case AVX2, AVX2AES:
		keystream16AVX2(l, dst, n, final, kernel == AVX2AES)
	default:
		l.genericKeystream(dst, n)
	}
}

// Segments16 fills ks[s*segLen:(s+1)*segLen], s = 0..15, with the 128-EEA3
// keystream for (key, count, BEARER = s, direction): the layout otkd's
// framer XORs over a frame. segLen may be any length (986 in a frame).
// It equals Segments(ks, 16, segLen, ...) and does not allocate.
func Segments16(ks []byte, segLen int, key *[16]byte, count uint32, direction uint8) {
	if segLen <= 0 {
		return
	}
	_ = ks[16*segLen-1]
	var dst [16][]byte
	for s := range dst {
		dst[s] = ks[s*segLen : (s+1)*segLen : (s+1)*segLen]
	}
	// z is local: its writes by the kernel need no announcing to the
	// race detector, which keeps it off the heap in race builds.
	var z Lanes16
	z.loadEEA3(key, count, direction)
	z.init()
	z.keystream(&dst, segLen, true)
}

// loadEEA3 is load for lane s keyed with key and EEA3IV(count, s,
// direction): the lanes differ only in the BEARER bits (s<<3) of IV bytes 4
// and 12, so every cell is one value broadcast to the lanes.
func (l *Lanes16) loadEEA3(key *[16]byte, count uint32, direction uint8) {
	iv := EEA3IV(count, 0, direction)
	var base [16]uint32
	for i := range base {
		base[i] = uint32(key[i])<<23 | d[i]<<8 | uint32(iv[i])
	}
	if kernel == AVX512 {
		load16Asm(l, &base)
		return
	}
	for i, v := range base {
		c := &l.s[i]
		for ln := range c {
			c[ln] = v
			if i == 4 || i == 12 {
				c[ln] |= uint32(ln) << 3
			}
		}
	}
	l.r1, l.r2 = [16]uint32{}, [16]uint32{}
}

// genericInit is the pure-Go twin of the kernel's initialisation.
func (l *Lanes16) genericInit() {
	var out [16]uint32
	for range 2 {
		for k := range 16 {
			l.genericStep(k, true, &out)
		}
	}
	l.genericStep(0, false, &out)
	// The thirty-third step left s_0 at ring position 1: rotate back.
	first := l.s[0]
	copy(l.s[:15], l.s[1:])
	l.s[15] = first
}

// genericKeystream is the pure-Go twin of the kernel's keystream: blocks of
// sixteen words per lane, word k of lane ln at dst[ln][64b+4k:], the last
// block cut to what dst holds.
func (l *Lanes16) genericKeystream(dst *[16][]byte, n int) {
	var words [16][16]uint32 // words[k][ln]
	for off := 0; off < n; off += 64 {
		for k := range 16 {
			l.genericStep(k, false, &words[k])
		}
		for ln := range 16 {
			out := dst[ln][off:]
			if len(out) >= 64 {
				out = out[:64]
				for k := range 16 {
					binary.BigEndian.PutUint32(out[4*k:], words[k][ln])
				}
				continue
			}
			for k := 0; k < 16 && len(out) > 0; k++ {
				var b [4]byte
				binary.BigEndian.PutUint32(b[:], words[k][ln])
				out = out[copy(out, b[:]):]
			}
		}
	}
}

// genericStep runs step k (0..15) of a block for the sixteen lanes, word by
// word: the ring offset is k, so cell i is l.s[(k+i)&15]. It is State.step
// with the lanes as the inner loop; in working mode out[ln] is lane ln's
// keystream word.
func (l *Lanes16) genericStep(k int, init bool, out *[16]uint32) {
	s := &l.s
	c0, c2, c4, c5 := &s[k&15], &s[(k+2)&15], &s[(k+4)&15], &s[(k+5)&15]
	c7, c9, c10, c11 := &s[(k+7)&15], &s[(k+9)&15], &s[(k+10)&15], &s[(k+11)&15]
	c13, c14, c15 := &s[(k+13)&15], &s[(k+14)&15], &s[(k+15)&15]
	for ln := range 16 {
		x0 := (c15[ln]&0x7FFF8000)<<1 | c14[ln]&0xFFFF
		x1 := (c11[ln]&0xFFFF)<<16 | c9[ln]>>15
		x2 := (c7[ln]&0xFFFF)<<16 | c5[ln]>>15
		x3 := (c2[ln]&0xFFFF)<<16 | c0[ln]>>15

		r1, r2 := l.r1[ln], l.r2[ln]
		w := (x0 ^ r1) + r2
		w1 := r1 + x1
		w2 := r2 ^ x2
		l.r1[ln] = sbox(l1(w1<<16 | w2>>16))
		l.r2[ln] = sbox(l2(w2<<16 | w1>>16))

		a := c0[ln]
		v := uint64(a) + uint64(rotMod(a, 8)) + uint64(rotMod(c4[ln], 20)) +
			uint64(rotMod(c10[ln], 21)) + uint64(rotMod(c13[ln], 17)) +
			uint64(rotMod(c15[ln], 15))
		if init {
			v += uint64(w >> 1)
		}
		v = v&mask31 + v>>31
		v = v&mask31 + v>>31
		if v == mask31 || v == 0 {
			v = mask31
		}
		c0[ln] = uint32(v)
		out[ln] = w ^ x3
	}
}
