package config

import (
	"fmt"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/service"
)

// CheckFiles looks at the files a valid Config names, without opening,
// creating or changing any: the key files exist, are regular files and have
// safe modes (the private key 0600 or 0400, the KEK exactly 0600, a pinned
// public key not writable by group or others), the directories of the store,
// the shm file and the socket exist, and the groups exist; each feature's
// section checks its own files. The daemon calls it after Load and before
// it creates anything, so that a mistake stops it early; the loaders
// re-check the modes when they read. Errors are *FieldError values
// wrapping ErrFile, joined.
func (c *Config) CheckFiles() error {
	var f service.Files
	f.Private("node.private_key", c.Node.PrivateKey)
	for i := range c.Ports {
		f.Pinned(fmt.Sprintf("port[%d].peer_public_key", i), c.Ports[i].PeerPublicKey)
	}
	f.Mode("store.kek_file", c.Store.KEKFile, 0o600)
	c.Sync.CheckFiles(&f)
	keyringsvc.CheckFiles(c.Keyrings, c.keyringTable, &f)
	c.MPC.CheckFiles(&f)
	f.Dir("store.path", c.Store.Path)
	f.Dir("shm.path", c.Shm.Path)
	f.Dir("api.socket", c.API.Socket)
	switch {
	case c.ControllerOnEtcd():
		c.Controller.Etcd.CheckFiles(&f)
	case c.KeyringEnabled() || c.Sync.Enabled || c.MPC.Enabled: // the daemon opens it only then
		f.Dir("controller.store", c.Controller.Store)
	}
	for _, g := range []struct{ field, name string }{{"shm.group", c.Shm.Group}, {"api.group", c.API.Group}} {
		if g.name != "" {
			f.Group(g.field, g.name)
		}
	}
	return f.Err()
}
