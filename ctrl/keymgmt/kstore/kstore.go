// Package kstore is the controller's store: every piece of controller
// state (keyrings, custody, sync) lives behind the narrow Store and Tx
// interfaces. DB, in this package, keeps it in one embedded bbolt file, the
// default; ctrl/keymgmt/kstore/etcdstore keeps it in etcd, for several otkd
// sharing it (docs/cluster.md).
//
// # Contract
//
// A Store is a set of buckets, each an ordered map from byte keys to byte
// values. Update runs fn in one read-write transaction: either every write of
// fn is committed (and durable when Update returns nil) or none is (fn
// returned an error, panicked, or the commit failed). View runs fn in a
// read-only transaction that sees one consistent snapshot. Batch is Update
// for many concurrent callers: their functions may be grouped into one
// transaction and one fsync.
//
// fn may be called more than once, by Batch always and by Update on a store
// that other processes write too (etcd: a transaction whose reads another
// committed writer changed meanwhile runs again on fresh reads). fn must
// therefore be idempotent, depend on nothing but what it reads in the
// transaction, and leave its results in variables it sets on every run.
// Transactions are serializable: what fn read is still what the store holds
// when its writes commit.
//
// Buckets are created on first Put or NextSeq; reading a bucket that does
// not exist finds nothing. Keys are not empty. Slices returned by Get or
// passed to ForEach and Scan are valid only until the transaction ends: copy
// what you keep. A Tx must not be used outside the function it was passed
// to, nor from other goroutines.
//
// # Ranges
//
// Scan walks the keys of a bucket in a Range (Prefix makes the range of a
// prefix), forwards or backwards, up to a limit; DeleteRange removes a range
// of keys as one write, however many keys it holds. A backend with a bound
// on the writes of a transaction (etcd: 128 by default) counts a
// DeleteRange as one, so a change that empties a set of records belongs in
// one range of keys.
//
// # Limits
//
// A backend may bound a transaction: etcd takes at most a configured number
// of writes (puts, deletes, range deletes, sequence bumps) and of keys read
// by a read-write transaction, and of request bytes. A transaction beyond a
// bound fails with ErrTxnTooLarge before anything is written; callers design
// their records so that each logical change fits, and report the ones that
// cannot (a key file too large for one transaction) with a clear error. A
// backend that cannot reach its servers fails with ErrUnavailable; one whose
// transaction lost the race against other writers too many times in a row,
// with ErrConflict.
//
// # Schema versions
//
// The store records a schema version in a reserved meta bucket. Open takes
// the ordered list of migrations the code knows: migrations[i] brings the
// schema from version i to i+1. Open runs the pending ones in order, each in
// its own transaction together with the version bump, so a migration is
// applied exactly once: a failing migration rolls back entirely (the schema
// stays at the last version that succeeded, and Open returns a
// *MigrationError). A file whose version is higher than len(migrations) was
// written by newer code; Open refuses it with a *SchemaError (ErrNewerSchema)
// rather than guess at its layout. Migrations are append-only: never edit or
// reorder one that has shipped. One file has one schema version, so every
// package sharing a file contributes its migrations to the one list the
// daemon passes to Open (packages that only create buckets on first write,
// such as ctrl/keymgmt/keyring, need none and version their records instead).
//
// # Crash safety
//
// bbolt writes a transaction copy-on-write: the changed pages go to free
// space, are fsynced, and only then is one of two alternating meta pages
// (each with a checksum) rewritten and fsynced. On open, bbolt picks the
// newest meta page whose checksum holds. A crash at any point therefore
// leaves either the previous or the new committed state, never a mix, as
// long as the file system honours fsync; kstore never sets bbolt's NoSync.
// The price is one or two fsyncs per transaction (milliseconds on real
// disks), which is why related writes belong in one Update and concurrent
// writers should use Batch. The file is locked (flock) by the opening
// process: a second Open of the same path fails after Options.LockTimeout.
//
// # Damage
//
// bbolt trusts its file: a page id beyond a truncated file faults the
// process, a scribbled length panics. Open therefore reads an existing file
// whole and checks its structure (internal/boltcheck) before bbolt maps it,
// refuses an empty one (bbolt would start it afresh), then walks it once with
// faults turned into errors and runs bbolt's consistency check. A damaged
// file is refused with a *DamageError (ErrDamaged) naming it; Open never
// panics on a file's contents.
package kstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/internal/boltcheck"
)

