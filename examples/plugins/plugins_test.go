// Package plugins holds the example security plugins of docs/plugins.md:
// go/ (its own module, which uses otkd's reader through a replace) and
// c/ (the single-header reader). Its test builds both as the guide says
// and runs them against a real key store.
package plugins

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/otkd/otkd/shm"
)

// buildGoPlugin builds go/ as a plugin author outside this repository
// would: its files in a directory of their own, the go.mod's replace
// pointing at an otkd checkout (this tree), go mod tidy, go build.
func buildGoPlugin(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"main.go", "go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("go", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "go.mod" {
			mod := regexp.MustCompile(`(?m)^replace github.com/otkd/otkd => .*$`)
			if !mod.Match(b) {
				t.Fatal("go/go.mod has no replace line for github.com/otkd/otkd")
			}
			b = mod.ReplaceAll(b, []byte("replace github.com/otkd/otkd => "+repo))
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "otkd-plugin")
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", bin, "."}} {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bin
}

// buildCPlugin builds c/plugin.c with the gcc line of the guide.
func buildCPlugin(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found: the C plugin is not built here; CI has gcc")
	}
	bin := filepath.Join(t.TempDir(), "otkd-plugin-c")
	out, err := exec.Command(gcc, "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", "../../shm/include",
		"-o", bin, "c/plugin.c").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) (out string, code int) {
	t.Helper()
	b, err := exec.Command(bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(b), code
}

func testKey(id uint64, port uint16, state shm.State, n int) *shm.Key {
	k := &shm.Key{ID: id, Port: port, Dir: shm.DirAtoB, Epoch: 3, State: state, Alg: shm.AlgZUC128}
	m := make([]byte, n)
	for i := range m {
		m[i] = byte(id) ^ byte(i*13)
	}
	k.SetMaterial(m)
	return k
}

func fingerprint(k *shm.Key) string {
	fp := k.Fingerprint()
	return hex.EncodeToString(fp[:])
}

// TestPlugins: both example plugins, built as docs/plugins.md says, read
// the active key of port 1 and consumer 7's key from a store a writer
// made, with the fingerprint otkd prints; tell "no such key" (otkd running)
// from "writer gone" (otkd stopped); and keep reading the last keys after
// the writer is gone.
func TestPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go module and a C program")
	}
	bins := map[string]string{"go": buildGoPlugin(t), "c": buildCPlugin(t)}
	args := map[string]map[string][]string{
		"go": {"port1": {"-port", "1", "-dir", "AB"}, "port2": {"-port", "2"}, "consumer7": {"-consumer", "7"}},
		"c":  {"port1": {"port", "1", "AB"}, "port2": {"port", "2", "AB"}, "consumer7": {"consumer", "7"}},
	}
	path := filepath.Join(t.TempDir(), "otkd")
	w, err := shm.Create(shm.Options{Path: path, Slots: 16, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	active, bound := testKey(0x1111, 1, shm.StateActive, 16), testKey(0x2222, 1, shm.StatePending, 32)
	for _, k := range []*shm.Key{active, bound} {
		if err := w.Put(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Bind(7, bound.ID); err != nil {
		t.Fatal(err)
	}
	storeAt := func(lang, p, name string) []string {
		if lang == "go" {
			return append([]string{"-shm", p}, args[lang][name]...)
		}
		return append([]string{p}, args[lang][name]...)
	}
	store := func(lang, name string) []string { return storeAt(lang, path, name) }
	for lang, bin := range bins {
		for name, want := range map[string]string{
			"port1":     fmt.Sprintf("port 1 AB: key %016x epoch 3", active.ID),
			"consumer7": fmt.Sprintf("consumer 7: key %016x epoch 3", bound.ID),
		} {
			out, code := run(t, bin, store(lang, name)...)
			k := active
			if name == "consumer7" {
				k = bound
			}
			if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "fingerprint "+fingerprint(k)) {
				t.Errorf("%s plugin, %s: exit %d, %q; want %q and fingerprint %s", lang, name, code, out, want, fingerprint(k))
			}
		}
		if out, code := run(t, bin, store(lang, "port2")...); code != 1 || !strings.Contains(out, "port 2 AB: no such key (otkd is running)") {
			t.Errorf("%s plugin, port 2 while otkd runs: exit %d, %q", lang, code, out)
		}
		missing := filepath.Join(filepath.Dir(path), "none")
		if out, code := run(t, bin, storeAt(lang, missing, "port1")...); code != 2 || !strings.Contains(strings.ToLower(out), "no such file or directory") {
			t.Errorf("%s plugin, no store: exit %d, %q", lang, code, out)
		}
	}
	if err := w.Close(); err != nil { // otkd stops
		t.Fatal(err)
	}
	for lang, bin := range bins {
		if out, code := run(t, bin, store(lang, "port2")...); code != 1 || !strings.Contains(out, "writer gone: otkd is not running") {
			t.Errorf("%s plugin, port 2 after otkd stopped: exit %d, %q", lang, code, out)
		}
		if out, code := run(t, bin, store(lang, "port1")...); code != 0 || !strings.Contains(out, "fingerprint "+fingerprint(active)) {
			t.Errorf("%s plugin, port 1 after otkd stopped (the last key stays readable): exit %d, %q", lang, code, out)
		}
	}
}
