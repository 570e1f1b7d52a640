package shm

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The files of a key store and how the writer opens them.
//
// A map usually lives in /dev/shm, a directory every local user may write
// (mode 1777). Whoever creates the file owns it, so a file found at the path
// is not necessarily the daemon's: another user may have made it, readable
// and writable by all, to read every key published in it. The writer
// therefore opens the directory once and works relative to it (openat,
// renameat), never follows a symbolic link at the path (O_NOFOLLOW), and
// publishes only into a file that it created itself or that is owned by its
// own uid with exactly the mode and group it would give it:
//
//   - a file owned by another uid (root included, when the writer is not
//     root), or anything but a regular file, is refused (*UntrustedError):
//     in a sticky directory a writer that is not root cannot replace it, and
//     root should not guess why it is there;
//   - a file of its own uid with another group or mode, more than one link,
//     or a lock held on it by a reader, is replaced: a new file is made under
//     a random temporary name with O_EXCL, initialised, and renamed over the
//     path, and the old file's contents are zeroed. Changing the mode or
//     group of the old file in place would not be enough: a process that
//     opened or mapped it while it was readable keeps its access.
//
// Writers exclude each other with an exclusive flock on a lock file beside
// the map (path + ".lock", mode 0600, the same ownership rules): readers
// cannot open it, so no reader can ever keep a writer from starting. A live
// writer also holds an open-file-description (OFD) write lock on bytes
// 0..7 of the map; readers test for it with F_OFD_GETLK, which never takes
// a lock (docs/shm.md, "Writer and readers").

// lockSuffix names the writers' lock file: the map's path plus this.
const lockSuffix = ".lock"

// Liveness lock: the byte range of the map a live writer holds an OFD write
// lock on. Readers test it with F_OFD_GETLK and a read lock request.
const (
	liveOff = 0
	liveLen = 8
)

// maxScrub bounds how many bytes of a replaced map the writer zeroes (the
// largest layout-v2 map is about 18 MiB).
const maxScrub = 64 << 20

// UntrustedError reports a file or directory the writer will not use for a
// key store, and what the operator can do. It unwraps to ErrUntrusted.
type UntrustedError struct {
	Path   string // the file or directory refused
	What   string // "map", "lock file" or "directory"
	Reason string // what is wrong, e.g. "owned by uid 1001 (mallory), mode 0666"
	Remedy string // what to do about it
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("shm: refusing %s %s: %s; %s", e.What, e.Path, e.Reason, e.Remedy)
}

// Unwrap returns ErrUntrusted.
func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// NoSpaceError reports that the file system holding the map has no room for
// it. It unwraps to unix.ENOSPC (and so matches syscall.ENOSPC).
type NoSpaceError struct {
	Path  string
	Size  int64 // bytes the map needs
	Slots int
	Err   error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("shm: %s: no space for the %d-byte map of %d slots in %s (%v): free space there, mount it larger, or lower [shm] slots",
		e.Path, e.Size, e.Slots, filepath.Dir(e.Path), e.Err)
}

// Unwrap returns the system error (ENOSPC).
func (e *NoSpaceError) Unwrap() error { return e.Err }

// userName describes uid for an error message.
func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return fmt.Sprintf("uid %d (%s)", uid, u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return fmt.Sprintf("gid %d (%s)", gid, g.Name)
	}
	return fmt.Sprintf("gid %d", gid)
}

// describe renders a file's type, owner, group and mode.
func describe(st *unix.Stat_t) string {
	kind := ""
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		kind = "a directory, "
	case unix.S_IFLNK:
		kind = "a symbolic link, "
	case unix.S_IFIFO:
		kind = "a FIFO, "
	case unix.S_IFSOCK:
		kind = "a socket, "
	default:
		kind = "a device, "
	}
	return fmt.Sprintf("%sowned by %s, group %s, mode %04o", kind, userName(st.Uid), groupName(st.Gid), st.Mode&0o7777)
}

