package kstore_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

func Example() {
	dir, _ := os.MkdirTemp("", "kstore")
	defer os.RemoveAll(dir)
	migrations := []kstore.Migration{
		{Name: "create nodes", Up: func(tx kstore.Tx) error {
			return tx.Put([]byte("nodes"), []byte("self"), []byte("a"))
		}},
	}
	db, err := kstore.Open(filepath.Join(dir, "ctrl.db"), migrations)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.View(func(tx kstore.Tx) error {
		fmt.Printf("schema %d, self=%s\n", db.Version(), tx.Get([]byte("nodes"), []byte("self")))
		return nil
	})
	// Output: schema 1, self=a
}
