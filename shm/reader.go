package shm

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readTries bounds every read loop. A try fails only when the writer lapped
// this reader (finished one copy and started the other while the reader
// copied), so a handful of tries is plenty; the bound is what guarantees a
// read never hangs.
const readTries = 64

// Reader reads a key store file that a Writer (usually in another process)
// publishes. Its read methods are safe for concurrent use by any number of
// goroutines, never block, never allocate and never return a half-written
// key: they fill the caller's struct from a consistent copy or return an
// error, after a bounded number of retries. Close must not run concurrently
// with reads.
type Reader struct {
	v     view
	data  []byte // the read-only mapping; nil for heap views in tests
	fd    int
	path  string
	alive func() bool // writer liveness probe
}

// Open maps the key store at path read-only and validates its header.
// A file that is not layout v2, is not a regular file, is truncated or has a corrupt header gives an
// error that unwraps to ErrIncompatible and names the field.
//
// Open never blocks: a FIFO or device at the path is refused, not waited on.
func Open(path string) (*Reader, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	r, err := openFD(fd, path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return r, nil
}

func openFD(fd int, path string) (*Reader, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %w", path, incompatible("file type", describe(&st), "a regular file"))
	}
	hdr := make([]byte, headerSize)
	n, err := unix.Pread(fd, hdr, 0)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	g, err := parseHeader(hdr[:n], st.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := unix.Mmap(fd, 0, g.fileSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: path, Err: err}
	}
	// Keep key bytes out of core dumps of the plugin (best effort).
	_ = unix.Madvise(data, unix.MADV_DONTDUMP)
	r := &Reader{v: view{base: unsafe.Pointer(&data[0]), g: g}, data: data, fd: fd, path: path}
	r.alive = r.probeWriter
	return r, nil
}

// Close unmaps the file. Reads must not be in progress or follow.
func (r *Reader) Close() error {
	if r.data == nil {
		return ErrClosed
	}
	err := unix.Munmap(r.data)
	r.data = nil
	r.v.base = nil
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
	return err
}

// Slots returns the number of key slots in the file.
func (r *Reader) Slots() int { return r.v.g.slots }

// WriterAlive tests the writer's liveness lock: a live writer holds an
// open-file-description write lock on bytes 0..7 of the map, which the
// kernel drops when the process dies. The test is F_OFD_GETLK, which only
// asks and never takes a lock, so no reader can keep a writer from
// starting. If the kernel cannot answer (no OFD locks), the writer is
// assumed alive.
func (r *Reader) WriterAlive() bool { return r.alive() }

func (r *Reader) probeWriter() bool {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: liveOff, Len: liveLen}
	if err := unix.FcntlFlock(uintptr(r.fd), unix.F_OFD_GETLK, &lk); err != nil {
		return true
	}
	return lk.Type == unix.F_WRLCK
}

// fail turns a failed lookup into its error: ErrWriterGone when the writer is
// dead, else err. It zeroes k so a caller never keeps a stale key.
func (r *Reader) fail(k *Key, err error) error {
	if k != nil {
		k.Zero()
	}
	if !r.alive() {
		return ErrWriterGone
	}
	return err
}

// ActiveKey fills k with the active key of (port, dir). O(1): one load from
// the active map and one slot copy, checked to still be the active key of
// (port, dir) (else the writer moved on in between and it tries again).
func (r *Reader) ActiveKey(port uint16, dir Dir, k *Key) error {
	// Fast path: the first try on copy 0, written out with no call in it so
	// that nothing is spilled; everything else is activeKeySlow.
	if dir <= DirBtoA {
		s := atomic.LoadUint64(r.v.word(r.v.activeOff(activeIndexKey(port, dir))))
		if s-1 < uint64(r.v.g.slots) { // s != 0 and names a slot
			c, w := &r.v.slot(int(s - 1))[0], keyWords(k)
			if q := atomic.LoadUint64(&c[0]); q&1 == 0 {
				w[0] = atomic.LoadUint64(&c[1])
				w[1] = atomic.LoadUint64(&c[2])
				w[2] = atomic.LoadUint64(&c[3])
				w[3] = atomic.LoadUint64(&c[4])
				w[4] = atomic.LoadUint64(&c[5])
				w[5] = atomic.LoadUint64(&c[6])
				w[6] = atomic.LoadUint64(&c[7])
				w[7] = atomic.LoadUint64(&c[8])
				w[8] = atomic.LoadUint64(&c[9])
				w[9] = atomic.LoadUint64(&c[10])
				w[10] = atomic.LoadUint64(&c[11])
				w[11] = atomic.LoadUint64(&c[12])
				w[12] = atomic.LoadUint64(&c[13])
				w[13] = atomic.LoadUint64(&c[14])
				w[14] = atomic.LoadUint64(&c[15])
				if atomic.LoadUint64(&c[0]) == q && w[1]&activeMask == activeWant(port, dir) && w.ok() {
					return nil
				}
			}
		}
	}
	return r.activeKeySlow(port, dir, k)
}

