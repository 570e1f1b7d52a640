package daemon

// Key management in otkd run: the controller store (kstore), the consumer
// pools (each a keyring filled from one port's seeds, [keyring] or
// [[keyring]]), and key sync to application platforms. Both are optional;
// the store is opened only when one of them is.
//
// Flows, per pool:
//   - the link controller of the pool's port hands every seed of
//     direction A→B to the pool's seedSource (OnSeed, controller
//     goroutine); the keyring asks it for a seed when it refills a ring
//     (the pool's worker);
//   - a local connect or disconnect (and, at end A, a refill) makes a
//     SyncMsg naming the pool (keyring OnSync) that the port's controller
//     sends as control message 0x08; the peer's controller hands the body
//     to OnKeyring, which decodes it and queues it for the worker of the
//     pool it names (ApplySync persists, so it stays off the controller
//     goroutine); the keyring keeps each message until the peer's ack and
//     the worker resends on a new session (link OnSession) or when acks
//     stall (keyring_sync.go);
//   - end B fills its rings only as end A's fill messages say, with the
//     seed of that id from seedSource (Follow, SeedByID);
//   - each pool's worker runs Maintain periodically; the sync pusher runs
//     keysync's RunPusher. All are supervised like the ports.
//
// Pools share the controller store (each in its buckets keyring/<pool>/)
// and may share a port; each has its own keyring, seeds, sync stream and
// shared-memory map (the daemon's, or its own: [keyring] shm_path).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// controllerMigrations is the one migration list of the controller store:
// every package keeping state in it contributes here, in order, append-only
// (kstore package doc). ctrl/keymgmt/keyring and ctrl/keymgmt/keysync create their buckets
// on first write and version their records, so there is none yet. The
// keyring buckets are named by pool (keyring/<pool>/…) since the first
// version, so a store of the single-pool daemon is the store of its pool
// ("default" unless named) here: no migration either.
var controllerMigrations []kstore.Migration

// keyMgmt is the daemon's key-management state; nil fields are disabled.
type keyMgmt struct {
	kst    *kstore.DB
	pools  []*pool // in configuration order
	syncer *keysync.Syncer
}

// pool is one consumer pool in otkd run.
type pool struct {
	cfg     config.Keyring
	ring    *keyring.Keyring
	seeds   *seedSource
	port    *portRun    // whose seeds fill the rings and whose link carries the sync messages
	own     *shm.Writer // the pool's own map; nil: the daemon's
	in      chan keyring.SyncMsg
	session chan struct{} // the pool's port started a session
	keep    chan heldSeed // end B: seeds for the keyring to keep (KeepSeed)
	every   time.Duration
	log     *slog.Logger
}

// ringInQueue bounds the peer's keyring messages waiting for a worker.
const ringInQueue = 256

// startKeyMgmt opens the controller store and builds the pools and the
// syncer the configuration enables.
func (d *Daemon) startKeyMgmt() error {
	if !d.cfg.KeyringEnabled() && !d.cfg.Sync.Enabled {
		return nil
	}
	kst, err := kstore.Open(d.cfg.Controller.Store, controllerMigrations)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return fmt.Errorf("controller.store %s is held by another process (another otkd?): %w", d.cfg.Controller.Store, err)
		}
		return fmt.Errorf("controller.store: %w", err)
	}
	d.km.kst = kst
	for i := range d.cfg.Keyrings {
		if !d.cfg.Keyrings[i].Enabled {
			continue
		}
		p, err := d.openPool(i)
		if err != nil {
			return err
		}
		d.km.pools = append(d.km.pools, p)
	}
	if d.cfg.Sync.Enabled {
		if err := d.openSyncer(); err != nil {
			return err
		}
	}
	return nil
}

// openPool builds pool i of the configuration: its plan, its map, its
// keyring. Errors name the pool.
func (d *Daemon) openPool(i int) (*pool, error) {
	kc := &d.cfg.Keyrings[i]
	plan, err := d.cfg.KeyringPlan(i)
	if err != nil {
		return nil, err
	}
	p, err := d.newPool(kc, plan)
	if err != nil {
		return nil, fmt.Errorf("keyring pool %q: %w", kc.Pool, err)
	}
	return p, nil
}

