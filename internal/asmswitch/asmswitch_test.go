package asmswitch

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		off     []string
		unknown int
	}{
		{"", nil, 0},
		{"fec", []string{"fec"}, 0},
		{" ZUC , noise ", []string{"zuc", "noise"}, 0},
		{"all", Names, 0},
		{"fec,avx", []string{"fec"}, 1},
		{",,", nil, 0},
	} {
		off, unknown := parse(tc.in)
		if len(off) != len(tc.off) || len(unknown) != tc.unknown {
			t.Errorf("parse(%q) = %v, %v", tc.in, off, unknown)
		}
		for _, n := range tc.off {
			if !off[n] {
				t.Errorf("parse(%q): %s not off", tc.in, n)
			}
		}
	}
}

// TestFromEnvironment runs this test binary again with OTKD_NOASM set: the switch is
// read once at start-up, so only a new process sees a new value.
func TestFromEnvironment(t *testing.T) {
	if os.Getenv("ASMSWITCH_CHILD") == "1" {
		if !Off("fec") || Off("zuc") {
			t.Fatal("child: OTKD_NOASM=fec,bogus not applied")
		}
		err := Check()
		if err == nil || !strings.Contains(err.Error(), `"bogus"`) {
			t.Fatalf("child: Check() = %v, want the unknown name", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFromEnvironment$")
	cmd.Env = append(os.Environ(), "ASMSWITCH_CHILD=1", Env+"=fec,bogus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
