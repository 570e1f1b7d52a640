package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/link/publish"
)

func TestKeyManagementSections(t *testing.T) {
	c := mustParse(t, minimal+`
[controller]
store = "ctl.db"
[keyring]
enabled = true
port = "east"
window = "30s"
[sync]
enabled = true
platforms = { "vpn.example" = "https://127.0.0.1:8443/keys" }
ca_file = "ca.pem"
cert_file = "c.pem"
key_file = "c.key"
`)
	ps := c.KeyringPools()
	if len(ps) != 1 || ps[0].Pool != keyringsvc.DefaultPool || ps[0].Rings != 2 || ps[0].KeysPerRing != keyringsvc.DefaultKeysPerRing {
		t.Fatalf("keyring defaults not applied: %+v", c.Keyrings)
	}
	if ps[0].WindowDuration() != 30*time.Second || c.PoolShmPath(&ps[0]) != c.Shm.Path {
		t.Errorf("window %v, map %s", ps[0].WindowDuration(), c.PoolShmPath(&ps[0]))
	}
	if c.Sync.Platforms["vpn.example"] != "https://127.0.0.1:8443/keys" {
		t.Errorf("platforms %v", c.Sync.Platforms)
	}
	d := c.Clone()
	d.Sync.Platforms["x"] = "y"
	if len(c.Sync.Platforms) != 1 {
		t.Error("Clone shares the platform map")
	}
	if def := Default(); def.Controller.Store != DefaultControllerStore || def.KeyringEnabled() || def.Sync.Enabled {
		t.Errorf("defaults: %+v %+v %+v", def.Controller, def.Keyrings, def.Sync)
	}
}

func TestBadKeyManagement(t *testing.T) {
	const kr = "\n[keyring]\nenabled = true\nport = \"east\"\n"
	const sy = "\n[sync]\nenabled = true\nca_file = \"ca\"\ncert_file = \"c\"\nkey_file = \"k\"\n"
	tests := []struct {
		name, file, field, reason string
	}{
		{"keyring without port", "\n[keyring]\nenabled = true\n", "keyring.port", "required"},
		{"keyring on unknown port", "\n[keyring]\nenabled = true\nport = \"west\"\n", "keyring.port", "no [[port]]"},
		{"one ring", kr + "rings = 1\n", "keyring.rings", "want 2..64"},
		{"one key", kr + "keys_per_ring = 1\n", "keyring.keys_per_ring", "want 2..65536"},
		{"bad window", kr + "window = \"soon\"\n", "keyring.window", "Go duration"},
		{"short window", kr + "window = \"10ms\"\n", "keyring.window", "at least 1s"},
		{"window and schedule", kr + "window = \"1m\"\nschedule = \"s.txt\"\n", "keyring.schedule", "not both"},
		{"bad pool", kr + "pool = \"A B\"\n", "keyring.pool", "[a-z0-9-]"},
		{"disabled pool with a bad name", "\n[keyring]\npool = \"../x\"\n", "keyring.pool", "[a-z0-9-]"},
		{"sync without platforms", sy, "sync.platforms", "at least one"},
		{"http platform", sy + "platforms = { \"vpn\" = \"http://x/keys\" }\n", "sync.platforms.vpn", "https"},
		{"bad app id", sy + "platforms = { \"Vpn\" = \"https://x/keys\" }\n", "sync.platforms.Vpn", "application id"},
		{"sync without cert", "\n[sync]\nenabled = true\nplatforms = { \"vpn\" = \"https://x/k\" }\n", "sync.cert_file", "required"},
		{"controller store same as key store", "\n[controller]\nstore = \"/var/lib/otkd/keys.db\"\n", "controller.store", "same file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.file), "test.toml")
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error for %s in %v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
		})
	}
}

const twoPools = `
[[keyring]]
pool = "vpn"
port = "east"
window = "30s"
[[keyring]]
pool = "web"
port = "east"
rings = 3
keys_per_ring = 8
shm_path = "web-keys"
shm_slots = 128
`

