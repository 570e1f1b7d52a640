package keyringsvc

// The consumer pools in otkd run, each a keyring filled from one port's
// seeds ([keyring] or [[keyring]] tables).
//
// Flows, per pool:
//   - the link controller of the pool's port hands every seed of
//     direction A→B to the pool's seedSource (the port's link.Sink,
//     controller goroutine); the keyring asks it for a seed when it
//     refills a ring (the pool's worker);
//   - a local connect or disconnect (and, at end A, a refill) makes a
//     SyncMsg naming the pool (keyring OnSync) that the port's controller
//     sends as control message 0x08; the peer's controller hands the body
//     to the port's sink, which decodes it and queues it for the worker of
//     the pool it names (ApplySync persists, so it stays off the
//     controller goroutine); the keyring keeps each message until the
//     peer's ack and the worker resends on a new session (Sink.Session) or
//     when acks stall (sync.go);
//   - end B fills its rings only as end A's fill messages say, with the
//     seed of that id from seedSource (Follow, SeedByID);
//   - each pool's worker runs Maintain periodically. The daemon
//     supervises the workers like its ports.
//
// Pools share the controller store (each in its buckets keyring/<pool>/)
// and may share a port; each has its own keyring, seeds, sync stream and
// shared-memory map (the daemon's, or its own: shm_path).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// Service runs the enabled pools of a configuration. It implements
// service.Service and Backend (the keyring's routes).
type Service struct {
	cfg   []Pool // every table of the file
	table bool   // a [keyring] table rather than [[keyring]] tables
	env   service.Env

	log   *slog.Logger
	pools []*pool // enabled ones, in configuration order (after Start)
}

// New returns the service of the pools of a configuration: the file's
// tables (Decode), how it wrote them, and the rest of the file (env).
func New(pools []Pool, table bool, env service.Env) *Service {
	return &Service{cfg: pools, table: table, env: env, log: slog.New(slog.DiscardHandler)}
}

var _ service.Service = (*Service)(nil)

// Name implements service.Service.
func (s *Service) Name() string { return "keyring" }

// Enabled implements service.Service: some pool is enabled.
func (s *Service) Enabled() bool { return len(Enabled(s.cfg)) > 0 }

// Check implements service.Service: the plan of every enabled pool (a
// schedule's file is read, and its keys per ring checked against the
// map's capacity).
func (s *Service) Check() error {
	for i := range s.cfg {
		if s.cfg[i].Enabled {
			if _, err := PlanOf(s.cfg, i, s.table, s.env); err != nil {
				return err
			}
		}
	}
	return nil
}

// pool is one consumer pool in otkd run.
type pool struct {
	cfg     Pool
	mapPath string
	ring    *keyring.Keyring
	seeds   *seedSource
	port    service.Port // whose seeds fill the rings and whose link carries the sync messages
	own     *shm.Writer  // the pool's own map; nil: the daemon's
	in      chan keyring.SyncMsg
	session chan struct{} // the pool's port started a session
	keep    chan heldSeed // end B: seeds for the keyring to keep (KeepSeed)
	every   time.Duration
	log     *slog.Logger
}

// ringInQueue bounds the peer's keyring messages waiting for a worker.
const ringInQueue = 256

// Start implements service.Service: it opens the controller store and,
// for each enabled pool, its map and its keyring, and subscribes to the
// pools' ports.
func (s *Service) Start(h *service.Host) error {
	if !s.Enabled() {
		return nil
	}
	s.log = h.Log.With("component", "keyring")
	for i := range s.cfg {
		if !s.cfg[i].Enabled {
			continue
		}
		p, err := s.openPool(h, i)
		if err != nil {
			return err
		}
		s.pools = append(s.pools, p)
	}
	ports := map[string][]*pool{}
	for _, p := range s.pools {
		ports[p.port.Name()] = append(ports[p.port.Name()], p)
	}
	for name, pools := range ports {
		pools[0].port.Subscribe(portSink{log: s.log.With("port", name), pools: pools})
	}
	return nil
}

// openPool builds pool i of the configuration: its plan, its map, its
// keyring. Errors name the pool.
func (s *Service) openPool(h *service.Host, i int) (*pool, error) {
	kc := &s.cfg[i]
	plan, err := PlanOf(s.cfg, i, s.table, s.env)
	if err != nil {
		return nil, err
	}
	p, err := newPool(h, kc, plan)
	if err != nil {
		return nil, fmt.Errorf("keyring pool %q: %w", kc.Pool, err)
	}
	return p, nil
}