// Record word 1 holds port, direction and state: one masked compare checks
// all three.
const activeMask = 0xff<<32 | 0xff<<16 | 0xffff

func activeWant(port uint16, dir Dir) uint64 {
	return uint64(port) | uint64(dir)<<16 | uint64(StateActive)<<32
}

func (r *Reader) activeKeySlow(port uint16, dir Dir, k *Key) error {
	if dir > DirBtoA {
		return r.fail(k, ErrNotFound)
	}
	e := r.v.word(r.v.activeOff(activeIndexKey(port, dir)))
	want := activeWant(port, dir)
	bad := false
	for try := 0; try < readTries; try++ {
		s := atomic.LoadUint64(e)
		if s == 0 {
			return r.fail(k, ErrNotFound)
		}
		if s > uint64(r.v.g.slots) {
			continue
		}
		switch r.v.readSlot(int(s-1), k) {
		case copyOK:
			if keyWords(k)[1]&activeMask == want {
				return nil
			}
		case copyBad:
			bad = true
		}
	}
	return r.failTries(k, bad)
}

// failTries ends a lookup whose bounded tries found no good copy: a record
// that was stable but failed its check (bad) is damage, ErrChecksum;
// otherwise the writer kept lapping the reader, ErrBusy (or ErrWriterGone).
// k is zeroed either way: a bad record is never returned.
func (r *Reader) failTries(k *Key, bad bool) error {
	if bad {
		if k != nil {
			k.Zero()
		}
		return ErrChecksum
	}
	return r.fail(k, ErrBusy)
}

// KeyByID fills k with the live key whose id is id.
func (r *Reader) KeyByID(id uint64, k *Key) error {
	if id == 0 {
		return r.fail(k, ErrNotFound)
	}
	bad := false
	for try := 0; try < readTries; try++ {
		switch r.find(tblID, id, k) {
		case findNone:
			return r.fail(k, ErrNotFound)
		case findBad:
			bad = true
		case findOK:
			if k.ID == id && k.State != StateEmpty {
				return nil
			}
		}
	}
	return r.failTries(k, bad)
}

// Bound fills k with the key bound to consumer.
func (r *Reader) Bound(consumer uint64, k *Key) error {
	if consumer == 0 {
		return r.fail(k, ErrNotFound)
	}
	bad := false
	for try := 0; try < readTries; try++ {
		switch r.find(tblBinding, consumer, k) {
		case findNone:
			return r.fail(k, ErrNotFound)
		case findBad:
			bad = true
		case findOK:
			if k.Consumer == consumer && k.State != StateEmpty {
				return nil
			}
		}
	}
	return r.failTries(k, bad)
}

// Slot fills k with slot i as it is (for plugins that scan all keys).
// An empty slot is ErrNotFound.
func (r *Reader) Slot(i int, k *Key) error {
	if i < 0 || i >= r.v.g.slots {
		return r.fail(k, ErrNotFound)
	}
	bad := false
	for try := 0; try < readTries; try++ {
		switch r.v.readSlot(i, k) {
		case copyOK:
			if k.State == StateEmpty {
				return r.fail(k, ErrNotFound)
			}
			return nil
		case copyBad:
			bad = true
		}
	}
	return r.failTries(k, bad)
}

type findResult int

const (
	findRetry findResult = iota
	findNone
	findOK
	findBad // the slot named was stable but failed its record check
)

// find does one try: an index lookup and a copy of the slot it names. The
// caller checks that the slot still holds what it asked for (the writer may
// have moved on between the two reads).
func (r *Reader) find(tbl int, key uint64, k *Key) findResult {
	slot, found, ok := r.v.lookup(tbl, key)
	if !ok {
		return findRetry
	}
	if !found {
		return findNone
	}
	if slot >= uint64(r.v.g.slots) {
		return findRetry
	}
	switch r.v.readSlot(int(slot), k) {
	case copyOK:
		return findOK
	case copyBad:
		return findBad
	}
	return findRetry
}

// Status fills s from the status region.
func (r *Reader) Status(s *Status) error {
	var w [7]uint64
	for try := 0; try < readTries; try++ {
		if r.v.readRegion(r.v.g.statusOff, &w) {
			s.decode(&w)
			return nil
		}
	}
	return r.fail(nil, ErrBusy)
}

// Config fills c from the config region.
func (r *Reader) Config(c *Config) error {
	var w [7]uint64
	for try := 0; try < readTries; try++ {
		if r.v.readRegion(r.v.g.configOff, &w) {
			c.decode(&w)
			return nil
		}
	}
	return r.fail(nil, ErrBusy)
}

// Generation returns the header's generation word (bumped on every writer
// start) and Heartbeat its heartbeat (unix ns, refreshed by a live writer).
func (r *Reader) Generation() uint64 { return r.v.load(hdrGeneration) }

// Heartbeat returns the unix ns the writer last refreshed the header.
func (r *Reader) Heartbeat() int64 { return int64(r.v.load(hdrHeartbeat)) }

// WriterPID returns the pid recorded by the writer that last started.
func (r *Reader) WriterPID() uint64 { return r.v.load(hdrWriterPID) }
