package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

func writeKEK(t *testing.T, dir string, mode os.FileMode, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, "kek")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

var kek = []byte("0123456789abcdef")

func key(id uint64, port uint16, state shm.State, fill byte) *shm.Key {
	k := &shm.Key{ID: id, Port: port, State: state, Alg: shm.AlgSM4, Epoch: 3}
	m := bytes.Repeat([]byte{fill}, 32)
	m[0] = byte(id)
	k.SetMaterial(m)
	return k
}

func TestKEKFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		mode    os.FileMode
		content []byte
		ok      bool
	}{
		{"raw 0600", 0o600, kek, true},
		{"hex 0600", 0o600, []byte("30313233343536373839616263646566\n"), true},
		{"group readable", 0o640, kek, false},
		{"world readable", 0o644, kek, false},
		{"owner exec", 0o700, kek, false},
		{"short", 0o600, kek[:15], false},
		{"bad hex", 0o600, []byte("zz313233343536373839616263646566"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeKEK(t, dir, c.mode, c.content)
			got, err := store.ReadKEK(p)
			if c.ok {
				if err != nil || !bytes.Equal(got, kek) {
					t.Fatalf("got %x, %v", got, err)
				}
				return
			}
			if !errors.Is(err, store.ErrKEK) {
				t.Fatalf("want ErrKEK, got %v", err)
			}
			t.Log(err)
		})
	}
}

// TestRestartRestores runs a writer with the store, restarts it and checks
// that every non-retired key comes back, the generation is bumped and the
// retired key is gone from map and disk; the bbolt file holds no key bytes.
func TestRestartRestores(t *testing.T) {
	dir := t.TempDir()
	kekPath := writeKEK(t, dir, 0o600, kek)
	dbPath := filepath.Join(dir, "keys.db")
	mapPath := filepath.Join(dir, "keys.shm")

	st, err := store.Open(dbPath, kekPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := shm.Create(shm.Options{Path: mapPath, Slots: 32, Heartbeat: -1}, st)
	if err != nil {
		t.Fatal(err)
	}
	gen1 := w.Generation()
	var secrets [][]byte
	for i := uint64(1); i <= 5; i++ {
		k := key(i, uint16(i), shm.StatePending, 0xC0+byte(i))
		secrets = append(secrets, append([]byte(nil), k.Material()...))
		if err := w.Put(k); err != nil {
			t.Fatal(err)
		}
	}
	must(t, w.Activate(2))
	must(t, w.Bind(77, 3))
	must(t, w.Retire(4))
	must(t, w.Close())
	must(t, st.Close())

	raw, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(raw, s[:16]) {
			t.Fatalf("plaintext key bytes in the bbolt file")
		}
	}

	st, err = store.Open(dbPath, kekPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err = shm.Create(shm.Options{Path: mapPath, Slots: 32, Heartbeat: -1}, st)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Generation() != gen1+1 {
		t.Fatalf("generation %d after restart, want %d", w.Generation(), gen1+1)
	}
	r, err := shm.Open(mapPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var k shm.Key
	for i := uint64(1); i <= 5; i++ {
		err := r.KeyByID(i, &k)
		if i == 4 {
			if !errors.Is(err, shm.ErrNotFound) {
				t.Fatalf("retired key 4 restored: %v", err)
			}
			continue
		}
		if err != nil || !bytes.Equal(k.Material(), secrets[i-1]) || k.Verify() != nil {
			t.Fatalf("key %d: %v %v", i, k, err)
		}
	}
	must(t, r.ActiveKey(2, 0, &k))
	if k.ID != 2 {
		t.Fatalf("active key %d", k.ID)
	}
	must(t, r.Bound(77, &k))
	if k.ID != 3 {
		t.Fatalf("bound key %d", k.ID)
	}
	var s shm.Status
	must(t, r.Status(&s))
	if s.Generation != gen1+1 || s.Keys != 4 {
		t.Fatalf("status %+v", s)
	}
}

func TestWrongKEKAndMovedRecord(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keys.db")
	st, err := store.OpenWithKEK(dbPath, kek)
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.Save(key(1, 1, shm.StateActive, 1), key(2, 2, shm.StateActive, 2)))
	must(t, st.Close())

	if _, err := store.OpenWithKEK(dbPath, []byte("fedcba9876543210")); !errors.Is(err, store.ErrWrongKEK) {
		t.Fatalf("wrong KEK: %v, want ErrWrongKEK", err)
	} else {
		t.Log(err)
	}

	// Swap the two sealed values: the id is the AAD, so neither opens.
	db, err := bolt.Open(dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("keys"))
		k1, k2 := []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 2}
		v1, v2 := append([]byte(nil), b.Get(k1)...), append([]byte(nil), b.Get(k2)...)
		if err := b.Put(k1, v2); err != nil {
			return err
		}
		return b.Put(k2, v1)
	}))
	db.Close()
	if _, err := store.OpenWithKEK(dbPath, kek); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("a record moved to another id: %v, want ErrCorrupt", err)
	} else {
		t.Log(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
