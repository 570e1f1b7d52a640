package main

// What to do about the errors an operator meets first: no daemon at the
// socket, a socket or map this user may not open, a write refused. Each
// hint is appended to the error line; the error itself is kept (errors.Is
// and the exit status are unchanged).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/otkd/otkd/ctrl/daemon/config"
)

// hinted is an error with what to do about it.
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hinted) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if hint == "" {
		return err
	}
	return &hinted{err: err, hint: hint}
}

// unreachableHint explains why nothing answered at socket: no socket file
// (which otkd, if any, runs, and where it listens), a stale socket (otkd
// stopped), or permissions (the group to join).
func unreachableHint(socket string, err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return "no socket there (otkctl uses --socket PATH, else $OTKD_SOCKET, else " + DefaultSocket + "); " + daemonsHint(socket)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the socket is there but nothing listens: otkd stopped or crashed (systemctl status otkd; journalctl -u otkd); " +
			daemonsHint(socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return permissionHint(socket, "use the API socket")
	}
	return ""
}

// forbiddenHint names who may write: root and the daemon's own user, the
// owner of the socket it made.
func forbiddenHint(socket string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(socket, &st); err != nil {
		return "run it as root or as the user otkd runs as"
	}
	return fmt.Sprintf("run it as root or as the user otkd runs as (%s: the owner of %s)", userName(st.Uid), socket)
}

// permissionHint names the owner, group and mode of path, or of the first
// directory on its way this user may not enter, and the group to join.
func permissionHint(path, what string) string {
	p := path
	var st syscall.Stat_t
	err := syscall.Stat(p, &st)
	for err != nil && errors.Is(err, syscall.EACCES) && p != "/" {
		p = filepath.Dir(p)
		err = syscall.Stat(p, &st)
	}
	if err != nil {
		return fmt.Sprintf("this user may not %s: run otkctl in the group otkd gives access to ([api] group, [shm] group) or as root", what)
	}
	kind := "it is"
	if p != path {
		kind = "its directory " + p + " is"
	}
	g := groupName(st.Gid)
	return fmt.Sprintf("%s owner %s, group %s, mode %04o: to %s, join group %s (usermod -aG %s USER, then log in again) or run as root",
		kind, userName(st.Uid), g, st.Mode&0o7777, what, g, g)
}

// missingShmHint is for keys --shm on a path where there is no map.
func missingShmHint() string {
	return "no key store there: otkd creates it when it starts, at the [shm] path of its configuration (default " +
		config.DefaultShmPath + "); is otkd running? " + daemonsHint("")
}

// daemonsHint says whether otkd runs and, for each `otkd run` found, the
// API socket its configuration names. socket is where otkctl looked ("" if
// not the API).
func daemonsHint(socket string) string {
	ds := findDaemons("/proc")
	if len(ds) == 0 {
		return "no otkd process found: start it (systemctl start otkd, or otkd run --config FILE)"
	}
	var parts []string
	for _, d := range ds {
		// The user is named: any local user can start a process called
		// otkd, and its socket is only worth trying if it is the right one.
		who := fmt.Sprintf("otkd pid %d, user %s", d.pid, userName(d.uid))
		switch {
		case d.socket != "" && d.socket == socket:
			parts = append(parts, fmt.Sprintf("%s (%s) is configured with this socket but has not made it: it may still be starting", who, d.config))
		case d.socket != "":
			parts = append(parts, fmt.Sprintf("%s (%s) listens at %s: give --socket %s or OTKD_SOCKET=%s", who, d.config, d.socket, d.socket, d.socket))
		default:
			parts = append(parts, fmt.Sprintf("%s is running: give its [api] socket with --socket PATH or OTKD_SOCKET=PATH", who))
		}
	}
	return strings.Join(parts, "; ")
}

// daemon is an `otkd run` process.
type daemon struct {
	pid    int
	uid    uint32 // its real uid
	config string // its --config, absolute ("" if not found)
	socket string // [api] socket of that configuration ("" if it cannot be read)
}

// findDaemons lists the `otkd run` processes under proc (a /proc) whose
// command line this user may read.
func findDaemons(proc string) []daemon {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var out []daemon
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(proc, e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "otkd" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if len(args) < 2 || args[1] != "run" {
			continue // otkd demo, keygen, …: no API socket
		}
		d := daemon{pid: pid, config: flagValue(args[2:], "config"), uid: procUID(filepath.Join(proc, e.Name(), "status"))}
		if d.config != "" {
			if !filepath.IsAbs(d.config) {
				if cwd, err := os.Readlink(filepath.Join(proc, e.Name(), "cwd")); err == nil {
					d.config = filepath.Join(cwd, d.config)
				}
			}
			if cfg, err := config.Load(d.config); err == nil {
				d.socket = cfg.API.Socket
			}
		}
		out = append(out, d)
	}
	return out
}

// procUID returns the real uid of a /proc/PID/status file (MaxUint32 if
// unreadable).
func procUID(status string) uint32 {
	b, err := os.ReadFile(status)
	if err != nil {
		return ^uint32(0)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Uid:" {
			if u, err := strconv.ParseUint(f[1], 10, 32); err == nil {
				return uint32(u)
			}
		}
	}
	return ^uint32(0)
}

// flagValue returns the value of --name (or -name) in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

// shmOpenHint explains a failure to open a key store file.
func shmOpenHint(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return missingShmHint()
	case errors.Is(err, fs.ErrPermission):
		return permissionHint(path, "read the key store")
	}
	return ""
}
