// Package zuc is otkd's ZUC-128 keystream generator (3GPP 128-EEA3 / GM/T
// 0001): the pure-Go reference engine that every SIMD kernel of this package
// must match byte for byte. ZUC-256 keystream generation (Init256) shares
// the engine; only its key loading differs, and ctrl's KDFs use it.
//
// It exists beside github.com/emmansun/gmsm/zuc because the frame path
// needs an engine that keys sixteen streams per frame without allocating;
// gmsm allocates a cipher object (and an IV) per stream. Tests cross-check
// this package against gmsm and the 3GPP test vectors.
//
// The S-boxes are built at init from their definitions in the standard: S0
// from the three 4-bit permutations P1, P2, P3, and S1 as an affine map of
// the inverse in GF(2^8) modulo x^8+x^7+x^3+x+1.
//
// Lanes16 steps sixteen generators at once, on amd64 with AVX-512 and GFNI
// in an assembly kernel (lanes16_amd64.s), with AVX2 and GFNI (or, less
// fast, AES-NI) in another that runs two halves of eight lanes
// (lanes8_amd64.s), and elsewhere in their pure-Go twin; the CPU features
// are detected once (cpuid) and the fastest kernel selected (see Kernel). Segments16, and Segments for
// sixteen segments, key a frame's sixteen EEA3 streams with it. Build with
// -tags noasm to leave the kernels out. The AVX-512 kernel runs the sixteen
// lanes in one vector, so its speed is set by the dependency chains of a
// step (the FSM's and the LFSR's); its header (lanes16_amd64.s) gives their
// lengths in cycles and the choices that keep them short. Every kernel's
// contract is the twin's output, byte for byte and state for state.
//
// All functions except SetKernel are safe for concurrent use; State and
// Lanes16 values are not.
package zuc

import "encoding/binary"

// KeySize is the ZUC-128 key length in bytes.
const KeySize = 16

// d is the 240-bit constant D of the key loading, as sixteen 15-bit words.
var d = [16]uint32{
	0x44D7, 0x26BC, 0x626B, 0x135E, 0x5789, 0x35E2, 0x7135, 0x09AF,
	0x4D78, 0x2F13, 0x6BC4, 0x1AF1, 0x5E26, 0x3C4D, 0x789A, 0x47AC,
}

var s0, s1 [256]byte

// p1, p2 and p3 are the 4-bit permutations from which the standard builds
// S0.
var (
	p1 = [16]byte{9, 15, 0, 14, 15, 15, 2, 10, 0, 4, 0, 12, 7, 5, 3, 9}
	p2 = [16]byte{8, 13, 6, 5, 7, 0, 12, 4, 11, 1, 14, 10, 15, 3, 9, 2}
	p3 = [16]byte{2, 6, 10, 6, 0, 13, 10, 15, 3, 3, 13, 5, 0, 9, 12, 13}
)

func init() {
	for x := range 256 {
		x1, x2 := byte(x>>4), byte(x&15)
		y1 := x1 ^ p1[x2]
		y2 := x2 ^ p2[y1]
		y3 := y1 ^ p3[y2]
		v := y3<<4 | y2
		s0[x] = v<<5 | v>>3

		s1[x] = linear(&s1Affine, gfInv(byte(x))) ^ 0x55
	}
}

// gfMul multiplies in GF(2^8) modulo x^8+x^7+x^3+x+1 (0x18B).
func gfMul(a, b byte) byte { return polyMul(a, b, 0x8B) }

// polyMul multiplies in GF(2^8) modulo x^8 + the polynomial whose low
// eight coefficients are low.
func polyMul(a, b, low byte) byte {
	var r byte
	for b != 0 {
		if b&1 == 1 {
			r ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= low
		}
		b >>= 1
	}
	return r
}

// gfInv returns the multiplicative inverse (0 for 0), as x^254.
func gfInv(x byte) byte {
	r := byte(1)
	for e := 254; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = gfMul(r, x)
		}
		x = gfMul(x, x)
	}
	return r
}

// State is one ZUC-128 generator. The zero value is not keyed; call Init.
//
// The LFSR is a ring: cell s_i of the specification is s[(j+i)&15], so a
// step writes one cell instead of shifting sixteen.
type State struct {
	s      [16]uint32 // LFSR cells, 31 bits each
	j      uint32     // ring offset of s_0
	r1, r2 uint32     // F's memory cells
}

const mask31 = 0x7FFFFFFF

// rotMod multiplies a 31-bit cell by 2^k modulo 2^31-1.
func rotMod(a uint32, k uint) uint32 {
	return ((a << k) | (a >> (31 - k))) & mask31
}

func l1(x uint32) uint32 {
	return x ^ rotl(x, 2) ^ rotl(x, 10) ^ rotl(x, 18) ^ rotl(x, 24)
}

func l2(x uint32) uint32 {
	return x ^ rotl(x, 8) ^ rotl(x, 14) ^ rotl(x, 22) ^ rotl(x, 30)
}

func rotl(x uint32, k uint) uint32 { return x<<k | x>>(32-k) }

