package shm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// filePersister is a test Persister: the records in one file, rewritten
// whole on every change (shm cannot import shm/store in its own tests).
type filePersister struct {
	mu   sync.Mutex
	path string
}

func (p *filePersister) read() (uint64, map[uint64][RecordSize]byte, error) {
	m := map[uint64][RecordSize]byte{}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, m, nil
	}
	if err != nil || len(b) < 8 || (len(b)-8)%RecordSize != 0 {
		return 0, nil, fmt.Errorf("bad persister file: %v", err)
	}
	gen := leUint64(b)
	for b = b[8:]; len(b) > 0; b = b[RecordSize:] {
		var r [RecordSize]byte
		copy(r[:], b)
		m[leUint64(r[:])] = r
	}
	return gen, m, nil
}

func (p *filePersister) write(gen uint64, m map[uint64][RecordSize]byte) error {
	var b []byte
	b = append(b, byte(gen), byte(gen>>8), byte(gen>>16), byte(gen>>24), byte(gen>>32), byte(gen>>40), byte(gen>>48), byte(gen>>56))
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		r := m[id]
		b = append(b, r[:]...)
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.path)
}

func (p *filePersister) Load(fn func(*Key) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, m, err := p.read()
	if err != nil {
		return err
	}
	for _, r := range m {
		var k Key
		if err := k.UnmarshalRecord(&r); err != nil {
			return err
		}
		if err := fn(&k); err != nil {
			return err
		}
	}
	return nil
}

func (p *filePersister) Save(keys ...*Key) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	gen, m, err := p.read()
	if err != nil {
		return err
	}
	for _, k := range keys {
		var r [RecordSize]byte
		k.MarshalRecord(&r)
		m[k.ID] = r
	}
	return p.write(gen, m)
}

func (p *filePersister) Delete(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	gen, m, err := p.read()
	if err != nil {
		return err
	}
	delete(m, id)
	return p.write(gen, m)
}

func (p *filePersister) Generation() (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gen, _, err := p.read()
	return gen, err
}

func (p *filePersister) SetGeneration(gen uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, m, err := p.read()
	if err != nil {
		return err
	}
	return p.write(gen, m)
}