func newPool(h *service.Host, kc *Pool, plan Plan) (*pool, error) {
	p := &pool{cfg: *kc, mapPath: kc.MapPath(h.ShmOptions.Path), log: h.Log.With("component", "keyring", "pool", kc.Pool)}
	port, ok := h.Port(kc.Port)
	if !ok {
		return nil, fmt.Errorf("no port %q", kc.Port)
	}
	p.port = port
	if kc.Schedule != "" {
		p.log.Info("keyring plan", "window", plan.Window, "keys_per_ring", plan.KeysPerRing, "longest_session", plan.MaxSession)
	}
	st, err := h.Store()
	if err != nil {
		return nil, err
	}
	pub, err := p.openMap(h)
	if err != nil {
		return nil, err
	}
	kek, err := store.ReadKEK(h.KEKFile)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("store.kek_file: %w", err)
	}
	defer clear(kek)
	p.seeds = newSeedSource()
	p.seeds.arrived = make(chan struct{}, 1)
	p.in = make(chan keyring.SyncMsg, ringInQueue)
	p.session = make(chan struct{}, 1)
	p.keep = make(chan heldSeed, keepQueue)
	p.every = min(time.Second, plan.Window/4)
	side := 0
	if port.Role() == "B" {
		side = 1
	}
	r, err := keyring.Open(keyring.Config{
		Pool: kc.Pool, Rings: kc.Rings, Window: plan.Window, KeysPerRing: plan.KeysPerRing, Side: side,
		Port: port.ID(), Dir: shm.DirAtoB, KEK: kek, OnSync: p.send, Follow: side == 1,
	}, st, pub, p.seeds)
	if err != nil {
		p.close()
		return nil, err
	}
	p.ring = r
	return p, nil
}

// openMap returns the map p publishes in: the daemon's, or its own
// (shm_path), created empty: the keyring republishes its bound keys.
func (p *pool) openMap(h *service.Host) (keyring.Publisher, error) {
	if p.mapPath == h.ShmOptions.Path {
		return h.Shm, nil
	}
	slots := p.cfg.ShmSlots
	if slots == 0 {
		slots = h.ShmOptions.Slots
	}
	w, err := shm.Create(shm.Options{Path: p.mapPath, Group: h.ShmOptions.Group, Slots: slots, Logger: p.log}, nil)
	if err != nil {
		return nil, fmt.Errorf("shm_path %s: %w", p.mapPath, err)
	}
	p.own = w
	return w, nil
}

// close closes p's keyring, then its map, and wipes its seeds.
func (p *pool) close() error {
	var errs []error
	if p.ring != nil {
		errs = append(errs, p.ring.Close())
	}
	if p.own != nil {
		errs = append(errs, p.own.Close())
	}
	if p.seeds != nil {
		p.seeds.wipe()
	}
	return errors.Join(errs...)
}

// Status implements service.Service.
func (s *Service) Status() []any {
	var desc []string
	for _, p := range s.pools {
		desc = append(desc, fmt.Sprintf("%s (port %s, map %s)", p.cfg.Pool, p.port.Name(), p.mapPath))
	}
	return []any{"pools", strings.Join(desc, ", ")}
}

// Workers implements service.Service: one per pool.
func (s *Service) Workers() []service.Worker {
	var ws []service.Worker
	for _, p := range s.pools {
		ws = append(ws, service.Worker{Name: "keyring " + p.cfg.Pool, Run: p.run})
	}
	return ws
}

// Routes implements service.Service: the service serves its routes
// whether it is enabled or not (off, each answers 503 naming the key that
// turns it on, as the daemon always has).
func (s *Service) Routes(r *api.Router) { Routes(r, s) }

// Stop implements service.Service.
func (s *Service) Stop() error {
	var errs []error
	for _, p := range s.pools {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

// run loops applying the peer's sync messages for p and maintaining its
// rings until ctx ends.
func (p *pool) run(ctx context.Context) error {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-p.in:
			p.apply(m)
		case <-p.session:
			p.resend("new session with the peer")
		case h := <-p.keep:
			p.keepSeed(h)
		case <-p.seeds.arrived: // fill what waits for a seed now
			p.maintain()
		case <-t.C:
			p.maintain()
		}
	}
}

// maintain resends what waits for an ack too long and refills the rings.
func (p *pool) maintain() {
	if p.port.Running() { // else the port's next handshake resends
		if n := p.ring.ResendStale(ringResendAfter); n > 0 {
			p.log.Info("keyring messages sent again", "why", "no ack", "messages", n)
		}
	}
	n, err := p.ring.Maintain()
	switch {
	case errors.Is(err, errNoSeed):
		p.log.Debug("keyring maintenance waits for a seed", "err", err)
	case err != nil:
		p.log.Warn("keyring maintenance", "err", err)
	case n > 0:
		p.log.Info("keyrings refilled", "rings", n)
	}
}

