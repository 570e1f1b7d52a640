package keyring

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/otkd/otkd/internal/keys"
)

// legacyKeyID is the id ring keys had before a key's id became its
// fingerprint (keys.IDOf): the first 8 bytes of SM3("otkd v1 keyring key
// id" ‖ key), never 0. Bindings stored, and keyring messages queued, by an
// earlier otkd carry it; makeKey accepts it for the key it names, so an
// upgraded node keeps serving them under their id (docs/keyring.md,
// "Key ids"). New keys never get one.
func legacyKeyID(key []byte) uint64 {
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

const sealedLen = 12 + len(keys.Seed{}) + 16

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

func (s *sealer) seal(seed *keys.Seed, ad []byte) ([]byte, error) {
	out := make([]byte, 12, sealedLen)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[:12], seed[:], ad), nil
}

var errUnseal = errors.New("keyring: stored seed does not authenticate (wrong KEK or tampered store)")

func (s *sealer) open(seed *keys.Seed, sealed, ad []byte) error {
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
