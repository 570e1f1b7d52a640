package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/testmain"
)

var otkctl string // path of the binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otkctl-test")
	if err != nil {
		panic(err)
	}
	otkctl = filepath.Join(dir, "otkctl")
	if out, err := exec.Command("go", "build", "-o", otkctl, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := testmain.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// otk runs the real otkctl binary.
func otk(t *testing.T, stdin []byte, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(otkctl, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.Bytes(), e.Bytes(), code
}

const keyHex = "0123456789abcdeffedcba9876543210"

func randomImage(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, framer.FrameLen)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, scr := range [][]string{nil, {"--no-scramble"}} {
		plain := randomImage(1)
		wire, errOut, code := otk(t, plain, append([]string{"frame", "encode", "--key", keyHex, "--count", "0x01020304", "--epoch", "5", "--direction", "1"}, scr...)...)
		if code != 0 {
			t.Fatalf("encode exit %d: %s", code, errOut)
		}
		if len(wire) != framer.FrameLen || bytes.Equal(wire, plain) {
			t.Fatalf("encode wrote %d bytes", len(wire))
		}
		// The same frame through the library must be byte-identical.
		lib := append([]byte(nil), plain...)
		f, _ := framer.View(lib)
		s, _ := framer.NewSealer(1, framer.Options{NoScramble: scr != nil})
		key := keys.Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
		if err := s.Seal(&f, &key, 0x01020304, 5); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(lib, wire) {
			t.Fatal("otkctl frame encode differs from framer.Seal")
		}
		wire[5000] ^= 0xFF // one symbol error for the FEC
		back, statsOut, code := otk(t, wire, append([]string{"frame", "decode", "--key", keyHex, "--direction", "1", "--json"}, scr...)...)
		if code != 0 {
			t.Fatalf("decode exit %d: %s", code, statsOut)
		}
		var st map[string]any
		if err := json.Unmarshal(statsOut, &st); err != nil {
			t.Fatalf("stats %q: %v", statsOut, err)
		}
		if st["fas_ok"] != true || st["count"] != float64(0x01020304) || st["epoch"] != float64(5) ||
			st["corrected_symbols"] != float64(1) || st["uncorrectable_codewords"] != float64(0) {
			t.Fatalf("stats %s", statsOut)
		}
		if !bytes.Equal(back[framer.RowLen:2*framer.RowLen-256], plain[framer.RowLen:2*framer.RowLen-256]) {
			t.Fatal("decoded row 2 differs from the plaintext")
		}
	}
}

func TestNullEpochNeedsNoKey(t *testing.T) {
	plain := randomImage(2)
	wire, e, code := otk(t, plain, "frame", "encode", "--count", "7", "--epoch", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	back, e, code := otk(t, wire, "frame", "decode")
	if code != 0 || !bytes.Equal(back[100:3000], plain[100:3000]) {
		t.Fatalf("exit %d: %s", code, e)
	}
	if !strings.Contains(string(e), "epoch=0") {
		t.Fatalf("human stats %q", e)
	}
}

func TestMalformedInput(t *testing.T) {
	wire, _, _ := otk(t, randomImage(3), "frame", "encode", "--key", keyHex, "--count", "1")
	noFAS := append([]byte(nil), wire...)
	copy(noFAS, make([]byte, 6))
	full := randomImage(4)
	cases := []struct {
		name  string
		in    []byte
		args  []string
		wants string
	}{
		{"short input", full[:100], []string{"frame", "encode", "--key", keyHex, "--count", "1"}, "input is 100 bytes, want 16830"},
		{"long input", append(full, 0), []string{"frame", "encode", "--key", keyHex, "--count", "1"}, "longer than 16830"},
		{"short key", full, []string{"frame", "encode", "--key", "abcd", "--count", "1"}, "--key must be 32 hex digits"},
		{"non-hex key", full, []string{"frame", "encode", "--key", strings.Repeat("zz", 16), "--count", "1"}, "--key is not hexadecimal"},
		{"missing count", full, []string{"frame", "encode", "--key", keyHex}, "--count is required"},
		{"count overflow", full, []string{"frame", "encode", "--key", keyHex, "--count", "4294967296"}, "--count"},
		{"epoch overflow", full, []string{"frame", "encode", "--key", keyHex, "--count", "1", "--epoch", "256"}, "--epoch"},
		{"bad direction", full, []string{"frame", "encode", "--key", keyHex, "--count", "1", "--direction", "2"}, "--direction"},
		{"missing key", full, []string{"frame", "encode", "--count", "1"}, "--key is required"},
		{"lost FAS", noFAS, []string{"frame", "decode", "--key", keyHex}, "frame alignment lost"},
		{"decode needs key", wire, []string{"frame", "decode"}, "--key is required"},
		{"unknown flag", full, []string{"frame", "encode", "--bogus"}, "bogus"},
		{"unknown subcommand", nil, []string{"frame", "mangle"}, "unknown subcommand"},
		{"unknown command", nil, []string{"reboot"}, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, e, code := otk(t, tc.in, tc.args...)
			want := exitUsage
			if strings.HasSuffix(tc.name, " input") || tc.name == "lost FAS" {
				want = exitDataErr // the frame on stdin is malformed
			}
			if code != want {
				t.Fatalf("exit %d, want %d (stderr %q)", code, want, e)
			}
			if len(out) != 0 {
				t.Fatalf("wrote %d bytes to stdout on error", len(out))
			}
			lines := strings.Split(strings.TrimSpace(string(e)), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "otkctl: ") || !strings.Contains(last, tc.wants) {
				t.Fatalf("error line %q does not name %q", last, tc.wants)
			}
			if strings.Contains(string(e), keyHex) {
				t.Fatal("key digits echoed on stderr")
			}
		})
	}
}

// TestWrongKeyIsRefused: under the wrong key the frame tag does not verify
// (wire format v2), so decode refuses the frame and writes nothing.
func TestWrongKeyIsRefused(t *testing.T) {
	plain := randomImage(5)
	wire, _, _ := otk(t, plain, "frame", "encode", "--key", keyHex, "--count", "9")
	other := strings.Repeat("11", 16)
	back, e, code := otk(t, wire, "frame", "decode", "--key", other)
	if code != 65 || len(back) != 0 || !strings.Contains(string(e), "tag does not verify") {
		t.Fatalf("exit %d, %d bytes out, stderr %q; a wrong key must be refused", code, len(back), e)
	}
	if bytes.Contains(e, []byte(other)) {
		t.Fatal("key digits echoed on stderr")
	}
}

func TestSelftest(t *testing.T) {
	out, e, code := otk(t, nil, "frame", "selftest", "--frames", "20")
	if code != 0 || !strings.Contains(string(out), "selftest ok") {
		t.Fatalf("exit %d: %s %s", code, out, e)
	}
}