func sbox(x uint32) uint32 {
	return uint32(s0[x>>24])<<24 | uint32(s1[x>>16&0xFF])<<16 | uint32(s0[x>>8&0xFF])<<8 | uint32(s1[x&0xFF])
}

// step runs bit reorganisation, F and the LFSR once. In initialisation
// mode (init) F's output, shifted right by one, enters the feedback and the
// return value is meaningless; in working mode it returns the keystream
// word Z = F ⊕ X3.
func (z *State) step(init bool) uint32 {
	s, j := &z.s, z.j
	x0 := (s[(j+15)&15]&0x7FFF8000)<<1 | s[(j+14)&15]&0xFFFF
	x1 := (s[(j+11)&15]&0xFFFF)<<16 | s[(j+9)&15]>>15
	x2 := (s[(j+7)&15]&0xFFFF)<<16 | s[(j+5)&15]>>15
	x3 := (s[(j+2)&15]&0xFFFF)<<16 | s[j&15]>>15

	w := (x0 ^ z.r1) + z.r2
	w1 := z.r1 + x1
	w2 := z.r2 ^ x2
	z.r1 = sbox(l1(w1<<16 | w2>>16))
	z.r2 = sbox(l2(w2<<16 | w1>>16))

	// (1+2^8)s0 + 2^20 s4 + 2^21 s10 + 2^17 s13 + 2^15 s15 mod 2^31-1,
	// summed in 64 bits and folded.
	c0 := s[j&15]
	v := uint64(c0) + uint64(rotMod(c0, 8)) + uint64(rotMod(s[(j+4)&15], 20)) +
		uint64(rotMod(s[(j+10)&15], 21)) + uint64(rotMod(s[(j+13)&15], 17)) +
		uint64(rotMod(s[(j+15)&15], 15))
	if init {
		v += uint64(w >> 1)
	}
	v = v&mask31 + v>>31
	v = v&mask31 + v>>31
	if v == mask31 || v == 0 { // 2^31-1 is the field's zero; the cell holds it as 2^31-1
		v = mask31
	}
	s[j&15] = uint32(v)
	z.j = (j + 1) & 15
	return w ^ x3
}

// Init keys the generator with a 16-byte key and a 16-byte IV and runs the
// 32 initialisation rounds and the first (discarded) working round.
func (z *State) Init(key, iv *[16]byte) {
	for i := range 16 {
		z.s[i] = uint32(key[i])<<23 | d[i]<<8 | uint32(iv[i])
	}
	z.j, z.r1, z.r2 = 0, 0, 0
	for range 32 {
		z.step(true)
	}
	z.step(false)
}

// Word returns the next 32-bit keystream word.
func (z *State) Word() uint32 { return z.step(false) }

// Keystream fills dst with keystream bytes, big-endian within each word. A
// dst whose length is not a multiple of four discards the rest of the last
// word, as EEA3 does for a byte-aligned message length.
func (z *State) Keystream(dst []byte) {
	for len(dst) >= 16 {
		binary.BigEndian.PutUint32(dst, z.step(false))
		binary.BigEndian.PutUint32(dst[4:], z.step(false))
		binary.BigEndian.PutUint32(dst[8:], z.step(false))
		binary.BigEndian.PutUint32(dst[12:], z.step(false))
		dst = dst[16:]
	}
	for len(dst) >= 4 {
		binary.BigEndian.PutUint32(dst, z.step(false))
		dst = dst[4:]
	}
	if len(dst) > 0 {
		var w [4]byte
		binary.BigEndian.PutUint32(w[:], z.Word())
		copy(dst, w[:])
	}
}

// EEA3IV returns the 128-EEA3 initialisation vector for a COUNT, a 5-bit
// BEARER and a 1-bit DIRECTION.
func EEA3IV(count uint32, bearer, direction uint8) [16]byte {
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[0:], count)
	iv[4] = (bearer&0x1F)<<3 | (direction&1)<<2
	copy(iv[8:], iv[:8])
	return iv
}

// EEA3Keystream fills dst with the 128-EEA3 keystream for (key, count,
// bearer, direction). It does not allocate.
func EEA3Keystream(dst []byte, key *[16]byte, count uint32, bearer, direction uint8) {
	var z State
	iv := EEA3IV(count, bearer, direction)
	z.Init(key, &iv)
	z.Keystream(dst)
}

// Segments fills ks with n consecutive keystreams of segLen bytes each:
// segment s is the EEA3 keystream for BEARER = s. It is the layout otkd's
// framer XORs over a frame (16 segments of 986 bytes). For n == 16 it runs
// the sixteen streams together (Segments16).
func Segments(ks []byte, n, segLen int, key *[16]byte, count uint32, direction uint8) {
	_ = ks[n*segLen-1]
	if n == 16 {
		Segments16(ks, segLen, key, count, direction)
		return
	}
	for s := range n {
		EEA3Keystream(ks[s*segLen:(s+1)*segLen], key, count, uint8(s), direction)
	}
}
