package keyring

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/otkd/otkd/asm/zuc"
	"github.com/otkd/otkd/ctrl/negotiation"
)

// kdfLabel versions the ring KDF; it differs from the session-key KDF's
// label ("otkdKDF1"), so ring keys and session keys of one seed never
// coincide.
const kdfLabel = "otkdRNG1"

// ringIV builds the 23-byte ZUC-256 IV of a ring key:
//
//	bytes 0..7   "otkdRNG1"
//	byte  8      ring
//	bytes 9..16  epoch (window index the ring was filled for), big-endian
//	bytes 17..20 slot, big-endian
//	bytes 21..22 zero
func ringIV(ring uint8, epoch uint64, slot uint32) [23]byte {
	var iv [23]byte
	copy(iv[:8], kdfLabel)
	iv[8] = ring
	binary.BigEndian.PutUint64(iv[9:17], epoch)
	binary.BigEndian.PutUint32(iv[17:21], slot)
	return iv
}

// deriveKey writes ring key (ring, epoch, slot) of seed into out: the first
// len(out) bytes of the ZUC-256 keystream with key = the seed and IV =
// ringIV. Deterministic, so both ends of a link derive the same keyring
// from the same seed. The ZUC-256 engine is asm/zuc's (the same output as
// gmsm's zuc.NewCipher); deriveKey does not allocate, and its error is
// always nil (gmsm's constructor could fail, asm/zuc's key loading cannot).
func deriveKey(out []byte, seed *negotiation.Seed, ring uint8, epoch uint64, slot uint32) error {
	iv := ringIV(ring, epoch, slot)
	var z zuc.State
	z.Init256((*[32]byte)(seed), &iv)
	z.Keystream(out)
	return nil
}

// keyID is the shm id of a ring key: the first 8 bytes of
// SM3("otkd v1 keyring key id" ‖ key), never 0. It depends on the key
// bytes, so the peer detects a binding to a key it derived differently.
func keyID(key []byte) uint64 {
	h := sm3.New()
	h.Write([]byte("otkd v1 keyring key id"))
	h.Write(key)
	var sum [sm3.Size]byte
	id := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	clear(sum[:])
	if id == 0 {
		id = 1
	}
	return id
}

// sealer seals seeds at rest with SM4-GCM under the pool's KEK.
type sealer struct{ aead cipher.AEAD }

const sealedLen = 12 + len(negotiation.Seed{}) + 16

func newSealer(kek []byte) (*sealer, error) {
	if len(kek) != 16 {
		return nil, fmt.Errorf("%w: KEK is %d bytes, want 16", ErrConfig, len(kek))
	}
	b, err := sm4.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &sealer{a}, nil
}

func (s *sealer) seal(seed *negotiation.Seed, ad []byte) ([]byte, error) {
	out := make([]byte, 12, sealedLen)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[:12], seed[:], ad), nil
}

var errUnseal = errors.New("keyring: stored seed does not authenticate (wrong KEK or tampered store)")

func (s *sealer) open(seed *negotiation.Seed, sealed, ad []byte) error {
	if len(sealed) != sealedLen {
		return errUnseal
	}
	pt, err := s.aead.Open(nil, sealed[:12], sealed[12:], ad)
	if err != nil {
		return errUnseal
	}
	copy(seed[:], pt)
	clear(pt)
	return nil
}
