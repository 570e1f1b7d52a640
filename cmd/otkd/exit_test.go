package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// runMain runs otkd's real main function (run) in this process.
func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// checkRefusal checks the contract of every refusal: exactly one line on
// stderr, starting "otkd: ", nothing on stdout.
func checkRefusal(t *testing.T, what string, code int, stdout, stderr string) {
	t.Helper()
	if code == 0 {
		return
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "otkd: ") || stdout != "" {
		t.Errorf("%s: exit %d with stderr %q, stdout %q; want one line \"otkd: …\"", what, code, stderr, stdout)
	}
}

// exampleFixture makes the files the two example configurations name in
// dir (key pairs, KEKs) and returns both configurations rewritten to use
// them.
func exampleFixture(t *testing.T) (dir string, cfgs map[string]string) {
	t.Helper()
	dir = t.TempDir()
	cfgs = map[string]string{}
	for _, n := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"a", "b"} {
		other := map[string]string{"a": "b", "b": "a"}[n]
		if code, _, e := runMain("keygen", "--name", n, "--private", filepath.Join(dir, n, "node.key"),
			"--public", filepath.Join(dir, other, "peer.pub")); code != 0 {
			t.Fatalf("keygen: %s", e)
		}
		if err := os.WriteFile(filepath.Join(dir, n, "kek"), bytes.Repeat([]byte{7}, 16), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "otkd-"+n+".toml"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("/tmp/otkd-a", filepath.Join(dir, "a"), "/tmp/otkd-b", filepath.Join(dir, "b"),
			"/dev/shm/otkd-a", filepath.Join(dir, "a", "keys.shm"), "/dev/shm/otkd-b", filepath.Join(dir, "b", "keys.shm")).Replace(string(b))
		cfgs[n] = s
	}
	return dir, cfgs
}

var valueLine = regexp.MustCompile(`^(\s*[a-z_0-9]+\s*=\s*)(.*)$`)

// mutate returns cfg with one to three random changes.
func mutate(rng *rand.Rand, cfg string) string {
	values := []string{"", "-1", "0", "1", "65537", "99999999999999999999", "1e400", "nan", "-inf", `""`, `"x"`,
		`"C"`, "true", "[1, 2]", `"../../../etc/passwd"`, `"\u0000"`, `"a\nb"`, "{", `"127.0.0.1:0"`, `"::1"`,
		`"1h"`, `"-5s"`, `"/nonexistent/file"`, "= =", `"` + strings.Repeat("x", 300) + `"`}
	for n := 1 + rng.IntN(3); n > 0; n-- {
		lines := strings.Split(cfg, "\n")
		i := rng.IntN(len(lines))
		switch rng.IntN(8) {
		case 0: // delete a line
			lines = append(lines[:i], lines[i+1:]...)
		case 1: // duplicate a line
			lines = append(lines[:i+1], lines[i:]...)
		case 2, 3: // a key's value replaced
			for range 20 {
				if m := valueLine.FindStringSubmatch(lines[i]); m != nil {
					lines[i] = m[1] + values[rng.IntN(len(values))]
					break
				}
				i = rng.IntN(len(lines))
			}
		case 4: // a byte changed, maybe to a control character
			if len(lines[i]) > 0 {
				b := []byte(lines[i])
				b[rng.IntN(len(b))] = byte(rng.IntN(128))
				lines[i] = string(b)
			}
		case 5: // an unknown key
			lines = append(lines[:i], append([]string{fmt.Sprintf("colour%d = %d", rng.IntN(9), rng.IntN(9))}, lines[i:]...)...)
		case 6: // two lines swapped
			j := rng.IntN(len(lines))
			lines[i], lines[j] = lines[j], lines[i]
		case 7: // cut short
			cfg = strings.Join(lines, "\n")
			return cfg[:rng.IntN(len(cfg)+1)]
		}
		cfg = strings.Join(lines, "\n")
	}
	return cfg
}

