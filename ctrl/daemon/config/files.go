package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// ErrFile is wrapped by every error of CheckFiles.
var ErrFile = errors.New("config: file check failed")

// CheckFiles looks at the files a valid Config names, without opening,
// creating or changing any: the key files exist, are regular files and have
// safe modes (the private key 0600 or 0400, the KEK exactly 0600, a pinned
// public key not writable by group or others), the directories of the store,
// the shm file and the socket exist, and the groups exist. The daemon calls it
// after Load and before it creates anything, so that a mistake stops it
// early; the loaders re-check the modes when they read. Errors are
// *FieldError values wrapping ErrFile, joined.
func (c *Config) CheckFiles() error {
	var errs []error
	bad := func(field, path, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Value: show(path), Reason: fmt.Sprintf(format, args...), Err: ErrFile})
	}
	keyFile := func(field, path string, check func(fs.FileMode) string) {
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			bad(field, path, "%v", unwrapPath(err))
		case !fi.Mode().IsRegular():
			bad(field, path, "not a regular file (%v)", fi.Mode().Type())
		default:
			if why := check(fi.Mode().Perm()); why != "" {
				bad(field, path, "mode %04o: %s", fi.Mode().Perm(), why)
			}
		}
	}
	keyFile("node.private_key", c.Node.PrivateKey, func(m fs.FileMode) string {
		if m&0o077 != 0 {
			return "group or others have access, want 0600 or 0400"
		}
		return ""
	})
	for i := range c.Ports {
		keyFile(fmt.Sprintf("port[%d].peer_public_key", i), c.Ports[i].PeerPublicKey, func(m fs.FileMode) string {
			if m&0o022 != 0 {
				return "group or others may write it, so it pins nothing"
			}
			return ""
		})
	}
	keyFile("store.kek_file", c.Store.KEKFile, func(m fs.FileMode) string {
		if m != 0o600 {
			return "want 0600"
		}
		return ""
	})
	if c.Sync.Enabled {
		keyFile("sync.key_file", c.Sync.KeyFile, func(m fs.FileMode) string {
			if m&0o077 != 0 {
				return "group or others have access, want 0600 or 0400"
			}
			return ""
		})
		keyFile("sync.cert_file", c.Sync.CertFile, func(fs.FileMode) string { return "" })
		keyFile("sync.ca_file", c.Sync.CAFile, func(fs.FileMode) string { return "" })
	}
	for i := range c.Keyrings {
		if k := &c.Keyrings[i]; k.Enabled && k.Schedule != "" {
			keyFile(c.keyringField(i, "schedule"), k.Schedule, func(fs.FileMode) string { return "" })
		}
	}
	c.checkMPCFiles(func(field, path string, check func(uint32) string) {
		keyFile(field, path, func(m fs.FileMode) string { return check(uint32(m)) })
	})
	dirs := []struct{ field, path string }{
		{"store.path", c.Store.Path}, {"shm.path", c.Shm.Path}, {"api.socket", c.API.Socket},
	}
	if c.KeyringEnabled() || c.Sync.Enabled || c.MPC.Enabled { // the daemon opens it only then
		dirs = append(dirs, struct{ field, path string }{"controller.store", c.Controller.Store})
	}
	for i := range c.Keyrings {
		if k := &c.Keyrings[i]; k.Enabled && k.ShmPath != "" {
			dirs = append(dirs, struct{ field, path string }{c.keyringField(i, "shm_path"), k.ShmPath})
		}
	}
	for _, d := range dirs {
		dir := filepath.Dir(d.path)
		fi, err := os.Stat(dir)
		switch {
		case err != nil:
			bad(d.field, d.path, "directory %s: %v", dir, unwrapPath(err))
		case !fi.IsDir():
			bad(d.field, d.path, "%s is not a directory", dir)
		}
	}
	for _, g := range []struct{ field, name string }{{"shm.group", c.Shm.Group}, {"api.group", c.API.Group}} {
		if g.name == "" {
			continue
		}
		if err := lookupGroup(g.name); err != nil {
			bad(g.field, g.name, "%v", err)
		}
	}
	return errors.Join(errs...)
}

func lookupGroup(name string) error {
	var err error
	if strings.Trim(name, "0123456789") == "" {
		_, err = user.LookupGroupId(name)
	} else {
		_, err = user.LookupGroup(name)
	}
	return err
}

// unwrapPath drops the path a *PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