// openDir opens the directory of path and checks that nobody but root and
// the writer's uid can replace files in it.
func openDir(path string) (dirfd int, base string, err error) {
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if base == "" || base == "." || base == ".." || base == "/" {
		return -1, "", invalid("Options.Path %q names no file", path)
	}
	dirfd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", &os.PathError{Op: "open directory", Path: dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(dirfd, &st); err != nil {
		unix.Close(dirfd)
		return -1, "", &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	euid := uint32(os.Geteuid())
	switch {
	case st.Uid != 0 && st.Uid != euid:
		err = &UntrustedError{Path: dir, What: "directory", Reason: describe(&st) + ": that user can replace the map readers open",
			Remedy: "put the map in a directory owned by root or by otkd's user"}
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		err = &UntrustedError{Path: dir, What: "directory", Reason: describe(&st) + ": writable by group or others without the sticky bit, so anyone who can write it can replace the map",
			Remedy: "chmod g-w,o-w (or +t) the directory, or put the map elsewhere"}
	}
	if err != nil {
		unix.Close(dirfd)
		return -1, "", err
	}
	return dirfd, base, nil
}

// refuseExisting explains why name (in dirfd) cannot be opened or used.
func refuseExisting(dirfd int, name, path, what string, openErr error) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "open", Path: path, Err: openErr}
	}
	reason := describe(&st)
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		buf := make([]byte, 256)
		if n, err := unix.Readlinkat(dirfd, name, buf); err == nil {
			reason += fmt.Sprintf(", pointing to %q", buf[:n])
		}
		reason += ": otkd never follows a link for its key store"
	} else if openErr != nil {
		reason += fmt.Sprintf(" (%v)", openErr)
	}
	return &UntrustedError{Path: path, What: what, Reason: reason,
		Remedy: fmt.Sprintf("find out who made it, remove it (rm %s) and start otkd again", path)}
}

// judgeMap decides what to do with the existing map described by st: ""
// to use it (after the header checks), a reason to replace it, or an error
// to refuse it.
func judgeMap(st *unix.Stat_t, path string, gid int) (replace string, err error) {
	euid := uint32(os.Geteuid())
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != euid:
		reason := describe(st)
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			reason += fmt.Sprintf(", not by this process's %s: another user made it and could read or change every key published in it", userName(euid))
		}
		return "", &UntrustedError{Path: path, What: "map", Reason: reason,
			Remedy: fmt.Sprintf("find out who made it, remove it (rm %s) and start otkd again", path)}
	case st.Nlink != 1:
		return fmt.Sprintf("it has %d hard links", st.Nlink), nil
	case st.Mode&0o7777 != mapMode:
		return fmt.Sprintf("mode %04o, want %04o", st.Mode&0o7777, mapMode), nil
	case st.Gid != uint32(gid):
		return fmt.Sprintf("group %s, configured %s", groupName(st.Gid), groupName(uint32(gid))), nil
	}
	return "", nil
}

// mapMode is the mode of every map: owner read-write, group read.
const mapMode = 0o640

// lockWriter opens (creating) the writers' lock file beside the map and
// takes its exclusive flock, retrying for wait. The returned descriptor
// holds the lock until it is closed.
func lockWriter(dirfd int, base, path string, wait time.Duration) (int, error) {
	name := base + lockSuffix
	lpath := path + lockSuffix
	fd, err := unix.Openat(dirfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0o600)
	if err != nil {
		if err == unix.ELOOP || err == unix.EACCES || err == unix.EPERM || err == unix.ENXIO {
			return -1, refuseExisting(dirfd, name, lpath, "lock file", err)
		}
		return -1, &os.PathError{Op: "open", Path: lpath, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "fstat", Path: lpath, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1, &UntrustedError{Path: lpath, What: "lock file", Reason: describe(&st) + fmt.Sprintf(", want a regular file of %s with mode 0600", userName(uint32(os.Geteuid()))),
			Remedy: fmt.Sprintf("find out who made it, remove it (rm %s) and start otkd again", lpath)}
	}
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return fd, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			unix.Close(fd)
			return -1, &os.PathError{Op: "flock", Path: lpath, Err: err}
		}
		if time.Now().After(deadline) {
			pids := lockHolders(&st)
			unix.Close(fd)
			le := &LockedError{Path: lpath}
			if len(pids) > 0 {
				le.PID = uint64(pids[0])
			}
			return -1, le
		}
		time.Sleep(time.Millisecond)
	}
}