// Tx is one transaction of a Store. See the package contract.
type Tx interface {
	// Get returns the value of key in bucket, nil if either is missing.
	// The slice is valid only during the transaction.
	Get(bucket, key []byte) []byte
	// Put sets key to val in bucket, creating the bucket if needed.
	Put(bucket, key, val []byte) error
	// Delete removes key from bucket; a missing key or bucket is no error.
	Delete(bucket, key []byte) error
	// ForEach calls fn for every key of bucket in byte order; an error from
	// fn stops the walk and is returned. fn must not modify the bucket.
	ForEach(bucket []byte, fn func(k, v []byte) error) error
	// NextSeq returns the next value (1, 2, ...) of the bucket's persistent
	// sequence, creating the bucket if needed. A rolled-back transaction
	// does not consume values. Every transaction that draws from one
	// sequence writes the same record: on a shared store, concurrent
	// writers of a sequence run one after another.
	NextSeq(bucket []byte) (uint64, error)
	// Scan calls fn for the keys of bucket in r, in byte order (reverse
	// order with r.Reverse), at most r.Limit of them when it is positive;
	// an error from fn stops the walk and is returned. fn must not modify
	// the bucket.
	Scan(bucket []byte, r Range, fn func(k, v []byte) error) error
	// DeleteRange removes the keys of bucket in r (r.Reverse and r.Limit
	// must be zero): one write, however many keys it removes.
	DeleteRange(bucket []byte, r Range) error
}

// Range selects the keys k of a bucket with Start <= k < End. A nil Start
// is the bucket's first key, a nil End its end. Reverse walks from the
// last key of the range down; Limit, when positive, stops after that many.
type Range struct {
	Start, End []byte
	Reverse    bool
	Limit      int
}

// Prefix returns the Range of the keys that start with p (every key when p
// is empty).
func Prefix(p []byte) Range {
	if len(p) == 0 {
		return Range{}
	}
	return Range{Start: p, End: PrefixEnd(p)}
}

// PrefixEnd returns the first key after every key that starts with p: p
// with its last byte below 0xff incremented and what follows dropped; nil
// (the end of the bucket) when p is empty or all 0xff.
func PrefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Contains reports whether k is in r (Limit aside).
func (r Range) Contains(k []byte) bool {
	return bytes.Compare(k, r.Start) >= 0 && (r.End == nil || bytes.Compare(k, r.End) < 0)
}

// Check reports a range that is empty by construction or, for
// DeleteRange (del), that asks for an order or a limit.
func (r Range) Check(del bool) error {
	switch {
	case r.Limit < 0:
		return fmt.Errorf("%w: limit %d", ErrRange, r.Limit)
	case del && (r.Reverse || r.Limit != 0):
		return fmt.Errorf("%w: DeleteRange takes no order and no limit", ErrRange)
	}
	return nil
}

// Store is the controller's transactional key-value store.
type Store interface {
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed if fn
	// returns nil.
	Update(fn func(Tx) error) error
	// Batch is Update for concurrent callers: functions from several
	// goroutines may share one transaction and one fsync. fn may run more
	// than once and must be idempotent.
	Batch(fn func(Tx) error) error
	// Close releases the store; later calls fail with ErrClosed.
	Close() error
}

// Watcher is a Store that other processes write too (a cluster store):
// Watch returns a channel that receives, coalesced, after writes to bucket
// committed by any process, until ctx ends (then it is closed).
type Watcher interface {
	Watch(ctx context.Context, bucket []byte) <-chan struct{}
}

// Migration brings the schema from one version to the next.
type Migration struct {
	// Name says what the migration does (for errors and logs).
	Name string
	// Up applies the migration inside the transaction that also records
	// the new version.
	Up func(Tx) error
}

