package shm

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The host tests: another local user, a plugin, a full or damaged file.
// They run the attacks for real: a second uid (a child process started
// with other credentials), locks held by another process, a small tmpfs.
// Those that need root skip without it.

// childRoles are the child processes of these tests (see TestMain).
var childRoles = map[string]func() int{
	"attacker-create": attackerCreateChild,
	"attacker-read":   attackerReadChild,
	"plugin-hold":     pluginHoldChild,
	"lockholder":      lockHolderChild,
	"holdwriter":      holdWriterChild,
}

// Throwaway ids for the other users (no /etc/passwd entry needed).
const (
	attackerUID = 60721
	pluginUID   = 60722
	pluginGID   = 60723
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a child process as another uid (a second local user)")
	}
}

// devShmPath returns a fresh path in /dev/shm (the world-writable sticky
// directory the attack uses) and removes it, its lock file and any
// temporary beside it at cleanup.
func devShmPath(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		t.Skip("no /dev/shm")
	}
	var b [6]byte
	rand.Read(b[:])
	name := fmt.Sprintf("otkd-test-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		for _, pat := range []string{"/dev/shm/" + name + "*", "/dev/shm/." + name + ".*"} {
			m, _ := filepath.Glob(pat)
			for _, p := range m {
				os.Remove(p)
			}
		}
	})
	return "/dev/shm/" + name
}

// exeForOthers copies the test binary where another uid can run it.
func exeForOthers(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "otkd-shm-exe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "shm.test")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return exe
}

// childAs returns a command running role in exe as uid/gid (and groups).
func childAs(exe string, uid, gid uint32, groups []uint32, role string, env ...string) *exec.Cmd {
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), append([]string{"OTKD_SHM_ROLE=" + role}, env...)...)
	if groups == nil {
		groups = []uint32{}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}}
	return cmd
}

func runChild(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %v: %v\n%s", cmd.Env[len(cmd.Env)-1], err, errb.String())
	}
	return out.String()
}

// storeWith returns a file persister holding n active keys (ports 1..n)
// at generation gen, and the keys' fingerprints.
func storeWith(t *testing.T, n int, gen uint64) (*filePersister, map[string]bool) {
	t.Helper()
	p := &filePersister{path: filepath.Join(t.TempDir(), "store")}
	if err := p.SetGeneration(gen); err != nil {
		t.Fatal(err)
	}
	fps := map[string]bool{}
	for i := 1; i <= n; i++ {
		k := testKey(uint64(i), uint16(i), DirAtoB, StateActive, 32, byte(0x40*i))
		k.Serial = uint64(i)
		if err := p.Save(k); err != nil {
			t.Fatal(err)
		}
		f := k.Fingerprint()
		fps[hex.EncodeToString(f[:])] = true
	}
	return p, fps
}

// attackerCreateChild (another uid) makes a valid-looking map at
// OTKD_SHM_PATH, mode 0666, with a generation far above any store's.
func attackerCreateChild() int {
	path := os.Getenv("OTKD_SHM_PATH")
	slots, _ := strconv.Atoi(os.Getenv("OTKD_SHM_SLOTS"))
	g := newGeometry(slots)
	b := make([]byte, g.fileSize)
	g.encodeHeader(b, time.Now().UnixNano())
	binary.LittleEndian.PutUint64(b[hdrGeneration:], 1<<40)
	if err := os.WriteFile(path, b, 0o666); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Chmod(path, 0o666); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// readReport is what a child could read from a map.
type readReport struct {
	OpenError    string
	Fingerprints []string
}

func scanKeys(r *Reader) []string {
	var out []string
	var k Key
	for i := range r.Slots() {
		if r.Slot(i, &k) == nil {
			f := k.Fingerprint()
			out = append(out, hex.EncodeToString(f[:]))
		}
	}
	k.Zero()
	return out
}

// attackerReadChild (another uid) reads every key it can from
// OTKD_SHM_PATH and prints their fingerprints.
func attackerReadChild() int {
	var rep readReport
	r, err := Open(os.Getenv("OTKD_SHM_PATH"))
	if err != nil {
		rep.OpenError = err.Error()
	} else {
		rep.Fingerprints = scanKeys(r)
		r.Close()
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

func leaked(t *testing.T, out string, fps map[string]bool) (n int, rep readReport) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	for _, f := range rep.Fingerprints {
		if fps[f] {
			n++
		}
	}
	return n, rep
}

// TestForeignMapRefused is the attack of a second local user: they create
// a valid-looking map at the path in /dev/shm, mode 0666, with a
// generation above the store's, before otkd starts. The writer must not
// publish into it (it refuses it, naming the file, its owner and mode, and
// what to do), and the other user must be able to read none of the keys.
func TestForeignMapRefused(t *testing.T) {
	requireRoot(t)
	path := devShmPath(t)
	exe := exeForOthers(t)
	runChild(t, childAs(exe, attackerUID, attackerUID, nil, "attacker-create", "OTKD_SHM_PATH="+path, "OTKD_SHM_SLOTS=16"))
	p, fps := storeWith(t, 4, 5)

	w, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1}, p)
	if err == nil {
		defer w.Close()
		t.Errorf("the writer published into a map another user made (generation %d)", w.Generation())
	} else {
		var ue *UntrustedError
		if !errors.Is(err, ErrUntrusted) || !errors.As(err, &ue) {
			t.Errorf("got %v, want an *UntrustedError", err)
		}
		for _, s := range []string{path, fmt.Sprintf("uid %d", attackerUID), "mode 0666", "rm " + path} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %q", err, s)
			}
		}
		t.Log(err)
	}
	n, rep := leaked(t, runChild(t, childAs(exe, attackerUID, attackerUID, nil, "attacker-read", "OTKD_SHM_PATH="+path)), fps)
	if n != 0 {
		t.Errorf("the other user read %d of %d keys from the map", n, len(fps))
	}
	t.Logf("the other user read %d of %d keys (%d records, open error %q)", n, len(fps), len(rep.Fingerprints), rep.OpenError)
	if g, _ := p.Generation(); g != 5 {
		t.Errorf("store generation %d after a refused start, want 5 (untouched)", g)
	}

	// A symbolic link at the path is refused too, never followed.
	os.Remove(path)
	target := path + "-target"
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if w, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1}, nil); err == nil {
		w.Close()
		t.Error("the writer followed a symbolic link at the path")
	} else if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symbolic link: %v", err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Size() != 0 {
		t.Errorf("the link's target was written: %v %v", fi, err)
	}
}

