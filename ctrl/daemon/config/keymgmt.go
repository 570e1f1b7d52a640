package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/shm"
)

// Minimum keyring window: shorter ones are mistakes (the maintenance loop
// and the clocks of the two ends need some slack).
const minKeyringWindow = time.Second

// decodeKeyrings decodes the keyring tables into c.Keyrings with the
// defaults of the keys they omit: a [keyring] table (raw a map) is one
// pool, "default" unless named, disabled unless enabled; [[keyring]]
// tables (raw a list) are one pool each, enabled unless disabled, and
// must name their pool. It returns the [[keyring]] tables' keys (for
// unknownKey).
func (c *Config) decodeKeyrings(md toml.MetaData, prim toml.Primitive, raw any) ([]map[string]any, error) {
	switch raw := raw.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		c.keyringTable = true
		var k Keyring
		if err := md.PrimitiveDecode(prim, &k); err != nil {
			return nil, decodeError(err, "")
		}
		c.Keyrings = []Keyring{keyringDefaults(k, raw, false)}
		return nil, nil
	case []map[string]any:
		var ks []Keyring
		if err := md.PrimitiveDecode(prim, &ks); err != nil {
			return nil, decodeError(err, "")
		}
		var errs []error
		for i := range ks {
			if _, ok := raw[i]["pool"]; !ok {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("keyring[%d].pool", i), Reason: "required in a [[keyring]] table, missing", Err: ErrInvalid})
			}
			ks[i] = keyringDefaults(ks[i], raw[i], true)
		}
		c.Keyrings = ks
		return raw, errors.Join(errs...)
	}
	return nil, &FieldError{Field: "keyring", Reason: "want a [keyring] table or [[keyring]] tables", Err: ErrInvalid}
}

// keyringDefaults sets the keys k's table omits to their defaults.
func keyringDefaults(k Keyring, keys map[string]any, array bool) Keyring {
	set := func(key string) bool { _, ok := keys[key]; return ok }
	if !set("enabled") {
		k.Enabled = array
	}
	if !set("pool") && !array {
		k.Pool = DefaultKeyringPool
	}
	if !set("rings") {
		k.Rings = DefaultKeyringRings
	}
	if !set("keys_per_ring") {
		k.KeysPerRing = DefaultKeysPerRing
	}
	return k
}

// KeyringPools returns the enabled pools, in file order.
func (c *Config) KeyringPools() []Keyring {
	var out []Keyring
	for _, k := range c.Keyrings {
		if k.Enabled {
			out = append(out, k)
		}
	}
	return out
}

// KeyringEnabled reports whether any pool is enabled.
func (c *Config) KeyringEnabled() bool { return len(c.KeyringPools()) > 0 }

