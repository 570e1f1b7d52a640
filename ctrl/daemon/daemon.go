package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/cluster"
	"github.com/otkd/otkd/ctrl/cluster/fleet"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/daemon/port"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// Version is reported by the API.
var Version = "0.1.0-dev"

// Daemon is one otkd process.
type Daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	logs    *Logs
	self    handshake.Identity
	ports   []*port.Port
	started time.Time

	store  *store.Store
	writer *shm.Writer
	reader *shm.Reader

	// services are the key-management features, in start order; the
	// controller store is theirs, opened by the first that asks.
	services []service.Service
	nstarted int // services started (stopped in reverse on close)
	kstMu    sync.Mutex
	kst      kstore.Store
	// cl is the connection to etcd ([controller] store = "etcd"), opened
	// by the first service that needs it.
	cl *cluster.Cluster

	workers   []*worker
	health    atomic.Value // string
	metrics   *metricsServer
	summaries *summaries
}

// controllerMigrations is the one migration list of the controller store:
// every package keeping state in it contributes here, in order, append-only
// (kstore package doc). The keyring, key sync and custody create their
// buckets on first write and version their records, so there is none yet.
// The keyring buckets are named by pool (keyring/<pool>/…) since the first
// version, so a store of the single-pool daemon is the store of its pool
// ("default" unless named) here: no migration either.
var controllerMigrations []kstore.Migration

// New checks everything the daemon needs from the host (file modes, key
// files, the services' plans) and returns a daemon that has created
// nothing yet.
func New(cfg *config.Config, logs *Logs) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckFiles(); err != nil {
		return nil, err
	}
	self, err := handshake.LoadIdentity(cfg.UserID(), cfg.Node.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("node.private_key: %w", err)
	}
	if _, err := store.ReadKEK(cfg.Store.KEKFile); err != nil {
		return nil, fmt.Errorf("store.kek_file: %w", err)
	}
	d := &Daemon{cfg: cfg, log: logs.Logger(), logs: logs, self: self}
	for i, pc := range cfg.Ports {
		peer, err := handshake.LoadPeer(pc.PeerUserID(), pc.PeerPublicKey)
		if err != nil {
			return nil, fmt.Errorf("port[%d].peer_public_key: %w", i, err)
		}
		d.ports = append(d.ports, port.New(cfg, i, self, peer, d.log))
	}
	keyrings := keyringsvc.New(cfg.Keyrings, cfg.KeyringTable(), cfg.Env())
	d.services = []service.Service{keyrings, keysyncsvc.New(cfg.Sync), mpcsvc.New(cfg.MPC, keyrings), d.fleet()}
	for _, s := range d.services {
		if !s.Enabled() {
			continue
		}
		if err := s.Check(); err != nil {
			return nil, err
		}
	}
	d.health.Store("starting")
	return d, nil
}

// Start opens the store, the shm file, the ports' clients and the enabled
// services. A second daemon on the same files fails here, before it
// touches anything.
func (d *Daemon) Start() error {
	st, err := store.Open(d.cfg.Store.Path, d.cfg.Store.KEKFile)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("store %s is held by another process (another otkd?): %w", d.cfg.Store.Path, err)
		}
		return err
	}
	opts := d.cfg.ShmOptions()
	opts.Logger = d.log
	w, err := shm.Create(opts, st)
	if err != nil {
		st.Close()
		return fmt.Errorf("shm %s: %w", opts.Path, err)
	}
	r, err := shm.Open(opts.Path)
	if err != nil {
		w.Close()
		st.Close()
		return fmt.Errorf("shm %s: reading back: %w", opts.Path, err)
	}
	d.store, d.writer, d.reader = st, w, r
	for i, p := range d.ports {
		p.Publish(w, r)
		if err := p.OpenClient(i); err != nil {
			d.close()
			return err
		}
	}
	h := d.host()
	for _, s := range d.services {
		d.nstarted++
		if err := s.Start(h); err != nil {
			d.close()
			return err
		}
		if s.Enabled() {
			d.log.Info(s.Name()+" service", s.Status()...)
		}
	}
	return nil
}

// host is what the daemon lends its services.
func (d *Daemon) host() *service.Host {
	opts := d.cfg.ShmOptions()
	return &service.Host{
		Log: d.log, Node: d.cfg.Node.Name, Self: d.self, KEKFile: d.cfg.Store.KEKFile,
		Shm: d.writer, ShmOptions: opts, Store: d.controllerStore, SharedStore: d.sharedStore, Lead: d.lead,
		Port: func(name string) (service.Port, bool) {
			for _, p := range d.ports {
				if p.Name() == name {
					return p, true
				}
			}
			return nil, false
		},
	}
}

// fleet is the fleet service: on when the controller store is etcd.
func (d *Daemon) fleet() *fleet.Service {
	opt := fleet.Options{Enabled: d.cfg.ControllerOnEtcd(), Node: d.cfg.Node.Name, Version: Version, Cluster: d.cluster}
	for _, p := range d.cfg.Ports {
		opt.Ports = append(opt.Ports, fleet.PortInfo{Name: p.Name, ID: p.ID, Role: p.Role, Peer: p.PeerName,
			SeedTimeout: p.SeedTimeoutDuration()})
	}
	return fleet.New(opt)
}

// cluster opens the connection to etcd on the first call.
func (d *Daemon) cluster() (*cluster.Cluster, error) {
	d.kstMu.Lock()
	defer d.kstMu.Unlock()
	return d.clusterLocked()
}