// pluginHoldChild (a plugin's uid in the map's group) opens the map,
// counts the keys, then, on each line on stdin, counts again through the
// same mapping and tries to open the path anew.
func pluginHoldChild() int {
	path := os.Getenv("OTKD_SHM_PATH")
	out := json.NewEncoder(os.Stdout)
	r, err := Open(path)
	if err != nil {
		out.Encode(readReport{OpenError: err.Error()})
		return 0
	}
	out.Encode(readReport{Fingerprints: scanKeys(r)})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var rep readReport
		rep.Fingerprints = scanKeys(r) // the mapping opened while the group could read
		if r2, err := Open(path); err != nil {
			rep.OpenError = err.Error()
		} else {
			rep.Fingerprints = append(rep.Fingerprints, scanKeys(r2)...)
			r2.Close()
		}
		out.Encode(rep)
	}
	return 0
}

// TestGroupRemovedRevokesAccess: a plugin in [shm] group opens the map;
// the group is then removed from the configuration and the daemon
// restarted. The plugin must read no key any more: not by opening the
// path again, not through the mapping it kept.
func TestGroupRemovedRevokesAccess(t *testing.T) {
	requireRoot(t)
	path := devShmPath(t)
	exe := exeForOthers(t)
	p, fps := storeWith(t, 4, 1)
	w, err := Create(Options{Path: path, Slots: 16, Group: strconv.Itoa(pluginGID), Heartbeat: -1}, p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := childAs(exe, pluginUID, pluginUID, []uint32{pluginGID}, "plugin-hold", "OTKD_SHM_PATH="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	next := func() string {
		if !lines.Scan() {
			t.Fatal("plugin child ended early")
		}
		return lines.Text()
	}
	if n, rep := leaked(t, next(), fps); n != len(fps) {
		t.Fatalf("the plugin in the group read %d of %d keys (%+v): the test setup is wrong", n, len(fps), rep)
	}
	w.Close()

	// Restart without the group.
	var logs bytes.Buffer
	w, err = Create(Options{Path: path, Slots: 16, Heartbeat: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Gid != uint32(os.Getegid()) || st.Mode&0o7777 != 0o640 {
		t.Errorf("map after the restart: gid %d mode %04o (%v), want gid %d 0640", st.Gid, st.Mode&0o7777, err, os.Getegid())
	}
	fmt.Fprintln(stdin, "again")
	n, rep := leaked(t, next(), fps)
	if n != 0 {
		t.Errorf("after the group was removed the plugin still read %d of %d keys (%+v)", n, len(fps), rep)
	}
	t.Logf("after the group was removed: %d of %d keys readable; reopen: %s; log: %s", n, len(fps), rep.OpenError, strings.TrimSpace(logs.String()))
}

// TestFullShmFailsCleanly: on a file system too small for the map the
// writer fails with ENOSPC naming the file and the size, leaves no
// half-made file behind, and never faults (the map used to be sparse: the
// first write to a page with no room was a SIGBUS).
func TestFullShmFailsCleanly(t *testing.T) {
	requireRoot(t)
	mnt := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("otkd-test", mnt, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=256k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	path := filepath.Join(mnt, "keys.shm")
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	create := func(slots int) (w *Writer, err error) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Create with %d slots on a 256 KiB tmpfs faulted: %v", slots, r)
			}
		}()
		return Create(Options{Path: path, Slots: slots, Heartbeat: -1}, nil)
	}
	for _, slots := range []int{1024, 64} {
		w, err := create(slots)
		if err == nil {
			w.Close()
			t.Fatalf("%d slots: a %d-byte map fitted in a 256 KiB tmpfs", slots, newGeometry(slots).fileSize)
		}
		var ne *NoSpaceError
		if !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &ne) || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), strconv.Itoa(newGeometry(slots).fileSize)) {
			t.Fatalf("%d slots: %v, want ENOSPC naming %s and %d bytes", slots, err, path, newGeometry(slots).fileSize)
		}
		t.Log(err)
	}
	ents, _ := os.ReadDir(mnt)
	for _, e := range ents {
		if e.Name() != "keys.shm.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// With room, the space is really allocated.
	if err := unix.Mount("otkd-test", mnt, "tmpfs", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV, "size=4m"); err != nil {
		t.Fatal(err)
	}
	w, err := create(64)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Blocks*512 < int64(newGeometry(64).fileSize) {
		t.Fatalf("map of %d bytes has %d bytes allocated (%v)", newGeometry(64).fileSize, st.Blocks*512, err)
	}
}