// send carries a local binding change to the peer (keyring OnSync).
func (p *pool) send(m keyring.SyncMsg) {
	err := p.port.SendKeyring(m.Marshal())
	switch {
	case errors.Is(err, service.ErrPortDown):
		p.log.Debug("keyring message not sent yet: port is (re)starting; it is sent again after the next handshake", "port", p.port.Name(), "msg", m.String())
	case err != nil:
		p.log.Warn("keyring message not sent", "msg", m.String(), "err", err)
	}
}

// portSink is the link.Sink of a port with pools: seeds in (to every pool
// of the port), peer messages in (to the pool each names), sessions (every
// pool resends).
type portSink struct {
	link.Funcs
	log   *slog.Logger
	pools []*pool
}

// Seed hands an A→B seed to every pool of the port.
func (ps portSink) Seed(ev link.SeedEvent) {
	for _, p := range ps.pools {
		p.seeds.add(ev)
		p.queueKeepSeed(ev)
	}
}

// Keyring decodes a peer keyring message and queues it for the worker of
// the pool it names (controller goroutine).
func (ps portSink) Keyring(b []byte) {
	var m keyring.SyncMsg
	if err := m.Unmarshal(b); err != nil {
		ps.log.Warn("peer keyring message rejected", "err", err)
		return
	}
	i := slices.IndexFunc(ps.pools, func(p *pool) bool { return p.cfg.Pool == m.Pool })
	if i < 0 {
		ps.log.Warn("peer keyring message rejected: no such pool on this port here; both ends must configure the same pools",
			"msg", m.String(), "pools", poolNames(ps.pools))
		return
	}
	select {
	case ps.pools[i].in <- m:
	default:
		ps.pools[i].log.Warn("peer keyring message dropped: queue full (the peer sends it again)", "msg", m.String())
	}
}

// Session wakes every pool of the port to resend.
func (ps portSink) Session() {
	for _, p := range ps.pools {
		select {
		case p.session <- struct{}{}:
		default: // a resend is already due
		}
	}
}

func poolNames(pools []*pool) string {
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.cfg.Pool
	}
	return strings.Join(names, ", ")
}

// errNoSeed: the port has made no A→B seed since the daemon started.
var errNoSeed = errors.New("no seed of the link yet")

// seedSource holds the recent seeds of direction A→B of the keyring's
// port. End A fills a ring from the newest one, so a new pool serves as
// soon as the link has made its first seed (Keyring.Connect fills the
// current ring on demand, the pool's worker as soon as a seed arrives).
// End B does not pick: it takes the seed end A's fill message names
// (SeedByID), so the two ends fill alike even when a seed reaches one end
// before the other (a fill naming a seed B lacks waits for the resend).
// Safe for concurrent use.
type seedSource struct {
	mu    sync.Mutex
	seeds []heldSeed // oldest first, at most maxHeldSeeds
	now   func() time.Time
	// arrived, if set, is signalled (without blocking) after each seed.
	arrived chan struct{}
}

type heldSeed struct {
	seed keys.Seed
	id   uint64
	at   time.Time
}

const maxHeldSeeds = 32

func newSeedSource() *seedSource {
	return &seedSource{now: time.Now}
}

// add keeps a copy of an A→B seed (the port's link.Sink).
func (s *seedSource) add(ev link.SeedEvent) {
	if ev.Direction != keys.AtoB || ev.Seed == nil {
		return
	}
	h := heldSeed{seed: *ev.Seed, id: ev.Seed.ID(), at: ev.At}
	if h.at.IsZero() {
		h.at = s.now()
	}
	s.mu.Lock()
	if len(s.seeds) == maxHeldSeeds {
		s.seeds[0].seed.Zero()
		s.seeds = s.seeds[1:]
	}
	s.seeds = append(s.seeds, h)
	s.mu.Unlock()
	if s.arrived != nil {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
}

// Seed implements keyring.SeedSource: a copy of the newest seed.
func (s *seedSource) Seed() (*keys.Seed, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seeds) == 0 {
		return nil, 0, errNoSeed
	}
	h := &s.seeds[len(s.seeds)-1]
	seed := h.seed
	return &seed, h.id, nil
}

// copies returns copies of the held seeds, oldest first; the caller
// zeroes them.
func (s *seedSource) copies() []keyring.StateSeed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]keyring.StateSeed, len(s.seeds))
	for i, h := range s.seeds {
		out[i] = keyring.StateSeed{ID: h.id, At: h.at, Seed: h.seed}
	}
	return out
}

func (s *seedSource) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.seeds {
		s.seeds[i].seed.Zero()
	}
	s.seeds = nil
}

// ringErr maps keyring errors to API statuses.
func ringErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotBound):
		return fmt.Errorf("%w: %v", api.ErrNotFound, err)
	case errors.Is(err, keyring.ErrExhausted), errors.Is(err, keyring.ErrNotFilled),
		errors.Is(err, keyring.ErrBusy), errors.Is(err, keyring.ErrInWindow), errors.Is(err, keyring.ErrFollower):
		return fmt.Errorf("%w: %v", api.ErrConflict, err)
	case errors.Is(err, keyring.ErrConsumer), errors.Is(err, keyring.ErrConfig), errors.Is(err, keyring.ErrNoRing):
		return fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	case errors.Is(err, keyring.ErrClosed):
		return fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	return err
}