func (d *Daemon) clusterLocked() (*cluster.Cluster, error) {
	if d.cl != nil {
		return d.cl, nil
	}
	if !d.cfg.ControllerOnEtcd() {
		return nil, errors.New(`controller.store: not "etcd": no cluster`)
	}
	cl, err := cluster.Open(d.cfg.Controller.Etcd, d.cfg.Node.Name, d.log.With("component", "cluster"))
	if err != nil {
		return nil, fmt.Errorf("controller.etcd: %w", err)
	}
	d.cl = cl
	return cl, nil
}

// sharedStore returns the store the fleet's otkd share: etcd's shared
// part, or the node's controller store when that is a file.
func (d *Daemon) sharedStore() (kstore.Store, error) {
	if !d.cfg.ControllerOnEtcd() {
		return d.controllerStore()
	}
	cl, err := d.cluster()
	if err != nil {
		return nil, err
	}
	st, err := cl.SharedStore()
	if err != nil {
		return nil, fmt.Errorf("controller.etcd: shared store: %w", err)
	}
	return st, nil
}

// lead elects this process for role among the otkd sharing etcd; on a
// store of its own the process always leads.
func (d *Daemon) lead(ctx context.Context, role string) (context.Context, func(), error) {
	if !d.cfg.ControllerOnEtcd() {
		return ctx, func() {}, nil
	}
	cl, err := d.cluster()
	if err != nil {
		return nil, nil, err
	}
	return cl.Lead(ctx, role)
}

// controllerStore opens the controller store on the first call.
func (d *Daemon) controllerStore() (kstore.Store, error) {
	d.kstMu.Lock()
	defer d.kstMu.Unlock()
	if d.kst != nil {
		return d.kst, nil
	}
	if d.cfg.ControllerOnEtcd() {
		cl, err := d.clusterLocked()
		if err != nil {
			return nil, err
		}
		st, err := cl.NodeStore(controllerMigrations)
		if err != nil {
			return nil, fmt.Errorf("controller.etcd: node store: %w", err)
		}
		d.kst = st
		return st, nil
	}
	kst, err := kstore.Open(d.cfg.Controller.Store, controllerMigrations)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("controller.store %s is held by another process (another otkd?): %w", d.cfg.Controller.Store, err)
		}
		return nil, fmt.Errorf("controller.store: %w", err)
	}
	d.kst = kst
	return kst, nil
}

// Run runs the workers until ctx ends, then shuts down in order. Start must
// have succeeded.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	l, err := api.Listen(d.cfg.API.Socket, d.cfg.API.Group)
	if err != nil {
		return fmt.Errorf("api.socket: %w", err)
	}
	routes := make([]api.Routes, len(d.services))
	for i, s := range d.services {
		routes[i] = s
	}
	srv := api.NewServer(d, api.ServerOptions{Logger: d.log, Routes: routes})
	d.workers = append(d.workers, &worker{name: "api", run: func(ctx context.Context) error {
		return srv.Serve(ctx, l)
	}})
	for _, p := range d.ports {
		ws := d.add(p.Workers()...)
		p.Watch(ws[0].running.Load)
	}
	for _, s := range d.services {
		d.add(s.Workers()...)
	}
	d.metrics = newMetricsServer(d)
	d.workers = append(d.workers, &worker{name: "metrics", run: d.metrics.run, optional: true})
	d.summaries = newSummaries(d)
	d.workers = append(d.workers, &worker{name: "summary", run: d.summaries.run, optional: true})

	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range d.workers {
		wg.Add(1)
		go func() { defer wg.Done(); supervise(wctx, d.log, w) }()
	}
	d.health.Store("ok")
	notify("READY=1\nSTATUS=running")
	d.log.Info("otkd running", "node", d.cfg.Node.Name, "ports", len(d.ports), "shm", d.cfg.Shm.Path, "api", d.cfg.API.Socket)
	if iv := watchdogInterval(); iv > 0 {
		go d.watchdog(wctx, iv)
	}
	<-ctx.Done()
	d.health.Store("stopping")
	notify("STOPPING=1")
	d.log.Info("shutting down")
	d.finishSwitches(time.Second)
	cancel()
	wg.Wait()
	return d.close()
}

// add makes supervised workers of ws and returns them.
func (d *Daemon) add(ws ...service.Worker) []*worker {
	var out []*worker
	for _, w := range ws {
		out = append(out, &worker{name: w.Name, run: w.Run, optional: w.Optional})
	}
	d.workers = append(d.workers, out...)
	return out
}

// finishSwitches waits (bounded) for scheduled key switches to happen, so a
// shutdown never leaves the peer holding a key this end never used.
func (d *Daemon) finishSwitches(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		busy := false
		for _, p := range d.ports {
			busy = busy || p.SwitchPending()
		}
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// close stops the services (in reverse), closes the clients, the
// controller store, the shm file and the store.
func (d *Daemon) close() error {
	for _, p := range d.ports {
		p.CloseClient()
	}
	var errs []error
	for i := d.nstarted - 1; i >= 0; i-- {
		errs = append(errs, d.services[i].Stop())
	}
	d.nstarted = 0
	if d.kst != nil {
		errs = append(errs, d.kst.Close())
		d.kst = nil
	}
	if d.cl != nil {
		errs = append(errs, d.cl.Close()) // revokes the lease: the fleet sees the node go at once
		d.cl = nil
	}
	if d.reader != nil {
		errs = append(errs, d.reader.Close())
	}
	if d.writer != nil {
		errs = append(errs, d.writer.Close())
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	return errors.Join(errs...)
}

// pid is the process id reported by the API.
var pid = os.Getpid()