// WindowDuration returns Window parsed, or the default when neither a
// window nor a schedule is given; 0 when Schedule is set (the daemon
// computes W from the file) or the value does not parse (Validate rejects
// it).
func (k *Keyring) WindowDuration() time.Duration {
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

// PoolPlan is a pool's window and ring size as the daemon runs them.
type PoolPlan struct {
	Window      time.Duration
	KeysPerRing int
	// MaxSession is the longest session of the schedule (0 without one).
	MaxSession time.Duration
}

// KeyringPlan returns the window and ring size of Keyrings[i]: Window
// and KeysPerRing, or, with a Schedule, W computed from the file by
// keyring.ComputePlan and K at least what the file needs. It reads the
// schedule file; an error names the field, the file, the pool and (for a
// bad line) the line.
func (c *Config) KeyringPlan(i int) (PoolPlan, error) {
	k := &c.Keyrings[i]
	if k.Schedule == "" {
		return PoolPlan{Window: k.WindowDuration(), KeysPerRing: k.KeysPerRing}, nil
	}
	p, err := k.plan()
	if err != nil {
		return PoolPlan{}, fileError{fmt.Errorf("%s %s (pool %q): %w", c.keyringField(i, "schedule"), k.Schedule, k.Pool, err)}
	}
	if err := c.poolCapacity(i, p.KeysPerRing); err != nil {
		return PoolPlan{}, fmt.Errorf("%s %s gives keys_per_ring %d: %w", c.keyringField(i, "schedule"), k.Schedule, p.KeysPerRing, err)
	}
	return p, nil
}

func (k *Keyring) plan() (PoolPlan, error) {
	f, err := os.Open(k.Schedule)
	if err != nil {
		return PoolPlan{}, err
	}
	defer f.Close()
	sessions, err := keyring.ParseSchedule(f)
	if err != nil {
		return PoolPlan{}, err
	}
	p, err := keyring.ComputePlan(sessions, keyring.PlanOptions{Rings: k.Rings})
	if err != nil {
		return PoolPlan{}, err
	}
	return PoolPlan{Window: p.Window, KeysPerRing: max(k.KeysPerRing, p.KeysPerRing), MaxSession: p.MaxSession}, nil
}

// fileError is an error about a file the configuration names: it matches
// ErrFile, its text unchanged.
type fileError struct{ err error }

func (e fileError) Error() string   { return e.err.Error() }
func (e fileError) Unwrap() []error { return []error{e.err, ErrFile} }

// PoolShmPath returns the shared-memory map of pool k: its ShmPath, or
// [shm] path.
func (c *Config) PoolShmPath(k *Keyring) string {
	if k.ShmPath == "" {
		return c.Shm.Path
	}
	return k.ShmPath
}

// keyringField names key of keyring table i as the file spells it.
func (c *Config) keyringField(i int, key string) string {
	if c.keyringTable {
		return "keyring." + key
	}
	return fmt.Sprintf("keyring[%d].%s", i, key)
}

func (c *Config) validateKeyring(ps *problems) {
	firstPool := map[string]int{}
	firstMap := map[string]int{}
	for i := range c.Keyrings {
		k := &c.Keyrings[i]
		f := func(key string) string { return c.keyringField(i, key) }
		if err := keyring.CheckPool(k.Pool); err != nil {
			ps.add(f("pool"), k.Pool, "want 1..%d of [a-z0-9-], not starting or ending with '-'", keyring.MaxPoolLen)
		} else if j, dup := firstPool[k.Pool]; dup {
			ps.add(f("pool"), k.Pool, "duplicate: %s names the same pool", c.keyringField(j, "pool"))
		} else {
			firstPool[k.Pool] = i
		}
		if !k.Enabled {
			continue
		}
		path := filepath.Clean(c.PoolShmPath(k))
		if j, dup := firstMap[path]; dup {
			ps.add(f("shm_path"), c.PoolShmPath(k), "pool %q: pool %q (%s) publishes in the same shared-memory map; consumer ids would collide: give each pool its own shm_path",
				k.Pool, c.Keyrings[j].Pool, c.keyringField(j, "shm_path"))
		} else {
			firstMap[path] = i
		}
		c.validatePool(ps, k, f)
	}
}

// validatePool checks the fields of enabled pool k; f names a key.
func (c *Config) validatePool(ps *problems, k *Keyring, f func(string) string) {
	in := fmt.Sprintf("pool %q: ", k.Pool)
	if k.Port == "" {
		ps.add(f("port"), nil, "%srequired when enabled: the [[port]] whose seeds fill the rings", in)
	} else if !slices.ContainsFunc(c.Ports, func(p Port) bool { return p.Name == k.Port }) {
		ps.add(f("port"), k.Port, "%sno [[port]] has this name", in)
	}
	if k.Rings < 2 || k.Rings > keyring.MaxRings {
		ps.add(f("rings"), k.Rings, "%swant 2..%d", in, keyring.MaxRings)
	}
	if k.KeysPerRing < 2 || k.KeysPerRing > keyring.MaxKeysPerRing {
		ps.add(f("keys_per_ring"), k.KeysPerRing, "%swant 2..%d", in, keyring.MaxKeysPerRing)
	}
	if k.ShmSlots < 0 || k.ShmSlots > shm.MaxSlots {
		ps.add(f("shm_slots"), k.ShmSlots, "%swant 1..%d (0: [shm] slots)", in, shm.MaxSlots)
	}
	switch {
	case k.Window != "" && k.Schedule != "":
		ps.add(f("schedule"), k.Schedule, "%sgive window or schedule, not both", in)
	case k.Schedule != "":
	default:
		if w := k.WindowDuration(); w < minKeyringWindow {
			ps.add(f("window"), k.Window, "%swant a Go duration of at least %v (e.g. \"10m\")", in, minKeyringWindow)
		}
	}
}

// PortKeysAtOnce is how many keys one [[port]] can have in the daemon's
// map ([shm]) at once: per direction the active key, the one before it
// (ctrl/link/publish keeps 2) and, while it is being published, the next one
// before the oldest is retired.
const PortKeysAtOnce = 2 * 3

// validateCapacity checks that every map can hold every key that can be
// published in it at once, so that a publish never fails for want of a
// slot at run time. The rule (docs/shm.md, "Capacity"): an enabled pool
// can have rings × keys_per_ring keys bound at once (every slot of every
// ring, both ends' halves); a pool publishes in its own map (shm_path,
// with shm_slots slots, default [shm] slots) or in the daemon's, which
// also holds PortKeysAtOnce keys per port. A pool whose schedule computes
// a larger keys_per_ring is checked again by KeyringPlan.
func (c *Config) validateCapacity(ps *problems) {
	if c.Shm.Slots < 1 || c.Shm.Slots > shm.MaxSlots || len(c.Ports) > MaxPorts {
		return // reported already
	}
	portKeys := len(c.Ports) * PortKeysAtOnce
	daemonKeys, daemonPool := portKeys, -1
	for i := range c.Keyrings {
		k := &c.Keyrings[i]
		if !k.Enabled || k.Rings < 2 || k.Rings > keyring.MaxRings || k.KeysPerRing < 2 || k.KeysPerRing > keyring.MaxKeysPerRing ||
			k.ShmSlots < 0 || k.ShmSlots > shm.MaxSlots {
			continue
		}
		if err := c.poolCapacity(i, k.KeysPerRing); err != nil {
			*ps = append(*ps, err)
		}
		if filepath.Clean(c.PoolShmPath(k)) == filepath.Clean(c.Shm.Path) {
			daemonKeys, daemonPool = daemonKeys+k.Rings*k.KeysPerRing, i
		}
	}
	if daemonPool < 0 && daemonKeys > c.Shm.Slots {
		ps.add("shm.slots", c.Shm.Slots, "%d ports × %d keys = %d keys can be published at once, more than %d slots: want shm.slots ≥ %d",
			len(c.Ports), PortKeysAtOnce, daemonKeys, c.Shm.Slots, daemonKeys)
	}
}

// poolCapacity checks pool i with keysPerRing keys per ring against the
// slots of the map it publishes in (and, for the daemon's map, its
// ports' keys); the error names the field to change and says the rule.
func (c *Config) poolCapacity(i, keysPerRing int) error {
	k := &c.Keyrings[i]
	need := k.Rings * keysPerRing
	path := c.PoolShmPath(k)
	if filepath.Clean(path) == filepath.Clean(c.Shm.Path) {
		ports := len(c.Ports) * PortKeysAtOnce
		if need+ports <= c.Shm.Slots {
			return nil
		}
		return &FieldError{Field: c.keyringField(i, "keys_per_ring"), Value: show(keysPerRing), Err: ErrInvalid,
			Reason: fmt.Sprintf("pool %q: rings × keys_per_ring = %d × %d = %d keys can be bound at once, and %d ports × %d keys = %d port keys share its map %s, more than its %d slots (shm.slots): want shm.slots ≥ %d, fewer rings or keys per ring, or the pool in a map of its own (shm_path)",
				k.Pool, k.Rings, keysPerRing, need, len(c.Ports), PortKeysAtOnce, ports, path, c.Shm.Slots, need+ports)}
	}
	slots, field := k.ShmSlots, c.keyringField(i, "shm_slots")
	if slots == 0 {
		slots, field = c.Shm.Slots, "shm.slots, as "+field+" is not set"
	}
	if need <= slots {
		return nil
	}
	return &FieldError{Field: c.keyringField(i, "keys_per_ring"), Value: show(keysPerRing), Err: ErrInvalid,
		Reason: fmt.Sprintf("pool %q: rings × keys_per_ring = %d × %d = %d keys can be bound at once, more than the %d slots of its map %s (%s): want %s ≥ %d, or fewer rings or keys per ring",
			k.Pool, k.Rings, keysPerRing, need, slots, path, field, c.keyringField(i, "shm_slots"), need)}
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