// lockHolderChild (a plugin) opens the map read-only and takes every lock
// a reader can take on it: a shared flock, an OFD read lock and a POSIX
// read lock on the whole file. It holds them until stdin closes.
func lockHolderChild() int {
	fd, err := unix.Open(os.Getenv("OTKD_SHM_PATH"), unix.O_RDONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB); err != nil {
		fmt.Fprintln(os.Stderr, "flock:", err)
		return 1
	}
	for _, cmd := range []int{unix.F_OFD_SETLK, unix.F_SETLK} {
		lk := unix.Flock_t{Type: unix.F_RDLCK}
		if err := unix.FcntlFlock(uintptr(fd), cmd, &lk); err != nil {
			fmt.Fprintln(os.Stderr, "fcntl:", err)
			return 1
		}
	}
	fmt.Printf("held %d\n", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// holdWriterChild runs a writer on OTKD_SHM_PATH until stdin closes.
func holdWriterChild() int {
	w, err := Create(Options{Path: os.Getenv("OTKD_SHM_PATH"), Slots: 16, Heartbeat: -1}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("writing %d\n", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	w.Close()
	return 0
}

// startHolder starts role on path and waits for its first line; the child
// ends when the test does.
func startHolder(t *testing.T, role, path string) (pid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OTKD_SHM_ROLE="+role, "OTKD_SHM_PATH="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatalf("%s child: %v\n%s", role, err, errb.String())
	}
	return cmd.Process.Pid
}

// TestReaderLockDoesNotBlockWriter: a plugin holds every lock a reader can
// take on the map while the daemon restarts. The writer must start anyway
// (naming the plugin's pid in its log), and readers must see it alive.
func TestReaderLockDoesNotBlockWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	p, _ := storeWith(t, 2, 1)
	w, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1}, p)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	pid := startHolder(t, "lockholder", path)

	var logs bytes.Buffer
	w, err = Create(Options{Path: path, Slots: 16, Heartbeat: -1, LockWait: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, p)
	if err != nil {
		t.Fatalf("a reader's locks kept the writer from starting: %v", err)
	}
	defer w.Close()
	if !strings.Contains(logs.String(), fmt.Sprintf("pid %d", pid)) {
		t.Errorf("log does not name the reader holding the lock (pid %d): %s", pid, logs.String())
	}
	t.Log(strings.TrimSpace(logs.String()))
	r := openReader(t, path)
	var k Key
	if !r.WriterAlive() || r.ActiveKey(1, DirAtoB, &k) != nil || k.ID != 1 {
		t.Fatalf("after the restart: alive %v, key %v", r.WriterAlive(), k)
	}
	// A reader's probe takes no lock: the writer of a restart after this
	// one never finds one of this process's.
	for range 100 {
		r.WriterAlive()
	}
	var st unix.Stat_t
	unix.Stat(path, &st)
	for _, h := range lockHolders(&st) {
		if h == os.Getpid() {
			// This process holds the writer's own lock, which is expected:
			// check that it is the only lock on the file.
			continue
		}
		t.Errorf("pid %d holds a lock on the new map", h)
	}
}

// TestSecondWriterNamesHolder: a second writer is refused with the pid of
// the process that really holds the writers' lock.
func TestSecondWriterNamesHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	pid := startHolder(t, "holdwriter", path)
	_, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1, LockWait: 20 * time.Millisecond}, nil)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID != uint64(pid) || !strings.Contains(err.Error(), strconv.Itoa(pid)) {
		t.Fatalf("second writer: %v, want ErrLocked naming pid %d", err, pid)
	}
	t.Log(err)
}

