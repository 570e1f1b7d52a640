package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// The damaged-store tests: a keys.db cut short or scribbled over must be
// refused with an error naming the file, or (damage where nothing is
// stored) load exactly the keys stored; it must never crash the process.

const imageKeys = 200 // enough records for several leaf pages and a branch page

// buildImage writes a store of n keys and returns its bytes and the keys'
// bytes by id.
func buildImage(t testing.TB, n int) ([]byte, map[uint64]string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "otkd-store-image-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.db")
	st, err := store.OpenWithKEK(path, kek)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{}
	var batch []*shm.Key
	for i := uint64(1); i <= uint64(n); i++ {
		k := key(i, uint16(i), shm.StatePending, byte(i))
		want[i] = string(k.Material())
		batch = append(batch, k)
		if len(batch) == 25 || i == uint64(n) {
			if err := st.Save(batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.Delete(3); err != nil {
		t.Fatal(err)
	}
	delete(want, 3)
	if err := st.SetGeneration(7); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, want
}

// tryOpen opens the store at path and loads every key.
func tryOpen(path string) (map[uint64]string, error) {
	st, err := store.OpenWithKEK(path, kek)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	got := map[uint64]string{}
	err = st.Load(func(k *shm.Key) error {
		got[k.ID] = string(k.Material())
		return nil
	})
	return got, err
}

// outcome classifies one damaged image: "refused" (an error of the right
// kind naming the file, the file left as it was), "intact" (the damage hit
// nothing in use: every key loads as stored); anything else fails t.
func outcome(t *testing.T, dir, what string, img []byte, want map[uint64]string) string {
	t.Helper()
	path := filepath.Join(dir, "keys.db")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := tryOpen(path)
	after, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		if !errors.Is(err, store.ErrCorrupt) && !errors.Is(err, store.ErrWrongKEK) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want ErrCorrupt naming %s", what, err, path)
		}
		if !bytes.Equal(after, img) {
			t.Errorf("%s: refused, but the file was changed", what)
		}
		return "refused"
	}
	if len(got) != len(want) {
		t.Errorf("%s: opened with %d keys, %d were stored", what, len(got), len(want))
		return "wrong"
	}
	for id, m := range want {
		if got[id] != m {
			t.Errorf("%s: key %d differs from the one stored", what, id)
			return "wrong"
		}
	}
	return "intact"
}

var (
	imgOnce sync.Once
	imgB    []byte
	imgKeys map[uint64]string
)

func image(t testing.TB) ([]byte, map[uint64]string) {
	imgOnce.Do(func() { imgB, imgKeys = buildImage(t, imageKeys) })
	return imgB, imgKeys
}

// TestTruncatedStore cuts the store at every 512th byte (and around page
// boundaries): each cut is refused, or, for a cut only into space past the
// last page in use, opens with every key.
func TestTruncatedStore(t *testing.T) {
	img, want := image(t)
	dir := t.TempDir()
	var cuts []int
	for c := 1; c < len(img); c += 512 {
		cuts = append(cuts, c)
	}
	for p := 4096; p < len(img); p += 4096 {
		cuts = append(cuts, p-1, p, p+1)
	}
	cuts = append(cuts, len(img)-1)
	n := map[string]int{}
	for _, c := range cuts {
		n[outcome(t, dir, fmt.Sprintf("cut at %d of %d", c, len(img)), img[:c], want)]++
	}
	t.Logf("%d-byte store, %d cuts: %d refused, %d intact (cut past the last page in use)", len(img), len(cuts), n["refused"], n["intact"])
	if n["refused"] == 0 {
		t.Error("no cut refused")
	}
}

