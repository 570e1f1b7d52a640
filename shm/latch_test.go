package shm

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// TestChecksumDetectsTornMix: any mix of two versions of a record (the first
// j words from one, the rest from the other) fails the checksum, so the
// stress tests would see a torn read if the seqlock let one through.
func TestChecksumDetectsTornMix(t *testing.T) {
	for _, pair := range [][2]*Key{
		{patternKey(10, 3, DirAtoB, StateActive), patternKey(11, 3, DirAtoB, StateActive)},       // rekey
		{versionKey(10, 5, 3, DirAtoB, StateActive), versionKey(10, 6, 3, DirAtoB, StateActive)}, // in place
	} {
		var ra, rb record
		pair[1].Serial = 99
		pair[0].encode(&ra)
		pair[1].encode(&rb)
		for j := 1; j < len(ra); j++ {
			var mix record
			copy(mix[:j], ra[:j])
			copy(mix[j:], rb[j:])
			if mix == ra || mix == rb {
				continue // the versions agree on the words swapped
			}
			var k Key
			mix.decode(&k)
			if k.Verify() == nil {
				t.Fatalf("mix at word %d passes the checksum", j)
			}
			if intact(&k) && j != recSum {
				t.Fatalf("mix at word %d passes the pattern check", j)
			}
		}
	}
}

// TestRetriesExhausted: when no copy is stable (both sequences odd, which a
// live writer never leaves), reads end after the bounded retries with
// ErrBusy while the writer lives and ErrWriterGone once it is dead, and
// the caller's key is zeroed.
func TestRetriesExhausted(t *testing.T) {
	w, r := heapStore(t, 8)
	if err := w.Put(patternKey(1, 4, DirBtoA, StateActive)); err != nil {
		t.Fatal(err)
	}
	alive := true
	r.alive = func() bool { return alive }
	var k Key
	if err := r.ActiveKey(4, DirBtoA, &k); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		off  int
		size int
		read func() error
	}{
		{"index", r.v.g.indexOff, r.v.g.indexCopy, func() error { return r.KeyByID(1, &k) }},
		{"slot", r.v.g.slotsOff + w.slotOf[1]*slotSize, copySize, func() error { return r.Slot(w.slotOf[1], &k) }},
		{"active slot", r.v.g.slotsOff + w.slotOf[1]*slotSize, copySize, func() error { return r.ActiveKey(4, DirBtoA, &k) }},
		{"status", r.v.g.statusOff, regionCopySize, func() error { var s Status; return r.Status(&s) }},
		{"config", r.v.g.configOff, regionCopySize, func() error { var c Config; return r.Config(&c) }},
	} {
		s0, s1 := r.v.load(c.off), r.v.load(c.off+c.size)
		r.v.store(c.off, s0|1)
		r.v.store(c.off+c.size, s1|1)
		alive = true
		if err := c.read(); !errors.Is(err, ErrBusy) {
			t.Errorf("%s, live writer: %v, want ErrBusy", c.name, err)
		}
		alive = false
		if err := c.read(); !errors.Is(err, ErrWriterGone) {
			t.Errorf("%s, dead writer: %v, want ErrWriterGone", c.name, err)
		}
		if c.name != "status" && c.name != "config" && (k.ID != 0 || k.Len != 0) {
			t.Errorf("%s: key not zeroed on error", c.name)
		}
		// One odd copy is what a writer killed mid-update leaves: still readable.
		r.v.store(c.off+c.size, s1)
		if err := c.read(); err != nil {
			t.Errorf("%s with one good copy: %v", c.name, err)
		}
		r.v.store(c.off, s0)
	}
}

// TestIndexAgainstMap drives the index tables with random puts and deletes
// in a small table (many collisions and wrap-arounds) and compares every
// lookup with a Go map.
func TestIndexAgainstMap(t *testing.T) {
	w, r := heapStore(t, 8) // 16-entry tables
	rng := rand.New(rand.NewPCG(1, 2))
	ref := map[uint64]uint64{}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		key := uint64(rng.IntN(24)) + 1
		switch {
		case rng.IntN(2) == 0 && len(ref) < 12:
			slot := uint64(rng.IntN(8))
			ref[key] = slot
			w.v.updateIndex(func(c int) { w.v.indexPut(c, tblID, key, slot) })
		default:
			delete(ref, key)
			w.v.updateIndex(func(c int) { w.v.indexDel(c, tblID, key) })
		}
		for k := uint64(1); k <= 24; k++ {
			got, found, ok := r.v.lookup(tblID, k)
			want, wfound := ref[k]
			if !ok || found != wfound || got != want {
				t.Fatalf("step %d key %d: got %d %v %v, want %d %v", i, k, got, found, ok, want, wfound)
			}
		}
	}
}

// TestReadsDoNotAllocate: every read path fills caller-owned structs.
func TestReadsDoNotAllocate(t *testing.T) {
	w, path := newFileWriter(t, 16, nil)
	w.Put(patternKey(1, 2, DirAtoB, StateActive))
	w.Bind(5, 1)
	r := openReader(t, path)
	var k Key
	var s Status
	var c Config
	for name, fn := range map[string]func(){
		"ActiveKey":         func() { r.ActiveKey(2, DirAtoB, &k) },
		"KeyByID":           func() { r.KeyByID(1, &k) },
		"Bound":             func() { r.Bound(5, &k) },
		"Slot":              func() { r.Slot(0, &k) },
		"Status":            func() { r.Status(&s) },
		"Config":            func() { r.Config(&c) },
		"NotFound":          func() { r.ActiveKey(3, DirAtoB, &k) },
		"Verify":            func() { k.Verify() },
		"Fingerprint":       func() { k.Fingerprint() },
		"KeyByID not found": func() { r.KeyByID(42, &k) },
	} {
		if a := testing.AllocsPerRun(100, fn); a != 0 {
			t.Errorf("%s: %v allocations", name, a)
		}
	}
}

// FuzzReadGarbage fills a store's regions (everything after the valid
// header) with bytes derived from the input and checks that every read
// returns (a key, or an error) without panicking or spinning: loops are
// bounded and slot numbers from the map are checked.
func FuzzReadGarbage(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(0xdeadbeef), uint8(1))
	f.Add(uint64(42), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8) {
		_, r := heapStore(t, 8)
		rng := rand.New(rand.NewPCG(seed, uint64(mode)))
		for off := headerSize; off < r.v.g.fileSize; off += 8 {
			var x uint64
			switch mode % 3 {
			case 0: // anything
				x = rng.Uint64()
			case 1: // small numbers: plausible slots, keys, even sequences
				x = uint64(rng.IntN(20))
			default: // sparse
				if rng.IntN(8) == 0 {
					x = rng.Uint64()
				}
			}
			r.v.store(off, x)
		}
		var k Key
		var s Status
		var c Config
		for i := uint64(0); i < 20; i++ {
			r.ActiveKey(uint16(i), Dir(i&1), &k)
			r.KeyByID(i, &k)
			r.Bound(i, &k)
			r.Slot(int(i), &k)
		}
		r.Status(&s)
		r.Config(&c)
	})
}
