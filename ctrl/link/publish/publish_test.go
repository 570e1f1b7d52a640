package publish

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

func TestPublishKeepsTwoPerDirection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := shm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := New(w, 3)
	var ids []uint64
	for e := uint8(1); e <= 4; e++ {
		k := keys.Key{e, 0xAA}
		ids = append(ids, k.Fingerprint().ID())
		if err := p.Publish(link.KeyEvent{Direction: 1, Epoch: e, Key: &k, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var got shm.Key
		if err := r.ActiveKey(3, shm.DirBtoA, &got); err != nil {
			t.Fatal(err)
		}
		if got.Epoch != e || got.ID != ids[len(ids)-1] || string(got.Material()) != string(k[:]) {
			t.Fatalf("epoch %d: active key %v", e, got)
		}
		got.Zero()
	}
	var k shm.Key
	if err := r.KeyByID(ids[2], &k); err != nil || k.State != shm.StateSuperseded {
		t.Fatalf("previous key: %v %v", k.State, err)
	}
	for _, id := range ids[:2] {
		if err := r.KeyByID(id, &k); err == nil {
			t.Fatalf("key %x older than the previous one is still there", id)
		}
	}
}
