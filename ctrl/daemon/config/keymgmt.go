package config

import (
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/service"
)

// The key-management sections are the features' own (keyringsvc.Pool,
// keysyncsvc.Config, mpcsvc.Config): they decode, default, validate,
// resolve and check their keys themselves. These are the file's views of
// them that the daemon and the tests use.

// KeyringPools returns the enabled pools, in file order.
func (c *Config) KeyringPools() []keyringsvc.Pool { return keyringsvc.Enabled(c.Keyrings) }

// KeyringEnabled reports whether any pool is enabled.
func (c *Config) KeyringEnabled() bool { return len(c.KeyringPools()) > 0 }

// KeyringTable reports whether the file has a [keyring] table rather than
// [[keyring]] tables (errors name its keys "keyring.x").
func (c *Config) KeyringTable() bool { return c.keyringTable }

// PoolShmPath returns the shared-memory map of pool k: its ShmPath, or
// [shm] path.
func (c *Config) PoolShmPath(k *keyringsvc.Pool) string { return k.MapPath(c.Shm.Path) }

// KeyringPlan returns the window and ring size of Keyrings[i]
// (keyringsvc.PlanOf): it reads a schedule file.
func (c *Config) KeyringPlan(i int) (keyringsvc.Plan, error) {
	return keyringsvc.PlanOf(c.Keyrings, i, c.keyringTable, c.env())
}

// Env is what the features' sections need of the rest of the file (the
// daemon hands it to the keyring service).
func (c *Config) Env() service.Env { return c.env() }
