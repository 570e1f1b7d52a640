package daemon

import (
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// keyring returns the daemon's keyring service, whose Backend the tests
// call as the API would.
func (d *Daemon) keyring() *keyringsvc.Service {
	for _, s := range d.services {
		if k, ok := s.(*keyringsvc.Service); ok {
			return k
		}
	}
	return nil
}

// custody returns the daemon's custody service.
func (d *Daemon) custody() *mpcsvc.Service {
	for _, s := range d.services {
		if m, ok := s.(*mpcsvc.Service); ok {
			return m
		}
	}
	return nil
}
