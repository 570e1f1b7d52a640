package keyringsvc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/shm"
)

// Pool is one consumer pool of time-windowed keyrings, filled from the
// seeds of one port (docs/keyring.md): the [keyring] table, or one of the
// [[keyring]] tables of a daemon with several pools (package doc, "Keys").
type Pool struct {
	// Enabled: default false in a [keyring] table, true in a [[keyring]]
	// table.
	Enabled bool `toml:"enabled"`
	// Port names the [[port]] whose seeds fill the rings; required when
	// enabled. Both ends of that link must configure equal keyrings.
	// Several pools may share a port.
	Port string `toml:"port"`
	// Pool names the consumer pool: 1..32 of [a-z0-9-] (keyring.CheckPool),
	// unique. Default "default" in a [keyring] table; required in a
	// [[keyring]] table.
	Pool string `toml:"pool"`
	// ShmPath is the shared-memory map the pool publishes its keys and
	// bindings in; default [shm] path. Two enabled pools cannot share a
	// map: a consumer id names one binding per map.
	ShmPath string `toml:"shm_path"`
	// ShmSlots is the slot count of a map of the pool's own (ShmPath set
	// and not [shm] path); default [shm] slots.
	ShmSlots int `toml:"shm_slots"`
	// Rings is R, 2..64. Default 2.
	Rings int `toml:"rings"`
	// Window is W as a Go duration ("10m"); Schedule computes it instead.
	// Default "1h" when neither is given.
	Window string `toml:"window"`
	// Schedule is a file of expected sessions ("start end" per line) from
	// which W is computed (keyring.ComputePlan); excludes Window.
	Schedule string `toml:"schedule"`
	// KeysPerRing is K, both ends' halves, 2..65536. Default 64.
	KeysPerRing int `toml:"keys_per_ring"`
}

// Defaults of a pool.
const (
	DefaultPool        = "default"
	DefaultRings       = 2
	DefaultWindow      = "1h"
	DefaultKeysPerRing = 64
)

// Minimum keyring window: shorter ones are mistakes (the maintenance loop
// and the clocks of the two ends need some slack).
const minWindow = time.Second

// Decode decodes the keyring tables of a file (prim, the section as the
// decoder kept it; raw, the same as plain values) into pools with the
// defaults of the keys they omit: a [keyring] table (raw a map) is one
// pool, "default" unless named, disabled unless enabled (table is then
// true); [[keyring]] tables (raw a list) are one pool each, enabled
// unless disabled, and must name their pool. tables are the [[keyring]]
// tables' keys (to name an unknown key with its index). wrap turns a
// decoding error into the configuration's error.
func Decode(md toml.MetaData, prim toml.Primitive, raw any, wrap func(error) error) (pools []Pool, table bool, tables []map[string]any, err error) {
	switch raw := raw.(type) {
	case nil:
		return nil, false, nil, nil
	case map[string]any:
		var k Pool
		if err := md.PrimitiveDecode(prim, &k); err != nil {
			return nil, true, nil, wrap(err)
		}
		return []Pool{defaults(k, raw, false)}, true, nil, nil
	case []map[string]any:
		var ks []Pool
		if err := md.PrimitiveDecode(prim, &ks); err != nil {
			return nil, false, nil, wrap(err)
		}
		var errs []error
		for i := range ks {
			if _, ok := raw[i]["pool"]; !ok {
				errs = append(errs, &service.FieldError{Field: fmt.Sprintf("keyring[%d].pool", i), Reason: "required in a [[keyring]] table, missing", Err: service.ErrInvalid})
			}
			ks[i] = defaults(ks[i], raw[i], true)
		}
		return ks, false, raw, errors.Join(errs...)
	}
	return nil, false, nil, &service.FieldError{Field: "keyring", Reason: "want a [keyring] table or [[keyring]] tables", Err: service.ErrInvalid}
}

// defaults sets the keys k's table omits to their defaults.
func defaults(k Pool, keys map[string]any, array bool) Pool {
	set := func(key string) bool { _, ok := keys[key]; return ok }
	if !set("enabled") {
		k.Enabled = array
	}
	if !set("pool") && !array {
		k.Pool = DefaultPool
	}
	if !set("rings") {
		k.Rings = DefaultRings
	}
	if !set("keys_per_ring") {
		k.KeysPerRing = DefaultKeysPerRing
	}
	return k
}

// Enabled returns the enabled pools, in file order.
func Enabled(pools []Pool) []Pool {
	var out []Pool
	for _, k := range pools {
		if k.Enabled {
			out = append(out, k)
		}
	}
	return out
}

// Field names key of keyring table i as the file spells it: "keyring.x"
// in a [keyring] table, "keyring[i].x" in [[keyring]] tables.
func Field(table bool, i int, key string) string {
	if table {
		return "keyring." + key
	}
	return fmt.Sprintf("keyring[%d].%s", i, key)
}

