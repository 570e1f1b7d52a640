// Package port is one configured port of otkd run ([[port]]) across its
// incarnations: the line, the dataplane pipelines and the link controller
// that the daemon's supervisor starts (Run) and restarts, the client
// interface that outlives them, the publication of its keys in the
// daemon's shared-memory map, and what the API and the metrics report of
// it. A Port is also what a key-management service sees of a port
// (service.Port): its link's events (Subscribe) and its keyring channel
// (SendKeyring).
package port

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/publish"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/shm"
)

// Port is one configured port and its current incarnation. Its methods are
// safe for concurrent use, except Subscribe, OpenClient and Publish, which
// the daemon calls before it runs the port.
type Port struct {
	cfg  config.Port
	all  *config.Config // noise, negotiation, the number of ports
	self handshake.Identity
	peer handshake.Peer
	log  *slog.Logger
	pub  *publish.Publisher
	cur  atomic.Pointer[state]
	// client is the port's client (client = "tap:NAME"), nil for none;
	// opened by OpenClient, it outlives the port's incarnations.
	client *clientRun
	sinks  []link.Sink
	// running is the port worker's state, set by the daemon's supervisor
	// (Watch): false while it backs off after a failure.
	running func() bool
	// lastSeed holds the unix ns of the last seed of each side (own,
	// peer) and lastKey of the last key switch of each direction (tx, rx),
	// over every incarnation; 0 before the first (metrics).
	lastSeed, lastKey [2]atomic.Int64
	// events counts the seeds (own, peer) and key switches (tx, rx) of
	// every incarnation, for the summary log line.
	events summaryEvents
}

// state is a running incarnation: its pipelines and controller.
type state struct {
	port *dataplane.Port
	ctl  *link.Controller
	line line
}

// New returns port i of cfg, with this node's identity and the port's
// pinned peer.
func New(cfg *config.Config, i int, self handshake.Identity, peer handshake.Peer, log *slog.Logger) *Port {
	return &Port{cfg: cfg.Ports[i], all: cfg, self: self, peer: peer, log: log, running: func() bool { return true }}
}

var _ service.Port = (*Port)(nil)

// Name implements service.Port.
func (p *Port) Name() string { return p.cfg.Name }

// ID implements service.Port: the port number of its keys in shm.
func (p *Port) ID() uint16 { return p.cfg.ID }

// Role implements service.Port.
func (p *Port) Role() string { return p.cfg.Role }

// Config returns the port's configuration.
func (p *Port) Config() config.Port { return p.cfg }

// Subscribe implements service.Port.
func (p *Port) Subscribe(s link.Sink) { p.sinks = append(p.sinks, s) }

// Running implements service.Port: an incarnation has started (the last
// one stays current while the next one starts).
func (p *Port) Running() bool { return p.cur.Load() != nil }

// SendKeyring implements service.Port.
func (p *Port) SendKeyring(body []byte) error {
	st := p.cur.Load()
	if st == nil {
		return service.ErrPortDown
	}
	return st.ctl.SendKeyring(body)
}

// Watch tells the port how to know whether its worker is in a run (the
// supervisor's view), for the watchdog.
func (p *Port) Watch(running func() bool) { p.running = running }

