package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest unix socket path Linux binds (sun_path less
// its terminating NUL).
const maxSocketPath = 107

// SocketMode is the mode of the socket Listen creates: owner and group may
// connect, others not.
const SocketMode = 0o660

// Listen creates the unix socket at path, mode 0660, owned by group when
// group is not empty (a name or a numeric gid; the daemon must be root or a
// member). A socket file left by a dead daemon is replaced; a socket a live
// daemon answers on gives an error that unwraps to ErrSocketInUse, and a
// path that exists but is not a socket is left alone and refused.
//
// The socket is bound under a temporary name in the same directory, given
// its mode and group, then renamed over path, so nobody ever connects to it
// with looser permissions. Closing the listener removes path if it is still
// this listener's socket.
func Listen(path, group string) (net.Listener, error) {
	gid := -1
	if group != "" {
		var err error
		if gid, err = lookupGID(group); err != nil {
			return nil, err
		}
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".otkd-%d.tmp", os.Getpid()))
	if n := max(len(path), len(tmp)); n > maxSocketPath {
		return nil, fmt.Errorf("api: socket path %s: %d bytes with its temporary name, the system allows %d", path, n, maxSocketPath)
	}
	os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("api: listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("api: socket %s: %w", path, err)
	}
	if err := os.Chmod(tmp, SocketMode); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fail(fmt.Errorf("group %s: %w", group, err))
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(tmp, &st); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return &socketListener{UnixListener: l, path: path, dev: st.Dev, ino: st.Ino}, nil
}

// clearStale removes a socket file at path that no process listens on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("api: socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("api: %s exists and is not a socket (%v); not touching it", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("api: %s: %w: another otkd answers on it", path, ErrSocketInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("api: probing %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("api: removing stale socket %s: %w", path, err)
	}
	return nil
}

func lookupGID(group string) (int, error) {
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("api: socket group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// socketListener is Listen's listener: it reports the final path as its
// address and removes it on Close.
type socketListener struct {
	*net.UnixListener
	path     string
	dev, ino uint64
}

func (l *socketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close closes the listener and removes the socket file unless another
// process has replaced it meanwhile.
func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	var st unix.Stat_t
	if unix.Lstat(l.path, &st) == nil && st.Dev == l.dev && st.Ino == l.ino {
		os.Remove(l.path)
	}
	return err
}

// peerCred is what withPeerCred stores in a connection's context.
type peerCred struct {
	ok       bool
	uid, gid uint32
	pid      int32
	err      error
}

type credKey struct{}

// withPeerCred is http.Server.ConnContext: it reads the connecting process's
// credentials (SO_PEERCRED, as of connect) once per connection.
func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, credKey{}, readPeerCred(c))
}

func readPeerCred(c net.Conn) peerCred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peerCred{err: fmt.Errorf("not a unix socket connection (%s)", c.LocalAddr().Network())}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peerCred{err: err}
	}
	var cred *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peerCred{err: err}
	}
	if gerr != nil {
		return peerCred{err: fmt.Errorf("SO_PEERCRED: %w", gerr)}
	}
	return peerCred{ok: true, uid: cred.Uid, gid: cred.Gid, pid: cred.Pid}
}