// WindowDuration returns Window parsed, or the default when neither a
// window nor a schedule is given; 0 when Schedule is set (the daemon
// computes W from the file) or the value does not parse (Validate rejects
// it).
func (k *Pool) WindowDuration() time.Duration {
	if k.Schedule != "" {
		return 0
	}
	w := k.Window
	if w == "" {
		w = DefaultWindow
	}
	d, err := time.ParseDuration(w)
	if err != nil {
		return 0
	}
	return d
}

// MapPath returns the shared-memory map the pool publishes in: its
// ShmPath, or the daemon's (shmPath).
func (k *Pool) MapPath(shmPath string) string {
	if k.ShmPath == "" {
		return shmPath
	}
	return k.ShmPath
}

// Plan is a pool's window and ring size as the daemon runs them.
type Plan struct {
	Window      time.Duration
	KeysPerRing int
	// MaxSession is the longest session of the schedule (0 without one).
	MaxSession time.Duration
}

// PlanOf returns the window and ring size of pools[i]: Window and
// KeysPerRing, or, with a Schedule, W computed from the file by
// keyring.ComputePlan and K at least what the file needs. It reads the
// schedule file; an error names the field, the file, the pool and (for a
// bad line) the line.
func PlanOf(pools []Pool, i int, table bool, env service.Env) (Plan, error) {
	k := &pools[i]
	if k.Schedule == "" {
		return Plan{Window: k.WindowDuration(), KeysPerRing: k.KeysPerRing}, nil
	}
	p, err := k.plan()
	if err != nil {
		return Plan{}, service.FileError(fmt.Errorf("%s %s (pool %q): %w", Field(table, i, "schedule"), k.Schedule, k.Pool, err))
	}
	if err := capacity(pools, i, table, p.KeysPerRing, env); err != nil {
		return Plan{}, fmt.Errorf("%s %s gives keys_per_ring %d: %w", Field(table, i, "schedule"), k.Schedule, p.KeysPerRing, err)
	}
	return p, nil
}

func (k *Pool) plan() (Plan, error) {
	f, err := os.Open(k.Schedule)
	if err != nil {
		return Plan{}, err
	}
	defer f.Close()
	sessions, err := keyring.ParseSchedule(f)
	if err != nil {
		return Plan{}, err
	}
	p, err := keyring.ComputePlan(sessions, keyring.PlanOptions{Rings: k.Rings})
	if err != nil {
		return Plan{}, err
	}
	return Plan{Window: p.Window, KeysPerRing: max(k.KeysPerRing, p.KeysPerRing), MaxSession: p.MaxSession}, nil
}

// Resolve makes the pools' relative paths absolute (abs).
func Resolve(pools []Pool, abs func(*string)) {
	for i := range pools {
		abs(&pools[i].Schedule)
		abs(&pools[i].ShmPath)
	}
}

// CheckFiles checks the files the enabled pools name: their schedules, and
// the directories of their own maps.
func CheckFiles(pools []Pool, table bool, f *service.Files) {
	for i := range pools {
		if k := &pools[i]; k.Enabled && k.Schedule != "" {
			f.Regular(Field(table, i, "schedule"), k.Schedule)
		}
	}
	for i := range pools {
		if k := &pools[i]; k.Enabled && k.ShmPath != "" {
			f.Dir(Field(table, i, "shm_path"), k.ShmPath)
		}
	}
}

// Validate checks the pools against each other and the rest of the file
// (env): names, ports, maps, sizes, windows, and that every map can hold
// every key that can be published in it at once.
func Validate(pools []Pool, table bool, env service.Env, ps *service.Problems) {
	firstPool := map[string]int{}
	firstMap := map[string]int{}
	for i := range pools {
		k := &pools[i]
		f := func(key string) string { return Field(table, i, key) }
		if err := keyring.CheckPool(k.Pool); err != nil {
			ps.Add(f("pool"), k.Pool, "want 1..%d of [a-z0-9-], not starting or ending with '-'", keyring.MaxPoolLen)
		} else if j, dup := firstPool[k.Pool]; dup {
			ps.Add(f("pool"), k.Pool, "duplicate: %s names the same pool", Field(table, j, "pool"))
		} else {
			firstPool[k.Pool] = i
		}
		if !k.Enabled {
			continue
		}
		path := filepath.Clean(k.MapPath(env.ShmPath))
		if j, dup := firstMap[path]; dup {
			ps.Add(f("shm_path"), k.MapPath(env.ShmPath), "pool %q: pool %q (%s) publishes in the same shared-memory map; consumer ids would collide: give each pool its own shm_path",
				k.Pool, pools[j].Pool, Field(table, j, "shm_path"))
		} else {
			firstMap[path] = i
		}
		validatePool(ps, k, env, f)
	}
	validateCapacity(pools, table, env, ps)
}

