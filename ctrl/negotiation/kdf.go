package negotiation

import (
	"encoding/binary"
	"fmt"

	"github.com/otkd/otkd/asm/zuc"
)

// Direction names a direction of the link: the key a seed is expanded into
// belongs to the direction whose rounds produced the seed.
type Direction uint8

const (
	AtoB Direction = 0 // rounds owned by A; frames A→B (EEA3 DIRECTION 0)
	BtoA Direction = 1 // rounds owned by B; frames B→A (EEA3 DIRECTION 1)
)

// kdfLabel is the first field of the KDF IV; changing it versions the KDF.
const kdfLabel = "otkdKDF1"

// SessionKeySize is the size of a ZUC-128 session key.
const SessionKeySize = 16

// kdfIV builds the 23-byte ZUC-256 IV of the KDF:
//
//	bytes 0..7   "otkdKDF1"
//	byte  8      direction (0 = A→B, 1 = B→A)
//	bytes 9..16  key index, big-endian uint64
//	bytes 17..22 zero
func kdfIV(dir Direction, index uint64) [23]byte {
	var iv [23]byte
	copy(iv[:8], kdfLabel)
	iv[8] = byte(dir)
	binary.BigEndian.PutUint64(iv[9:17], index)
	return iv
}

// SessionKey derives session key number index of direction dir from seed:
// the first 16 bytes of the ZUC-256 keystream with key = the 32 seed bytes
// and IV = kdfIV(dir, index). It is deterministic, so both ends derive the
// same key; different (dir, index) pairs give independent keys. Index 0 is
// the first key made from a seed. The ZUC-256 engine is asm/zuc's (the same
// output as gmsm's zuc.NewCipher); SessionKey does not allocate.
func SessionKey(seed *Seed, dir Direction, index uint64) ([SessionKeySize]byte, error) {
	var key [SessionKeySize]byte
	if dir > BtoA {
		return key, fmt.Errorf("%w: direction %d", ErrParams, dir)
	}
	iv := kdfIV(dir, index)
	var z zuc.State
	z.Init256((*[32]byte)(seed), &iv)
	z.Keystream(key[:])
	return key, nil
}
