// Package kdf is otkd's one key derivation: the ZUC-256 expansion of a seed
// into session keys (SessionKey) and keyring keys (RingKey), and the
// rotation keys of a session's link secret (LinkKey). Both ends of a link
// derive the same keys from the same inputs. The types are package keys';
// the derivation sits beside it in a package of its own so that the shm
// reader, which plugins build, names keys without linking the ZUC engine
// (docs/plugins.md: a Go plugin needs x/sys and gmsm only).
package kdf

import (
	"crypto/hkdf"
	"encoding/binary"
	"errors"
	"hash"

	"github.com/emmansun/gmsm/sm3"

	"github.com/otkd/otkd/asm/zuc"
	"github.com/otkd/otkd/internal/keys"
)

// The KDF of otkd is ZUC-256 keyed with a seed: the first bytes of the
// keystream with key = the 32 seed bytes and a 23-byte IV that names what
// is derived. The IV's first 8 bytes are a label that versions the KDF and
// separates its uses, so a session key and a ring key of one seed never
// coincide:
//
//	session key  "otkdKDF1" ‖ direction u8 ‖ index u64 ‖ 0 (6 bytes)
//	ring key     "otkdRNG1" ‖ ring u8 ‖ epoch u64 ‖ slot u32 ‖ 0 (2 bytes)
//
// (integers big-endian; docs/postprocessing.md and docs/keyring.md). The
// engine is asm/zuc's, whose output equals gmsm's zuc.NewCipher; the
// derivation does not allocate.
const (
	sessionLabel = "otkdKDF1"
	ringLabel    = "otkdRNG1"
)

// SessionKey derives session key number index of direction dir from seed.
// It is deterministic, so both ends derive the same key; different (dir,
// index) pairs give independent keys. Index 0 is the first key made from a
// seed. dir must be keys.AtoB or keys.BtoA (ErrDirection otherwise).
func SessionKey(seed *keys.Seed, dir keys.Direction, index uint64) (keys.Key, error) {
	var k keys.Key
	if dir > keys.BtoA {
		return k, ErrDirection
	}
	var iv [23]byte
	copy(iv[:8], sessionLabel)
	iv[8] = byte(dir)
	binary.BigEndian.PutUint64(iv[9:17], index)
	expand(k[:], seed, &iv)
	return k, nil
}

// RingKey writes ring key (ring, epoch, slot) of seed into out (1…32
// bytes): a keyring's key for slot of ring, filled for window epoch.
// Deterministic, so both ends of a link derive the same keyring from the
// same seed.
func RingKey(out []byte, seed *keys.Seed, ring uint8, epoch uint64, slot uint32) {
	var iv [23]byte
	copy(iv[:8], ringLabel)
	iv[8] = ring
	binary.BigEndian.PutUint64(iv[9:17], epoch)
	binary.BigEndian.PutUint32(iv[17:21], slot)
	expand(out, seed, &iv)
}

// expand writes the first len(out) bytes of the ZUC-256 keystream of
// (seed, iv) into out.
func expand(out []byte, seed *keys.Seed, iv *[23]byte) {
	var z zuc.State
	z.Init256((*[32]byte)(seed), iv)
	z.Keystream(out)
}

// Labels of the link-secret rotation keys (docs/protocol.md).
const (
	linkKeySalt = "otkd v2 rotation"
	linkKeyInfo = "otkd v2 rotation key"
)

// LinkKey derives rotation key number idx (≥ 1) of direction d from a
// session's link secret, for a TX that nears its COUNT limit before the
// session made any seed: HKDF over HMAC-SM3 (RFC 5869) with the salt
// "otkd v2 rotation" and the info "otkd v2 rotation key" ‖ d ‖ idx (u32,
// big-endian), 16 bytes.
func LinkKey(secret *keys.Secret, d keys.Direction, idx uint32) (keys.Key, error) {
	info := []byte(linkKeyInfo + "\x00\x00\x00\x00\x00")
	info[len(linkKeyInfo)] = byte(d)
	binary.BigEndian.PutUint32(info[len(linkKeyInfo)+1:], idx)
	okm, err := hkdf.Key(func() hash.Hash { return sm3.New() }, secret[:], []byte(linkKeySalt), string(info), keys.KeySize)
	if err != nil {
		return keys.Key{}, err
	}
	var k keys.Key
	copy(k[:], okm)
	clear(okm)
	return k, nil
}

// ErrDirection: a direction other than keys.AtoB and keys.BtoA.
var ErrDirection = errors.New("kdf: direction must be 0 (A→B) or 1 (B→A)")