// ofdLock takes (typ F_WRLCK) or tests (get) the liveness range of fd.
func ofdLock(fd int, typ int16) error {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: liveOff, Len: liveLen}
	return unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
}

// lockHolders returns the pids of the processes holding any lock on the
// file st describes, as far as this process can see them: /proc/locks gives
// the pid of flock and POSIX locks; open file description (OFD) locks show
// pid -1 there, so their holders are found by their descriptors'
// /proc/PID/fdinfo "lock:" lines. Only the failure paths call it.
func lockHolders(st *unix.Stat_t) []int {
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	var pids []int
	seen := map[int]bool{}
	add := func(pid int) {
		if pid > 0 && !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	ofd := false
	if b, err := os.ReadFile("/proc/locks"); err == nil {
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			// "1: FLOCK ADVISORY WRITE 1234 fe:00:5678 0 EOF"; waiters have "->" after the index.
			if len(f) < 6 || f[1] == "->" || f[5] != id {
				continue
			}
			pid, _ := strconv.Atoi(f[4])
			if pid < 0 {
				ofd = true
			}
			add(pid)
		}
	}
	if ofd {
		for _, pid := range fdinfoHolders(id) {
			add(pid)
		}
	}
	return pids
}

// fdinfoHolders scans /proc/*/fdinfo for lock lines naming id.
func fdinfoHolders(id string) []int {
	procs, _ := os.ReadDir("/proc")
	var pids []int
	needle := []byte(" " + id + " ")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fdinfo"
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			b, err := os.ReadFile(dir + "/" + fd.Name())
			if err != nil || !bytes.Contains(b, needle) {
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			found := false
			for sc.Scan() {
				if l := sc.Bytes(); bytes.HasPrefix(l, []byte("lock:")) && bytes.Contains(l, needle) {
					found = true
				}
			}
			if found {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// pidList renders pids for a message.
func pidList(pids []int) string {
	if len(pids) == 0 {
		return "its pid is not visible to this process"
	}
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return "pid " + strings.Join(s, ", ")
}

// tempName returns a fresh random name for a map being built beside base.
func tempName(base string) string {
	var b [8]byte
	rand.Read(b[:])
	return "." + base + "." + hex.EncodeToString(b[:]) + ".tmp"
}

// allocate gives fd size bytes of real storage (so that a full file system
// fails here, with ENOSPC, and never as a SIGBUS when a page of the map is
// first touched). A file system without fallocate gets the file extended
// and every page written instead.
func allocate(fd int, size int64) error {
	err := unix.Fallocate(fd, 0, 0, size)
	if err != unix.EOPNOTSUPP && err != unix.ENOSYS {
		return err
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		return err
	}
	zero := make([]byte, 1<<16)
	for off := int64(0); off < size; off += int64(len(zero)) {
		n := min(int64(len(zero)), size-off)
		if _, err := unix.Pwrite(fd, zero[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// scrub zeroes the first maxScrub bytes of a replaced map (its keys), so a
// process that still maps it reads no key from it any more.
func scrub(fd int, size int64) error {
	zero := make([]byte, 1<<16)
	size = min(size, maxScrub)
	for off := int64(0); off < size; off += int64(len(zero)) {
		n := min(int64(len(zero)), size-off)
		if _, err := unix.Pwrite(fd, zero[:n], off); err != nil {
			return err
		}
	}
	return nil
}
