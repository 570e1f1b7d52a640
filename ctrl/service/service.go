// Package service is the contract between otkd run (ctrl/daemon) and the
// features it composes: the key-management services (ctrl/keymgmt/keyring,
// keysync and mpc, each through its *svc package). A feature owns its
// configuration section, its API routes, its metrics and its client; the
// daemon only builds each Service from the configuration, starts it with a
// Host, supervises its Workers, mounts its Routes, writes its metrics and
// stops it.
//
// A Service's life: the daemon's config package decodes and validates the
// feature's section (the section's own Validate, with the Env of the rest
// of the file); Check looks at the host (files the section names, plans
// computed from them) before anything is created; Start opens what the
// service keeps (stores, maps), with what the daemon lends it (Host);
// Workers run under the daemon's supervisor until shutdown; Stop closes
// what Start opened, after the workers have stopped. Routes and
// WriteMetrics are called from the API and metrics servers' goroutines
// while it runs, and before Start too (a disabled service answers 503).
//
// The package also holds what every section shares with the daemon's
// config: FieldError and its sentinels, and Files, the file checks.
package service

import (
	"context"
	"errors"
	"log/slog"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/shm"
)

// Service is one feature of otkd run.
type Service interface {
	// Name names the service in logs and in its workers' names.
	Name() string
	// Enabled reports whether the configuration turns the service on. A
	// disabled one starts nothing and runs no worker; its routes answer
	// 503 naming the configuration key that enables it.
	Enabled() bool
	// Check validates, before anything is created, what the configuration
	// names on the host (files read, plans computed from them).
	Check() error
	// Start opens what the service keeps, with what the daemon lends it.
	// On error the daemon calls Stop.
	Start(h *Host) error
	// Status describes the running service for the daemon's start-up log
	// (slog key-value pairs, never key material).
	Status() []any
	// Workers are the service's loops; the daemon supervises them
	// (restarts with backoff) from Run until shutdown.
	Workers() []Worker
	// Routes adds the service's API routes.
	Routes(r *api.Router)
	// WriteMetrics writes the service's metric families (Metrics states
	// the contract): the daemon calls it at each scrape of /metrics, so it
	// reads the service's counters then and keeps no copy of them.
	WriteMetrics(m *Metrics)
	// Stop closes what Start opened; the workers have stopped.
	Stop() error
}

// Worker is a supervised loop: Run runs until ctx ends (nil then) or it
// fails (the supervisor restarts it after a backoff).
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
	// Optional: the watchdog does not count this worker's crash loop (a
	// restart of otkd would not cure it and would cut every link).
	Optional bool
}

// Host is what the daemon lends a service at Start.
type Host struct {
	Log *slog.Logger
	// Node is this node's name ([node] name) and Self its SM2 identity
	// (the private key signs and decrypts for the node).
	Node string
	Self handshake.Identity
	// KEKFile is the key-encryption key file of the daemon's store
	// ([store] kek_file): services seal what they keep at rest under it.
	KEKFile string
	// Shm is the daemon's shared-memory map and ShmOptions its settings
	// ([shm]): a service with a map of its own takes the group and the
	// default slot count from them.
	Shm        *shm.Writer
	ShmOptions shm.Options
	// Store returns the node's controller store ([controller] store: a
	// bbolt file, or this node's part of etcd), opened on the first call
	// and shared by every service; the daemon closes it after the last
	// Stop.
	Store func() (kstore.Store, error)
	// SharedStore returns the store every otkd of the fleet shares when
	// the controller store is etcd (key sync's replicas), the node's
	// Store otherwise.
	SharedStore func() (kstore.Store, error)
	// Lead blocks until this process leads role among the otkd sharing
	// the store, and returns a context that ends with the leadership and
	// a release that gives it up; on a store of its own the process
	// always leads (ctx itself).
	Lead func(ctx context.Context, role string) (context.Context, func(), error)
	// Port returns the configured port of that name.
	Port func(name string) (Port, bool)
}

// Port is a configured port of the daemon as a service sees it: it
// outlives the port's incarnations (line, pipelines, controller), which
// come and go as the supervisor restarts them.
type Port interface {
	Name() string
	ID() uint16
	// Role is "A" or "B".
	Role() string
	// Subscribe adds a sink for the events of every incarnation's link
	// controller (called on the controller goroutine: it must not
	// block). Only before the daemon runs.
	Subscribe(s link.Sink)
	// SendKeyring queues a keyring message for the peer on the running
	// incarnation; ErrPortDown while the port is (re)starting.
	SendKeyring(body []byte) error
	// Running reports whether an incarnation runs now.
	Running() bool
}

// ErrPortDown: the port is (re)starting; what was sent is lost (the
// keyring resends after the next handshake).
var ErrPortDown = errors.New("port is (re)starting")
