package keysync

import "github.com/otkd/otkd/ctrl/keymgmt/kstore"

// txn adapts a kstore.Tx to the string bucket names and keys of this
// package. Values returned by Get are valid only inside the transaction.
type txn struct{ k kstore.Tx }

func (t txn) Get(bucket, key string) []byte { return t.k.Get([]byte(bucket), []byte(key)) }

func (t txn) Put(bucket, key string, val []byte) error {
	return t.k.Put([]byte(bucket), []byte(key), val)
}

func (t txn) Delete(bucket, key string) error { return t.k.Delete([]byte(bucket), []byte(key)) }

// ForEach calls fn for every pair of bucket in key order.
func (t txn) ForEach(bucket string, fn func(key string, val []byte) error) error {
	return t.k.ForEach([]byte(bucket), func(k, v []byte) error { return fn(string(k), v) })
}

// Scan calls fn for the pairs of bucket in r, in r's order.
func (t txn) Scan(bucket string, r kstore.Range, fn func(key string, val []byte) error) error {
	return t.k.Scan([]byte(bucket), r, func(k, v []byte) error { return fn(string(k), v) })
}

// DeleteRange removes the keys of bucket in r.
func (t txn) DeleteRange(bucket string, r kstore.Range) error {
	return t.k.DeleteRange([]byte(bucket), r)
}

func (s *Syncer) update(fn func(txn) error) error {
	return s.st.Update(func(k kstore.Tx) error { return fn(txn{k}) })
}

// batch is update for concurrent callers; fn may run more than once and
// must depend on nothing but the transaction.
func (s *Syncer) batch(fn func(txn) error) error {
	return s.st.Batch(func(k kstore.Tx) error { return fn(txn{k}) })
}

func (s *Syncer) view(fn func(txn) error) error {
	return s.st.View(func(k kstore.Tx) error { return fn(txn{k}) })
}
