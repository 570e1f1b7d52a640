// Package store persists the keys of the shared-memory key store (package
// shm) across daemon restarts: a bbolt file with one bucket of key records,
// each sealed with SM4-GCM under a 16-byte key-encryption key (KEK).
//
// Each value is nonce (12 random bytes, fresh per write) ‖ ciphertext ‖ tag
// of the 120-byte shm record, with the key id (8 bytes big-endian) as
// additional data, so a record cannot be moved to another id. bbolt commits
// with fsync and copy-on-write pages, so a crash leaves the previous or the
// new state, never a mix.
//
// Deleting a key frees its bbolt page; the freed page may keep the old
// ciphertext until bbolt reuses it. That is ciphertext only, under the KEK;
// the key is zeroised in the shared map at once.
//
// A Store is safe for concurrent use (bbolt serialises writers).
package store

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm4"
	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/shm"
)

var (
	bucketKeys = []byte("keys")
	bucketMeta = []byte("meta")
	metaGen    = []byte("generation")
)

// ErrKEK reports an unusable key-encryption key file.
var ErrKEK = errors.New("store: bad key-encryption key file")

// Store implements shm.Persister.
type Store struct {
	db   *bolt.DB
	aead cipher.AEAD
}

var _ shm.Persister = (*Store)(nil)

// Open opens (creating if needed, mode 0600) the bbolt file at path, sealing
// under the KEK read from kekPath. The KEK file must have mode 0600 and hold
// 16 bytes, raw or as 32 hex digits (a trailing newline is allowed).
func Open(path, kekPath string) (*Store, error) {
	kek, err := ReadKEK(kekPath)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	return OpenWithKEK(path, kek)
}

// OpenWithKEK is Open with the KEK given directly (16 bytes; not kept).
func OpenWithKEK(path string, kek []byte) (*Store, error) {
	if len(kek) != 16 {
		return nil, fmt.Errorf("%w: %d bytes, want 16", ErrKEK, len(kek))
	}
	block, err := sm4.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKeys); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &Store{db: db, aead: aead}, nil
}

// ReadKEK reads a KEK file, refusing any mode but 0600.
func ReadKEK(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKEK, err)
	}
	if m := fi.Mode(); !m.IsRegular() || m.Perm() != 0o600 {
		return nil, fmt.Errorf("%w: %s has mode %v, want -rw------- (0600)", ErrKEK, path, m)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKEK, err)
	}
	defer clear(b)
	if len(b) == 16 {
		return append([]byte(nil), b...), nil
	}
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) == 32 {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: %s holds %d bytes, want 16 raw bytes or 32 hex digits", ErrKEK, path, len(b))
}

// Close closes the bbolt file.
func (s *Store) Close() error { return s.db.Close() }

func idKey(id uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return b[:]
}

func (s *Store) seal(k *shm.Key) ([]byte, error) {
	var plain [shm.RecordSize]byte
	defer clear(plain[:])
	k.MarshalRecord(&plain)
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out, plain[:], idKey(k.ID)), nil
}

func (s *Store) open(id []byte, v []byte, k *shm.Key) error {
	n := s.aead.NonceSize()
	var plain [shm.RecordSize]byte
	defer clear(plain[:])
	if len(v) != n+len(plain)+s.aead.Overhead() {
		return fmt.Errorf("store: record %x: %d bytes, want %d", id, len(v), n+len(plain)+s.aead.Overhead())
	}
	if _, err := s.aead.Open(plain[:0], v[:n], v[n:], id); err != nil {
		return fmt.Errorf("store: record %x does not authenticate (wrong KEK or corrupt): %w", id, err)
	}
	if err := k.UnmarshalRecord(&plain); err != nil {
		return fmt.Errorf("store: record %x: %w", id, err)
	}
	return nil
}

// Save seals and stores keys in one transaction.
func (s *Store) Save(keys ...*shm.Key) error {
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.seal(k)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		for i, k := range keys {
			if err := b.Put(idKey(k.ID), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Delete removes key id.
func (s *Store) Delete(id uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Delete(idKey(id)) })
}

// Load opens every record and calls fn with it; the Key is zeroed after fn.
func (s *Store) Load(fn func(*shm.Key) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		var k shm.Key
		defer k.Zero()
		return tx.Bucket(bucketKeys).ForEach(func(id, v []byte) error {
			if err := s.open(id, v, &k); err != nil {
				return err
			}
			if binary.BigEndian.Uint64(id) != k.ID {
				return fmt.Errorf("store: record %x holds key %d", id, k.ID)
			}
			return fn(&k)
		})
	})
}

// Generation returns the stored generation (0 for a new store).
func (s *Store) Generation() (uint64, error) {
	var g uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaGen); len(v) == 8 {
			g = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return g, err
}

// SetGeneration stores gen.
func (s *Store) SetGeneration(gen uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaGen, idKey(gen))
	})
}
