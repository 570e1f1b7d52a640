package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/shm"
)

// publicDir is a directory every user may enter (for the tests that run
// otkctl as another user).
func publicDir(t *testing.T) string {
	t.Helper()
	d := shortDir(t)
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// otkAs runs otkctl as uid 65534 (nobody) when this test runs as root,
// else as this user; the binary is copied where nobody may run it.
func otkAs(t *testing.T, args ...string) (stderr string, code int, asNobody bool) {
	t.Helper()
	dir := publicDir(t)
	bin := filepath.Join(dir, "otkctl")
	b, err := os.ReadFile(otkctl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		asNobody = true
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code, asNobody
}

// TestHintDaemonElsewhere: no socket where otkctl looks, while an `otkd
// run` process (a real process named otkd, with a real configuration)
// runs: the error names its pid and its socket, and how to pass it.
func TestHintDaemonElsewhere(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("needs gcc to build a stand-in process named otkd")
	}
	dir := shortDir(t)
	src := filepath.Join(dir, "otkd.c")
	if err := os.WriteFile(src, []byte("#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "otkd")
	if out, err := exec.Command(gcc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	example, err := os.ReadFile("../../examples/otkd-a.toml")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "elsewhere.sock")
	cfg := filepath.Join(dir, "otkd.toml")
	text := strings.Replace(string(example), `socket = "/tmp/otkd-a/otkd.sock"`, `socket = "`+sock+`"`, 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := exec.Command(bin, "run", "--config", "otkd.toml") // relative: resolved against its cwd
	d.Dir = dir
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })

	missing := filepath.Join(dir, "none.sock")
	_, e, code := otkEnv(t, nil, "status", "--socket", missing)
	want := "otkd pid " + strconv.Itoa(d.Process.Pid) + ", user " + userName(uint32(os.Getuid())) + " (" + cfg + ") listens at " + sock +
		": give --socket " + sock + " or OTKD_SOCKET=" + sock
	if code != 1 || !strings.HasPrefix(string(e), "otkctl: cannot reach otkd at "+missing+": connect: no such file or directory; no socket there") ||
		!strings.Contains(string(e), "$OTKD_SOCKET") || !strings.Contains(string(e), want) {
		t.Fatalf("exit %d: %s\nwant it to contain %q", code, e, want)
	}
}

// TestHintStaleSocket: a socket file nobody listens on (otkd died): the
// error says so.
func TestHintStaleSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	_, e, code := otkEnv(t, nil, "keys", "--socket", path)
	if code != 1 || !strings.Contains(string(e), "connection refused; the socket is there but nothing listens: otkd stopped or crashed") {
		t.Fatalf("exit %d: %s", code, e)
	}
}

// TestHintPermission: a user outside the socket's group, and outside the
// key store's group, is told the group to join; a write refused by the
// daemon names who may write.
func TestHintPermission(t *testing.T) {
	dir := publicDir(t)
	sock := filepath.Join(dir, "otkd.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var st syscall.Stat_t
	if err := syscall.Stat(sock, &st); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(sock, 0); err != nil { // the owner too is kept out
			t.Fatal(err)
		}
	}
	group := groupName(st.Gid)
	e, code, _ := otkAs(t, "status", "--socket", sock)
	if code != 1 || !strings.Contains(e, "connect: permission denied; it is owner ") ||
		!strings.Contains(e, "group "+group+", mode ") || !strings.Contains(e, "join group "+group+" (usermod -aG "+group+" USER") {
		t.Fatalf("socket: exit %d: %s", code, e)
	}

	path := filepath.Join(dir, "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 4, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if os.Geteuid() != 0 {
		os.Chmod(path, 0)
	}
	e, code, _ = otkAs(t, "keys", "--shm", path)
	if code != 1 || !strings.Contains(e, "permission denied; it is owner ") || !strings.Contains(e, "to read the key store, join group "+group) {
		t.Fatalf("keys --shm: exit %d: %s", code, e)
	}

	_, refusing := fakeDaemon(t, api.ServerOptions{WriteUIDs: []uint32{uint32(os.Getuid()) + 1}})
	_, e2, code := otkEnv(t, nil, "rotate", "--port", "p0", "--socket", refusing)
	if code != 1 || !strings.Contains(string(e2), "run it as root or as the user otkd runs as ("+userName(uint32(os.Getuid()))+": the owner of "+refusing+")") {
		t.Fatalf("refused write: exit %d: %s", code, e2)
	}
}

// TestHintMissingStore: keys --shm on a path with no map.
func TestHintMissingStore(t *testing.T) {
	path := filepath.Join(shortDir(t), "none.shm")
	_, e, code := otkEnv(t, nil, "keys", "--shm", path)
	if code != 1 || !strings.Contains(string(e), "no key store there: otkd creates it when it starts") {
		t.Fatalf("exit %d: %s", code, e)
	}
}

// TestFlagValue: the --config of an otkd command line, in its forms.
func TestFlagValue(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "a.toml"}, "a.toml"},
		{[]string{"-config", "a.toml"}, "a.toml"},
		{[]string{"--config=/etc/otkd/otkd.toml"}, "/etc/otkd/otkd.toml"},
		{[]string{"--check", "--config"}, ""},
		{nil, ""},
	} {
		if got := flagValue(c.args, "config"); got != c.want {
			t.Errorf("%q: %q, want %q", c.args, got, c.want)
		}
	}
}
