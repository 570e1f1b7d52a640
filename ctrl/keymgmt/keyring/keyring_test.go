package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/keys/kdf"
	"github.com/otkd/otkd/shm"
)

var testKEK = bytes.Repeat([]byte{7}, 16)

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seeds hands out seed i = bytes derived from i, with id i (1, 2, ...);
// two instances give both ends the same sequence.
type seeds struct {
	mu   sync.Mutex
	next uint64
	fail error
	hide map[uint64]bool // SeedByID: these have not arrived yet
}

func testSeed(id uint64) *keys.Seed {
	var seed keys.Seed
	for i := range seed {
		seed[i] = byte(id*31 + uint64(i))
	}
	return &seed
}

// SeedByID makes seeds a SeedFinder: seed i for id i, unless hidden.
func (s *seeds) SeedByID(id uint64) (*keys.Seed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hide[id] {
		return nil, fmt.Errorf("seed %d not here yet", id)
	}
	return testSeed(id), nil
}

func (s *seeds) Seed() (*keys.Seed, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, 0, s.fail
	}
	s.next++
	return testSeed(s.next), s.next, nil
}

// env is one end: a store, a shm writer and a keyring.
type env struct {
	t     testing.TB
	dir   string
	cfg   Config
	clk   *clock
	src   *seeds
	db    *kstore.DB
	w     *shm.Writer
	r     *shm.Reader
	pub   Publisher
	k     *Keyring
	syncs []SyncMsg
	smu   sync.Mutex
	slots int // of the shm map; 0: 256
}

const hour = time.Hour

// newEnv makes an end with R rings of W = 1 h, keys per ring, at 10:30 of
// a day (window index = hours since the epoch).
func newEnv(t testing.TB, rings, keys, side int, tweak ...func(*env)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clk: &clock{t: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)}, src: &seeds{}}
	e.cfg = Config{Pool: "p", Rings: rings, Window: hour, KeysPerRing: keys, Side: side, Port: 1,
		KEK: testKEK}
	e.cfg.OnSync = func(m SyncMsg) { e.smu.Lock(); e.syncs = append(e.syncs, m); e.smu.Unlock() }
	for _, f := range tweak {
		f(e)
	}
	e.cfg.Now = e.clk.now
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	var err error
	if e.db, err = kstore.Open(filepath.Join(e.dir, "ctrl.db"), nil); err != nil {
		e.t.Fatal(err)
	}
	slots := e.slots
	if slots == 0 {
		slots = 256
	}
	if e.w, err = shm.Create(shm.Options{Path: filepath.Join(e.dir, "keys"), Slots: slots, Heartbeat: -1}, nil); err != nil {
		e.t.Fatal(err)
	}
	if e.r, err = shm.Open(filepath.Join(e.dir, "keys")); err != nil {
		e.t.Fatal(err)
	}
	if e.pub == nil {
		e.pub = e.w
	}
	if e.k, err = Open(e.cfg, e.db, e.pub, e.src); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) close() {
	if e.k == nil {
		return
	}
	e.k.Close()
	e.r.Close()
	e.w.Close()
	e.db.Close()
	e.k = nil
}

func (e *env) reopen() {
	e.close()
	e.pub = nil
	e.open()
}

