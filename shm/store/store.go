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
// A damaged or foreign file never crashes the daemon and is never written
// to: Open reads the whole file with pread and checks bbolt's structure in
// memory before bbolt maps it (internal/boltcheck), then, before any write, checks
// the KEK against a check value sealed under it (a store made before there
// was one: against its first record), opens every record and compares a
// keyed digest of all records and the generation with the one stored. A
// wrong KEK is ErrWrongKEK, anything else ErrCorrupt, each naming the file;
// the file is left byte for byte as it was.
//
// A Store is safe for concurrent use (bbolt serialises writers).
package store

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/internal/boltcheck"
	"github.com/otkd/otkd/shm"
)

var (
	bucketKeys  = []byte("keys")
	bucketMeta  = []byte("meta")
	metaGen     = []byte("generation")
	metaCheck   = []byte("kek-check")
	metaDigest  = []byte("digest")
	checkPlain  = []byte("otkd store kek check v1")
	digestLabel = []byte("otkd store digest key v1")
)

// ErrKEK reports an unusable key-encryption key file.
var ErrKEK = errors.New("store: bad key-encryption key file")

// ErrWrongKEK: the KEK does not open the store (its check value, or its
// first record in a store older than check values, does not authenticate).
var ErrWrongKEK = errors.New("store: the key-encryption key does not open this store")

// ErrCorrupt: the store file is damaged (bbolt structure, a record that does
// not authenticate, records or generation that do not match the digest).
var ErrCorrupt = errors.New("store: damaged")

// maxFileSize bounds the store file Open reads into memory to check it
// (a store of 65 536 keys is about 12 MiB).
const maxFileSize = 1 << 30

// Store implements shm.Persister.
type Store struct {
	db     *bolt.DB
	aead   cipher.AEAD
	macKey []byte // HMAC-SM3 key of the digest, derived from the KEK
	path   string
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
// It refuses a damaged file (ErrCorrupt) and a KEK that does not open the
// store (ErrWrongKEK) before it writes anything; see the package doc.
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
	mac := hmac.New(sm3.New, kek)
	mac.Write(digestLabel)
	s := &Store{aead: aead, macKey: mac.Sum(nil), path: path}
	f, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	if err := s.checkFile(f); err != nil {
		f.Close()
		return nil, err
	}
	err = guard(func() error {
		var err error
		s.db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:  time.Second,
			OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
		})
		return err
	})
	if err != nil {
		f.Close()
		return nil, s.damaged(err)
	}
	if err := s.init(); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// openLocked opens path (never through a symbolic link) and takes the
// exclusive flock bbolt takes too (on the same descriptor, which bbolt is
// then given), so that no other otkd changes the file while it is checked.
func openLocked(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR || time.Now().After(deadline) {
			f.Close()
			if err == syscall.EWOULDBLOCK || err == syscall.EINTR {
				err = bolt.ErrTimeout
			}
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkFile reads the whole file with pread and checks its structure.
func (s *Store) checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return s.corruptf("not a regular file (%v)", fi.Mode().Type())
	}
	if fi.Size() > maxFileSize {
		return s.corruptf("%d bytes, more than a key store can be (%d)", fi.Size(), maxFileSize)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return fmt.Errorf("store: reading %s: %w", s.path, err)
	}
	if err := boltcheck.Check(b); err != nil {
		return s.corruptf("%v; restore it from a backup, or move it away to start with no stored keys", err)
	}
	return nil
}

// damaged wraps an error met reading the (checked) file.
func (s *Store) damaged(err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongKEK) {
		return err
	}
	return s.corruptf("%v", err)
}

// corruptf is an ErrCorrupt naming the file.
func (s *Store) corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, s.path, strings.TrimPrefix(fmt.Sprintf(format, args...), "store: "))
}

// guard runs fn, which reads the bbolt file through bbolt's mapping, and
// turns a fault (SIGBUS on a page the file no longer has) or a panic in
// bbolt into an error. boltcheck.Check is meant to leave none to catch; this is
// the second line (runtime/debug.SetPanicOnFault exists for mapped files).
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the file failed: %v", r)
		}
	}()
	return fn()
}