// Publish makes the port publish its keys in w and tells its publisher
// which of its keys r already holds (from before a restart), oldest first,
// so that it retires them in turn.
func (p *Port) Publish(w *shm.Writer, r *shm.Reader) {
	p.pub = publish.New(w, p.cfg.ID)
	type rec struct{ id, serial uint64 }
	var byDir [2][]rec
	var k shm.Key
	for i := range r.Slots() {
		if r.Slot(i, &k) != nil || k.State == shm.StateEmpty || k.Port != p.cfg.ID {
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
		p.pub.Adopt(dir, ids)
	}
}

// Workers are the port's supervised tasks: the port itself and its
// client.
func (p *Port) Workers() []service.Worker {
	ws := []service.Worker{{Name: "port " + p.cfg.Name, Run: p.Run}}
	if p.client != nil {
		ws = append(ws, service.Worker{Name: "client " + p.cfg.Name, Run: p.client.run})
	}
	return ws
}

// sink is the link.Sink of every incarnation: keys published, seeds and
// keys counted and timed (metrics, the summary line) and logged at DEBUG
// (a seed every few hundred milliseconds would drown INFO: the summary
// line says what they did), and every event to the subscribers.
func (p *Port) sink(log *slog.Logger) link.Sink {
	own := link.Funcs{
		OnSeed: func(ev link.SeedEvent) {
			side := 0
			if !ev.Initiator {
				side = 1
			}
			p.lastSeed[side].Store(ev.At.UnixNano())
			p.events.seeds[side].Add(1)
			log.Debug("seed", "direction", ev.Direction, "initiator", ev.Initiator, "fingerprint", ev.Fingerprint,
				"kept", ev.Result.KeptBits, "disagreement", ev.Result.Disagreement)
		},
		OnKey: func(ev link.KeyEvent) {
			if err := p.pub.Publish(ev); err != nil {
				log.Error("publishing key", "err", err)
				return
			}
			dir := 0
			if !ev.TX {
				dir = 1
			}
			p.lastKey[dir].Store(ev.At.UnixNano())
			p.events.keys[dir].Add(1)
			log.Debug("key", "direction", ev.Direction, "epoch", ev.Epoch, "tx", ev.TX, "fingerprint", ev.Fingerprint)
		},
	}
	return link.Tee(append(p.sinks, own)...)
}

// Run runs one incarnation of the port: line, pipelines, controller, until
// ctx ends or one of them fails.
func (p *Port) Run(ctx context.Context) error {
	pc := p.cfg
	log := p.log.With("port", pc.Name)
	line, err := openLine(&pc, p.all.NoiseProfile())
	if err != nil {
		return fmt.Errorf("line: %w", err)
	}
	dc := dataplane.Config{Role: pc.DataplaneRole(), Line: line, Profile: p.all.NoiseProfile(),
		Workers: workersOf(&pc, len(p.all.Ports)), CPUs: pc.CPUs}
	if p.client != nil {
		p.client.portConfig(&dc)
	}
	port, err := dataplane.NewPort(dc)
	if err != nil {
		line.Close()
		return err
	}
	if p.client != nil {
		defer p.client.portStopped(port)
	}
	ctl, err := link.New(link.Config{
		Port: port, Self: p.self, Peer: p.peer, Params: p.all.Params(),
		ActivationMargin: p.all.Negotiation.ActivationMargin, SeedTimeout: pc.SeedTimeoutDuration(), Log: log,
		Sink: p.sink(log),
	})
	if err != nil {
		line.Close()
		return err
	}
	// The incarnation stays current until the next one replaces it: its
	// counters remain readable while the port restarts.
	p.cur.Store(&state{port: port, ctl: ctl, line: line})
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

// SwitchPending reports whether the running incarnation has a key switch
// scheduled that has not happened yet.
func (p *Port) SwitchPending() bool {
	st := p.cur.Load()
	return st != nil && st.port.SwitchPending()
}

// Controller returns the running incarnation's link controller
// (api.ErrUnavailable while the port (re)starts).
func (p *Port) Controller() (*link.Controller, error) {
	if st := p.cur.Load(); st != nil {
		return st.ctl, nil
	}
	return nil, fmt.Errorf("%w: port %s is (re)starting", api.ErrUnavailable, p.cfg.Name)
}

// Summary is the port's line in the API's Status.
func (p *Port) Summary() api.PortSummary {
	ps := api.PortSummary{Name: p.cfg.Name, ID: p.cfg.ID, Role: p.cfg.Role, Handshake: "starting", RXEpoch: -1}
	if st := p.cur.Load(); st != nil {
		cs, ds := st.ctl.Stats(), st.port.Stats()
		ps.Handshake, ps.TXEpoch, ps.RXEpoch = cs.Handshake, ds.TXEpoch, ds.RXEpoch
		ps.SeedsOwn, ps.SeedsPeer, ps.LastSwitch = cs.SeedsOwn, cs.SeedsPeer, cs.LastSwitch
		ps.KeySwitches = cs.TXSwitches
		ps.Health = cs.Health
	}
	return ps
}

// Link is the port in the API's Links.
func (p *Port) Link() api.Link {
	l := api.Link{
		Name: p.cfg.Name, ID: p.cfg.ID, Role: p.cfg.Role,
		Line: lineName(&p.cfg), Peer: p.cfg.PeerUserID(),
		Handshake: "starting", RXEpoch: -1,
	}
	if st := p.cur.Load(); st != nil {
		l.Line = st.line.describe()
		l.SetCounters(st.port.Stats(), st.ctl.Stats())
	}
	if p.client != nil {
		l.Client = p.client.counters()
	}
	return l
}

// Watchdog thresholds (the daemon's notify.go says the rule).
const (
	stuckFrames   = 1000            // frame periods without a frame sent
	stuckFloor    = 3 * time.Second // never less: GC and scheduling pauses on a loaded host
	otu2FrameRate = 82025           // frames/s, for an unpaced port
)

// StuckAfter is how long the port's TX may send nothing before the port
// counts as stuck: stuckFrames frame periods of its frame_rate (the OTU2
// rate when unpaced), at least stuckFloor.
func (p *Port) StuckAfter() time.Duration {
	rate := p.cfg.FrameRate
	if rate <= 0 {
		rate = otu2FrameRate
	}
	return max(stuckFloor, time.Duration(float64(stuckFrames)/rate*float64(time.Second)))
}

// Progress is the watchdog's view of the port's TX: the incarnation (nil
// while none runs or its worker backs off) and the frames it sent.
func (p *Port) Progress() (incarnation any, txFrames uint64) {
	st := p.cur.Load()
	if st == nil || !p.running() {
		return nil, 0
	}
	return st, st.port.Stats().TXFrames
}