func TestKeyringPools(t *testing.T) {
	c, err := Parse([]byte(minimal+twoPools), "/etc/otkd/otkd.toml")
	if err != nil {
		t.Fatal(err)
	}
	ps := c.KeyringPools()
	if len(ps) != 2 || ps[0].Pool != "vpn" || ps[1].Pool != "web" {
		t.Fatalf("pools %+v", c.Keyrings)
	}
	if !ps[0].Enabled || ps[0].Rings != keyringsvc.DefaultRings || ps[0].KeysPerRing != keyringsvc.DefaultKeysPerRing || ps[0].WindowDuration() != 30*time.Second {
		t.Errorf("pool vpn: defaults not applied: %+v", ps[0])
	}
	if ps[1].Rings != 3 || ps[1].KeysPerRing != 8 || ps[1].WindowDuration() != time.Hour || ps[1].ShmSlots != 128 {
		t.Errorf("pool web: %+v", ps[1])
	}
	if c.PoolShmPath(&ps[0]) != c.Shm.Path || c.PoolShmPath(&ps[1]) != "/etc/otkd/web-keys" {
		t.Errorf("maps %s, %s", c.PoolShmPath(&ps[0]), c.PoolShmPath(&ps[1]))
	}
	// Encode writes [[keyring]] tables that parse back alike.
	var b strings.Builder
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	d, err := Parse([]byte(b.String()), "")
	if err != nil {
		t.Fatalf("parsing the encoded config: %v\n%s", err, b.String())
	}
	if !slices.Equal(d.Keyrings, c.Keyrings) {
		t.Errorf("round trip: %+v, want %+v", d.Keyrings, c.Keyrings)
	}
	// The default-pool rule: a [keyring] table is pool "default", the
	// pool (and so the store buckets keyring/default/…) of a [[keyring]]
	// table naming it.
	one := mustParse(t, minimal+"\n[keyring]\nenabled = true\nport = \"east\"\n")
	arr := mustParse(t, minimal+"\n[[keyring]]\npool = \"default\"\nport = \"east\"\n")
	if !slices.Equal(one.KeyringPools(), arr.KeyringPools()) || one.KeyringPools()[0].Pool != "default" {
		t.Errorf("[keyring] %+v and [[keyring]] pool = \"default\" %+v differ", one.Keyrings, arr.Keyrings)
	}
	// A disabled [[keyring]] table is no pool.
	c = mustParse(t, minimal+twoPools+"enabled = false\n")
	if ps := c.KeyringPools(); len(ps) != 1 || ps[0].Pool != "vpn" {
		t.Errorf("with web disabled: %+v", ps)
	}
}

func TestBadKeyringPools(t *testing.T) {
	const pool = "\n[[keyring]]\nport = \"east\"\n"
	tests := []struct {
		name, file, field, reason string
	}{
		{"pool missing", pool, "keyring[0].pool", "required in a [[keyring]] table"},
		{"duplicate pool", pool + "pool = \"a\"\nshm_path = \"a\"\n" + pool + "pool = \"b\"\n" + pool + "pool = \"a\"\nshm_path = \"c\"\n",
			"keyring[2].pool", "duplicate: keyring[0].pool names the same pool"},
		{"unsafe pool name", pool + "pool = \"../../etc\"\n", "keyring[0].pool", "[a-z0-9-]"},
		{"pool name with a slash", pool + "pool = \"a/b\"\n", "keyring[0].pool", "[a-z0-9-]"},
		{"pool name too long", pool + "pool = \"" + strings.Repeat("a", 33) + "\"\n", "keyring[0].pool", "1..32"},
		{"shared map", pool + "pool = \"a\"\n" + pool + "pool = \"b\"\n", "keyring[1].shm_path", `pool "b": pool "a" (keyring[0].shm_path) publishes in the same shared-memory map`},
		{"shared own map", pool + "pool = \"a\"\nshm_path = \"/tmp/m\"\n" + pool + "pool = \"b\"\nshm_path = \"/tmp/./m\"\n", "keyring[1].shm_path", "same shared-memory map"},
		{"bad rings", pool + "pool = \"a\"\nrings = 1\n", "keyring[0].rings", `pool "a": want 2..64`},
		{"bad window", pool + "pool = \"a\"\nwindow = \"soon\"\n", "keyring[0].window", `pool "a": want a Go duration`},
		{"unknown port", "\n[[keyring]]\npool = \"a\"\nport = \"west\"\n", "keyring[0].port", `pool "a": no [[port]]`},
		{"unknown key", pool + "pool = \"a\"\n" + pool + "pool = \"b\"\nshm_path = \"b\"\ncolour = 1\n", "keyring[1].colour", "unknown key"},
		{"bad slots", pool + "pool = \"a\"\nshm_slots = -1\n", "keyring[0].shm_slots", "want 1.."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.file), "test.toml")
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error for %s in %v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
		})
	}
}

// TestKeyringPlan: KeyringPlan computes W from a pool's schedule and names
// the field, the file, the pool and the line of a bad one.
func TestKeyringPlan(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(good, []byte("2026-11-22T08:00:00Z 2026-11-22T08:40:00Z\n2026-11-22T09:00:00Z 2026-11-22T09:10:00Z\n"), 0o644)
	os.WriteFile(bad, []byte("2026-11-22T08:00:00Z 2026-11-22T08:40:00Z\n2026-11-22T09:00:00Z 2026-11-22T08:10:00Z\n"), 0o644)
	c := mustParse(t, minimal+"\n[[keyring]]\npool = \"a\"\nport = \"east\"\nschedule = \""+good+
		"\"\n[[keyring]]\npool = \"b\"\nport = \"east\"\nshm_path = \"b\"\nschedule = \""+bad+
		"\"\n[[keyring]]\npool = \"c\"\nport = \"east\"\nshm_path = \"c\"\nwindow = \"5m\"\nkeys_per_ring = 6\n")
	p, err := c.KeyringPlan(0)
	if err != nil || p.Window != 40*time.Minute || p.MaxSession != 40*time.Minute {
		t.Errorf("plan of pool a: %+v %v", p, err)
	}
	_, err = c.KeyringPlan(1)
	for _, want := range []string{"keyring[1].schedule " + bad, `pool "b"`, "line 2", "end not after start"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("plan of pool b: %v, want it to say %q", err, want)
		}
	}
	if p, err := c.KeyringPlan(2); err != nil || p.Window != 5*time.Minute || p.KeysPerRing != 6 {
		t.Errorf("plan of pool c: %+v %v", p, err)
	}
	os.Remove(good)
	if _, err := c.KeyringPlan(0); err == nil || !strings.Contains(err.Error(), "keyring[0].schedule "+good) {
		t.Errorf("plan of pool a without its file: %v", err)
	}
}