// TestScribbledStore writes random bytes over random places of the store
// (and over every page header and element header): each is refused or
// loads exactly the stored keys.
func TestScribbledStore(t *testing.T) {
	img, want := image(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	runs := 400
	if testing.Short() {
		runs = 100
	}
	n := map[string]int{}
	for i := 0; i < runs; i++ {
		b := bytes.Clone(img)
		off := rng.IntN(len(b))
		for j := 0; j < 1+rng.IntN(16) && off+j < len(b); j++ {
			b[off+j] = byte(rng.IntN(256))
		}
		n[outcome(t, dir, fmt.Sprintf("scribble %d at %d", i, off), b, want)]++
	}
	// Page headers (id, flags, count, overflow) and the first element
	// headers of every page, one field at a time, set to a large value.
	for p := 0; p < len(img)/4096; p++ {
		for _, f := range []struct{ off, size int }{{0, 8}, {8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 4}, {24, 4}, {28, 4}} {
			b := bytes.Clone(img)
			for j := range f.size {
				b[p*4096+f.off+j] = 0xF7
			}
			n[outcome(t, dir, fmt.Sprintf("page %d bytes %d+%d", p, f.off, f.size), b, want)]++
		}
	}
	t.Logf("%d-byte store: %d refused, %d intact (damage where nothing in use is)", len(img), n["refused"], n["intact"])
}

// FuzzStoreDamage: any cut and any bytes written anywhere into a real
// store give a refusal or the stored keys, never a crash.
func FuzzStoreDamage(f *testing.F) {
	f.Add(uint32(0), uint32(4096+10), []byte{0xff, 0xff})
	f.Add(uint32(9000), uint32(0), []byte{})
	f.Add(uint32(0), uint32(3*4096+16), []byte{0, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, cut, off uint32, data []byte) {
		img, want := image(t)
		b := bytes.Clone(img)
		if c := int(cut) % (len(b) + 1); c > 0 {
			b = b[:c]
		}
		for i, x := range data {
			if p := int(off) + i; p < len(b) {
				b[p] = x
			}
		}
		outcome(t, t.TempDir(), fmt.Sprintf("cut %d, %d bytes at %d", cut, len(data), off), b, want)
	})
}

// TestWrongKEKLeavesStoreUntouched starts the store and the map as the
// daemon does (store.Open, then shm.Create) with a wrong KEK: the start is
// refused and the file is byte for byte what it was. Also for a store as
// the previous version wrote it (no KEK check value, no digest).
func TestWrongKEKLeavesStoreUntouched(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keys.db")
			mapPath := filepath.Join(dir, "keys.shm")
			st, err := store.OpenWithKEK(path, kek)
			if err != nil {
				t.Fatal(err)
			}
			w, err := shm.Create(shm.Options{Path: mapPath, Slots: 16, Heartbeat: -1}, st)
			if err != nil {
				t.Fatal(err)
			}
			for i := uint64(1); i <= 3; i++ {
				must(t, w.Put(key(i, uint16(i), shm.StateActive, byte(i))))
			}
			must(t, w.Close())
			must(t, st.Close())
			if legacy {
				db, err := bolt.Open(path, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				must(t, db.Update(func(tx *bolt.Tx) error {
					m := tx.Bucket([]byte("meta"))
					if err := m.Delete([]byte("kek-check")); err != nil {
						return err
					}
					return m.Delete([]byte("digest"))
				}))
				db.Close()
			}
			before, _ := os.ReadFile(path)

			wrong := []byte("fedcba9876543210")
			st, err = store.OpenWithKEK(path, wrong)
			if err == nil {
				w, err = shm.Create(shm.Options{Path: mapPath, Slots: 16, Heartbeat: -1}, st)
				if err == nil {
					w.Close()
				}
				st.Close()
			}
			if err == nil {
				t.Fatal("a wrong KEK started")
			}
			if !errors.Is(err, store.ErrWrongKEK) {
				t.Errorf("wrong KEK: %v, want ErrWrongKEK", err)
			}
			t.Log(err)
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatalf("a start refused for a wrong KEK changed the store (%d → %d bytes, differ at %d)", len(before), len(after), firstDiff(before, after))
			}
			// The right KEK still opens it, with every key.
			got, err := tryOpen(path)
			if err != nil || len(got) != 3 {
				t.Fatalf("right KEK after the refusal: %d keys, %v", len(got), err)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