// Errors.
var (
	// ErrNewerSchema: the file was written by code that knows more
	// migrations than this one; see *SchemaError.
	ErrNewerSchema = errors.New("kstore: schema newer than this program")
	// ErrMigration: a migration failed and was rolled back; see
	// *MigrationError.
	ErrMigration = errors.New("kstore: migration failed")
	// ErrReserved: a write to the store's own meta bucket.
	ErrReserved = errors.New("kstore: reserved bucket")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("kstore: closed")
	// ErrCorrupt: the meta bucket holds a malformed schema version.
	ErrCorrupt = errors.New("kstore: corrupt meta bucket")
	// ErrDamaged: the store file fails bbolt's structural check (truncated,
	// overwritten, not a bbolt file, or empty); see *DamageError.
	ErrDamaged = errors.New("kstore: damaged store file")
	// ErrRange: a malformed Range.
	ErrRange = errors.New("kstore: bad range")
	// ErrEmptyKey: a Put or Delete with an empty key.
	ErrEmptyKey = errors.New("kstore: empty key")
	// ErrTxnTooLarge: the transaction exceeds a bound of the backend
	// (etcd: writes or keys read per transaction, request bytes); nothing
	// was written.
	ErrTxnTooLarge = errors.New("kstore: transaction too large for the store")
	// ErrConflict: the transaction lost to concurrent writers on every
	// attempt; nothing was written.
	ErrConflict = errors.New("kstore: transaction kept conflicting with concurrent writers")
	// ErrUnavailable: the store's servers did not answer (no quorum,
	// timeout, connection refused). For a commit that failed this way
	// the outcome is unknown: the change may or may not be in the store.
	ErrUnavailable = errors.New("kstore: store unavailable")
)

// SchemaError reports a file whose schema version this program does not
// know. It unwraps to ErrNewerSchema.
type SchemaError struct {
	Path   string
	Stored uint64 // version in the file
	Known  uint64 // highest version this program knows
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("kstore: %s has schema version %d, this program knows up to %d (upgrade the program or restore an older file)",
		e.Path, e.Stored, e.Known)
}

// Unwrap returns ErrNewerSchema.
func (e *SchemaError) Unwrap() error { return ErrNewerSchema }

// MigrationError reports a failed migration. Errors.Is matches both
// ErrMigration and the migration's own error.
type MigrationError struct {
	Version uint64 // the version the migration would have produced
	Name    string
	Err     error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("kstore: migration to version %d (%s) failed, rolled back: %v", e.Version, e.Name, e.Err)
}

// Unwrap returns ErrMigration and the migration's error.
func (e *MigrationError) Unwrap() []error { return []error{ErrMigration, e.Err} }

// metaBucket is reserved for the store itself.
var (
	metaBucket = []byte("kstore.meta")
	metaSchema = []byte("schema")
)

// Options configure OpenWith. The zero value of each field is its default.
type Options struct {
	// LockTimeout is how long Open waits for another process's lock on
	// the file; 0 means 1 s.
	LockTimeout time.Duration
	// Mode of a newly created file; 0 means 0600.
	Mode os.FileMode
}

// DB is the bbolt implementation of Store. Safe for concurrent use.
type DB struct {
	db      *bolt.DB
	path    string
	version uint64
}

var _ Store = (*DB)(nil)

// Open opens or creates the store at path with default options and brings
// its schema up to len(migrations). See the package doc.
func Open(path string, migrations []Migration) (*DB, error) {
	return OpenWith(path, migrations, Options{})
}

// OpenWith is Open with options.
func OpenWith(path string, migrations []Migration, opts Options) (*DB, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Mode == 0 {
		opts.Mode = 0o600
	}
	for i, m := range migrations {
		if m.Up == nil {
			return nil, fmt.Errorf("kstore: migration %d (%s) has no Up function", i+1, m.Name)
		}
	}
	if err := precheck(path); err != nil {
		return nil, err
	}
	bdb, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	d := &DB{db: bdb, path: path}
	if err := d.check(); err != nil {
		bdb.Close()
		return nil, err
	}
	if err := d.migrate(migrations); err != nil {
		bdb.Close()
		return nil, err
	}
	return d, nil
}

// DamageError says which store file is damaged and how.
type DamageError struct {
	Path   string
	Reason string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("kstore: %s is damaged (%s): otkd does not repair it; move it aside and restore the last backup, or remove it to start with an empty controller store", e.Path, e.Reason)
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// openBolt opens the bbolt file. bbolt reports some damage as errors and
// panics on other (a freelist or meta page that does not parse): both come
// back as a *DamageError, and so does a fault on a page beyond the file.
// bbolt returns no handle after such a panic, so the
// file is opened through bbolt's OpenFile hook and closed here (which also
// drops its lock); what bbolt had mapped of it stays mapped until the
// process ends (the daemon exits on this error).
func openBolt(path string, opts Options) (bdb *bolt.DB, err error) {
	// A page id beyond the file faults while bbolt loads the freelist: a
	// panic here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var f *os.File
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				f.Close()
			}
			bdb, err = nil, &DamageError{Path: path, Reason: fmt.Sprint("bbolt: ", r)}
		}
	}()
	bdb, err = bolt.Open(path, opts.Mode, &bolt.Options{
		Timeout: opts.LockTimeout,
		OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
			var err error
			f, err = os.OpenFile(name, flag, mode)
			return f, err
		},
	})
	var pe *fs.PathError
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, bolt.ErrTimeout), errors.As(err, &pe):
		// locked by another process, or the file cannot be opened
		return nil, fmt.Errorf("kstore: opening %s: %w", path, err)
	default:
		// anything else bbolt says of the file's contents (invalid
		// meta pages, checksum, version, "file size too small")
		return nil, &DamageError{Path: path, Reason: "bbolt: " + err.Error()}
	}
}

