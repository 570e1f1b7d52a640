// Package kstore is the controller's embedded store: every piece of
// controller state (keyrings, custody, sync) lives in one bbolt file behind
// the narrow Store and Tx interfaces, so that a cluster store (etcd) can
// implement the same contract later.
//
// # Contract
//
// A Store is a set of buckets, each an ordered map from byte keys to byte
// values. Update runs fn in one read-write transaction: either every write of
// fn is committed (and on disk when Update returns nil) or none is (fn
// returned an error, panicked, or the commit failed). View runs fn in a
// read-only transaction that sees one consistent snapshot. Batch is Update
// for many concurrent callers: their functions are grouped into one
// transaction and one fsync; fn may be called more than once and must
// therefore be idempotent, and must not depend on running alone.
//
// Buckets are created on first Put or NextSeq; reading a bucket that does
// not exist finds nothing. Slices returned by Get or passed to ForEach are
// valid only until the transaction ends: copy what you keep. A Tx must not be
// used outside the function it was passed to, nor from other goroutines.
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
package kstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
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
	// does not consume values.
	NextSeq(bucket []byte) (uint64, error)
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
	bdb, err := bolt.Open(path, opts.Mode, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("kstore: opening %s: %w", path, err)
	}
	d := &DB{db: bdb, path: path}
	if err := d.migrate(migrations); err != nil {
		bdb.Close()
		return nil, err
	}
	return d, nil
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
