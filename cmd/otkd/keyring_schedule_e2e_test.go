package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

// TestKeyringSchedule: otkd run computes the keyring geometry from a
// schedule file (docs/keyring.md, the window rule): the longest session is
// 90 min and there are 3 rings, so W = 90 min / (3 − 1) = 45 min; three
// sessions start in one window, so a ring has 2·3 keys. A schedule that
// does not parse stops the daemon with an error naming the file and line.
func TestKeyringSchedule(t *testing.T) {
	a, _ := newLink(t)
	sched := filepath.Join(a.dir, "sessions.txt")
	// Midnight UTC is a multiple of 45 min since the Unix epoch (the origin).
	os.WriteFile(sched, []byte(`# start end
2026-11-22T00:00:00Z 2026-11-22T01:30:00Z
2026-11-22T00:10:00Z 2026-11-22T00:40:00Z
2026-11-22T00:20:00Z 2026-11-22T00:50:00Z
2026-11-22T01:00:00Z 2026-11-22T01:20:00Z
`), 0o600)
	appendConfig(t, a, `
[controller]
store = "controller.db"

[keyring]
enabled = true
port = "east"
rings = 3
schedule = "sessions.txt"
keys_per_ring = 2
`)
	a.start(t)
	var st keyringsvc.KeyringStatus
	poll(t, "keyring status", time.Minute, func() bool {
		c, _ := a.otkctlJSON(t, &st, "keyring", "status")
		return c == 0
	}, a)
	if st.WindowSeconds != 45*60 || len(st.Rings) != 3 {
		t.Fatalf("window %v s, %d rings; want 2700 s, 3 rings", st.WindowSeconds, len(st.Rings))
	}
	for _, r := range st.Rings {
		if r.Keys != 6 || r.WindowEnd.Sub(r.WindowStart) != 45*time.Minute || r.WindowStart.Unix()%(45*60) != 0 {
			t.Fatalf("ring %+v: want 6 keys and an aligned 45 min window", r)
		}
	}
	a.stop(t)

	os.WriteFile(sched, []byte("2026-11-22T00:00:00Z 2026-11-22T01:30:00Z\n2026-11-22T00:10:00Z 2026-11-22T00:05:00Z\n"), 0o600)
	out, err := exec.Command(otkdBin, "run", "--config", a.cfg).CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("otkd run with a bad schedule: %v\n%s", err, out)
	}
	if s := string(out); !strings.Contains(s, "keyring.schedule "+sched) || !strings.Contains(s, "line 2: end not after start") {
		t.Fatalf("bad schedule: the error does not name the file and line:\n%s", out)
	}
}