// precheck reads an existing file whole and checks bbolt's structure in
// memory (internal/boltcheck) before bbolt maps it. A file that does not
// exist yet is left to bbolt to create.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kstore: opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("kstore: %s: %w", path, err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return &DamageError{Path: path, Reason: fmt.Sprintf("not a regular file (%v)", fi.Mode().Type())}
	case fi.Size() == 0:
		// bbolt would initialise an empty file as a new store: a store cut
		// to nothing must not come back silently empty.
		return &DamageError{Path: path, Reason: "the file is empty (0 bytes)"}
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return fmt.Errorf("kstore: reading %s: %w", path, err)
	}
	if err := boltcheck.Check(b); err != nil {
		return &DamageError{Path: path, Reason: err.Error()}
	}
	return nil
}

// check refuses a damaged file at Open, with its path, instead of letting
// bbolt panic (or fault on a page id beyond the file) inside the first
// transaction that reaches the damaged page. precheck has checked the
// file's structure before bbolt mapped it; this is the second line: it
// walks every bucket, nested bucket, key and value in this goroutine with
// faults turned into panics (runtime/debug.SetPanicOnFault), and only then
// runs bbolt's own consistency check (page types, the freelist, pages
// reachable twice or never, key order), which runs on a goroutine of its
// own where a fault could not be caught. The controller store is small
// (megabytes): this costs milliseconds at start.
func (d *DB) check() error {
	if err := d.walk(); err != nil {
		return err
	}
	var first error
	n := 0
	if err := d.db.View(func(btx *bolt.Tx) error {
		for e := range btx.Check() {
			if first == nil {
				first = e
			}
			n++
		}
		return nil
	}); err != nil {
		return &DamageError{Path: d.path, Reason: "bbolt: " + err.Error()}
	}
	if first != nil {
		reason := "bbolt: " + first.Error()
		if n > 1 {
			reason += fmt.Sprintf(", and %d more problems", n-1)
		}
		return &DamageError{Path: d.path, Reason: reason}
	}
	return nil
}

// walk reads every bucket, key and value of the file (see check).
func (d *DB) walk() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamageError{Path: d.path, Reason: fmt.Sprint("bbolt: ", r)}
		}
	}()
	var sum byte
	var bucket func(b *bolt.Bucket) error
	bucket = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return bucket(nb)
				}
				return nil
			}
			for _, c := range v { // touch every byte: overflow pages too
				sum ^= c
			}
			return nil
		})
	}
	return d.db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(_ []byte, b *bolt.Bucket) error { return bucket(b) })
	})
}

// migrate runs the pending migrations, one transaction each.
func (d *DB) migrate(migrations []Migration) error {
	known := uint64(len(migrations))
	v, err := d.readVersion()
	if err != nil {
		return err
	}
	if v > known {
		return &SchemaError{Path: d.path, Stored: v, Known: known}
	}
	for ; v < known; v++ {
		m := migrations[v]
		err := d.db.Update(func(btx *bolt.Tx) error {
			if err := m.Up(tx{btx}); err != nil {
				return err
			}
			return writeVersion(btx, v+1)
		})
		if err != nil {
			return &MigrationError{Version: v + 1, Name: m.Name, Err: err}
		}
	}
	d.version = v
	return nil
}

func (d *DB) readVersion() (uint64, error) {
	var v uint64
	err := d.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(metaBucket)
		if b == nil {
			return nil
		}
		raw := b.Get(metaSchema)
		if raw == nil {
			return nil
		}
		if len(raw) != 8 {
			return fmt.Errorf("%w: schema version is %d bytes", ErrCorrupt, len(raw))
		}
		v = binary.BigEndian.Uint64(raw)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("kstore: %s: %w", d.path, err)
	}
	return v, nil
}