// validatePool checks the fields of enabled pool k; f names a key.
func validatePool(ps *service.Problems, k *Pool, env service.Env, f func(string) string) {
	in := fmt.Sprintf("pool %q: ", k.Pool)
	if k.Port == "" {
		ps.Add(f("port"), nil, "%srequired when enabled: the [[port]] whose seeds fill the rings", in)
	} else if !slices.Contains(env.Ports, k.Port) {
		ps.Add(f("port"), k.Port, "%sno [[port]] has this name", in)
	}
	if k.Rings < 2 || k.Rings > keyring.MaxRings {
		ps.Add(f("rings"), k.Rings, "%swant 2..%d", in, keyring.MaxRings)
	}
	if k.KeysPerRing < 2 || k.KeysPerRing > keyring.MaxKeysPerRing {
		ps.Add(f("keys_per_ring"), k.KeysPerRing, "%swant 2..%d", in, keyring.MaxKeysPerRing)
	}
	if k.ShmSlots < 0 || k.ShmSlots > shm.MaxSlots {
		ps.Add(f("shm_slots"), k.ShmSlots, "%swant 1..%d (0: [shm] slots)", in, shm.MaxSlots)
	}
	switch {
	case k.Window != "" && k.Schedule != "":
		ps.Add(f("schedule"), k.Schedule, "%sgive window or schedule, not both", in)
	case k.Schedule != "":
	default:
		if w := k.WindowDuration(); w < minWindow {
			ps.Add(f("window"), k.Window, "%swant a Go duration of at least %v (e.g. \"10m\")", in, minWindow)
		}
	}
}

// validateCapacity checks that every map can hold every key that can be
// published in it at once, so that a publish never fails for want of a
// slot at run time. The rule (docs/shm.md, "Capacity"): an enabled pool
// can have rings × keys_per_ring keys bound at once (every slot of every
// ring, both ends' halves); a pool publishes in its own map (shm_path,
// with shm_slots slots, default [shm] slots) or in the daemon's, which
// also holds env.PortKeys keys per port. A pool whose schedule computes a
// larger keys_per_ring is checked again by PlanOf.
func validateCapacity(pools []Pool, table bool, env service.Env, ps *service.Problems) {
	if env.ShmSlots < 1 || env.ShmSlots > shm.MaxSlots {
		return // reported already
	}
	daemonKeys, daemonPool := len(env.Ports)*env.PortKeys, -1
	for i := range pools {
		k := &pools[i]
		if !k.Enabled || k.Rings < 2 || k.Rings > keyring.MaxRings || k.KeysPerRing < 2 || k.KeysPerRing > keyring.MaxKeysPerRing ||
			k.ShmSlots < 0 || k.ShmSlots > shm.MaxSlots {
			continue
		}
		if err := capacity(pools, i, table, k.KeysPerRing, env); err != nil {
			*ps = append(*ps, err)
		}
		if filepath.Clean(k.MapPath(env.ShmPath)) == filepath.Clean(env.ShmPath) {
			daemonKeys, daemonPool = daemonKeys+k.Rings*k.KeysPerRing, i
		}
	}
	if daemonPool < 0 && daemonKeys > env.ShmSlots {
		ps.Add("shm.slots", env.ShmSlots, "%d ports × %d keys = %d keys can be published at once, more than %d slots: want shm.slots ≥ %d",
			len(env.Ports), env.PortKeys, daemonKeys, env.ShmSlots, daemonKeys)
	}
}

// capacity checks pool i with keysPerRing keys per ring against the slots
// of the map it publishes in (and, for the daemon's map, its ports'
// keys); the error names the field to change and says the rule.
func capacity(pools []Pool, i int, table bool, keysPerRing int, env service.Env) error {
	k := &pools[i]
	need := k.Rings * keysPerRing
	path := k.MapPath(env.ShmPath)
	if filepath.Clean(path) == filepath.Clean(env.ShmPath) {
		ports := len(env.Ports) * env.PortKeys
		if need+ports <= env.ShmSlots {
			return nil
		}
		return &service.FieldError{Field: Field(table, i, "keys_per_ring"), Value: service.Show(keysPerRing), Err: service.ErrInvalid,
			Reason: fmt.Sprintf("pool %q: rings × keys_per_ring = %d × %d = %d keys can be bound at once, and %d ports × %d keys = %d port keys share its map %s, more than its %d slots (shm.slots): want shm.slots ≥ %d, fewer rings or keys per ring, or the pool in a map of its own (shm_path)",
				k.Pool, k.Rings, keysPerRing, need, len(env.Ports), env.PortKeys, ports, path, env.ShmSlots, need+ports)}
	}
	slots, field := k.ShmSlots, Field(table, i, "shm_slots")
	if slots == 0 {
		slots, field = env.ShmSlots, "shm.slots, as "+field+" is not set"
	}
	if need <= slots {
		return nil
	}
	return &service.FieldError{Field: Field(table, i, "keys_per_ring"), Value: service.Show(keysPerRing), Err: service.ErrInvalid,
		Reason: fmt.Sprintf("pool %q: rings × keys_per_ring = %d × %d = %d keys can be bound at once, more than the %d slots of its map %s (%s): want %s ≥ %d, or fewer rings or keys per ring",
			k.Pool, k.Rings, keysPerRing, need, slots, path, field, Field(table, i, "shm_slots"), need)}
}