// TestRecordSumIsCRC64: the word-wise checksum is hash/crc64 (ECMA) over
// the record's little-endian bytes.
func TestRecordSumIsCRC64(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for i := 0; i < 1000; i++ {
		var r record
		var b [8 * recSum]byte
		for j := range recSum {
			r[j] = rng.Uint64() >> uint(rng.IntN(64))
			binary.LittleEndian.PutUint64(b[8*j:], r[j])
		}
		if got, want := r.sum(), crc64.Checksum(b[:], crc64.MakeTable(crc64.ECMA)); got != want {
			t.Fatalf("record %x: sum %016x, crc64 %016x", r, got, want)
		}
	}
}

// scribbler maps a store file read-write, as a local user with write
// access (or a stray pointer) would.
func scribbler(t *testing.T, path string, g geometry) []byte {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	b, err := unix.Mmap(fd, 0, g.fileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

// TestCorruptRecordNeverReturned damages key records in the map (length
// byte 200, length 0, flipped key bytes, a flipped consumer id) and reads
// them through every lookup, from Go and from the C reader: a damaged
// record is never returned (ErrChecksum, the caller's key zeroed) and
// nothing panics; a record damaged in one copy only is read from the other.
func TestCorruptRecordNeverReturned(t *testing.T) {
	w, path := newFileWriter(t, 16, nil)
	k1 := patternKey(1, 1, DirAtoB, StateActive)
	k1.Consumer = 7
	if err := w.Put(k1); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(patternKey(2, 2, DirAtoB, StateActive)); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, path)
	m := scribbler(t, path, r.v.g)
	slot := slotOfID(t, r, 1)
	cbin := ""
	if _, err := exec.LookPath("gcc"); err == nil {
		cbin = buildCReader(t)
	}
	orig := bytes.Clone(m[r.v.g.slotsOff+slot*slotSize:][:slotSize])
	for _, c := range []struct {
		name   string
		off    int // byte offset in the copy
		val    byte
		copies []int
	}{
		{"length 200", 8 + 14, 200, []int{0, 1}},
		{"length 0", 8 + 14, 0, []int{0, 1}},
		{"key byte", 8 + 48 + 3, 0x5a, []int{0, 1}},
		{"consumer", 8 + 32, 8, []int{0, 1}},
		{"copy 0 only", 8 + 14, 200, []int{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := r.v.g.slotsOff + slot*slotSize
			for _, cp := range c.copies {
				m[base+cp*copySize+c.off] = c.val
			}
			defer copy(m[base:base+slotSize], orig)
			var k Key
			for name, read := range map[string]func() error{
				"ActiveKey": func() error { return r.ActiveKey(1, DirAtoB, &k) },
				"KeyByID":   func() error { return r.KeyByID(1, &k) },
				"Bound":     func() error { return r.Bound(7, &k) },
				"Slot":      func() error { return r.Slot(slot, &k) },
			} {
				k = Key{Len: 99, ID: 99}
				err := read()
				if len(c.copies) == 1 {
					if err != nil || !intact(&k) || k.ID != 1 {
						t.Errorf("%s, copy 1 intact: %v %v, want the key from copy 1", name, k, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s returned a damaged record as valid: %v (len %d)", name, k, k.Len)
					continue
				}
				if !errors.Is(err, ErrChecksum) || k != (Key{}) {
					t.Errorf("%s: %v, key %v; want ErrChecksum and a zeroed key", name, err, k)
				}
			}
			if cbin == "" {
				return
			}
			out, err := exec.Command(cbin, "dump", path, "3").CombinedOutput()
			if err != nil {
				t.Fatalf("C reader: %v\n%s", err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if !strings.HasPrefix(l, "active 1/0 ") && !strings.HasPrefix(l, "id 1 ") && !strings.HasPrefix(l, "bound 7 ") &&
					!strings.HasPrefix(l, fmt.Sprintf("slot %d ", slot)) {
					continue
				}
				if len(c.copies) == 1 {
					if !strings.Contains(l, " id=1 ") || !strings.Contains(l, " verify=1 ") {
						t.Errorf("C reader, copy 1 intact: %q", l)
					}
				} else if !strings.HasSuffix(l, " err key record damaged (bad length or checksum)") {
					t.Errorf("C reader returned a damaged record: %q", l)
				}
			}
		})
	}
	var k Key
	if err := r.ActiveKey(1, DirAtoB, &k); err != nil || !intact(&k) {
		t.Fatalf("restored record: %v %v", k, err)
	}
}
