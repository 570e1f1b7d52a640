package config

import (
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/otkd/otkd/ctrl/keyring"
	"github.com/otkd/otkd/ctrl/keysync"
)

// Minimum keyring window: shorter ones are mistakes (the maintenance loop
// and the clocks of the two ends need some slack).
const minKeyringWindow = time.Second

// KeyringWindow returns Keyring.Window parsed, or the default when neither
// a window nor a schedule is given; 0 when Schedule is set (the daemon
// computes W from the file) or the value does not parse (Validate rejects
// it).
func (c *Config) KeyringWindow() time.Duration {
	k := c.Keyring
	if k.Schedule != "" {
		return 0
	}
	w := k.Window
	if w == "" {
		w = DefaultKeyringWindow
	}
	d, err := time.ParseDuration(w)
	if err != nil {
		return 0
	}
	return d
}

func (c *Config) validateKeyring(ps *problems) {
	k := c.Keyring
	if !k.Enabled {
		return
	}
	if k.Port == "" {
		ps.add("keyring.port", nil, "required when keyring.enabled: the [[port]] whose seeds fill the rings")
	} else if !slices.ContainsFunc(c.Ports, func(p Port) bool { return p.Name == k.Port }) {
		ps.add("keyring.port", k.Port, "no [[port]] has this name")
	}
	if k.Pool == "" || !portNameRE.MatchString(k.Pool) || len(k.Pool) > MaxPortNameLen {
		ps.add("keyring.pool", k.Pool, "want 1..%d of [a-z0-9-]", MaxPortNameLen)
	}
	if k.Rings < 2 || k.Rings > keyring.MaxRings {
		ps.add("keyring.rings", k.Rings, "want 2..%d", keyring.MaxRings)
	}
	if k.KeysPerRing < 2 || k.KeysPerRing > keyring.MaxKeysPerRing {
		ps.add("keyring.keys_per_ring", k.KeysPerRing, "want 2..%d", keyring.MaxKeysPerRing)
	}
	switch {
	case k.Window != "" && k.Schedule != "":
		ps.add("keyring.schedule", k.Schedule, "give keyring.window or keyring.schedule, not both")
	case k.Schedule != "":
	default:
		if w := c.KeyringWindow(); w < minKeyringWindow {
			ps.add("keyring.window", k.Window, "want a Go duration of at least %v (e.g. \"10m\")", minKeyringWindow)
		}
	}
}

func (c *Config) validateSync(ps *problems) {
	s := c.Sync
	if !s.Enabled {
		return
	}
	if len(s.Platforms) == 0 {
		ps.add("sync.platforms", nil, "required when sync.enabled: at least one application id = \"https://…\"")
	}
	apps := slices.Sorted(maps.Keys(s.Platforms))
	for _, app := range apps {
		field := "sync.platforms." + app
		if err := keysync.CheckApp(app); err != nil {
			ps.add(field, nil, "application id: want 1..64 of [a-z0-9.-], starting and ending with a letter or digit")
			continue
		}
		u, err := url.Parse(s.Platforms[app])
		if err != nil || u.Scheme != "https" || u.Host == "" {
			ps.add(field, s.Platforms[app], "want an https URL with a host")
		}
	}
	for _, f := range []struct{ field, path string }{
		{"sync.ca_file", s.CAFile}, {"sync.cert_file", s.CertFile}, {"sync.key_file", s.KeyFile},
	} {
		if f.path == "" {
			ps.add(f.field, nil, "required when sync.enabled")
		}
	}
}
