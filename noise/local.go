package noise

import (
	"crypto/rand"
	"encoding/binary"
	"errors"

	"github.com/otkd/otkd/asm/aesctr"
)

// Local is a receiver's secret local noise: per round a fresh standard deviation σ,
// uniform in [LocalSigmaMin, LocalSigmaMax]; per sample an N(0, σ²) deviate added before
// the hard decision. Nobody else may be able to predict either, so every random bit comes
// from a cryptographic source:
//
// The uniform source is AES-128 in counter mode (package asm/aesctr: a VAES kernel with
// sixteen blocks in flight where the CPU has AVX-512 VAES, crypto/aes elsewhere, the same
// bytes on both). A 32-byte seed from crypto/rand gives the key (seed[0:16]) and the
// initial counter block (seed[16:28] followed by a 32-bit counter at zero). Keystream is
// generated in 32 KiB blocks into a buffer inside the Local, and the Local re-keys from a
// fresh seed after RekeyBytes bytes (2^28 blocks, far below the 2^64-block birthday
// bound of a 128-bit block cipher). Why AES-CTR: each received frame needs 8 KB of
// keystream for its 1984 samples; the VAES kernel makes it at ~15 GB/s where the 16-lane
// ZUC kernel, the source until November 2026, made ~2.8 GB/s and was half the cost of
// noise and decision. Why not gmsm's DRBGs (CTR-SM4, hash-SM3): they allocate on every
// Generate in gmsm v0.44.1, which the fast path cannot afford.
//
// Each sample takes one 32-bit keystream word: its decision is drawn by inversion from
// the exact law of "sample + N(0, σ²) > threshold" (decide.go), with no rejections. σ
// takes two words of a separate spare block of the same keystream.
//
// Which keystream word feeds which sample is not a contract (it changed when the single
// stream became sixteen lanes, and again when the ziggurat gave way to the inversion).
// What holds is the kernels' contract (same words, same decisions, on the AVX-512 kernel
// and its pure-Go twin alike) and, for NewLocalFromSeed, same seed and calls → same
// noise on every engine.
//
// A Local is not safe for concurrent use: use one per RX pipeline. Its methods do not
// allocate.
type Local struct {
	thr    float32
	lo     float64 // LocalSigmaMin
	span   float64 // LocalSigmaMax − LocalSigmaMin
	sigma  float32 // the current round's σ: secret
	inv    float32 // 1/σ
	seeded bool    // deterministic test generator: re-keys from its own keystream

	ks        aesctr.Stream
	used      uint64 // keystream bytes (all lanes) since the last (re)key
	rekeyAt   uint64 // RekeyBytes, lowered by tests to exercise re-keying
	pos, spos int    // next unused byte of buf, spare
	buf       [localBlock]byte
	spare     [spareBlock]byte
}

const (
	localBlock = 32 << 10 // keystream block for the per-sample words: 8192 samples
	spareBlock = 4 << 10  // keystream block for σ

	// RekeyBytes is the amount of keystream (all sixteen lanes together) a Local draws
	// under one seed, that is one set of sixteen ZUC keys and IVs.
	RekeyBytes = 1 << 32
)

// ErrSeedSize is returned by NewLocalFromSeed for a seed that is not 32 bytes long.
var ErrSeedSize = errors.New("noise: local noise seed must be 32 bytes")

// NewLocal returns a Local for profile p, keyed from crypto/rand, with the first round's
// σ already drawn. It returns p's validation error if p is invalid.
func NewLocal(p Profile) (*Local, error) {
	var seed [32]byte
	rand.Read(seed[:]) // never fails (crypto/rand crashes the program instead)
	l, err := newLocal(p, seed[:], false)
	clear(seed[:])
	return l, err
}

// NewLocalFromSeed returns a Local whose noise is a deterministic function of seed (32
// bytes, expanded into the sixteen lanes' keys and IVs as Local describes), re-keying
// from its own keystream instead of crypto/rand.
//
// It is for tests and reproducible simulations only: anyone who knows the seed knows the
// noise, and the noise is the secret of key negotiation. Production code uses NewLocal.
func NewLocalFromSeed(p Profile, seed []byte) (*Local, error) {
	if len(seed) != 32 {
		return nil, ErrSeedSize
	}
	return newLocal(p, seed, true)
}

