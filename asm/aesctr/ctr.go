// Package aesctr is AES-128 in counter mode as a keystream generator, with a VAES
// kernel that keeps sixteen blocks in flight on AVX-512: the uniform source of otkd's
// secret local noise (package noise), which needs 4 bytes per sample, 8 KB per received
// frame, faster than the 16-lane ZUC kernel delivers them; the simulated fibre's noise
// (noise.Channel) draws its uniform words from it too, keyed from a seed.
//
// Contract:
//
//   - The keystream is that of NIST SP 800-38A CTR mode: block i is
//     AES-128(key, ctr + i) with the initial counter block ctr incremented as a
//     big-endian number. Only its last 32 bits may count: a Stream refuses (panics) to
//     go past the block where they would wrap, so within its range it equals
//     crypto/cipher.NewCTR byte for byte. Starting from a counter block ending in four
//     zero bytes, that is 2^32 blocks, 64 GiB.
//   - Keystream fills whole 256-byte chunks; len(dst) must be a multiple of 256.
//   - On amd64 with AVX-512 F and VAES (detected once with cpuid; OTKD_NOASM=noise or
//     -tags noasm turn it off) the kernel runs, with the key schedule computed by
//     AESKEYGENASSIST. Elsewhere crypto/aes and crypto/cipher do the work (AES-NI on
//     amd64, constant-time code elsewhere), with the same output; tests compare the
//     two on random keys, counters and lengths and against SP 800-38A F.5.1.
//   - Wipe zeroises the round keys and the counter held by the Stream. On the
//     crypto/aes path the library's own copy of the round keys cannot be reached; it
//     is dropped for the garbage collector, not zeroised.
//   - Init allocates on the crypto/aes path only; Keystream never allocates. A Stream
//     is not safe for concurrent use.
package aesctr

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// Chunk is the granularity of Keystream: sixteen AES blocks.
const Chunk = 256

// Stream is an AES-128-CTR keystream. The zero value is not keyed; call Init.
type Stream struct {
	rk     [176]byte // round keys (kernel path)
	ctr    [16]byte  // next counter block
	left   uint64    // blocks before the 32-bit counter would wrap
	keyed  bool
	vaes   bool          // this Stream runs the kernel
	stream cipher.Stream // crypto/cipher path
}

// Init keys s with key and the initial counter block iv.
func (s *Stream) Init(key, iv *[16]byte) {
	s.Wipe()
	s.ctr = *iv
	s.left = 1<<32 - uint64(binary.BigEndian.Uint32(iv[12:]))
	s.keyed = true
	if useVAES {
		s.vaes = true
		expandKey(key, &s.rk)
		return
	}
	b, err := aes.NewCipher(key[:])
	if err != nil { // only on a wrong key size, which the type rules out
		panic(fmt.Sprintf("aesctr: %v", err))
	}
	s.stream = cipher.NewCTR(b, iv[:])
}

// Keystream overwrites dst with the next len(dst) keystream bytes. It panics if s is
// not keyed, if len(dst) is not a multiple of Chunk, or if the 32-bit counter would
// wrap.
func (s *Stream) Keystream(dst []byte) {
	if !s.keyed {
		panic("aesctr: Keystream on a Stream that is not keyed")
	}
	if len(dst)%Chunk != 0 {
		panic("aesctr: Keystream length not a multiple of 256 bytes")
	}
	blocks := uint64(len(dst) / 16)
	if blocks > s.left {
		panic("aesctr: counter would wrap; re-key first")
	}
	if blocks == 0 {
		return
	}
	if s.vaes {
		ctr16(&s.rk, &s.ctr, dst)
	} else {
		clear(dst)
		s.stream.XORKeyStream(dst, dst)
	}
	s.left -= blocks
	binary.BigEndian.PutUint32(s.ctr[12:], binary.BigEndian.Uint32(s.ctr[12:])+uint32(blocks))
}

// Remaining returns how many bytes s can still produce before its counter would wrap.
func (s *Stream) Remaining() uint64 { return 16 * s.left }

// Wipe zeroises the round keys and the counter; s must be keyed again before use.
func (s *Stream) Wipe() {
	clear(s.rk[:])
	clear(s.ctr[:])
	s.left, s.keyed, s.vaes, s.stream = 0, false, false, nil
}

// Kernel names the engine new Streams use: "avx512-vaes" or "crypto/aes".
func Kernel() string {
	if useVAES {
		return "avx512-vaes"
	}
	return "crypto/aes"
}