// init checks the KEK, every record and the digest (read-only), then adds
// what an older or new store lacks: buckets, check value, digest.
func (s *Store) init() error {
	var st state
	err := guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			var err error
			st, err = s.verify(tx)
			return err
		})
	})
	if err != nil {
		return s.damaged(err)
	}
	if st.hasBuckets && st.hasCheck && st.hasDigest {
		return nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKeys); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if !st.hasCheck {
			v, err := s.sealCheck()
			if err != nil {
				return err
			}
			if err := meta.Put(metaCheck, v); err != nil {
				return err
			}
		}
		return meta.Put(metaDigest, st.digest.encode())
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
	return nil
}

// state is what verify found.
type state struct {
	hasBuckets, hasCheck, hasDigest bool
	digest                          digest
}

// verify checks, without writing: the KEK (check value, or the first
// record of a store that has none), every record, the generation and the
// digest.
func (s *Store) verify(tx *bolt.Tx) (state, error) {
	var st state
	keys, meta := tx.Bucket(bucketKeys), tx.Bucket(bucketMeta)
	switch {
	case keys == nil && meta == nil: // a new store
		st.digest.xor(s.genItem(nil))
		return st, s.checkForeign(tx)
	case keys == nil || meta == nil:
		return st, s.corruptf("bucket %q or %q missing", bucketKeys, bucketMeta)
	}
	st.hasBuckets = true
	if err := s.checkKEK(keys, meta, &st); err != nil {
		return st, err
	}
	var k shm.Key
	defer k.Zero()
	err := keys.ForEach(func(id, v []byte) error {
		if len(id) != 8 {
			return s.corruptf("key %x is not a key id", id)
		}
		if err := s.open(id, v, &k); err != nil {
			return s.corruptf("%v", err)
		}
		st.digest.xor(s.recordItem(id, v))
		st.digest.count++
		return nil
	})
	if err != nil {
		return st, err
	}
	gen := meta.Get(metaGen)
	if gen != nil && len(gen) != 8 {
		return st, s.corruptf("generation of %d bytes", len(gen))
	}
	st.digest.xor(s.genItem(gen))
	if v := meta.Get(metaDigest); v != nil {
		st.hasDigest = true
		var want digest
		if !want.decode(v) || want != st.digest {
			return st, s.corruptf("its records and generation do not match its digest (records lost or altered); restore it from a backup, or move it away to start with no stored keys")
		}
	}
	return st, nil
}

// checkKEK checks the KEK against the check value, or, in a store made
// before check values, against the first record.
func (s *Store) checkKEK(keys, meta *bolt.Bucket, st *state) error {
	first, _ := keys.Cursor().First()
	firstOK := func() bool {
		if first == nil {
			return false
		}
		var k shm.Key
		defer k.Zero()
		return s.open(first, keys.Get(first), &k) == nil
	}
	if v := meta.Get(metaCheck); v != nil {
		st.hasCheck = true
		if s.openCheck(v) == nil {
			return nil
		}
		// The wrong KEK, or a damaged check value: the first record tells.
		if !firstOK() {
			return fmt.Errorf("%w: %s (wrong store.kek_file?)", ErrWrongKEK, s.path)
		}
		return s.corruptf("its KEK check value does not authenticate, its records do")
	}
	if first != nil && !firstOK() {
		return fmt.Errorf("%w: %s: its first record does not authenticate (wrong store.kek_file, or a damaged record)", ErrWrongKEK, s.path)
	}
	return nil
}

// checkForeign refuses a bbolt file holding other buckets than a key
// store's (e.g. the controller store given as store.path).
func (s *Store) checkForeign(tx *bolt.Tx) error {
	var names []string
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, fmt.Sprintf("%q", name))
		return nil
	})
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return s.corruptf("not a key store (buckets %s)", strings.Join(names, ", "))
	}
	return nil
}

