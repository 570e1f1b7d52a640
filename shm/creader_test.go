package shm

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/otkd/otkd/internal/keys"
)

// TestCSM3: the C header's SM3 gives the examples of GB/T 32905-2016 and
// Go's SM3 (gmsm) on every length around the padding boundaries and on
// random inputs.
func TestCSM3(t *testing.T) {
	cbin := buildCReader(t)
	sum := func(msg []byte) string {
		t.Helper()
		out, err := exec.Command(cbin, "sm3", hex.EncodeToString(msg)).Output()
		if err != nil {
			t.Fatalf("creader sm3: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	for msg, want := range map[string]string{
		"abc":                      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
		strings.Repeat("abcd", 16): "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
	} {
		if got := sum([]byte(msg)); got != want {
			t.Errorf("SM3(%q) = %s, want %s (GB/T 32905-2016)", msg, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200}
	for range 10 {
		lengths = append(lengths, rng.IntN(1000))
	}
	for _, n := range lengths {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		want := sm3.Sum(msg)
		if got := sum(msg); got != hex.EncodeToString(want[:]) {
			t.Errorf("%d bytes: C %s, Go %x", n, got, want)
		}
	}
}

// TestCFingerprint: otkd_shm_key_fingerprint gives, for every key of a
// real store, the fingerprint the Go reader gives (Key.Fingerprint, which
// otkctl keys prints), for every key length; for a key published as otkd
// publishes it (id = fingerprint as a number) both print its id, and for
// the key 00 01 … 0f both print the pinned value of internal/keys.
func TestCFingerprint(t *testing.T) {
	cbin := buildCReader(t)
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := Create(Options{Path: path, Slots: 16, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := map[string]string{}
	for i, n := range []int{1, 15, 16, 31, 32, 33, 55, 56, 63, 64} {
		k := &Key{ID: uint64(100 + i), Port: 1, State: StatePending, Alg: AlgZUC128}
		m := make([]byte, n)
		for j := range m {
			m[j] = byte(i*37 + j*11)
		}
		if err := k.SetMaterial(m); err != nil {
			t.Fatal(err)
		}
		if err := w.Put(k); err != nil {
			t.Fatal(err)
		}
		fp := k.Fingerprint()
		want[fmt.Sprint(k.ID)] = hex.EncodeToString(fp[:])
		k.Zero()
	}
	var pinned [16]byte
	for j := range pinned {
		pinned[j] = byte(j)
	}
	k := &Key{ID: keys.IDOf(pinned[:]), Port: 2, State: StateActive, Alg: AlgZUC128}
	if err := k.SetMaterial(pinned[:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(k); err != nil {
		t.Fatal(err)
	}
	if got := k.Fingerprint().String(); got != "1cb233f1f36d78dd" || fmt.Sprintf("%016x", k.ID) != got {
		t.Fatalf("Go: key 00..0f id %016x fingerprint %s, pinned 1cb233f1f36d78dd", k.ID, got)
	}
	want[fmt.Sprint(k.ID)] = "1cb233f1f36d78dd"
	k.Zero()
	out, err := exec.Command(cbin, "fp", path).CombinedOutput()
	if err != nil {
		t.Fatalf("creader fp: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, fp, _ := strings.Cut(l, " ")
		got[id] = fp
	}
	if len(got) != len(want) {
		t.Fatalf("C read %d keys, want %d:\n%s", len(got), len(want), out)
	}
	for id, fp := range want {
		if got[id] != fp {
			t.Errorf("key %s: C fingerprint %q, Go %q", id, got[id], fp)
		}
	}
}

// TestCReaderSystemErrors: OTKD_SHM_ESYS comes with why filled: the step,
// the path and the system error, plus a hint (a missing map: is otkd
// running; a permission problem: the group to join).
func TestCReaderSystemErrors(t *testing.T) {
	cbin := buildCReader(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such.shm")
	out, _ := exec.Command(cbin, "open", missing).CombinedOutput()
	if s := string(out); !strings.HasPrefix(s, "open system call failed") ||
		!strings.Contains(s, "open "+missing+": No such file or directory") || !strings.Contains(s, "is it running") {
		t.Fatalf("missing file: %q", s)
	}

	// A map this user may not read. Root reads anything, so as root the
	// reader runs as nobody, from a directory it may enter.
	pub, err := os.MkdirTemp("", "otkdc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(pub, "creader")
	b, err := os.ReadFile(cbin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(pub, "keys.shm")
	w, err := Create(Options{Path: path, Slots: 4, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command(bin, "open", path)
	mode := os.FileMode(0o640)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		mode = 0 // not even the owner
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	out, _ = cmd.CombinedOutput()
	s := string(out)
	if !strings.HasPrefix(s, "open system call failed") || !strings.Contains(s, "open "+path+": Permission denied") ||
		!strings.Contains(s, fmt.Sprintf("owner uid %d", st.Uid)) || !strings.Contains(s, "run the plugin in") {
		t.Fatalf("permission denied: %q", s)
	}
	t.Log(strings.TrimSpace(s))
}