// crashWriterChild publishes three keys, then rekeys key 1 in place (new
// epoch and bytes) and stops in the middle of writing slot copy 0 — odd
// sequence, half the words new — and waits there to be killed.
func crashWriterChild() int {
	p := &filePersister{path: os.Getenv("OTKD_SHM_STORE")}
	w, err := Create(Options{Path: os.Getenv("OTKD_SHM_PATH"), Slots: 16}, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, k := range []*Key{patternKey(1, 1, DirAtoB, StateActive), patternKey(2, 2, DirAtoB, StateActive)} {
		if err := w.Put(k); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := w.Bind(9, 2); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w.hook = func(point string) {
		fmt.Printf("HUNG %s\n", point)
		select {} // wait for SIGKILL
	}
	// Key 1 again: same id, so its slot is rewritten in place.
	k := patternKey(1, 1, DirAtoB, StateActive)
	k.Epoch = 200
	m := k.Material()
	for i := range m {
		m[i] ^= 0xFF
	}
	w.Put(k)
	fmt.Fprintln(os.Stderr, "hook did not stop the writer")
	return 1
}

// TestWriterKilledMidUpdate kills a writer process (SIGKILL) while it is
// half-way through rewriting a slot that readers are looking up, and checks
// that readers keep getting the last complete key, that failed lookups say
// ErrWriterGone as soon as the writer is dead (every failed lookup probes the
// lock; no timeout is involved), and that a restarted writer repairs the
// slot and publishes the persisted key.
func TestWriterKilledMidUpdate(t *testing.T) {
	dir := t.TempDir()
	path, storePath := filepath.Join(dir, "keys.shm"), filepath.Join(dir, "keys.store")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OTKD_SHM_ROLE=crashwriter", "OTKD_SHM_PATH="+path, "OTKD_SHM_STORE="+storePath)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HUNG") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("writer child: %q %v\n%s", line, err, stderr.String())
	}

	r := openReader(t, path)
	slot := slotOfID(t, r, 1)
	seqOff := r.v.g.slotsOff + slot*slotSize
	if s := r.v.load(seqOff); s&1 == 0 {
		t.Fatalf("hook point: copy 0 sequence %d is even, want odd (mid-update)", s)
	}
	// checkOld: the last complete key 1, never the half-written one.
	checkOld := func(when string) {
		t.Helper()
		var k Key
		for i := 0; i < 1000; i++ {
			if err := r.ActiveKey(1, DirAtoB, &k); err != nil {
				t.Fatalf("%s: ActiveKey: %v", when, err)
			}
			if !intact(&k) || k.ID != 1 || k.Epoch != 1 {
				t.Fatalf("%s: got %v, want the complete old key 1", when, k)
			}
		}
	}
	checkOld("writer hung mid-update")
	cbin := ""
	if _, err := exec.LookPath("gcc"); err == nil {
		cbin = buildCReader(t)
	}
	// checkC: the C reader also sees the complete old key 1, and reports
	// a missing key as not found or writer gone.
	checkC := func(missing string) {
		t.Helper()
		if cbin == "" {
			return
		}
		out, err := exec.Command(cbin, "dump", path, "2").CombinedOutput()
		if err != nil {
			t.Fatalf("C reader: %v\n%s", err, out)
		}
		var active, id7 string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "active 1/0 ") {
				active = l
			}
			if strings.HasPrefix(l, "id 7 ") {
				id7 = l
			}
		}
		if !strings.Contains(active, " id=1 ") || !strings.Contains(active, " epoch=1 ") || !strings.Contains(active, " verify=1 ") {
			t.Fatalf("C reader, active key of port 1: %q", active)
		}
		if id7 != "id 7 err "+missing {
			t.Fatalf("C reader, missing key: %q, want %q", id7, missing)
		}
	}
	checkC("key not found")
	var k Key
	if !r.WriterAlive() {
		t.Fatal("writer hung but alive: probe says gone")
	}
	if err := r.KeyByID(77, &k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key with a live writer: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	checkOld("writer killed")
	checkC("writer gone")
	if r.WriterAlive() {
		t.Fatal("writer killed but the probe says alive")
	}
	// The first failed lookup after the death already reports it.
	if err := r.KeyByID(77, &k); !errors.Is(err, ErrWriterGone) {
		t.Fatalf("missing key with a dead writer: %v, want ErrWriterGone", err)
	}
	if err := r.Bound(9, &k); err != nil || k.ID != 2 || !intact(&k) {
		t.Fatalf("bound key after the crash: %v %v", k, err)
	}
	var st Status
	if err := r.Status(&st); err != nil {
		t.Fatal(err)
	}
	gen := st.Generation

	// Restart: the same file (compatible) is reused, generation bumped,
	// every slot rewritten from the store, which already has the new key 1
	// (persisted before it was published).
	w, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1}, &filePersister{path: storePath})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Generation() != gen+1 || r.Generation() != gen+1 {
		t.Fatalf("generation %d / reader sees %d, want %d", w.Generation(), r.Generation(), gen+1)
	}
	for i := 0; i < r.Slots(); i++ {
		for c := 0; c < 2; c++ {
			if s := r.v.load(r.v.g.slotsOff + i*slotSize + c*copySize); s&1 != 0 {
				t.Fatalf("slot %d copy %d sequence %d still odd after restart", i, c, s)
			}
		}
	}
	if !r.WriterAlive() {
		t.Fatal("restarted writer not seen by the old reader")
	}
	if err := r.ActiveKey(1, DirAtoB, &k); err != nil || k.Epoch != 200 || k.Verify() != nil {
		t.Fatalf("after restart: %v %v, want the persisted new key 1 (epoch 200)", k, err)
	}
	if err := r.Bound(9, &k); err != nil || k.ID != 2 {
		t.Fatalf("binding after restart: %v %v", k, err)
	}
	if err := r.KeyByID(77, &k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key with the restarted writer: %v", err)
	}
}

func slotOfID(t *testing.T, r *Reader, id uint64) int {
	t.Helper()
	var k Key
	for i := 0; i < r.Slots(); i++ {
		if r.Slot(i, &k) == nil && k.ID == id {
			return i
		}
	}
	t.Fatalf("key %d in no slot", id)
	return -1
}