func (s *Store) sealCheck() ([]byte, error) {
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(checkPlain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out, checkPlain, metaCheck), nil
}

func (s *Store) openCheck(v []byte) error {
	n := s.aead.NonceSize()
	if len(v) != n+len(checkPlain)+s.aead.Overhead() {
		return errors.New("length")
	}
	p, err := s.aead.Open(nil, v[:n], v[n:], metaCheck)
	if err != nil || string(p) != string(checkPlain) {
		return errors.New("does not authenticate")
	}
	return nil
}

// digest is the XOR of a keyed hash (HMAC-SM3 under a key derived from the
// KEK) of every record (id and sealed value) and of the generation, with
// the number of records. It is kept in meta/digest, updated by every
// write, and checked by Open: a record dropped, added, replaced by an
// older one or damaged in a way bbolt's structure does not show, or a
// generation changed, makes it differ. Someone without the KEK cannot
// make a matching one. It does not detect the whole file put back to an
// older state (that needs state kept elsewhere).
type digest struct {
	sum   [sm3.Size]byte
	count uint64
}

// xor adds item to the sum, or takes it out again.
func (d *digest) xor(item [sm3.Size]byte) {
	for i := range d.sum {
		d.sum[i] ^= item[i]
	}
}

func (d *digest) encode() []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), d.sum[:]...), d.count)
}

func (d *digest) decode(v []byte) bool {
	if len(v) != sm3.Size+8 {
		return false
	}
	copy(d.sum[:], v)
	d.count = binary.BigEndian.Uint64(v[sm3.Size:])
	return true
}

func (s *Store) item(kind string, parts ...[]byte) (out [sm3.Size]byte) {
	m := hmac.New(sm3.New, s.macKey)
	m.Write([]byte(kind))
	for _, p := range parts {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		m.Write(p)
	}
	copy(out[:], m.Sum(nil))
	return out
}

func (s *Store) recordItem(id, v []byte) [sm3.Size]byte { return s.item("record", id, v) }

// genItem hashes the stored generation (nil: none stored yet).
func (s *Store) genItem(gen []byte) [sm3.Size]byte { return s.item("generation", gen) }

// loadDigest reads the digest in a write transaction (Open made sure there
// is one).
func (s *Store) loadDigest(tx *bolt.Tx) (digest, error) {
	var d digest
	if !d.decode(tx.Bucket(bucketMeta).Get(metaDigest)) {
		return d, s.corruptf("digest missing")
	}
	return d, nil
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
		d, err := s.loadDigest(tx)
		if err != nil {
			return err
		}
		for i, k := range keys {
			id := idKey(k.ID)
			if old := b.Get(id); old != nil {
				d.xor(s.recordItem(id, old))
				d.count--
			}
			if err := b.Put(id, vals[i]); err != nil {
				return err
			}
			d.xor(s.recordItem(id, vals[i]))
			d.count++
		}
		return tx.Bucket(bucketMeta).Put(metaDigest, d.encode())
	})
}

// Delete removes key id.
func (s *Store) Delete(id uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bucketKeys), idKey(id)
		old := b.Get(k)
		if old == nil {
			return nil
		}
		d, err := s.loadDigest(tx)
		if err != nil {
			return err
		}
		d.xor(s.recordItem(k, old))
		d.count--
		if err := b.Delete(k); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaDigest, d.encode())
	})
}

// Load opens every record and calls fn with it; the Key is zeroed after fn.
func (s *Store) Load(fn func(*shm.Key) error) error {
	return guard(func() error {
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
		meta := tx.Bucket(bucketMeta)
		d, err := s.loadDigest(tx)
		if err != nil {
			return err
		}
		v := idKey(gen)
		d.xor(s.genItem(meta.Get(metaGen)))
		d.xor(s.genItem(v))
		if err := meta.Put(metaGen, v); err != nil {
			return err
		}
		return meta.Put(metaDigest, d.encode())
	})
}