func writeVersion(btx *bolt.Tx, v uint64) error {
	b, err := btx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	return b.Put(metaSchema, binary.BigEndian.AppendUint64(nil, v))
}

// Version returns the schema version after Open's migrations.
func (d *DB) Version() uint64 { return d.version }

// Path returns the file path.
func (d *DB) Path() string { return d.path }

// View implements Store.
func (d *DB) View(fn func(Tx) error) error {
	return mapErr(d.db.View(func(btx *bolt.Tx) error { return fn(tx{btx}) }))
}

// Update implements Store.
func (d *DB) Update(fn func(Tx) error) error {
	return mapErr(d.db.Update(func(btx *bolt.Tx) error { return fn(tx{btx}) }))
}

// Batch implements Store with bbolt's Batch.
func (d *DB) Batch(fn func(Tx) error) error {
	return mapErr(d.db.Batch(func(btx *bolt.Tx) error { return fn(tx{btx}) }))
}

// Close implements Store.
func (d *DB) Close() error { return mapErr(d.db.Close()) }

func mapErr(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	}
	return err
}

// tx adapts a bbolt transaction to Tx.
type tx struct{ t *bolt.Tx }

func reserved(bucket []byte) error {
	if string(bucket) == string(metaBucket) {
		return fmt.Errorf("%w: %q", ErrReserved, bucket)
	}
	return nil
}

func (t tx) Get(bucket, key []byte) []byte {
	b := t.t.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

func (t tx) Put(bucket, key, val []byte) error {
	if err := reserved(bucket); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%w: put in %q", ErrEmptyKey, bucket)
	}
	b, err := t.t.CreateBucketIfNotExists(bucket)
	if err != nil {
		return fmt.Errorf("kstore: bucket %q: %w", bucket, err)
	}
	if err := b.Put(key, val); err != nil {
		return fmt.Errorf("kstore: put in %q: %w", bucket, err)
	}
	return nil
}

func (t tx) Delete(bucket, key []byte) error {
	if err := reserved(bucket); err != nil {
		return err
	}
	if !t.t.Writable() {
		return fmt.Errorf("kstore: delete in %q: %w", bucket, bolt.ErrTxNotWritable)
	}
	b := t.t.Bucket(bucket)
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("kstore: delete in %q: %w", bucket, err)
	}
	return nil
}

func (t tx) ForEach(bucket []byte, fn func(k, v []byte) error) error {
	b := t.t.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}

func (t tx) Scan(bucket []byte, r Range, fn func(k, v []byte) error) error {
	if err := r.Check(false); err != nil {
		return err
	}
	b := t.t.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	var k, v []byte
	step := c.Next
	if r.Reverse {
		step = c.Prev
		if r.End == nil {
			k, v = c.Last()
		} else if k, v = c.Seek(r.End); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev() // the last key below End
		}
	} else {
		k, v = c.Seek(r.Start)
	}
	for n := 0; k != nil && r.Contains(k) && (r.Limit == 0 || n < r.Limit); n++ {
		if err := fn(k, v); err != nil {
			return err
		}
		k, v = step()
	}
	return nil
}

func (t tx) DeleteRange(bucket []byte, r Range) error {
	if err := reserved(bucket); err != nil {
		return err
	}
	if err := r.Check(true); err != nil {
		return err
	}
	if !t.t.Writable() {
		return fmt.Errorf("kstore: delete range in %q: %w", bucket, bolt.ErrTxNotWritable)
	}
	b := t.t.Bucket(bucket)
	if b == nil {
		return nil
	}
	// Collect first: deleting under a bbolt cursor that keeps moving can
	// skip the key after each deleted one.
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(r.Start); k != nil && r.Contains(k); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("kstore: delete range in %q: %w", bucket, err)
		}
	}
	return nil
}

func (t tx) NextSeq(bucket []byte) (uint64, error) {
	if err := reserved(bucket); err != nil {
		return 0, err
	}
	b, err := t.t.CreateBucketIfNotExists(bucket)
	if err != nil {
		return 0, fmt.Errorf("kstore: bucket %q: %w", bucket, err)
	}
	n, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("kstore: sequence of %q: %w", bucket, err)
	}
	return n, nil
}
