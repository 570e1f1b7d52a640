package kstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedFile damages a store file in many ways (cut at random
// lengths, to nothing, bytes overwritten at random, whole pages zeroed or
// filled with garbage) and opens each copy: Open never panics; it either
// refuses the file with an error that names it, or opens a store whose
// every record can be read and which takes a write. Before Open checked the
// file, bbolt panicked inside Open or inside the first transaction that
// reached a damaged page, and the daemon crashed in a restart loop.
func TestDamagedFile(t *testing.T) { damagedFiles(t, 11) }

func damagedFiles(t *testing.T, seed int) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "good.db")
	db, err := Open(orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	buckets := [][]byte{[]byte("keyring"), []byte("sync"), []byte("mpc")}
	for i := range 600 {
		b := buckets[i%len(buckets)]
		if err := db.Update(func(tx Tx) error {
			return tx.Put(b, fmt.Appendf(nil, "record-%05d", i), []byte(strings.Repeat("v", 20+i%200)))
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	good, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	pages := len(good) / page

	rng := rand.New(rand.NewPCG(uint64(seed), 13))
	var refused, opened int
	for i := range 300 {
		b := append([]byte(nil), good...)
		var what string
		switch i % 5 {
		case 0:
			n := rng.IntN(len(b))
			if i == 0 {
				n = 0
			}
			b, what = b[:n], fmt.Sprintf("cut to %d bytes", n)
		case 1:
			k := 1 + rng.IntN(16)
			for range k {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			what = fmt.Sprintf("%d random bytes overwritten", k)
		case 2:
			p := rng.IntN(pages)
			clear(b[p*page : (p+1)*page])
			what = fmt.Sprintf("page %d zeroed", p)
		case 3:
			p := rng.IntN(pages)
			for j := p * page; j < (p+1)*page; j++ {
				b[j] = byte(rng.Uint32())
			}
			what = fmt.Sprintf("page %d filled with garbage", p)
		case 4:
			p := rng.IntN(4) // the meta pages, the first freelist and root pages
			off := p*page + rng.IntN(64)
			b[off] ^= 1 << rng.IntN(8)
			what = fmt.Sprintf("one bit flipped at byte %d", off)
		}
		path := filepath.Join(dir, fmt.Sprintf("damaged-%03d.db", i))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if ok := openDamaged(t, path, what, buckets); ok {
			opened++
		} else {
			refused++
		}
		os.Remove(path)
	}
	t.Logf("300 damaged files: %d refused, %d opened and usable", refused, opened)
	if refused == 0 {
		t.Error("no damaged file was refused")
	}
}

// openDamaged opens one damaged file; it reports whether the file opened
// (and was then read and written without a panic) and fails the test on a
// panic or an error that does not name the file.
func openDamaged(t *testing.T, path, what string, buckets [][]byte) (opened bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: panic: %v", what, r)
			opened = false
		}
	}()
	db, err := OpenWith(path, nil, Options{LockTimeout: 1})
	if err != nil {
		if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerSchema) {
			t.Errorf("%s: refused with an error of no known class: %v", what, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: the error does not name the file: %v", what, err)
		}
		return false
	}
	defer db.Close()
	if err := db.View(func(tx Tx) error {
		for _, b := range buckets {
			if err := tx.ForEach(b, func(k, v []byte) error { return nil }); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Errorf("%s: opened, then a read failed: %v", what, err)
	}
	if err := db.Update(func(tx Tx) error { return tx.Put(buckets[0], []byte("after"), []byte("damage")) }); err != nil {
		t.Errorf("%s: opened, then a write failed: %v", what, err)
	}
	return true
}