func newLocal(p Profile, seed []byte, seeded bool) (*Local, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	l := &Local{
		thr:     p.Threshold(),
		lo:      p.LocalSigmaMin,
		span:    p.LocalSigmaMax - p.LocalSigmaMin,
		seeded:  seeded,
		rekeyAt: RekeyBytes,
	}
	if err := l.key(seed); err != nil {
		return nil, err
	}
	l.pos, l.spos = len(l.buf), len(l.spare) // both blocks empty
	l.BeginRound()
	return l, nil
}

// key starts a new keystream: AES-128 key seed[:16], initial counter block seed[16:28]
// followed by four zero bytes (see Local).
func (l *Local) key(seed []byte) error {
	var iv [16]byte
	copy(iv[:12], seed[16:28])
	l.ks.Init((*[16]byte)(seed[:16]), &iv)
	l.used = 0
	clear(iv[:])
	return nil
}

// fill overwrites b (a multiple of aesctr.Chunk bytes) with the next keystream bytes,
// re-keying when due.
func (l *Local) fill(b []byte) {
	if l.used+uint64(len(b)) > l.rekeyAt {
		l.rekey()
	}
	l.ks.Keystream(b)
	l.used += uint64(len(b))
}

// rekey starts a fresh keystream: from a crypto/rand seed, or for a seeded Local from
// the first 32 bytes of the next chunk of the current one.
func (l *Local) rekey() {
	var blk [aesctr.Chunk]byte
	seed := blk[:32]
	if l.seeded {
		l.ks.Keystream(blk[:])
	} else {
		rand.Read(seed)
	}
	if err := l.key(seed); err != nil {
		panic("noise: re-keying: " + err.Error()) // cannot happen: sizes are fixed
	}
	clear(blk[:])
}

// word32 returns the next word of the spare block, for σ.
func (l *Local) word32() uint32 {
	if l.spos+4 > len(l.spare) {
		l.fill(l.spare[:])
		l.spos = 0
	}
	w := binary.LittleEndian.Uint32(l.spare[l.spos:])
	l.spos += 4
	return w
}

// BeginRound draws the σ of the next round, uniform in [LocalSigmaMin, LocalSigmaMax]
// (53-bit resolution), from the secret keystream. Call it once per round and direction
// before that round's AddAndDecide: a received frame carries two rounds (data1: the
// peer's round, data2: the answer to one's own), so usually twice per frame.
func (l *Local) BeginRound() {
	u := uint64(l.word32())<<21 ^ uint64(l.word32()>>11)
	l.sigma = float32(l.lo + float64(u)*(1.0/(1<<53))*l.span)
	l.inv = 1 / l.sigma
}

// Sigma returns the current round's σ. It is secret: for tests and statistics inside the
// process only, never for logs or metrics.
func (l *Local) Sigma() float32 { return l.sigma }

// Threshold returns the decision threshold, the midpoint of the profile's levels.
func (l *Local) Threshold() float32 { return l.thr }

// AddAndDecide adds N(0, σ²) noise of the current round to each sample of soft (soft is
// not modified: the decision is drawn from the exact law of the noisy comparison, see
// decide.go), decides sample > Threshold() → 1 and packs the decisions MSB-first into
// out (Modulate's order); unused low bits of a last partial byte are zero. It panics if
// out is shorter than ⌈len(soft)/8⌉ bytes. It does not allocate.
func (l *Local) AddAndDecide(soft []Sample, out []byte) {
	if len(out) < (len(soft)+7)/8 {
		panic("noise: AddAndDecide: out shorter than ⌈len(soft)/8⌉")
	}
	for len(soft) > 0 {
		if l.pos+4*8 > len(l.buf) {
			l.fill(l.buf[:])
			l.pos = 0
		}
		k := min(len(soft), (len(l.buf)-l.pos)/4)
		if k < len(soft) {
			k &^= 7 // keep the packed output byte-aligned across blocks
		}
		addAndDecide(soft[:k], l.buf[l.pos:l.pos+4*k], l.inv, l.thr, out[:(k+7)/8])
		l.pos += 4 * k
		soft, out = soft[k:], out[k/8:]
	}
}

// Wipe clears the keystream blocks, σ and the generator's state; the Local is unusable
// afterwards. Call it when an RX pipeline retires its Local.
func (l *Local) Wipe() {
	clear(l.buf[:])
	clear(l.spare[:])
	l.sigma, l.inv = 0, 0
	l.ks.Wipe()
	l.pos, l.spos = len(l.buf), len(l.spare)
}