func (e *env) maintain() {
	e.t.Helper()
	if _, err := e.k.Maintain(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) connect(c uint64) KeyInfo {
	e.t.Helper()
	info, err := e.k.Connect(c)
	if err != nil {
		e.t.Fatalf("connect %d: %v", c, err)
	}
	return info
}

// bound returns the key published for consumer c.
func (e *env) bound(c uint64) (shm.Key, error) {
	var k shm.Key
	err := e.r.Bound(c, &k)
	return k, err
}

func TestConnectDisconnect(t *testing.T) {
	e := newEnv(t, 2, 8, 0)
	e.maintain()
	info := e.connect(1)
	if info.Ring != 10%2 || info.Epoch != uint64(e.clk.now().Unix()/3600) || info.Slot%2 != 0 || info.KeyID == 0 {
		t.Fatalf("info = %+v", info)
	}
	k, err := e.bound(1)
	if err != nil {
		t.Fatalf("shm has no key for consumer 1: %v", err)
	}
	if k.ID != info.KeyID || k.Consumer != 1 || k.State != shm.StatePending || k.Len != 16 {
		t.Fatalf("shm key %v, info %+v", k, info)
	}
	material := append([]byte(nil), k.Material()...)
	if again := e.connect(1); again != info {
		t.Fatalf("second connect of a bound consumer: %+v, want %+v", again, info)
	}
	other := e.connect(2)
	if other.KeyID == info.KeyID || other.Slot == info.Slot {
		t.Fatalf("two consumers share a key: %+v %+v", info, other)
	}
	if err := e.k.Disconnect(1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bound(1); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("key still bound after disconnect: %v", err)
	}
	var kk shm.Key
	if err := e.r.KeyByID(info.KeyID, &kk); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("retired key still in shm: %v", err)
	}
	// Zeroised: the key bytes appear nowhere in the shared file.
	raw, err := os.ReadFile(filepath.Join(e.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, material) {
		t.Fatal("retired key bytes still in the shared-memory file")
	}
	if err := e.k.Disconnect(1); !errors.Is(err, ErrNotBound) {
		t.Fatalf("second disconnect: %v", err)
	}
	if _, err := e.k.Connect(0); !errors.Is(err, ErrConsumer) {
		t.Fatalf("consumer 0: %v", err)
	}
	// The released slot is not handed out again.
	if n := e.connect(3); n.Slot == info.Slot {
		t.Fatalf("slot %d reused", n.Slot)
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	var ms []SyncMsg // the fills of Maintain come first
	for i, m := range e.syncs {
		if m.Seq != uint64(i+1) || m.Stream == 0 {
			t.Fatalf("message %d: %v (stream %016x), want seq %d", i, m, m.Stream, i+1)
		}
		if m.Op != OpFill {
			ms = append(ms, m)
		}
	}
	if len(ms) != 4 || ms[0].Op != OpBind || ms[2].Op != OpUnbind || ms[2].KeyID != info.KeyID {
		t.Fatalf("sync messages %v", e.syncs)
	}
}

func TestWindowsRotate(t *testing.T) {
	e := newEnv(t, 3, 8, 0)
	e.maintain()
	st, _ := e.k.Status()
	if st.Current != 10%3 || len(st.Rings) != 3 {
		t.Fatalf("status %+v", st)
	}
	base := uint64(e.clk.now().Unix() / 3600)
	for i, r := range st.Rings {
		start := time.Unix(int64(r.Epoch)*3600, 0)
		if !r.WindowStart.Equal(start) || r.WindowEnd.Sub(r.WindowStart) != hour || r.Current != (i == st.Current) {
			t.Fatalf("ring %d window: %+v", i, r)
		}
		if !r.Filled || r.Epoch != e.k.target(int64(base), i) || r.Free != 4 {
			t.Fatalf("ring %d: %+v", i, r)
		}
	}
	for step := uint64(0); step < 7; step++ {
		info := e.connect(100 + step)
		if info.Ring != int((base+step)%3) || info.Epoch != base+step {
			t.Fatalf("step %d: connect got ring %d epoch %d", step, info.Ring, info.Epoch)
		}
		if !info.ValidFrom.Equal(time.Unix(int64(base+step)*3600, 0)) || info.ValidTo.Sub(info.ValidFrom) != 3*hour {
			t.Fatalf("validity %v..%v", info.ValidFrom, info.ValidTo)
		}
		if err := e.k.Disconnect(100 + step); err != nil {
			t.Fatal(err)
		}
		e.clk.add(hour)
		// The ring that just ended is drained: Maintain refills it for its
		// next turn.
		n, err := e.k.Maintain()
		if err != nil || n != 1 {
			t.Fatalf("step %d: maintain refilled %d, %v", step, n, err)
		}
	}
}

func TestRefillRules(t *testing.T) {
	e := newEnv(t, 2, 8, 0)
	e.maintain()
	cur := int(10 % 2)
	if err := e.k.Refill(cur); !errors.Is(err, ErrInWindow) {
		t.Fatalf("refill of the current filled ring: %v", err)
	}
	if err := e.k.Refill(1 - cur); err != nil {
		t.Fatalf("refill of the other ring: %v", err)
	}
	if err := e.k.Refill(5); !errors.Is(err, ErrNoRing) {
		t.Fatalf("refill of ring 5: %v", err)
	}
	e.connect(1) // binds in ring cur and outlives the plan
	e.clk.add(hour)
	if err := e.k.Refill(cur); !errors.Is(err, ErrBusy) {
		t.Fatalf("refill of a ring with bindings: %v", err)
	}
	e.maintain() // cannot refill ring cur
	e.clk.add(hour)
	var we *WaitError
	if _, err := e.k.Connect(2); !errors.Is(err, ErrNotFilled) || !errors.As(err, &we) ||
		!strings.Contains(err.Error(), "1 keys of its fill for window 498706 are still bound") || !we.Until.Equal(e.clk.now().Truncate(hour).Add(hour)) {
		t.Fatalf("connect in a ring that could not be refilled: %v", err)
	}
	if e.k.Stats().NotReady != 1 {
		t.Fatalf("stats %+v", e.k.Stats())
	}
	if err := e.k.Disconnect(1); err != nil {
		t.Fatal(err)
	}
	// In its window but filled for an old one: refilling is allowed.
	if err := e.k.Refill(cur); err != nil {
		t.Fatalf("late refill: %v", err)
	}
	e.connect(2)
	e.src.fail = errors.New("no seed yet")
	if err := e.k.Refill(1 - cur); err == nil || !strings.Contains(err.Error(), "no seed yet") {
		t.Fatalf("refill without a seed: %v", err)
	}
}

// TestConnectFillsCurrentWindow: a new pool has no fill; end A's first
// connect fills the current ring as soon as the link has a seed, without
// waiting for the next window, and tells the peer. Before that, and at end
// B (which waits for A's fill), the error says why and until when.
func TestConnectFillsCurrentWindow(t *testing.T) {
	e := newEnv(t, 2, 8, 0)
	e.src.fail = errors.New("no seed of the link yet")
	_, err := e.k.Connect(1)
	var we *WaitError
	if !errors.Is(err, ErrNotFilled) || !errors.As(err, &we) {
		t.Fatalf("connect without a seed: %v", err)
	}
	until, perr := time.Parse(time.RFC3339, "2026-11-22T11:00:00Z")
	if perr != nil || !we.Until.Equal(until) || we.Window != 498706 || we.Ring != 0 || we.NextRing != 1 ||
		!strings.Contains(err.Error(), "no seed of the link yet") ||
		!strings.Contains(err.Error(), "wait until 2026-11-22T11:00:00Z (window 498707, ring 1, begins) or until the link has a seed") {
		t.Fatalf("connect without a seed: %v (%+v)", err, we)
	}
	if _, err := e.bound(1); !errors.Is(err, shm.ErrNotFound) || len(e.syncs) != 0 || e.k.Stats().NotReady != 1 {
		t.Fatalf("a refused connect left something: bound %v, %d messages, %+v", err, len(e.syncs), e.k.Stats())
	}

	e.src.fail = nil // the first seed arrives
	info := e.connect(1)
	if info.Epoch != 498706 || info.Ring != 0 || !info.ValidFrom.Equal(until.Add(-hour)) {
		t.Fatalf("connect after the first seed: %+v", info)
	}
	st := e.k.Stats()
	if st.Refills != 1 || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
	e.smu.Lock()
	ops := make([]SyncOp, len(e.syncs))
	for i, m := range e.syncs {
		ops[i] = m.Op
	}
	first := e.syncs[0]
	e.smu.Unlock()
	if len(ops) != 2 || ops[0] != OpFill || ops[1] != OpBind || first.Epoch != 498706 || first.Ring != 0 {
		t.Fatalf("messages for the peer: %v (first %v), want the fill of ring 0 for window 498706, then the bind", ops, first)
	}

	// End B never picks a seed: it waits for A's fill message.
	b := newEnv(t, 2, 8, 1, func(e *env) { e.cfg.Follow = true })
	_, err = b.k.Connect(1)
	if !errors.As(err, &we) || !errors.Is(err, ErrNotFilled) || !strings.Contains(err.Error(), "end A's fill") ||
		!strings.Contains(err.Error(), "until its fill message arrives") || b.src.next != 0 {
		t.Fatalf("end B's connect before A's fill: %v", err)
	}
}

func TestExhausted(t *testing.T) {
	e := newEnv(t, 2, 5, 1) // side 1 owns slots 1 and 3
	e.maintain()
	a, b := e.connect(1), e.connect(2)
	if a.Slot != 1 || b.Slot != 3 {
		t.Fatalf("slots %d %d, want 1 3", a.Slot, b.Slot)
	}
	// The error says until when: the next window, 11:00 (the clock is at
	// 10:30), served by the other ring.
	if _, err := e.k.Connect(3); !errors.Is(err, ErrExhausted) ||
		!strings.Contains(err.Error(), "all 2 keys of this end used; wait until 2026-11-22T11:00:00Z (window 498707, ring 1, begins)") {
		t.Fatalf("third connect: %v", err)
	}
	e.k.Disconnect(1)
	if _, err := e.k.Connect(3); !errors.Is(err, ErrExhausted) {
		t.Fatalf("connect after a release (keys are never reused): %v", err)
	}
	if s := e.k.Stats(); s.Exhausted != 2 || s.Connects != 2 || s.Disconnects != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestParallelConnects(t *testing.T) {
	n := 64
	if testing.Short() {
		n = 32
	}
	e := newEnv(t, 2, 2*n, 0)
	e.maintain()
	var wg sync.WaitGroup
	infos := make([]KeyInfo, 2*n)
	errs := make([]error, 2*n)
	for i := range 2 * n { // twice as many consumers as keys
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = e.k.Connect(uint64(i + 1))
		}()
	}
	wg.Wait()
	slots, ids := map[uint32]bool{}, map[uint64]bool{}
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if slots[infos[i].Slot] || ids[infos[i].KeyID] {
				t.Fatalf("key handed out twice: %+v", infos[i])
			}
			slots[infos[i].Slot], ids[infos[i].KeyID] = true, true
			k, err := e.bound(uint64(i + 1))
			if err != nil || k.ID != infos[i].KeyID {
				t.Fatalf("consumer %d: shm %v %v", i+1, k, err)
			}
		case !errors.Is(err, ErrExhausted):
			t.Fatalf("consumer %d: %v", i+1, err)
		}
	}
	if ok != n || e.k.Stats().Exhausted != uint64(n) {
		t.Fatalf("%d connects succeeded, want %d; stats %+v", ok, n, e.k.Stats())
	}
	for i := range 2 * n {
		if errs[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.k.Disconnect(uint64(i + 1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, _ := e.k.Status()
	if r := st.Rings[st.Current]; r.Bound != 0 || r.Retired != n || r.Free != 0 {
		t.Fatalf("after disconnects: %+v", r)
	}
}

func TestParallelSameConsumer(t *testing.T) {
	e := newEnv(t, 2, 64, 0)
	e.maintain()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[uint64]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := e.k.Connect(42)
			if err != nil && !errors.Is(err, ErrBusy) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				got[info.KeyID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Fatalf("consumer 42 got keys %v, want exactly one", got)
	}
	if st, _ := e.k.Status(); st.Rings[st.Current].Bound != 1 {
		t.Fatalf("bound = %d", st.Rings[st.Current].Bound)
	}
}

func TestRestartReloads(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	a, b := e.connect(1), e.connect(2)
	e.connect(3)
	e.k.Disconnect(3)
	before, _ := e.k.Status()
	e.reopen() // a fresh shm writer without persistence: republished from kstore
	ka, err := e.bound(1)
	if err != nil || ka.ID != a.KeyID {
		t.Fatalf("consumer 1 after restart: %v %v", ka, err)
	}
	if kb, err := e.bound(2); err != nil || kb.ID != b.KeyID {
		t.Fatalf("consumer 2 after restart: %v %v", kb, err)
	}
	after, _ := e.k.Status()
	before.Stats, after.Stats = Stats{}, Stats{}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("status changed across restart:\n%+v\n%+v", before, after)
	}
	if info, _ := e.k.Lookup(1); info != a {
		t.Fatalf("lookup %+v, want %+v", info, a)
	}
	if c := e.connect(4); c.Slot <= b.Slot+2 {
		t.Fatalf("slot %d reused after restart", c.Slot)
	}
	if err := e.k.Disconnect(1); err != nil {
		t.Fatal(err)
	}
}

// failRetire makes the publisher lose a Retire, as a crash between the
// store and the map would.
type failRetire struct {
	Publisher
	fail bool
}

func (f *failRetire) Retire(id uint64) error {
	if f.fail {
		return errors.New("injected")
	}
	return f.Publisher.Retire(id)
}

func TestRestartRetiresReleasedKeys(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	info := e.connect(1)
	e.k.Close()
	fr := &failRetire{Publisher: e.w, fail: true}
	k, err := Open(e.cfg, e.db, fr, e.src)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Disconnect(1); err == nil || !strings.Contains(err.Error(), "retried before the next refill") {
		t.Fatalf("disconnect with a failing retire: %v", err)
	}
	var kk shm.Key
	if err := e.r.KeyByID(info.KeyID, &kk); err != nil {
		t.Fatalf("key should still be in the map: %v", err)
	}
	// A refill of that ring first retries the lost Retire.
	e.clk.add(hour)
	if err := k.Refill(info.Ring); err == nil {
		t.Fatal("refill succeeded while the released key could not be retired")
	}
	fr.fail = false
	if err := k.Refill(info.Ring); err != nil {
		t.Fatal(err)
	}
	if err := e.r.KeyByID(info.KeyID, &kk); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("released key survived the refill: %v", err)
	}
	k.Close()
}

func TestRestartRetiresReleasedKeysLostAtCrash(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	info := e.connect(1)
	e.k.Close()
	fr := &failRetire{Publisher: e.w, fail: true}
	k, err := Open(e.cfg, e.db, fr, e.src)
	if err != nil {
		t.Fatal(err)
	}
	k.Disconnect(1)
	var kk shm.Key
	k.Close()
	// Restart against the same writer: the released key is retired.
	if e.k, err = Open(e.cfg, e.db, e.w, e.src); err != nil {
		t.Fatal(err)
	}
	if err := e.r.KeyByID(info.KeyID, &kk); !errors.Is(err, shm.ErrNotFound) {
		t.Fatalf("released key survived the restart: %v", err)
	}
}

// failStore fails Batch.
type failStore struct{ kstore.Store }

func (failStore) Batch(func(kstore.Tx) error) error { return errors.New("disk full") }

// failPut fails Put.
type failPut struct{ Publisher }

func (failPut) Put(*shm.Key) error { return errors.New("map full") }

func TestFailuresDoNotLeakOrReuse(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	e.k.Close()
	k, err := Open(e.cfg, failStore{e.db}, e.w, e.src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("connect with a failing store: %v", err)
	}
	k.Close()
	k, err = Open(e.cfg, e.db, failPut{e.w}, e.src)
	if err != nil {
		t.Fatal(err)
	}
	// Never persisted: slot 0 is still free and goes to the next consumer,
	// whose publish fails: its key never reached the map nor anyone, so
	// slot 0 stays free.
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "map full") {
		t.Fatalf("connect with a failing map: %v", err)
	}
	k.Close()
	if e.k, err = Open(e.cfg, e.db, e.w, e.src); err != nil {
		t.Fatal(err)
	}
	if info := e.connect(1); info.Slot != 0 {
		t.Fatalf("slot %d after a publish that failed, want 0 (its key reached no one)", info.Slot)
	}
}

func TestNoKeyBytesInText(t *testing.T) {
	e := newEnv(t, 2, 4, 0)
	e.maintain()
	info := e.connect(1)
	k, _ := e.bound(1)
	secret := hex.EncodeToString(k.Material())
	_, errEx := e.k.Connect(2)
	_, errEx = e.k.Connect(3)
	st, _ := e.k.Status()
	e.smu.Lock()
	msg := e.syncs[len(e.syncs)-1]
	e.smu.Unlock()
	for _, s := range []string{fmt.Sprintf("%+v %#v", info, info), fmt.Sprintf("%+v", st), msg.String(),
		fmt.Sprintf("%v", errEx), string(msg.Marshal())} {
		if strings.Contains(strings.ToLower(s), secret) || strings.Contains(s, string(k.Material())) {
			t.Fatalf("key bytes in %q", s)
		}
	}
	// Seeds are sealed in the store: the raw seed is nowhere in the file.
	e.close()
	raw, _ := os.ReadFile(filepath.Join(e.dir, "ctrl.db"))
	seed, _, _ := (&seeds{}).Seed()
	if bytes.Contains(raw, seed[:]) {
		t.Fatal("seed stored in clear")
	}
}

func TestWrongKEK(t *testing.T) {
	e := newEnv(t, 2, 4, 0)
	e.maintain()
	e.k.Close()
	cfg := e.cfg
	cfg.KEK = bytes.Repeat([]byte{8}, 16)
	if _, err := Open(cfg, e.db, e.w, e.src); err == nil || !strings.Contains(err.Error(), "authenticate") {
		t.Fatalf("open with a wrong KEK: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	good := Config{Pool: "p", Rings: 2, Window: hour, KeysPerRing: 4, KEK: testKEK}
	for name, mut := range map[string]func(*Config){
		"no pool":  func(c *Config) { c.Pool = "" },
		"one ring": func(c *Config) { c.Rings = 1 },
		"window":   func(c *Config) { c.Window = 0 },
		"keys":     func(c *Config) { c.KeysPerRing = 1 },
		"side":     func(c *Config) { c.Side = 2 },
		"kek":      func(c *Config) { c.KEK = nil },
		"alg":      func(c *Config) { c.Alg = 9 },
	} {
		c := good
		mut(&c)
		if _, err := Open(c, nil, nil, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDeriveDeterministic(t *testing.T) {
	var s keys.Seed
	a, b, c := make([]byte, 16), make([]byte, 16), make([]byte, 16)
	kdf.RingKey(a, &s, 1, 2, 3)
	kdf.RingKey(b, &s, 1, 2, 3)
	kdf.RingKey(c, &s, 1, 2, 4)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("derivation not deterministic or not slot-separated")
	}
	// Distinct from the session-key KDF of the same seed.
	sk, _ := kdf.SessionKey(&s, 0, 0)
	if bytes.Equal(sk[:], a) {
		t.Fatal("ring key equals a session key")
	}
	if binary.BigEndian.Uint64(a) == 0 && keys.IDOf(a) == 0 {
		t.Fatal("zero id")
	}
}

// TestKeyIDIsFingerprint: a ring key's id is its fingerprint, the name the
// API, otkctl and the shm readers print for it.
func TestKeyIDIsFingerprint(t *testing.T) {
	e := newEnv(t, 2, 4, 0)
	e.maintain()
	info := e.connect(1)
	k, err := e.bound(1)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Zero()
	if fp := k.Fingerprint(); info.KeyID != k.ID || fmt.Sprintf("%016x", k.ID) != keys.Fingerprint(fp).String() {
		t.Fatalf("key id %016x (connect %016x), fingerprint %x", k.ID, info.KeyID, fp)
	}
}

// TestLegacyKeyIDKept: a binding stored by an earlier otkd names its key by
// the legacy id; the keyring reopens it (no "corrupt store"), republishes
// the key under that id, and a peer message naming it still matches.
func TestLegacyKeyIDKept(t *testing.T) {
	e := newEnv(t, 2, 4, 0)
	e.maintain()
	info := e.connect(1)
	k, err := e.bound(1)
	if err != nil {
		t.Fatal(err)
	}
	legacy := legacyKeyID(k.Material())
	k.Zero()
	e.close()
	// Rewrite the stored binding as the earlier otkd wrote it.
	db, err := kstore.Open(filepath.Join(e.dir, "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bucket, key := []byte("keyring/p/bindings"), binary.BigEndian.AppendUint64(nil, 1)
	err = db.Update(func(tx kstore.Tx) error {
		v := bytes.Clone(tx.Get(bucket, key))
		if len(v) != 30 || binary.BigEndian.Uint64(v[22:]) != info.KeyID {
			return fmt.Errorf("binding record %x does not hold key id %016x at 22", v, info.KeyID)
		}
		binary.BigEndian.PutUint64(v[22:], legacy)
		return tx.Put(bucket, key, v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.pub = nil
	e.open()
	got, err := e.k.Lookup(1)
	if err != nil || got.KeyID != legacy {
		t.Fatalf("lookup after reopen: %+v %v, want key id %016x", got, err, legacy)
	}
	if kb, err := e.bound(1); err != nil || kb.ID != legacy {
		t.Fatalf("republished key: id %016x %v, want %016x", kb.ID, err, legacy)
	}
	if err := e.k.Disconnect(1); err != nil {
		t.Fatal(err)
	}
}

func TestRunMaintainsUntilCancelled(t *testing.T) {
	e := newEnv(t, 2, 4, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run maintains once, then sees the cancellation
	e.k.Run(ctx, time.Hour, func(err error) { t.Error(err) })
	if st, _ := e.k.Status(); !st.Rings[0].Filled || !st.Rings[1].Filled {
		t.Fatalf("Run did not refill: %+v", st)
	}
	e.src.fail = errors.New("no seed")
	e.clk.add(hour)
	e.k.Disconnect(1)
	var got error
	e.k.Run(ctx, time.Hour, func(err error) { got = err })
	if got == nil {
		t.Fatal("Run swallowed the refill error")
	}
}

// BenchmarkConnectDisconnect measures one session's cost: two store
// transactions (each fsynced) and two map updates.
func BenchmarkConnectDisconnect(b *testing.B) {
	e := newEnv(b, 2, MaxKeysPerRing, 0)
	e.maintain()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := uint64(i%(MaxKeysPerRing/2) + 1)
		if _, err := e.k.Connect(c); err != nil {
			b.Fatal(err)
		}
		if err := e.k.Disconnect(c); err != nil {
			b.Fatal(err)
		}
		if i%(MaxKeysPerRing/2) == MaxKeysPerRing/2-1 {
			b.StopTimer()
			e.clk.add(2 * hour)
			e.maintain()
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