func (d *Daemon) newPool(kc *config.Keyring, plan config.PoolPlan) (*pool, error) {
	p := &pool{cfg: *kc, log: d.log.With("component", "keyring", "pool", kc.Pool)}
	for _, pr := range d.ports {
		if pr.cfg.Name == kc.Port {
			p.port = pr
		}
	}
	if kc.Schedule != "" {
		p.log.Info("keyring plan", "window", plan.Window, "keys_per_ring", plan.KeysPerRing, "longest_session", plan.MaxSession)
	}
	pub, err := d.poolMap(p)
	if err != nil {
		return nil, err
	}
	kek, err := store.ReadKEK(d.cfg.Store.KEKFile)
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
	if p.port.cfg.Role == "B" {
		side = 1
	}
	r, err := keyring.Open(keyring.Config{
		Pool: kc.Pool, Rings: kc.Rings, Window: plan.Window, KeysPerRing: plan.KeysPerRing, Side: side,
		Port: p.port.cfg.ID, Dir: shm.DirAtoB, KEK: kek, OnSync: p.send, Follow: side == 1,
	}, d.km.kst, pub, p.seeds)
	if err != nil {
		p.close()
		return nil, err
	}
	p.ring = r
	return p, nil
}

// poolMap returns the map p publishes in: the daemon's, or its own
// (shm_path), created empty: the keyring republishes its bound keys.
func (d *Daemon) poolMap(p *pool) (keyring.Publisher, error) {
	path := d.cfg.PoolShmPath(&p.cfg)
	if path == d.cfg.Shm.Path {
		return d.writer, nil
	}
	slots := p.cfg.ShmSlots
	if slots == 0 {
		slots = d.cfg.Shm.Slots
	}
	w, err := shm.Create(shm.Options{Path: path, Group: d.cfg.Shm.Group, Slots: slots, Logger: p.log}, nil)
	if err != nil {
		return nil, fmt.Errorf("shm_path %s: %w", path, err)
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

func (d *Daemon) openSyncer() error {
	sc := d.cfg.Sync
	pem, err := os.ReadFile(sc.CAFile)
	if err != nil {
		return fmt.Errorf("sync.ca_file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("sync.ca_file %s: no PEM certificate in it", sc.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(sc.CertFile, sc.KeyFile)
	if err != nil {
		return fmt.Errorf("sync.cert_file/key_file: %w", err)
	}
	platforms := map[string]keysync.Platform{}
	for app, u := range sc.Platforms {
		platforms[app] = keysync.Platform{URL: u, CA: roots, Cert: cert}
	}
	s, err := keysync.New(d.km.kst, keysync.Options{Self: d.self.Priv, Platforms: platforms, Log: d.log.With("component", "keysync")})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	d.km.syncer = s
	return nil
}

// keyMgmtWorkers are the supervised tasks of key management.
func (d *Daemon) keyMgmtWorkers() []*worker {
	var ws []*worker
	for _, p := range d.km.pools {
		ws = append(ws, &worker{name: "keyring " + p.cfg.Pool, run: p.run})
	}
	if d.km.syncer != nil {
		ws = append(ws, &worker{name: "sync pusher", run: func(ctx context.Context) error {
			if err := d.km.syncer.RunPusher(ctx); ctx.Err() == nil {
				return err
			}
			return nil
		}})
	}
	return ws
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
	if p.port.cur.Load() != nil { // else the port's next handshake resends
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
	st := p.port.cur.Load()
	if st == nil {
		p.log.Debug("keyring message not sent yet: port is (re)starting; it is sent again after the next handshake", "port", p.port.cfg.Name, "msg", m.String())
		return
	}
	if err := st.ctl.SendKeyring(m.Marshal()); err != nil {
		p.log.Warn("keyring message not sent", "msg", m.String(), "err", err)
	}
}

// portPools returns the pools whose port is pr.
func (d *Daemon) portPools(pr *portRun) []*pool {
	var out []*pool
	for _, p := range d.km.pools {
		if p.port == pr {
			out = append(out, p)
		}
	}
	return out
}

// ringHooks returns the link hooks of pr for its pools: seeds in (to every
// pool of pr), peer messages in (to the pool each names). Both are no-ops
// for a port without pools.
func (d *Daemon) ringHooks(pr *portRun) (onSeed func(link.SeedEvent), onMsg func([]byte)) {
	pools := d.portPools(pr)
	if len(pools) == 0 {
		return func(link.SeedEvent) {}, nil
	}
	onSeed = func(ev link.SeedEvent) {
		for _, p := range pools {
			p.seeds.add(ev)
			p.queueKeepSeed(ev)
		}
	}
	onMsg = func(b []byte) { d.routeRingMsg(pr, pools, b) }
	return onSeed, onMsg
}

// routeRingMsg decodes a peer keyring message of port pr and queues it
// for the worker of the pool it names (controller goroutine).
func (d *Daemon) routeRingMsg(pr *portRun, pools []*pool, b []byte) {
	log := d.log.With("component", "keyring", "port", pr.cfg.Name)
	var m keyring.SyncMsg
	if err := m.Unmarshal(b); err != nil {
		log.Warn("peer keyring message rejected", "err", err)
		return
	}
	i := slices.IndexFunc(pools, func(p *pool) bool { return p.cfg.Pool == m.Pool })
	if i < 0 {
		log.Warn("peer keyring message rejected: no such pool on this port here; both ends must configure the same pools",
			"msg", m.String(), "pools", poolNames(pools))
		return
	}
	select {
	case pools[i].in <- m:
	default:
		pools[i].log.Warn("peer keyring message dropped: queue full (the peer sends it again)", "msg", m.String())
	}
}

func poolNames(pools []*pool) string {
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.cfg.Pool
	}
	return strings.Join(names, ", ")
}

func (d *Daemon) closeKeyMgmt() error {
	var errs []error
	for _, p := range d.km.pools {
		errs = append(errs, p.close())
	}
	if d.km.syncer != nil {
		d.km.syncer.Close()
	}
	if d.km.kst != nil {
		errs = append(errs, d.km.kst.Close())
	}
	return errors.Join(errs...)
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

// add keeps a copy of an A→B seed (link OnSeed).
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

// syncErr maps keysync errors to API statuses.
func syncErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keysync.ErrMalformed), errors.Is(err, keysync.ErrWrongRecipient), errors.Is(err, keysync.ErrEnvelope),
		errors.Is(err, keysync.ErrBadKeyID), errors.Is(err, keysync.ErrBadIdentity), errors.Is(err, keysync.ErrBadApp),
		errors.Is(err, keysync.ErrUnknownApp), errors.Is(err, keysync.ErrAppRequired):
		return fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	case errors.Is(err, keysync.ErrNotRegistered), errors.Is(err, keysync.ErrUnknownKey):
		return fmt.Errorf("%w: %v", api.ErrNotFound, err)
	case errors.Is(err, keysync.ErrDuplicateKey), errors.Is(err, keysync.ErrKeyBound):
		return fmt.Errorf("%w: %v", api.ErrConflict, err)
	}
	return err
}

var (
	errNoKeyring = fmt.Errorf("%w: no keyring: set [keyring] enabled = true (or add [[keyring]] pools) in the configuration", api.ErrUnavailable)
	errNoSync    = fmt.Errorf("%w: no key sync: set [sync] enabled = true in the configuration", api.ErrUnavailable)
)

// pool returns the pool named name; "" names the only pool
// (api.ResolvePool).
func (d *Daemon) pool(name string) (*pool, error) {
	names := make([]string, len(d.km.pools))
	for i, p := range d.km.pools {
		names[i] = p.cfg.Pool
	}
	name, err := api.ResolvePool(name, names)
	if err != nil {
		return nil, err
	}
	return d.km.pools[slices.Index(names, name)], nil
}

func keyringKey(pool string, k keyring.KeyInfo) api.KeyringKey {
	return api.KeyringKey{
		Pool: pool, Consumer: k.Consumer, Fingerprint: fmt.Sprintf("%016x", k.KeyID), ID: k.KeyID, Ring: k.Ring, Slot: k.Slot,
		Epoch: k.Epoch, SeedID: fmt.Sprintf("%016x", k.SeedID), Alg: k.Alg.String(), ValidFrom: k.ValidFrom, ValidTo: k.ValidTo,
	}
}

// KeyringPools implements api.Backend.
func (d *Daemon) KeyringPools(ctx context.Context) ([]string, error) {
	if len(d.km.pools) == 0 {
		return nil, errNoKeyring
	}
	return strings.Split(poolNames(d.km.pools), ", "), nil
}

// KeyringStatus implements api.Backend.
func (d *Daemon) KeyringStatus(ctx context.Context, pool string) (api.KeyringStatus, error) {
	p, err := d.pool(pool)
	if err != nil {
		return api.KeyringStatus{}, err
	}
	s, err := p.ring.Status()
	if err != nil {
		return api.KeyringStatus{}, ringErr(err)
	}
	out := api.KeyringStatus{
		Pool: s.Pool, Port: p.port.cfg.Name, Shm: d.cfg.PoolShmPath(&p.cfg), Side: "A", WindowSeconds: s.Window.Seconds(), Current: s.Current, Now: s.Now,
		Connects: s.Stats.Connects, Disconnects: s.Stats.Disconnects, Refills: s.Stats.Refills, Exhausted: s.Stats.Exhausted,
		NotReady: s.Stats.NotReady, PeerBinds: s.Stats.PeerBinds, PeerRejected: s.Stats.PeerRejected,
	}
	if s.Side == 1 {
		out.Side = "B"
	}
	for _, r := range s.Rings {
		out.Rings = append(out.Rings, api.KeyringRing{
			Ring: r.Ring, Current: r.Current, Filled: r.Filled, Epoch: r.Epoch, SeedID: fmt.Sprintf("%016x", r.SeedID),
			WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Keys: r.Keys, Free: r.Free, Bound: r.Bound, Retired: r.Retired,
		})
	}
	return out, nil
}

// KeyringConnect implements api.Backend.
func (d *Daemon) KeyringConnect(ctx context.Context, pool string, consumer uint64) (api.KeyringKey, error) {
	p, err := d.pool(pool)
	if err != nil {
		return api.KeyringKey{}, err
	}
	k, err := p.ring.Connect(consumer)
	if err != nil {
		return api.KeyringKey{}, ringErr(err)
	}
	return keyringKey(p.cfg.Pool, k), nil
}

// KeyringDisconnect implements api.Backend.
func (d *Daemon) KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error {
	p, err := d.pool(pool)
	if err != nil {
		return err
	}
	return ringErr(p.ring.Disconnect(consumer))
}

// KeyringLookup implements api.Backend.
func (d *Daemon) KeyringLookup(ctx context.Context, pool string, consumer uint64) (api.KeyringKey, error) {
	p, err := d.pool(pool)
	if err != nil {
		return api.KeyringKey{}, err
	}
	k, err := p.ring.Lookup(consumer)
	if err != nil {
		return api.KeyringKey{}, ringErr(err)
	}
	return keyringKey(p.cfg.Pool, k), nil
}

// KeyringRefill implements api.Backend.
func (d *Daemon) KeyringRefill(ctx context.Context, pool string, ring int) error {
	p, err := d.pool(pool)
	if err != nil {
		return err
	}
	err = p.ring.Refill(ring)
	if errors.Is(err, errNoSeed) {
		return fmt.Errorf("%w: %v", api.ErrConflict, err)
	}
	return ringErr(err)
}

// SyncImport implements api.Backend.
func (d *Daemon) SyncImport(ctx context.Context, file []byte) (int, error) {
	if d.km.syncer == nil {
		return 0, errNoSync
	}
	n, err := d.km.syncer.Import(file)
	return n, syncErr(err)
}

// SyncRegister implements api.Backend.
func (d *Daemon) SyncRegister(ctx context.Context, identity, app string) error {
	if d.km.syncer == nil {
		return errNoSync
	}
	return syncErr(d.km.syncer.Register(identity, app))
}

// SyncRequest implements api.Backend.
func (d *Daemon) SyncRequest(ctx context.Context, identity, keyID, app string) (api.SyncBinding, error) {
	if d.km.syncer == nil {
		return api.SyncBinding{}, errNoSync
	}
	b, err := d.km.syncer.Request(identity, keyID, app)
	if err != nil {
		return api.SyncBinding{}, syncErr(err)
	}
	return api.SyncBinding{Identity: b.Identity, App: b.App, KeyID: b.KeyID, KeyFingerprint: b.KeyFP,
		DeliveryID: b.DeliveryID, Bound: b.Bound, Delivered: b.Delivered}, nil
}

// SyncOutbox implements api.Backend.
func (d *Daemon) SyncOutbox(ctx context.Context) ([]api.SyncPending, error) {
	if d.km.syncer == nil {
		return nil, errNoSync
	}
	ps, err := d.km.syncer.Outbox()
	if err != nil {
		return nil, err
	}
	out := make([]api.SyncPending, 0, len(ps))
	for _, p := range ps {
		out = append(out, api.SyncPending{DeliveryID: p.DeliveryID, Identity: p.Identity, App: p.App, KeyID: p.KeyID,
			KeyFingerprint: p.KeyFP, Created: p.Created, Attempts: p.Attempts, NextAt: p.NextAt, LastError: p.LastError})
	}
	return out, nil
}
