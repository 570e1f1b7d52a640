package shm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// testKey builds a key whose bytes are derived from (id, serial) so tests can
// tell versions apart.
func testKey(id uint64, port uint16, dir Dir, state State, n int, fill byte) *Key {
	k := &Key{ID: id, Port: port, Dir: dir, Epoch: uint8(id), State: state, Alg: AlgZUC128}
	b := make([]byte, n)
	for i := range b {
		b[i] = fill + byte(i)
	}
	if err := k.SetMaterial(b); err != nil {
		panic(err)
	}
	return k
}

func newFileWriter(t testing.TB, slots int, p Persister) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := Create(Options{Path: path, Slots: slots, Heartbeat: -1}, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

func openReader(t testing.TB, path string) *Reader {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// heapStore lays out a store on Go heap memory, so that -race sees every
// access of the writer and the readers (it cannot see a mapped file).
func heapStore(t testing.TB, slots int) (*Writer, *Reader) {
	t.Helper()
	g := newGeometry(slots)
	buf := make([]uint64, g.fileSize/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), g.fileSize)
	g.encodeHeader(b, 1)
	v := view{base: unsafe.Pointer(&buf[0]), g: g}
	w := &Writer{
		v: v, persist: nopPersister{}, fd: -1, lockfd: -1,
		slotOf: map[uint64]int{}, active: map[uint64]uint64{}, activeOf: map[uint64]uint64{},
		bound: map[uint64]uint64{}, boundOf: map[uint64]uint64{},
	}
	w.nowFunc = time.Now
	w.gen = 1
	w.rewriteAll(nil)
	w.publishStatus()
	w.publishConfig()
	r := &Reader{v: v, fd: -1, alive: func() bool { return true }}
	t.Cleanup(func() { _ = buf[0] })
	return w, r
}

func TestPutLookups(t *testing.T) {
	w, path := newFileWriter(t, 64, nil)
	r := openReader(t, path)
	var k Key
	if err := r.ActiveKey(7, DirAtoB, &k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v", err)
	}
	a := testKey(100, 7, DirAtoB, StateActive, 32, 1)
	if err := w.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := r.ActiveKey(7, DirAtoB, &k); err != nil {
		t.Fatal(err)
	}
	if k.ID != 100 || string(k.Material()) != string(a.Material()) || k.Verify() != nil {
		t.Fatalf("got %v", k)
	}
	if err := r.ActiveKey(7, DirBtoA, &k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other direction: %v", err)
	}
	// A pending key, then activation supersedes the first.
	b := testKey(101, 7, DirAtoB, StatePending, 16, 9)
	if err := w.Put(b); err != nil {
		t.Fatal(err)
	}
	if err := r.KeyByID(101, &k); err != nil || k.State != StatePending || k.Len != 16 {
		t.Fatalf("pending: %v %v", k, err)
	}
	if err := w.Activate(101); err != nil {
		t.Fatal(err)
	}
	if err := r.ActiveKey(7, DirAtoB, &k); err != nil || k.ID != 101 {
		t.Fatalf("after activate: %v %v", k, err)
	}
	if err := r.KeyByID(100, &k); err != nil || k.State != StateSuperseded {
		t.Fatalf("superseded: %v %v", k, err)
	}
	// Binding moves between keys.
	if err := w.Bind(55, 100); err != nil {
		t.Fatal(err)
	}
	if err := r.Bound(55, &k); err != nil || k.ID != 100 {
		t.Fatalf("bound: %v %v", k, err)
	}
	if err := w.Bind(55, 101); err != nil {
		t.Fatal(err)
	}
	if err := r.Bound(55, &k); err != nil || k.ID != 101 {
		t.Fatalf("rebound: %v %v", k, err)
	}
	if err := r.KeyByID(100, &k); err != nil || k.Consumer != 0 {
		t.Fatalf("old binding kept: %v %v", k, err)
	}
	if err := w.Unbind(55); err != nil {
		t.Fatal(err)
	}
	if err := r.Bound(55, &k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unbound: %v", err)
	}
	var st Status
	if err := r.Status(&st); err != nil || st.Keys != 2 || st.Active != 1 || st.Generation != w.Generation() {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestRetireZeroises(t *testing.T) {
	w, path := newFileWriter(t, 16, nil)
	r := openReader(t, path)
	k := testKey(5, 1, DirBtoA, StateActive, 32, 0xA0)
	if err := w.Put(k); err != nil {
		t.Fatal(err)
	}
	if err := w.Bind(9, 5); err != nil {
		t.Fatal(err)
	}
	slot := w.slotOf[5]
	if err := w.Retire(5); err != nil {
		t.Fatal(err)
	}
	var got Key
	for _, err := range []error{r.KeyByID(5, &got), r.ActiveKey(1, DirBtoA, &got), r.Bound(9, &got)} {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("retired key still found: %v", err)
		}
	}
	off := r.v.g.slotsOff + slot*slotSize
	mem := unsafe.Slice((*byte)(unsafe.Add(r.v.base, off)), slotSize)
	for c := 0; c < 2; c++ {
		for i, x := range mem[c*copySize+8 : (c+1)*copySize] {
			if x != 0 {
				t.Fatalf("copy %d byte %d = %#x after retire", c, i+8, x)
			}
		}
	}
	if err := w.Retire(5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second retire: %v", err)
	}
}

func TestPutInvalid(t *testing.T) {
	w, _ := newFileWriter(t, 2, nil)
	for name, k := range map[string]*Key{
		"id 0":      testKey(0, 1, 0, StateActive, 16, 0),
		"dir 2":     testKey(1, 1, 2, StateActive, 16, 0),
		"state":     testKey(1, 1, 0, StateRetired, 16, 0),
		"alg":       {ID: 1, Len: 16, State: StatePending, Alg: 9},
		"len 0":     {ID: 1, State: StatePending, Alg: AlgSM4},
		"validity":  {ID: 1, Len: 1, State: StatePending, Alg: AlgSM4, ValidFrom: 10, ValidTo: 5},
		"too short": {ID: 1, Len: 65, State: StatePending, Alg: AlgSM4},
	} {
		if err := w.Put(k); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	w.Put(testKey(1, 1, 0, StatePending, 16, 0))
	w.Put(testKey(2, 1, 0, StatePending, 16, 0))
	if err := w.Put(testKey(3, 1, 0, StatePending, 16, 0)); !errors.Is(err, ErrFull) {
		t.Fatalf("third key in two slots: %v", err)
	}
}

func TestKeyNeverPrintsBytes(t *testing.T) {
	k := testKey(1, 2, 0, StateActive, 32, 0x41) // "ABCD…"
	secret := string(k.Material())
	hexed := fmt.Sprintf("%x", k.Material())
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprint(*k), fmt.Sprintf("%v %+v %#v %s %x %q", *k, *k, *k, *k, *k, *k),
		fmt.Sprintf("%v %+v %#v", k, k, k), k.String(), k.GoString(), k.LogValue().String(),
	} {
		if strings.Contains(s, secret[:8]) || strings.Contains(s, hexed[:16]) {
			t.Fatalf("key bytes printed: %s", s)
		}
		if !strings.Contains(s, "fp=") {
			t.Fatalf("no fingerprint in %q", s)
		}
	}
}

func TestSecondWriterLocked(t *testing.T) {
	_, path := newFileWriter(t, 4, nil)
	_, err := Create(Options{Path: path, Slots: 4, LockWait: 20e6}, nil)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID == 0 {
		t.Fatalf("second writer: %v", err)
	}
}

func TestGroupAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	if _, err := Create(Options{Path: path, Group: "no-such-group-otkd-test"}, nil); err == nil {
		t.Fatal("unknown group accepted")
	}
	gid := os.Getgid()
	w, err := Create(Options{Path: path, Slots: 4, Group: strconv.Itoa(gid), Heartbeat: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || int(st.Gid) != gid || st.Mode&0o777 != 0o640 {
		t.Fatalf("gid %d mode %o, want %d 0640 (%v)", st.Gid, st.Mode&0o777, gid, err)
	}
	r := openReader(t, path)
	if err := w.SetStatus(HealthDegraded, 7); err != nil {
		t.Fatal(err)
	}
	var s Status
	if r.Status(&s); s.Health != HealthDegraded || s.Code != 7 || s.WriterPID != uint64(os.Getpid()) {
		t.Fatalf("status %+v", s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r.Status(&s); s.Health != HealthStopped {
		t.Fatalf("after Close: %+v", s)
	}
	if r.WriterAlive() {
		t.Fatal("closed writer still holds the lock")
	}
	if err := w.Put(patternKey(1, 1, 0, StatePending)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
}