// TestCapacity: a map that cannot hold every key that can be published in
// it at once is refused when the configuration is validated (the issue's
// keys_per_ring = 512 with [shm] slots = 64 passed --check and failed at
// run time), with the rule and the numbers in one error.
func TestCapacity(t *testing.T) {
	const kr = "\n[keyring]\nenabled = true\nport = \"east\"\n"
	for _, tt := range []struct {
		name, file, field string
		says              []string
	}{
		{"pool in the daemon's map", "\n[shm]\nslots = 64\n" + kr + "keys_per_ring = 512\n", "keyring.keys_per_ring",
			[]string{"2 × 512 = 1024 keys", "1 ports × 6 keys", "64 slots", "shm.slots ≥ 1030"}},
		{"pool in its own map", kr + "keys_per_ring = 64\nshm_path = \"pool.shm\"\nshm_slots = 100\n", "keyring.keys_per_ring",
			[]string{"2 × 64 = 128 keys", "100 slots", "keyring.shm_slots ≥ 128"}},
		{"own map, default slots", "\n[shm]\nslots = 100\n" + kr + "keys_per_ring = 64\nshm_path = \"pool.shm\"\n", "keyring.keys_per_ring",
			[]string{"128 keys", "100 slots", "shm.slots, as keyring.shm_slots is not set"}},
		{"ports alone", "\n[shm]\nslots = 5\n", "shm.slots", []string{"1 ports × 6 keys = 6 keys", "shm.slots ≥ 6"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.file), "test.toml")
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error for %s in %v", tt.field, err)
			}
			for _, s := range tt.says {
				if !strings.Contains(fe.Error(), s) {
					t.Errorf("%q does not say %q", fe.Error(), s)
				}
			}
			if n := strings.Count(err.Error(), "\n"); n != 0 {
				t.Errorf("%d problems, want the capacity alone: %v", n+1, err)
			}
			t.Log(err)
		})
	}
	// Exactly enough is fine: 1 port (6 keys) + 2 × 29 = 64.
	mustParse(t, minimal+"\n[shm]\nslots = 64\n"+kr+"keys_per_ring = 29\n")
}

// TestCapacityOfSchedule: keys_per_ring computed from a schedule is
// checked against the map's slots when the plan is made.
func TestCapacityOfSchedule(t *testing.T) {
	dir := t.TempDir()
	sched := filepath.Join(dir, "s.txt")
	var b strings.Builder
	for range 200 { // 200 sessions at once
		b.WriteString("2026-01-01T10:00:00Z 2026-01-01T11:00:00Z\n")
	}
	if err := os.WriteFile(sched, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, minimal+"\n[shm]\nslots = 64\n[keyring]\nenabled = true\nport = \"east\"\nkeys_per_ring = 2\nschedule = \""+sched+"\"\n")
	_, err := c.KeyringPlan(0)
	if err == nil || !strings.Contains(err.Error(), "keyring.keys_per_ring") || !strings.Contains(err.Error(), "64 slots") {
		t.Fatalf("plan of 200 parallel sessions in a 64-slot map: %v", err)
	}
	t.Log(err)
}

// TestPortKeysAtOnce: the capacity rule's keys per port follow what
// ctrl/link/publish keeps (per direction: Keep, and one more while publishing).
func TestPortKeysAtOnce(t *testing.T) {
	if PortKeysAtOnce != 2*(publish.Keep+1) {
		t.Fatalf("PortKeysAtOnce = %d, ctrl/link/publish keeps %d per direction", PortKeysAtOnce, publish.Keep)
	}
}

// TestScheduleErrorIsFileError: a schedule file that cannot be read or
// parsed is an error about a file the configuration names (ErrFile: otkd
// exits with the configuration status), its text unchanged.
func TestScheduleErrorIsFileError(t *testing.T) {
	c := mustParse(t, minimal+"\n[keyring]\nenabled = true\nport = \"east\"\nschedule = \"/nonexistent/s.txt\"\n")
	_, err := c.KeyringPlan(0)
	if !errors.Is(err, ErrFile) || !strings.HasPrefix(err.Error(), "keyring.schedule /nonexistent/s.txt") {
		t.Fatalf("missing schedule: %v", err)
	}
}
