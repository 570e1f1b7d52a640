package keysync

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is the persistence keysync needs: ordered buckets of byte keys and
// values with atomic read-write transactions. It is narrow on purpose so a
// controller-wide store (bbolt now, a cluster store later) can back it.
type Store interface {
	// Update runs fn in a read-write transaction; it commits when fn
	// returns nil and rolls back otherwise.
	Update(fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
}

// Tx is one transaction of a Store. Values returned by Get are valid only
// inside the transaction. Buckets exist implicitly.
type Tx interface {
	Get(bucket, key string) []byte
	Put(bucket, key string, val []byte) error
	Delete(bucket, key string) error
	// ForEach calls fn for every pair of bucket in key order.
	ForEach(bucket string, fn func(key string, val []byte) error) error
}

// BoltStore is a Store in a bbolt file. Safe for concurrent use.
type BoltStore struct{ db *bolt.DB }

// OpenBolt opens (or creates, mode 0600) the bbolt file at path. It waits
// at most a second for another process's lock.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	return &BoltStore{db: db}, nil
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

// Update implements Store.
func (s *BoltStore) Update(fn func(Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

// View implements Store.
func (s *BoltStore) View(fn func(Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Get(bucket, key string) []byte {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Get([]byte(key))
}

func (t boltTx) Put(bucket, key string, val []byte) error {
	b, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return b.Put([]byte(key), val)
}

func (t boltTx) Delete(bucket, key string) error {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

func (t boltTx) ForEach(bucket string, fn func(string, []byte) error) error {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
}
