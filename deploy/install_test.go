// Package deploy holds the systemd unit, its drop-ins and the test of the
// README's install steps.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installSteps returns the README's install block: the first sh block
// after the install-steps marker.
func installSteps(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- install-steps")
	if !ok {
		t.Fatal("README.md has no install-steps marker")
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(block, "useradd") {
		t.Fatal("no sh block after the install-steps marker")
	}
	return block
}

// setKey sets every line of key in text to value.
func setKey(t *testing.T, text, key, value string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*$`)
	if !re.MatchString(text) {
		t.Fatalf("no %s in the example configuration", key)
	}
	return re.ReplaceAllLiteralString(text, key+" = "+value)
}

// dropKeys removes the lines of keys whose value starts with prefix.
func dropKeys(text, prefix string) string {
	re := regexp.MustCompile(`(?m)^[a-z_]+ = "` + regexp.QuoteMeta(prefix) + `.*\n`)
	return re.ReplaceAllString(text, "")
}

// TestInstallSteps follows the README's install block as written, as root,
// in a throwaway mount and network namespace (a copy of /etc, empty
// /usr/local/bin, /var/lib, /run and /dev/shm, a loopback of its own), then
// starts otkd as deploy/otkd.service does (user otkd, no capability, umask
// 0027) against a second node, and checks what the README promises: the
// files' owners and modes, that a member of group otkd can use otkctl and
// read keys, that writes need root or otkd's user, and that others are
// told which group to join.
func TestInstallSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds otkd and runs two daemons")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the steps add a user and run as it, in a mount namespace")
	}
	for _, tool := range []string{"unshare", "nsenter", "setpriv", "useradd", "groupadd", "usermod", "ip", "stat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	steps := installSteps(t)
	T := t.TempDir()
	host := filepath.Join(T, "host") // the directory the steps run in
	bdir := filepath.Join(T, "b")    // the other node
	for _, d := range []string{host, bdir, filepath.Join(T, "etc")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, c := range []string{"otkd", "otkctl"} {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(host, c), "./cmd/"+c)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c, err, out)
		}
	}
	unit, err := os.ReadFile("otkd.service")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "otkd.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	// Node b, as in "Running two hosts": its key pair, b.pub for the steps.
	otkd := filepath.Join(host, "otkd")
	if out, err := exec.Command(otkd, "keygen", "--name", "b", "--private", filepath.Join(bdir, "node.key"),
		"--public", filepath.Join(host, "b.pub")).CombinedOutput(); err != nil {
		t.Fatalf("keygen b: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(bdir, "kek"), bytes.Repeat([]byte{9}, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	// The configurations: the examples, as the README says to adapt them.
	exA, err := os.ReadFile("../examples/otkd-a.toml")
	if err != nil {
		t.Fatal(err)
	}
	a := setKey(t, string(exA), "private_key", `"/etc/otkd/node.key"`)
	a = setKey(t, a, "peer_public_key", `"/etc/otkd/peer.pub"`)
	a = dropKeys(a, "/tmp/otkd-a/")    // store, controller, api: the defaults
	a = dropKeys(a, "/dev/shm/otkd-a") // shm: the default /dev/shm/otkd
	if err := os.WriteFile(filepath.Join(host, "otkd.toml"), []byte(a), 0o600); err != nil {
		t.Fatal(err)
	}
	exB, err := os.ReadFile("../examples/otkd-b.toml")
	if err != nil {
		t.Fatal(err)
	}
	b := strings.ReplaceAll(string(exB), "/tmp/otkd-b/", bdir+"/")
	b = strings.ReplaceAll(b, "/dev/shm/otkd-b", "/dev/shm/otkd-b-"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(bdir, "otkd.toml"), []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(T, "install.sh"), []byte(steps), 0o755); err != nil {
		t.Fatal(err)
	}

	// The namespace: its first process sets up the throwaway tree, runs the
	// steps, starts both nodes and stays until the test kills it.
	setup := `set -euo pipefail
T=` + T + `
ip link set lo up
cp -a /etc/. "$T/etc/"
mount --bind "$T/etc" /etc
mkdir -p /usr/local/bin
for d in /usr/local/bin /var/lib /run; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
cd "$T/host"
if ! bash -euxo pipefail "$T/install.sh" > "$T/install.log" 2>&1; then touch "$T/failed"; exit 1; fi
cp a.pub "$T/b/peer.pub"
/usr/local/bin/otkd run --config "$T/b/otkd.toml" > "$T/b.log" 2>&1 &
# As deploy/otkd.service starts it: User=otkd, Group=otkd, UMask=0027, no
# capability (CapabilityBoundingSet= AmbientCapabilities=), NoNewPrivileges.
(umask 0027; exec setpriv --reuid=otkd --regid=otkd --init-groups --inh-caps=-all --bounding-set=-all --no-new-privs \
	/usr/local/bin/otkd run --config /etc/otkd/otkd.toml) > "$T/a.log" 2>&1 &
useradd --system --no-create-home --shell /usr/sbin/nologin otkdop
usermod -aG otkd otkdop
useradd --system --no-create-home --shell /usr/sbin/nologin otkdother
touch "$T/ready"
wait
`
	ns := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "bash", "-c", setup)
	ns.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var nsOut bytes.Buffer
	ns.Stdout, ns.Stderr = &nsOut, &nsOut
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-ns.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { ns.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-ns.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	logs := func() string {
		var sb strings.Builder
		for _, f := range []string{"install.log", "a.log", "b.log"} {
			b, _ := os.ReadFile(filepath.Join(T, f))
			fmt.Fprintf(&sb, "--- %s\n%s\n", f, lastLines(string(b), 30))
		}
		return sb.String() + "--- namespace\n" + nsOut.String()
	}
	deadline := time.Now().Add(3 * time.Minute) // a bound for a stuck run
	for {
		if _, err := os.Stat(filepath.Join(T, "ready")); err == nil {
			break
		}
		if _, err := os.Stat(filepath.Join(T, "failed")); err == nil || time.Now().After(deadline) {
			t.Fatalf("the install steps failed or never finished:\n%s", logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if il, _ := os.ReadFile(filepath.Join(T, "install.log")); !bytes.Contains(il, []byte("/etc/otkd/otkd.toml: configuration ok")) {
		t.Fatalf("otkd run --check as user otkd did not pass:\n%s", il)
	}

	// in runs a command inside the namespace, as user (root if "").
	in := func(user string, args ...string) (string, int) {
		t.Helper()
		cmdline := []string{"-t", strconv.Itoa(ns.Process.Pid), "-m", "-n", "--"}
		if user != "" {
			cmdline = append(cmdline, "setpriv", "--reuid="+user, "--regid="+user, "--init-groups")
		}
		out, err := exec.Command("nsenter", append(cmdline, args...)...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	// Owners and modes, as the README's table says.
	for path, want := range map[string]string{
		"/usr/local/bin/otkd": "root:root 755", "/usr/local/bin/otkctl": "root:root 755",
		"/etc/otkd": "root:otkd 750", "/etc/otkd/otkd.toml": "root:otkd 640", "/etc/otkd/node.key": "otkd:otkd 400",
		"/etc/otkd/kek": "otkd:otkd 600", "/etc/otkd/peer.pub": "root:root 644", "/var/lib/otkd": "otkd:otkd 700",
		"/run/otkd": "otkd:otkd 750",
	} {
		if out, _ := in("", "stat", "-c", "%U:%G %a", path); strings.TrimSpace(out) != want {
			t.Errorf("%s: %q, want %q", path, strings.TrimSpace(out), want)
		}
	}

	// A member of group otkd: otkctl status, then the keys once seeds came.
	var st struct {
		PID    int    `json:"pid"`
		Health string `json:"health"`
		Ports  []struct {
			Name     string `json:"name"`
			SeedsOwn int    `json:"seeds_own"`
		} `json:"ports"`
	}
	for {
		out, code := in("otkdop", "/usr/local/bin/otkctl", "status", "--json")
		if code == 0 && json.Unmarshal([]byte(out), &st) == nil && len(st.Ports) == 1 && st.Ports[0].SeedsOwn > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("otkctl status as a member of group otkd: exit %d\n%s\n%s", code, out, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for path, want := range map[string]string{
		"/run/otkd/otkd.sock": "otkd:otkd 660", "/dev/shm/otkd": "otkd:otkd 640",
		"/var/lib/otkd/keys.db": "otkd:otkd 600", "/var/lib/otkd/controller.db": "otkd:otkd 600",
	} {
		if out, _ := in("", "stat", "-c", "%U:%G %a", path); strings.TrimSpace(out) != want {
			t.Errorf("%s: %q, want %q", path, strings.TrimSpace(out), want)
		}
	}
	// otkd runs without any capability.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb"} {
		if m := regexp.MustCompile(`(?m)^` + f + `:\s+(\S+)`).FindSubmatch(status); m == nil || string(m[1]) != "0000000000000000" {
			t.Errorf("otkd's %s: %q, want none", f, m)
		}
	}
	if out, code := in("otkdop", "/usr/local/bin/otkctl", "keys", "--shm", "/dev/shm/otkd", "--json"); code != 0 || !strings.Contains(out, `"writer_alive": true`) ||
		!strings.Contains(out, `"fingerprint"`) {
		t.Errorf("otkctl keys --shm as a member of group otkd: exit %d\n%s", code, out)
	}
	// Writes: not for the group, for otkd's user (and root).
	if out, code := in("otkdop", "/usr/local/bin/otkctl", "negotiate", "--port", "east"); code != 1 ||
		!strings.Contains(out, "run it as root or as the user otkd runs as (otkd (uid") {
		t.Errorf("a write as a member of group otkd: exit %d: %s", code, out)
	}
	if out, code := in("otkd", "/usr/local/bin/otkctl", "negotiate", "--port", "east"); code != 0 {
		t.Errorf("a write as otkd's user: exit %d: %s", code, out)
	}
	// Others are told which group to join.
	if out, code := in("otkdother", "/usr/local/bin/otkctl", "status"); code != 1 || !strings.Contains(out, "join group otkd") {
		t.Errorf("otkctl status outside group otkd: exit %d: %s", code, out)
	}
	if out, code := in("otkdother", "/usr/local/bin/otkctl", "keys", "--shm", "/dev/shm/otkd"); code != 1 || !strings.Contains(out, "join group otkd") {
		t.Errorf("otkctl keys --shm outside group otkd: exit %d: %s", code, out)
	}
	if t.Failed() {
		t.Log(logs())
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
