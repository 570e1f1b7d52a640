package kstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/kstoretest"
)

// TestContract runs the kstore suite on the bbolt backend; etcdstore runs
// the same suite on etcd.
func TestContract(t *testing.T) {
	dir := t.TempDir()
	kstoretest.Run(t, kstoretest.Backend{
		Open: func(t *testing.T, name string, ms []kstore.Migration) (kstore.Store, error) {
			st, err := kstore.OpenWith(filepath.Join(dir, filepath.Base(name)+".db"), ms, kstore.Options{LockTimeout: 50 * time.Millisecond})
			if err != nil {
				return nil, err // a typed nil would hide the failure
			}
			return st, nil
		},
	})
}