// TestConfigRefusalsOneLine runs `otkd run --check` (the real main
// function) on 600 mutations of the two example configurations: each is
// accepted or refused with exactly one line starting "otkd: " and the
// configuration or data exit status (78 or 65), never several lines, never
// 1 or 2.
func TestConfigRefusalsOneLine(t *testing.T) {
	dir, cfgs := exampleFixture(t)
	for n, c := range cfgs { // the examples themselves pass
		p := filepath.Join(dir, n, "otkd.toml")
		os.WriteFile(p, []byte(c), 0o600)
		if code, out, e := runMain("run", "--config", p, "--check"); code != 0 || !strings.Contains(out, "configuration ok") {
			t.Fatalf("example %s: exit %d %q %q", n, code, out, e)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	codes := map[int]int{}
	const runs = 600
	path := filepath.Join(dir, "a", "mutated.toml")
	for i := range runs {
		src := cfgs[[]string{"a", "b"}[i%2]]
		m := mutate(rng, src)
		if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, e := runMain("run", "--config", path, "--check")
		codes[code]++
		what := fmt.Sprintf("mutation %d", i)
		checkRefusal(t, what, code, out, e)
		switch code {
		case 0:
			if !strings.Contains(out, "configuration ok") || e != "" {
				t.Errorf("%s: exit 0 with %q %q", what, out, e)
			}
		case exitConfig, exitDataErr:
		default:
			t.Errorf("%s: exit %d (%q), want 0, %d or %d", what, code, e, exitConfig, exitDataErr)
		}
		if t.Failed() {
			t.Logf("%s:\n%s", what, m)
			break
		}
	}
	var summary []string
	for c, n := range codes {
		summary = append(summary, fmt.Sprintf("exit %d: %d", c, n))
	}
	sort.Strings(summary)
	t.Logf("%d mutated configurations: %s", runs, strings.Join(summary, ", "))
}

// TestExitStatuses: each kind of refusal has its own status and one line:
// bad usage, a bad configuration, a damaged store, a wrong KEK, a map
// otkd will not use.
func TestExitStatuses(t *testing.T) {
	dir, cfgs := exampleFixture(t)
	path := filepath.Join(dir, "a", "otkd.toml")
	write := func(c string) {
		if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := cfgs["a"]
	kek := filepath.Join(dir, "a", "kek")
	store := filepath.Join(dir, "a", "keys.db")
	shmPath := filepath.Join(dir, "a", "keys.shm")
	nodeKey := filepath.Join(dir, "a", "node.key")
	goodKey, err := os.ReadFile(nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		setup func()
		args  []string
		code  int
		says  string
	}{
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, "unknown command"},
		{"unknown flag", nil, []string{"run", "--frob"}, exitUsage, "flag provided but not defined"},
		{"help", nil, []string{"run", "-h"}, 0, "--check"},
		{"no such config", nil, []string{"run", "--config", filepath.Join(dir, "nope.toml")}, exitConfig, "no such file"},
		{"bad config, several problems", func() {
			write(strings.Replace(strings.Replace(good, `role = "A"`, `role = "C"`, 1), "slots = 1024", "slots = 0", 1))
		}, []string{"run", "--config", path}, exitConfig, `port[0].role = "C"`},
		{"KEK file mode", func() { write(good); os.Chmod(kek, 0o644) }, []string{"run", "--config", path, "--check"}, exitConfig, "kek"},
		{"damaged key file", func() {
			os.Chmod(kek, 0o600)
			os.WriteFile(nodeKey, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
		}, []string{"run", "--config", path, "--check"}, exitDataErr, "node.private_key"},
		{"damaged store", func() {
			os.WriteFile(nodeKey, goodKey, 0o600)
			os.WriteFile(store, bytes.Repeat([]byte{0xAB}, 16384), 0o600)
		}, []string{"run", "--config", path}, exitDataErr, store},
		{"damaged controller store", func() {
			os.Remove(store)
			os.WriteFile(filepath.Join(dir, "a", "controller.db"), bytes.Repeat([]byte{0xAB}, 16384), 0o600)
		}, []string{"run", "--config", path}, exitDataErr, filepath.Join(dir, "a", "controller.db")},
		{"wrong KEK", func() {
			os.Remove(filepath.Join(dir, "a", "controller.db"))
			os.Remove(store)
			code, _, e := runStartStop(t, path) // a store sealed under the right KEK
			if code != 0 {
				t.Fatalf("start with a fresh store: %d %s", code, e)
			}
			os.WriteFile(kek, bytes.Repeat([]byte{8}, 16), 0o600)
		}, []string{"run", "--config", path}, exitConfig, "key-encryption key"},
		{"map is a symbolic link", func() {
			os.WriteFile(kek, bytes.Repeat([]byte{7}, 16), 0o600)
			os.Remove(shmPath)
			os.Symlink(filepath.Join(dir, "elsewhere"), shmPath)
		}, []string{"run", "--config", path}, exitCantCreat, "symbolic link"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			code, out, e := runMain(c.args...)
			if c.code == exitUsage || c.code == exitConfig && c.args[len(c.args)-1] == "--check" {
				checkRefusal(t, c.name, code, out, e) // nothing but the line
			}
			checkRefusal(t, c.name, code, out, lastLine(e))
			if code != c.code || !strings.Contains(e+out, c.says) { // help: on stdout
				t.Fatalf("exit %d, %q; want %d saying %q", code, e, c.code, c.says)
			}
			t.Logf("exit %d: %s", code, strings.TrimSpace(lastLine(e)))
		})
	}
}

// lastLine is the last line of a daemon's stderr: a start that fails
// after logging (e.g. "frame-path kernels") ends with the one-line error.
func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s + "\n"
}

// runStartStop starts the daemon of path and stops it at once (a context
// already cancelled): it creates the store and the map and closes them.
func runStartStop(t *testing.T, path string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var o, e bytes.Buffer
	code := run(ctx, []string{"run", "--config", path}, &o, &e)
	return code, o.String(), e.String()
}

// TestExitStatusesDocumented: --help, the README and the systemd unit
// state the statuses main uses.
func TestExitStatusesDocumented(t *testing.T) {
	_, help, _ := runMain("--help")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("../../deploy/otkd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []int{exitUsage, exitDataErr, exitCantCreat, exitConfig} {
		if !strings.Contains(help, fmt.Sprintf("\n  %d  ", code)) {
			t.Errorf("otkd --help does not document exit status %d", code)
		}
		if !strings.Contains(string(readme), fmt.Sprintf("| %d |", code)) {
			t.Errorf("README.md does not document exit status %d", code)
		}
	}
	if !strings.Contains(string(unit), fmt.Sprintf("\nRestartPreventExitStatus=%d %d %d %d\n", exitUsage, exitDataErr, exitCantCreat, exitConfig)) {
		t.Errorf("deploy/otkd.service lacks RestartPreventExitStatus=%d %d %d %d", exitUsage, exitDataErr, exitCantCreat, exitConfig)
	}
}
