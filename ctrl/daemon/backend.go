package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/shm"
)

var _ api.Backend = (*Daemon)(nil)

// Status implements api.Backend.
func (d *Daemon) Status(ctx context.Context) (api.Status, error) {
	s := api.Status{
		Node: d.cfg.Node.Name, Version: Version, PID: pid, StartedAt: d.started,
		UptimeSeconds: time.Since(d.started).Seconds(), Health: d.health.Load().(string),
		ShmPath: d.cfg.Shm.Path, StorePath: d.cfg.Store.Path, Generation: d.writer.Generation(),
		Keys: d.countKeys(),
	}
	for _, p := range d.ports {
		ps := p.Summary()
		if ps.Handshake != "starting" && (ps.Handshake != "done" || ps.Health != "ok") && s.Health == "ok" {
			s.Health = "degraded"
		}
		s.Ports = append(s.Ports, ps)
	}
	return s, nil
}

func (d *Daemon) countKeys() int {
	n := 0
	var k shm.Key
	for i := range d.reader.Slots() {
		if d.reader.Slot(i, &k) == nil && k.State != shm.StateEmpty {
			n++
		}
	}
	k.Zero()
	return n
}

// Links implements api.Backend.
func (d *Daemon) Links(ctx context.Context) ([]api.Link, error) {
	out := make([]api.Link, 0, len(d.ports))
	for _, p := range d.ports {
		out = append(out, p.Link())
	}
	return out, nil
}

// Keys implements api.Backend: what a plugin sees, read through the reader.
func (d *Daemon) Keys(ctx context.Context) ([]api.KeyInfo, error) {
	names := map[uint16]string{}
	for _, p := range d.ports {
		names[p.ID()] = p.Name()
	}
	var out []api.KeyInfo
	var k shm.Key
	defer k.Zero()
	for i := range d.reader.Slots() {
		if d.reader.Slot(i, &k) != nil || k.State == shm.StateEmpty {
			continue
		}
		out = append(out, api.KeyInfoFromShm(&k, names[k.Port]))
	}
	return out, nil
}

func (d *Daemon) controller(name string) (*link.Controller, error) {
	for _, p := range d.ports {
		if p.Name() == name {
			return p.Controller()
		}
	}
	return nil, fmt.Errorf("%w: %s", api.ErrUnknownPort, name)
}

// Negotiate implements api.Backend.
func (d *Daemon) Negotiate(ctx context.Context, port string) error {
	c, err := d.controller(port)
	if err != nil {
		return err
	}
	return c.Negotiate(ctx)
}

// Rotate implements api.Backend.
func (d *Daemon) Rotate(ctx context.Context, port string) error {
	c, err := d.controller(port)
	if err != nil {
		return err
	}
	if err := c.Rotate(ctx); err != nil {
		if errors.Is(err, link.ErrNoSeed) {
			return fmt.Errorf("%w: %v", api.ErrConflict, err)
		}
		return err
	}
	return nil
}

// VerifyStore implements api.Backend: every persisted key must decrypt
// and be in the shm file with the same metadata and bytes.
func (d *Daemon) VerifyStore(ctx context.Context) (api.StoreReport, error) {
	rep := api.StoreReport{StorePath: d.cfg.Store.Path, ShmPath: d.cfg.Shm.Path, Problems: []api.StoreProblem{}}
	var got shm.Key
	defer got.Zero()
	err := d.store.Load(func(k *shm.Key) error {
		rep.Persisted++
		problem := ""
		switch err := d.reader.KeyByID(k.ID, &got); {
		case err != nil:
			problem = "persisted but not in the shm file: " + err.Error()
		case got.Port != k.Port || got.Dir != k.Dir || got.Epoch != k.Epoch || got.State != k.State || got.Alg != k.Alg:
			problem = fmt.Sprintf("metadata differs: store %v/%v/%d/%v, shm %v/%v/%d/%v", k.Port, k.Dir, k.Epoch, k.State, got.Port, got.Dir, got.Epoch, got.State)
		case !bytes.Equal(got.Material(), k.Material()):
			problem = "key bytes differ between the store and the shm file"
		default:
			rep.Matched++
		}
		if problem != "" {
			rep.Problems = append(rep.Problems, api.StoreProblem{ID: k.ID, Problem: problem})
		}
		return nil
	})
	if err != nil {
		rep.Problems = append(rep.Problems, api.StoreProblem{Problem: "reading the store: " + err.Error()})
	}
	rep.Published = d.countKeys()
	rep.OK = len(rep.Problems) == 0 && rep.Published == rep.Persisted
	if rep.Published != rep.Persisted {
		rep.Problems = append(rep.Problems, api.StoreProblem{Problem: fmt.Sprintf("%d keys in the shm file, %d persisted", rep.Published, rep.Persisted)})
	}
	return rep, nil
}
