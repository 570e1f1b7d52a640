package shm

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Persister keeps every non-retired key across restarts (shm/store is the
// bbolt + SM4-GCM implementation). The writer saves a change before it
// publishes it, and deletes a retired key before it zeroises its slot.
type Persister interface {
	// Load calls fn for every stored key; fn's argument is reused.
	Load(fn func(*Key) error) error
	// Save stores keys atomically (all or none).
	Save(keys ...*Key) error
	// Delete removes a key; deleting a missing key is not an error.
	Delete(id uint64) error
	// Generation returns the last generation stored (0 if none).
	Generation() (uint64, error)
	// SetGeneration stores the generation of the writer now starting.
	SetGeneration(gen uint64) error
}

// Options configure Create. The zero value of each field is its default.
type Options struct {
	// Path of the key store file, normally under /dev/shm. Required.
	Path string
	// Group owning the file (name or numeric gid) so that plugins in it can
	// read it; "" means the writer's effective group. The mode is always
	// 0640. Both are applied on every start: an existing file with another
	// group or mode is replaced, so a group taken out of the configuration
	// loses its access, also through files it had open.
	Group string
	// Slots is the number of key slots; 0 means DefaultSlots. A file with a
	// different slot count is recreated.
	Slots int
	// Heartbeat is how often the header heartbeat is refreshed; 0 means
	// 100 ms, negative disables it.
	Heartbeat time.Duration
	// LockWait is how long Create retries the writers' lock (the lock file
	// beside the map) when another writer holds it, e.g. one still shutting
	// down; 0 means 1 s. Readers never hold it.
	LockWait time.Duration
	// Config is published in the config region at start.
	Config Config
	// Logger receives the reason whenever a file is recreated; nil discards.
	Logger *slog.Logger
}

// Writer is the single writer of a key store file. For its whole life it
// holds the writers' lock (an exclusive flock on the lock file beside the
// map) and the liveness lock (an OFD write lock on bytes 0..7 of the map). Its methods are safe for concurrent
// use (they are serialised by a mutex); each change is persisted first and
// then published slot by slot under the seqcount latch.
type Writer struct {
	mu      sync.Mutex
	v       view
	data    []byte
	fd      int // the map, with the liveness lock
	lockfd  int // the writers' lock file, flocked
	path    string
	persist Persister
	log     *slog.Logger

	gen      uint64
	serial   uint64
	slotOf   map[uint64]int    // key id → slot
	active   map[uint64]uint64 // activeIndexKey → key id
	activeOf map[uint64]uint64 // key id → activeIndexKey
	bound    map[uint64]uint64 // consumer → key id
	boundOf  map[uint64]uint64 // key id → consumer
	free     []int             // free slots, lowest last
	status   Status
	config   Config
	stop     chan struct{}
	done     chan struct{}
	closed   bool
	hook     func(point string) // test hook, see crash_test.go
	nowFunc  func() time.Time
}

// Test hook points.
const hookSlotHalf = "slot-half-written"

// Create opens or creates the key store at opts.Path, takes the writer
// locks, bumps the generation and rewrites every slot from p (nil: start
// empty, no persistence). It never follows a symbolic link at the path and
// refuses (*UntrustedError) a file another user owns, anything but a
// regular file, and a directory others can replace files in. A file of its
// own that does not match layout v2, the slot count, the stored
// generation, the group or the mode, or that a reader holds a lock on, is
// replaced by a new file (renamed over it; the old one is never truncated,
// so readers still mapping it do not fault, and its contents are zeroed),
// and the reason is logged. The map's space is allocated up front: a full
// file system is a *NoSpaceError here, never a SIGBUS later. p is read in
// full and checked before anything is written to it.
func Create(opts Options, p Persister) (*Writer, error) {
	if opts.Path == "" {
		return nil, invalid("Options.Path is empty")
	}
	if opts.Slots == 0 {
		opts.Slots = DefaultSlots
	}
	if opts.Slots < 0 || opts.Slots > MaxSlots {
		return nil, invalid("Options.Slots %d, want 1..%d", opts.Slots, MaxSlots)
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 100 * time.Millisecond
	}
	if opts.LockWait == 0 {
		opts.LockWait = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	gid := os.Getegid()
	if opts.Group != "" {
		var err error
		if gid, err = lookupGroup(opts.Group); err != nil {
			return nil, err
		}
	}
	if p == nil {
		p = nopPersister{}
	}
	w := &Writer{
		path: opts.Path, persist: p, log: opts.Logger, fd: -1, lockfd: -1,
		slotOf: map[uint64]int{}, active: map[uint64]uint64{}, activeOf: map[uint64]uint64{},
		bound: map[uint64]uint64{}, boundOf: map[uint64]uint64{},
		nowFunc: time.Now, config: opts.Config,
	}
	storeGen, err := p.Generation()
	if err != nil {
		return nil, fmt.Errorf("shm: reading stored generation: %w", err)
	}
	hdrGen, err := w.attachOrCreate(opts, gid, storeGen)
	if err != nil {
		return nil, err
	}
	if err := w.start(max(hdrGen, storeGen)+1, opts); err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("shm: group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// attachOrCreate leaves w holding the writers' lock and the liveness lock
// on a mapped, valid file it may publish into, and returns the generation
// found in it (0 for a new file). See file.go for the rules.
func (w *Writer) attachOrCreate(opts Options, gid int, storeGen uint64) (uint64, error) {
	dirfd, base, err := openDir(opts.Path)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dirfd)
	lfd, err := lockWriter(dirfd, base, opts.Path, opts.LockWait)
	if err != nil {
		return 0, err
	}
	w.lockfd = lfd
	gen, err := w.attach(dirfd, base, opts, gid, storeGen)
	if err != nil {
		unix.Close(lfd)
		w.lockfd = -1
	}
	return gen, err
}

// attach uses the map at base (in dirfd) if it is the writer's own and
// valid, replaces it if it is the writer's own but not fit, creates it if it
// is missing, and refuses anything else. Caller holds the writers' lock.
func (w *Writer) attach(dirfd int, base string, opts Options, gid int, storeGen uint64) (uint64, error) {
	fd, err := unix.Openat(dirfd, base, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err == unix.ENOENT {
		w.log.Info("shm: creating key store", "path", opts.Path)
		return 0, w.createFresh(dirfd, base, opts, gid, false)
	}
	if err != nil {
		return 0, refuseExisting(dirfd, base, opts.Path, "map", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return 0, &os.PathError{Op: "fstat", Path: opts.Path, Err: err}
	}
	reason, err := judgeMap(&st, opts.Path, gid)
	if err != nil {
		unix.Close(fd)
		return 0, err
	}
	if reason == "" && ofdLock(fd, unix.F_WRLCK) != nil {
		// Writers exclude each other with the lock file, which this writer
		// holds: what holds the liveness range is a reader. Its lock stays
		// on the old file; the new one is the writer's alone.
		reason = fmt.Sprintf("a reader holds a lock on it (%s)", pidList(lockHolders(&st)))
	}
	if reason == "" {
		gen, why := w.tryAttach(fd, &st, opts.Slots, storeGen)
		if why == "" {
			return gen, nil
		}
		reason = why
	}
	w.log.Warn("shm: replacing key store", "path", opts.Path, "reason", reason)
	err = w.createFresh(dirfd, base, opts, gid, true)
	if err == nil {
		// The old file is the writer's own (judgeMap): zero it, so a
		// process still mapping it keeps no key from it.
		if serr := scrub(fd, st.Size); serr != nil {
			w.log.Warn("shm: zeroing the replaced key store", "path", opts.Path, "err", serr)
		}
	}
	unix.Close(fd) // drops the liveness lock on the old file
	return 0, err
}

// tryAttach validates the locked file; on success it maps it into w and
// returns its generation, else it returns why the file must be replaced.
// A file is used only with the generation the store last recorded (or any,
// without a store): a generation raised by someone else never wins.
func (w *Writer) tryAttach(fd int, st *unix.Stat_t, slots int, storeGen uint64) (uint64, string) {
	if st.Size == 0 {
		return 0, "empty file"
	}
	hdr := make([]byte, headerSize)
	n, _ := unix.Pread(fd, hdr, 0)
	g, err := parseHeader(hdr[:max(n, 0)], st.Size)
	if err != nil {
		return 0, err.Error()
	}
	if g.slots != slots {
		return 0, fmt.Sprintf("file has %d slots, configured %d", g.slots, slots)
	}
	gen := leUint64(hdr[hdrGeneration:])
	switch {
	case gen < storeGen:
		return 0, fmt.Sprintf("file generation %d is older than the store's %d", gen, storeGen)
	case storeGen != 0 && gen > storeGen:
		return 0, fmt.Sprintf("file generation %d is newer than the store's %d: this store's writer did not write it", gen, storeGen)
	}
	data, err := unix.Mmap(fd, 0, g.fileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return 0, "mmap: " + err.Error()
	}
	w.mapped(fd, data, g)
	return gen, ""
}

func leUint64(b []byte) uint64 { return *(*uint64)(unsafe.Pointer(&b[0])) }

// createFresh builds a new map under a temporary name in dirfd (O_EXCL),
// locked, owned by gid, mode 0640, its space allocated and its header
// written, and renames it to base: over the writer's own old file with
// replace, else only if the name is still free.
func (w *Writer) createFresh(dirfd int, base string, opts Options, gid int, replace bool) error {
	g := newGeometry(opts.Slots)
	dir := filepath.Dir(opts.Path)
	var fd int
	var tmp string
	for i := 0; ; i++ {
		var err error
		tmp = tempName(base)
		fd, err = unix.Openat(dirfd, tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == unix.EEXIST && i < 8 {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "create", Path: filepath.Join(dir, tmp), Err: err}
		}
		break
	}
	drop := func() {
		unix.Close(fd)
		unix.Unlinkat(dirfd, tmp, 0)
	}
	fail := func(op string, err error) error {
		drop()
		return &os.PathError{Op: op, Path: filepath.Join(dir, tmp), Err: err}
	}
	if err := ofdLock(fd, unix.F_WRLCK); err != nil {
		return fail("lock", err)
	}
	if err := unix.Fchown(fd, -1, gid); err != nil {
		return fail("chown", err)
	}
	if err := unix.Fchmod(fd, mapMode); err != nil {
		return fail("chmod", err)
	}
	if err := allocate(fd, int64(g.fileSize)); err != nil {
		drop()
		if err == unix.ENOSPC || err == unix.EDQUOT {
			return &NoSpaceError{Path: opts.Path, Size: int64(g.fileSize), Slots: g.slots, Err: err}
		}
		return &os.PathError{Op: "fallocate", Path: filepath.Join(dir, tmp), Err: err}
	}
	data, err := unix.Mmap(fd, 0, g.fileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	g.encodeHeader(data, w.nowFunc().UnixNano())
	if replace {
		err = unix.Renameat(dirfd, tmp, dirfd, base)
	} else {
		err = unix.Renameat2(dirfd, tmp, dirfd, base, unix.RENAME_NOREPLACE)
		if err == unix.EINVAL || err == unix.ENOSYS {
			// No RENAME_NOREPLACE here: link(2) never replaces either.
			if err = unix.Linkat(dirfd, tmp, dirfd, base, 0); err == nil {
				unix.Unlinkat(dirfd, tmp, 0)
			}
		}
	}
	if err != nil {
		unix.Munmap(data)
		drop()
		if err == unix.EEXIST || err == unix.EPERM || err == unix.EACCES {
			// Someone made the path meanwhile (or it is not the writer's
			// to replace): say whose it is.
			return refuseExisting(dirfd, base, opts.Path, "map", err)
		}
		return &os.PathError{Op: "rename", Path: opts.Path, Err: err}
	}
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Fstatat(dirfd, base, &b, unix.AT_SYMLINK_NOFOLLOW) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		unix.Munmap(data)
		unix.Close(fd)
		return fmt.Errorf("shm: %s was replaced by another process while otkd created it", opts.Path)
	}
	w.mapped(fd, data, g)
	return nil
}

func (w *Writer) mapped(fd int, data []byte, g geometry) {
	w.fd, w.data = fd, data
	w.v = view{base: unsafe.Pointer(&data[0]), g: g}
	// Keep key bytes in RAM and out of core dumps (best effort: mlock needs
	// RLIMIT_MEMLOCK).
	_ = unix.Mlock(data)
	_ = unix.Madvise(data, unix.MADV_DONTDUMP)
}

// start publishes a new generation: header, every slot rewritten from the
// persister, index rebuilt, status and config.
//
// Every stored key is loaded and checked before anything is written, to the
// store or to the map: a store that does not load (a wrong KEK, a damaged
// record) is left exactly as it was.
func (w *Writer) start(gen uint64, opts Options) error {
	keys, err := w.loadAll()
	defer func() {
		for _, k := range keys {
			k.Zero()
		}
	}()
	if err != nil {
		return err
	}
	if len(keys) > w.v.g.slots {
		return fmt.Errorf("shm: store holds %d keys, the file has %d slots: %w", len(keys), w.v.g.slots, ErrFull)
	}
	if err := w.persist.SetGeneration(gen); err != nil {
		return fmt.Errorf("shm: storing generation: %w", err)
	}
	w.gen = gen
	w.v.store(hdrWriterPID, uint64(os.Getpid()))
	w.v.store(hdrHeartbeat, uint64(w.nowFunc().UnixNano()))
	w.v.store(hdrGeneration, gen)
	w.rewriteAll(keys)
	w.status = Status{Generation: gen, WriterPID: uint64(os.Getpid()), Health: HealthOK}
	w.touch()
	w.publishConfig()
	if opts.Heartbeat > 0 {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.heartbeatLoop(opts.Heartbeat)
	}
	return nil
}

// loadAll reads the persister, resolving more than one active key for a
// (port, dir) (a crash between saves) in favour of the highest serial.
func (w *Writer) loadAll() ([]*Key, error) {
	var keys []*Key
	err := w.persist.Load(func(k *Key) error {
		if err := validKey(k); err != nil {
			return fmt.Errorf("stored key %d: %w", k.ID, err)
		}
		c := new(Key)
		*c = *k
		keys = append(keys, c)
		return nil
	})
	if err != nil {
		return keys, fmt.Errorf("shm: loading keys: %w", err)
	}
	slices.SortFunc(keys, func(a, b *Key) int { // newest first
		if c := cmp.Compare(b.Serial, a.Serial); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	seenActive := map[uint64]bool{}
	seenBound := map[uint64]bool{}
	for _, k := range keys {
		if k.State == StateActive {
			ak := activeIndexKey(k.Port, k.Dir)
			if seenActive[ak] {
				k.State = StateSuperseded
			}
			seenActive[ak] = true
		}
		if k.Consumer != 0 {
			if seenBound[k.Consumer] {
				k.Consumer = 0
			} else {
				seenBound[k.Consumer] = true
			}
		}
	}
	return keys, nil
}

// rewriteAll writes every slot (keys first, then zeroes) and rebuilds the
// index from scratch. Odd sequences left by a dead writer are moved to the
// next odd value and the copy rewritten in full before it turns even.
func (w *Writer) rewriteAll(keys []*Key) {
	clear(w.slotOf)
	clear(w.active)
	clear(w.activeOf)
	clear(w.bound)
	clear(w.boundOf)
	w.free = w.free[:0]
	for i := w.v.g.slots - 1; i >= len(keys); i-- {
		w.free = append(w.free, i)
	}
	for i := 0; i < w.v.g.slots; i++ {
		if i < len(keys) {
			k := keys[i]
			w.writeSlot(i, k)
			w.slotOf[k.ID] = i
			if k.State == StateActive {
				ak := activeIndexKey(k.Port, k.Dir)
				w.active[ak], w.activeOf[k.ID] = k.ID, ak
			}
			if k.Consumer != 0 {
				w.bound[k.Consumer], w.boundOf[k.ID] = k.ID, k.Consumer
			}
			if k.Serial > w.serial {
				w.serial = k.Serial
			}
		} else {
			w.writeSlotZero(i)
		}
	}
	for ak := uint64(0); ak < activeEntries; ak++ {
		want := uint64(0)
		if id, ok := w.active[ak]; ok {
			want = uint64(w.slotOf[id]) + 1
		}
		if off := w.v.activeOff(ak); w.v.load(off) != want {
			w.v.store(off, want)
		}
	}
	w.v.updateIndex(func(c int) {
		w.v.indexClear(c)
		for id, s := range w.slotOf {
			w.v.indexPut(c, tblID, id, uint64(s))
		}
		for cons, id := range w.bound {
			w.v.indexPut(c, tblBinding, cons, uint64(w.slotOf[id]))
		}
	})
}

// writeSlot publishes k in slot i, copy 0 then copy 1.
func (w *Writer) writeSlot(i int, k *Key) {
	var r record
	k.encode(&r)
	w.writeRecord(i, &r)
	clear(r[:])
}

func (w *Writer) writeSlotZero(i int) {
	var r record // all zero, checksum included: an empty slot
	w.writeRecord(i, &r)
}

func (w *Writer) writeRecord(i int, r *record) {
	for c := 0; c < 2; c++ {
		off := w.v.g.slotsOff + i*slotSize + c*copySize
		s := w.v.beginCopy(off)
		for j := range r {
			w.v.store(off+8+8*j, r[j])
			if j == len(r)/2 && w.hook != nil {
				w.hook(hookSlotHalf)
			}
		}
		w.v.endCopy(off, s)
	}
}

func (w *Writer) readSlot(i int, k *Key) {
	var r record
	off := w.v.g.slotsOff + i*slotSize
	for j := range r {
		r[j] = w.v.load(off + 8 + 8*j)
	}
	r.decode(k)
	clear(r[:])
}

func validKey(k *Key) error {
	switch {
	case k.ID == 0:
		return invalid("key id 0")
	case k.Len == 0 || k.Len > MaxKeyLen:
		return invalid("key %d: length %d, want 1..%d", k.ID, k.Len, MaxKeyLen)
	case k.Dir > DirBtoA:
		return invalid("key %d: direction %d", k.ID, k.Dir)
	case k.Alg < AlgZUC128 || k.Alg > AlgSM4:
		return invalid("key %d: algorithm %d", k.ID, k.Alg)
	case k.State != StatePending && k.State != StateActive && k.State != StateSuperseded:
		return invalid("key %d: state %s, want pending, active or superseded", k.ID, k.State)
	case k.ValidTo != 0 && k.ValidTo < k.ValidFrom:
		return invalid("key %d: valid-to before valid-from", k.ID)
	}
	return nil
}

// Put inserts or replaces key k.ID (state pending, active or superseded).
// If k is active, the key active before it for the same (port, dir) becomes
// superseded; if k.Consumer is set, any other key bound to that consumer is
// unbound. k is copied; the caller keeps ownership and should zero it.
func (w *Writer) Put(k *Key) error {
	if err := validKey(k); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	c := *k
	defer c.Zero()
	return w.apply(&c)
}

// Activate makes key id the active key of its (port, dir).
func (w *Writer) Activate(id uint64) error {
	return w.modify(id, func(k *Key) { k.State = StateActive })
}

// Supersede marks key id superseded (no longer the active key, not retired).
func (w *Writer) Supersede(id uint64) error {
	return w.modify(id, func(k *Key) { k.State = StateSuperseded })
}

// Bind binds key id to consumer (non-zero), unbinding the consumer's
// previous key.
func (w *Writer) Bind(consumer, id uint64) error {
	if consumer == 0 {
		return invalid("consumer id 0")
	}
	return w.modify(id, func(k *Key) { k.Consumer = consumer })
}

// Unbind releases whatever key consumer is bound to.
func (w *Writer) Unbind(consumer uint64) error {
	w.mu.Lock()
	id, ok := w.bound[consumer]
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: consumer %d", ErrNotFound, consumer)
	}
	return w.modify(id, func(k *Key) { k.Consumer = 0 })
}

func (w *Writer) modify(id uint64, fn func(*Key)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	s, ok := w.slotOf[id]
	if !ok {
		return fmt.Errorf("%w: key %d", ErrNotFound, id)
	}
	var k Key
	defer k.Zero()
	w.readSlot(s, &k)
	fn(&k)
	return w.apply(&k)
}

// apply persists and publishes k and the keys it displaces. Caller holds mu.
func (w *Writer) apply(k *Key) error {
	old, exists := w.slotOf[k.ID]
	if !exists && len(w.free) == 0 {
		return ErrFull
	}
	w.serial++
	k.Serial = w.serial
	changed := []*Key{k}
	ak := activeIndexKey(k.Port, k.Dir)
	var demote, unbind Key
	defer demote.Zero()
	defer unbind.Zero()
	if id, ok := w.active[ak]; ok && id != k.ID && k.State == StateActive {
		w.readSlot(w.slotOf[id], &demote)
		demote.State, demote.Serial = StateSuperseded, w.serial
		changed = append(changed, &demote)
	}
	if id, ok := w.bound[k.Consumer]; ok && id != k.ID && k.Consumer != 0 {
		w.readSlot(w.slotOf[id], &unbind)
		if unbind.ID == demote.ID {
			demote.Consumer = 0
		} else {
			unbind.Consumer, unbind.Serial = 0, w.serial
			changed = append(changed, &unbind)
		}
	}
	if err := w.persist.Save(changed...); err != nil {
		w.serial--
		return fmt.Errorf("shm: persisting key %d: %w", k.ID, err)
	}
	slot := old
	if !exists {
		slot = w.free[len(w.free)-1]
		w.free = w.free[:len(w.free)-1]
		w.slotOf[k.ID] = slot
	}
	// The key itself first, then the index that points at it, then the keys
	// it displaced: a lookup never lands on a slot that no longer matches.
	w.writeSlot(slot, k)
	w.reindex(changed, !exists)
	for _, c := range changed[1:] {
		w.writeSlot(w.slotOf[c.ID], c)
	}
	w.touch()
	return nil
}

// indexOp is one change to apply to both index copies.
type indexOp struct {
	tbl       int // tblID, tblBinding or tblActive
	key, slot uint64
	del       bool
}

// reindex brings the writer's maps and both index copies in line with the
// changed keys (changed[0] is the key being put; the others are the keys it
// displaced). Caller holds mu.
func (w *Writer) reindex(changed []*Key, isNew bool) {
	var ops []indexOp
	if isNew {
		ops = append(ops, indexOp{tbl: tblID, key: changed[0].ID, slot: uint64(w.slotOf[changed[0].ID])})
	}
	for _, c := range changed {
		slot := uint64(w.slotOf[c.ID])
		ak := activeIndexKey(c.Port, c.Dir)
		if a, ok := w.activeOf[c.ID]; ok && (c.State != StateActive || a != ak) {
			delete(w.active, a)
			delete(w.activeOf, c.ID)
			ops = append(ops, indexOp{tbl: tblActive, key: a, del: true})
		}
		if c.State == StateActive && w.active[ak] != c.ID {
			if x, ok := w.active[ak]; ok {
				delete(w.activeOf, x)
			}
			w.active[ak], w.activeOf[c.ID] = c.ID, ak
			ops = append(ops, indexOp{tbl: tblActive, key: ak, slot: slot})
		}
		if b, ok := w.boundOf[c.ID]; ok && b != c.Consumer {
			delete(w.bound, b)
			delete(w.boundOf, c.ID)
			ops = append(ops, indexOp{tbl: tblBinding, key: b, del: true})
		}
		if c.Consumer != 0 && w.bound[c.Consumer] != c.ID {
			if x, ok := w.bound[c.Consumer]; ok {
				delete(w.boundOf, x)
			}
			w.bound[c.Consumer], w.boundOf[c.ID] = c.ID, c.Consumer
			ops = append(ops, indexOp{tbl: tblBinding, key: c.Consumer, slot: slot})
		}
	}
	w.applyIndex(ops)
}

func (w *Writer) applyIndex(ops []indexOp) {
	latched := false
	for _, o := range ops {
		switch {
		case o.tbl != tblActive:
			latched = true
		case o.del:
			w.v.store(w.v.activeOff(o.key), 0)
		default:
			w.v.store(w.v.activeOff(o.key), o.slot+1)
		}
	}
	if !latched {
		return
	}
	w.v.updateIndex(func(c int) {
		for _, o := range ops {
			if o.tbl == tblActive {
				continue
			}
			if o.del {
				w.v.indexDel(c, o.tbl, o.key)
			} else {
				w.v.indexPut(c, o.tbl, o.key, o.slot)
			}
		}
	})
}

// Retire deletes key id from the store, zeroises its slot and frees it.
func (w *Writer) Retire(id uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	s, ok := w.slotOf[id]
	if !ok {
		return fmt.Errorf("%w: key %d", ErrNotFound, id)
	}
	if err := w.persist.Delete(id); err != nil {
		return fmt.Errorf("shm: deleting key %d from the store: %w", id, err)
	}
	ops := []indexOp{{tbl: tblID, key: id, del: true}}
	if a, ok := w.activeOf[id]; ok {
		delete(w.active, a)
		delete(w.activeOf, id)
		ops = append(ops, indexOp{tbl: tblActive, key: a, del: true})
	}
	if b, ok := w.boundOf[id]; ok {
		delete(w.bound, b)
		delete(w.boundOf, id)
		ops = append(ops, indexOp{tbl: tblBinding, key: b, del: true})
	}
	// Unlink from the index first so no new lookup lands on the slot, then
	// zeroise both copies.
	w.applyIndex(ops)
	w.writeSlotZero(s)
	delete(w.slotOf, id)
	w.free = append(w.free, s)
	w.serial++
	w.touch()
	return nil
}

// touch republishes the status after a key change. Caller holds mu.
func (w *Writer) touch() {
	w.status.Serial = w.serial
	w.status.Keys = uint32(len(w.slotOf))
	w.status.Active = uint32(len(w.active))
	w.status.UpdatedAt = w.nowFunc().UnixNano()
	w.publishStatus()
}

func (w *Writer) publishStatus() {
	var s [7]uint64
	w.status.encode(&s)
	w.v.writeRegion(w.v.g.statusOff, &s)
}

func (w *Writer) publishConfig() {
	var s [7]uint64
	w.config.encode(&s)
	w.v.writeRegion(w.v.g.configOff, &s)
}

// SetStatus publishes the daemon's health and a detail code.
func (w *Writer) SetStatus(h Health, code uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.status.Health, w.status.Code = h, code
	w.status.UpdatedAt = w.nowFunc().UnixNano()
	w.publishStatus()
	return nil
}

// SetConfig publishes c in the config region; its Serial is set by the
// writer (one more than the last).
func (w *Writer) SetConfig(c *Config) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	serial := w.config.Serial + 1
	w.config = *c
	w.config.Serial = serial
	w.publishConfig()
	return nil
}

// KeyInfo is a key's place in the map, without its bytes.
type KeyInfo struct {
	ID, Consumer uint64
	Port         uint16
	Dir          Dir
	State        State
}

// Keys returns the id, binding and state of every key in the map (for a
// caller that must find keys it published and lost track of, e.g. after a
// crash). It reads no key bytes out.
func (w *Writer) Keys() []KeyInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]KeyInfo, 0, len(w.slotOf))
	var k Key
	for id, s := range w.slotOf {
		w.readSlot(s, &k)
		out = append(out, KeyInfo{ID: id, Consumer: k.Consumer, Port: k.Port, Dir: k.Dir, State: k.State})
	}
	k.Zero()
	return out
}

// Generation returns the generation this writer published at start.
func (w *Writer) Generation() uint64 { return w.gen }

// Path returns the file path.
func (w *Writer) Path() string { return w.path }

func (w *Writer) heartbeatLoop(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.v.store(hdrHeartbeat, uint64(now.UnixNano()))
		}
	}
}

// Close marks the status stopped, unmaps the file and releases the lock. The
// file and its keys stay for readers and for the next start; Retire keys
// first to remove them.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.status.Health = HealthStopped
	w.publishStatus()
	w.closed = true
	w.mu.Unlock()
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	return w.release()
}

func (w *Writer) release() error {
	var err error
	if w.data != nil {
		err = unix.Munmap(w.data)
		w.data = nil
	}
	if w.fd >= 0 {
		unix.Close(w.fd) // drops the liveness lock
		w.fd = -1
	}
	if w.lockfd >= 0 {
		unix.Close(w.lockfd) // drops the writers' lock
		w.lockfd = -1
	}
	return err
}

type nopPersister struct{}

func (nopPersister) Load(func(*Key) error) error { return nil }
func (nopPersister) Save(...*Key) error          { return nil }
func (nopPersister) Delete(uint64) error         { return nil }
func (nopPersister) Generation() (uint64, error) { return 0, nil }
func (nopPersister) SetGeneration(uint64) error  { return nil }
