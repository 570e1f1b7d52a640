package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/publish"
	"github.com/otkd/otkd/dataplane"
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
	ports   []*portRun
	started time.Time

	store  *store.Store
	writer *shm.Writer
	reader *shm.Reader

	km      keyMgmt
	custody *mpcRun // [mpc]; nil when off

	workers []*worker
	health  atomic.Value // string
	metrics *metricsServer
}

// portRun is one configured port and its current incarnation.
type portRun struct {
	cfg  config.Port
	peer handshake.Peer
	pub  *publish.Publisher
	cur  atomic.Pointer[portState]
	// client is the port's client (client = "tap:NAME"), nil for none;
	// opened by Start, it outlives the port's incarnations.
	client *clientRun
}

// portState is a running port: its pipelines and controller.
type portState struct {
	port *dataplane.Port
	ctl  *link.Controller
	line portLine
}

// New checks everything the daemon needs from the host (file modes, key
// files) and returns a daemon that has created nothing yet.
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
	for i := range cfg.Keyrings { // a schedule's plan, and its capacity
		if cfg.Keyrings[i].Enabled {
			if _, err := cfg.KeyringPlan(i); err != nil {
				return nil, err
			}
		}
	}
	d := &Daemon{cfg: cfg, log: logs.Logger(), logs: logs, self: self}
	for i, pc := range cfg.Ports {
		peer, err := handshake.LoadPeer(pc.PeerUserID(), pc.PeerPublicKey)
		if err != nil {
			return nil, fmt.Errorf("port[%d].peer_public_key: %w", i, err)
		}
		d.ports = append(d.ports, &portRun{cfg: pc, peer: peer})
	}
	d.health.Store("starting")
	return d, nil
}

// Start opens the store and the shm file. A second daemon on the same files
// fails here, before it touches anything.
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
	for _, pr := range d.ports {
		pr.pub = publish.New(w, pr.cfg.ID)
		d.adopt(pr)
	}
	if err := d.openClients(); err != nil {
		d.close()
		return err
	}
	if err := d.startKeyMgmt(); err != nil {
		d.close()
		return err
	}
	if err := d.startMPC(); err != nil {
		d.close()
		return err
	}
	return nil
}

// adopt tells a port's publisher which of its keys the store already holds
// (from before a restart), oldest first, so that it retires them in turn.
func (d *Daemon) adopt(pr *portRun) {
	type rec struct{ id, serial uint64 }
	var byDir [2][]rec
	var k shm.Key
	for i := range d.reader.Slots() {
		if d.reader.Slot(i, &k) != nil || k.State == shm.StateEmpty || k.Port != pr.cfg.ID {
			continue
		}
		if k.Consumer != 0 {
			continue // a keyring key, the keyring's to retire
		}
		byDir[k.Dir&1] = append(byDir[k.Dir&1], rec{k.ID, k.Serial})
	}
	k.Zero()
	for dir, recs := range byDir {
		sort.Slice(recs, func(i, j int) bool { return recs[i].serial < recs[j].serial })
		ids := make([]uint64, len(recs))
		for i, r := range recs {
			ids[i] = r.id
		}
		pr.pub.Adopt(dir, ids)
	}
}

// Run runs the workers until ctx ends, then shuts down in order. Start must
// have succeeded.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	l, err := api.Listen(d.cfg.API.Socket, d.cfg.API.Group)
	if err != nil {
		return fmt.Errorf("api.socket: %w", err)
	}
	srv := api.NewServer(d, api.ServerOptions{Logger: d.log})
	d.workers = append(d.workers, &worker{name: "api", run: func(ctx context.Context) error {
		return srv.Serve(ctx, l)
	}})
	for _, pr := range d.ports {
		d.workers = append(d.workers, &worker{name: "port " + pr.cfg.Name, run: func(ctx context.Context) error {
			return d.runPort(ctx, pr)
		}})
		if pr.client != nil {
			d.workers = append(d.workers, &worker{name: "client " + pr.cfg.Name, run: pr.client.run})
		}
	}
	d.workers = append(d.workers, d.keyMgmtWorkers()...)
	d.workers = append(d.workers, d.mpcWorkers()...)
	d.metrics = newMetricsServer(d)
	d.workers = append(d.workers, &worker{name: "metrics", run: d.metrics.run, optional: true})

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

// finishSwitches waits (bounded) for scheduled key switches to happen, so a
// shutdown never leaves the peer holding a key this end never used.
func (d *Daemon) finishSwitches(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		busy := false
		for _, pr := range d.ports {
			if s := pr.cur.Load(); s != nil && s.port.SwitchPending() {
				busy = true
			}
		}
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (d *Daemon) close() error {
	for _, pr := range d.ports {
		if pr.client != nil {
			pr.client.close()
		}
	}
	errs := []error{d.closeKeyMgmt()}
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

// runPort runs one incarnation of a port: line, pipelines, controller.
func (d *Daemon) runPort(ctx context.Context, pr *portRun) error {
	pc := pr.cfg
	log := d.log.With("port", pc.Name)
	line, err := d.openLine(&pc)
	if err != nil {
		return fmt.Errorf("line: %w", err)
	}
	dc := dataplane.Config{Role: pc.DataplaneRole(), Line: line, Profile: d.cfg.NoiseProfile(),
		Workers: d.workersOf(&pc), CPUs: pc.CPUs}
	if pr.client != nil {
		pr.client.portConfig(&dc)
	}
	port, err := dataplane.NewPort(dc)
	if err != nil {
		line.Close()
		return err
	}
	if pr.client != nil {
		defer pr.client.portStopped(port)
	}
	ringSeed, ringMsg := d.ringHooks(pr)
	ctl, err := link.New(link.Config{
		Port: port, Self: d.self, Peer: pr.peer, Params: d.cfg.Params(),
		ActivationMargin: d.cfg.Negotiation.ActivationMargin, SeedTimeout: pc.SeedTimeoutDuration(), Log: log,
		Sink: link.Funcs{
			OnKeyring: ringMsg,
			OnSession: d.ringSession(pr),
			OnSeed: func(ev link.SeedEvent) {
				ringSeed(ev)
				log.Info("seed", "direction", ev.Direction, "initiator", ev.Initiator, "fingerprint", ev.Fingerprint,
					"kept", ev.Result.KeptBits, "disagreement", ev.Result.Disagreement)
			},
			OnKey: func(ev link.KeyEvent) {
				if err := pr.pub.Publish(ev); err != nil {
					log.Error("publishing key", "err", err)
					return
				}
				log.Info("key", "direction", ev.Direction, "epoch", ev.Epoch, "tx", ev.TX, "fingerprint", ev.Fingerprint)
			},
		},
	})
	if err != nil {
		line.Close()
		return err
	}
	pr.cur.Store(&portState{port: port, ctl: ctl, line: line})
	log.Info("port up", "role", pc.Role, "line", line.describe(), "workers", port.Workers(), "cpus", fmt.Sprint(pc.CPUs))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- port.Run(pctx) }()
	go func() { errs <- ctl.Run(pctx) }()
	err = <-errs
	cancel()
	err2 := <-errs
	return errors.Join(err, err2)
}

// Handler for the metrics endpoint (exported for tests).
func (d *Daemon) metricsHandler() http.Handler { return http.HandlerFunc(d.writeMetrics) }

// pid is the process id reported by the API.
var pid = os.Getpid()