// pool returns the pool named name; "" names the only pool
// (api.ResolvePool).
func (s *Service) pool(name string) (*pool, error) {
	names := s.PoolNames()
	name, err := api.ResolvePool(name, names)
	if err != nil {
		return nil, err
	}
	return s.pools[slices.Index(names, name)], nil
}

// PoolNames returns the running pools' names, in configuration order.
func (s *Service) PoolNames() []string {
	names := make([]string, len(s.pools))
	for i, p := range s.pools {
		names[i] = p.cfg.Pool
	}
	return names
}

// ExportPool copies what a backup of pool ("" the only one) holds: the
// keyring's state and the recent A→B seeds of its port's link, oldest
// first. The caller zeroes both (State.Zero, StateSeed.Seed.Zero).
func (s *Service) ExportPool(name string) (*keyring.State, []keyring.StateSeed, error) {
	p, err := s.pool(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := p.ring.Export()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: keyring pool %q: %v", api.ErrUnavailable, p.cfg.Pool, err)
	}
	return st, p.seeds.copies(), nil
}

func keyringKey(pool string, k keyring.KeyInfo) KeyringKey {
	return KeyringKey{
		Pool: pool, Consumer: k.Consumer, Fingerprint: fmt.Sprintf("%016x", k.KeyID), ID: k.KeyID, Ring: k.Ring, Slot: k.Slot,
		Epoch: k.Epoch, SeedID: fmt.Sprintf("%016x", k.SeedID), Alg: k.Alg.String(), ValidFrom: k.ValidFrom, ValidTo: k.ValidTo,
	}
}

// KeyringPools implements Backend.
func (s *Service) KeyringPools(ctx context.Context) ([]string, error) {
	if len(s.pools) == 0 {
		return nil, errNoKeyring
	}
	return s.PoolNames(), nil
}

// KeyringStatus implements Backend.
func (s *Service) KeyringStatus(ctx context.Context, pool string) (KeyringStatus, error) {
	p, err := s.pool(pool)
	if err != nil {
		return KeyringStatus{}, err
	}
	st, err := p.ring.Status()
	if err != nil {
		return KeyringStatus{}, ringErr(err)
	}
	out := KeyringStatus{
		Pool: st.Pool, Port: p.port.Name(), Shm: p.mapPath, Side: "A", WindowSeconds: st.Window.Seconds(), Current: st.Current, Now: st.Now,
		Connects: st.Stats.Connects, Disconnects: st.Stats.Disconnects, Refills: st.Stats.Refills, Exhausted: st.Stats.Exhausted,
		NotReady: st.Stats.NotReady, PeerBinds: st.Stats.PeerBinds, PeerRejected: st.Stats.PeerRejected,
	}
	if st.Side == 1 {
		out.Side = "B"
	}
	for _, r := range st.Rings {
		out.Rings = append(out.Rings, KeyringRing{
			Ring: r.Ring, Current: r.Current, Filled: r.Filled, Epoch: r.Epoch, SeedID: fmt.Sprintf("%016x", r.SeedID),
			WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Keys: r.Keys, Free: r.Free, Bound: r.Bound, Retired: r.Retired,
		})
	}
	return out, nil
}

// KeyringConnect implements Backend.
func (s *Service) KeyringConnect(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	p, err := s.pool(pool)
	if err != nil {
		return KeyringKey{}, err
	}
	k, err := p.ring.Connect(consumer)
	if err != nil {
		return KeyringKey{}, ringErr(err)
	}
	return keyringKey(p.cfg.Pool, k), nil
}

// KeyringDisconnect implements Backend.
func (s *Service) KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error {
	p, err := s.pool(pool)
	if err != nil {
		return err
	}
	return ringErr(p.ring.Disconnect(consumer))
}

// KeyringLookup implements Backend.
func (s *Service) KeyringLookup(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	p, err := s.pool(pool)
	if err != nil {
		return KeyringKey{}, err
	}
	k, err := p.ring.Lookup(consumer)
	if err != nil {
		return KeyringKey{}, ringErr(err)
	}
	return keyringKey(p.cfg.Pool, k), nil
}

// KeyringRefill implements Backend.
func (s *Service) KeyringRefill(ctx context.Context, pool string, ring int) error {
	p, err := s.pool(pool)
	if err != nil {
		return err
	}
	err = p.ring.Refill(ring)
	if errors.Is(err, errNoSeed) {
		return fmt.Errorf("%w: %v", api.ErrConflict, err)
	}
	return ringErr(err)
}
