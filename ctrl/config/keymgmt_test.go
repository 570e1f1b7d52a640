package config

import (
	"strings"
	"testing"
	"time"
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
	if c.Keyring.Pool != DefaultKeyringPool || c.Keyring.Rings != 2 || c.Keyring.KeysPerRing != DefaultKeysPerRing {
		t.Errorf("keyring defaults not applied: %+v", c.Keyring)
	}
	if c.KeyringWindow() != 30*time.Second {
		t.Errorf("window %v", c.KeyringWindow())
	}
	if c.Sync.Platforms["vpn.example"] != "https://127.0.0.1:8443/keys" {
		t.Errorf("platforms %v", c.Sync.Platforms)
	}
	d := c.Clone()
	d.Sync.Platforms["x"] = "y"
	if len(c.Sync.Platforms) != 1 {
		t.Error("Clone shares the platform map")
	}
	if def := Default(); def.Controller.Store != DefaultControllerStore || def.Keyring.Enabled || def.Sync.Enabled {
		t.Errorf("defaults: %+v %+v %+v", def.Controller, def.Keyring, def.Sync)
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
