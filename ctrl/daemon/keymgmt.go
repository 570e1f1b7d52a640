package daemon

// Key management in otkd run: the controller store (kstore), the keyring
// pool filled from one port's seeds, and key sync to application
// platforms. Both are optional ([keyring] enabled, [sync] enabled); the
// store is opened only when one of them is.
//
// Flows:
//   - the link controller of [keyring] port hands every seed of direction
//     A→B to seedSource (OnSeed, controller goroutine); the keyring asks it
//     for a seed when it refills a ring (keyring worker);
//   - a local connect or disconnect (and, at end A, a refill) makes a
//     SyncMsg (keyring OnSync) that the port's controller sends as control
//     message 0x08; the peer's controller hands the body to OnKeyring,
//     which queues it for the keyring worker (ApplySync persists, so it
//     stays off the controller goroutine); the keyring keeps each message
//     until the peer's ack and the worker resends on a new session (link
//     OnSession) or when acks stall (keyring_sync.go);
//   - end B fills its rings only as end A's fill messages say, with the
//     seed of that id from seedSource (Follow, SeedByID);
//   - the keyring worker runs Maintain periodically; the sync pusher runs
//     keysync's RunPusher. Both are supervised like the ports.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	bolt "go.etcd.io/bbolt"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keyring"
	"github.com/otkd/otkd/ctrl/keysync"
	"github.com/otkd/otkd/ctrl/kstore"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/negotiation"
	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// controllerMigrations is the one migration list of the controller store:
// every package keeping state in it contributes here, in order, append-only
// (kstore package doc). ctrl/keyring and ctrl/keysync create their buckets
// on first write and version their records, so there is none yet.
var controllerMigrations []kstore.Migration

// keyMgmt is the daemon's key-management state; nil fields are disabled.
type keyMgmt struct {
	kst     *kstore.DB
	ring    *keyring.Keyring
	seeds   *seedSource
	port    *portRun // whose seeds fill the rings and whose link carries the sync messages
	in      chan []byte
	session chan struct{} // the keyring port's link started a session
	keep    chan heldSeed // end B: seeds for the keyring to keep (KeepSeed)
	every   time.Duration
	syncer  *keysync.Syncer
}

// ringInQueue bounds the peer's keyring messages waiting for the worker.
const ringInQueue = 256

// startKeyMgmt opens the controller store and builds the keyring and the
// syncer the configuration enables.
func (d *Daemon) startKeyMgmt() error {
	if !d.cfg.Keyring.Enabled && !d.cfg.Sync.Enabled {
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
	if d.cfg.Keyring.Enabled {
		if err := d.openKeyring(); err != nil {
			return err
		}
	}
	if d.cfg.Sync.Enabled {
		if err := d.openSyncer(); err != nil {
			return err
		}
	}
	return nil
}

func (d *Daemon) openKeyring() error {
	kc := d.cfg.Keyring
	for _, pr := range d.ports {
		if pr.cfg.Name == kc.Port {
			d.km.port = pr
		}
	}
	window, keys := d.cfg.KeyringWindow(), kc.KeysPerRing
	if kc.Schedule != "" {
		f, err := os.Open(kc.Schedule)
		if err != nil {
			return fmt.Errorf("keyring.schedule %s: %w", kc.Schedule, err)
		}
		sessions, err := keyring.ParseSchedule(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("keyring.schedule %s: %w", kc.Schedule, err)
		}
		plan, err := keyring.ComputePlan(sessions, keyring.PlanOptions{Rings: kc.Rings})
		if err != nil {
			return fmt.Errorf("keyring.schedule %s: %w", kc.Schedule, err)
		}
		window, keys = plan.Window, max(keys, plan.KeysPerRing)
		d.log.Info("keyring plan", "window", window, "keys_per_ring", keys, "longest_session", plan.MaxSession)
	}
	kek, err := store.ReadKEK(d.cfg.Store.KEKFile)
	if err != nil {
		return fmt.Errorf("store.kek_file: %w", err)
	}
	defer clear(kek)
	d.km.seeds = newSeedSource(time.Time{}, window)
	d.km.in = make(chan []byte, ringInQueue)
	d.km.session = make(chan struct{}, 1)
	d.km.keep = make(chan heldSeed, keepQueue)
	d.km.every = min(time.Second, window/4)
	side := 0
	if d.km.port.cfg.Role == "B" {
		side = 1
	}
	r, err := keyring.Open(keyring.Config{
		Pool: kc.Pool, Rings: kc.Rings, Window: window, KeysPerRing: keys, Side: side,
		Port: d.km.port.cfg.ID, Dir: shm.DirAtoB, KEK: kek, OnSync: d.sendRingSync, Follow: side == 1,
	}, d.km.kst, d.writer, d.km.seeds)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	d.km.ring = r
	return nil
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
	if d.km.ring != nil {
		ws = append(ws, &worker{name: "keyring", run: d.runKeyring})
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

// runKeyring loops applying the peer's sync messages and maintaining the
// rings until ctx ends.
func (d *Daemon) runKeyring(ctx context.Context) error {
	log := d.log.With("component", "keyring")
	t := time.NewTicker(d.km.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-d.km.in:
			d.applyRingMsg(b)
		case <-d.km.session:
			d.resendRing("new session with the peer")
		case h := <-d.km.keep:
			d.keepSeed(h)
		case <-t.C:
			if d.km.port.cur.Load() != nil { // else the port's next handshake resends
				if n := d.km.ring.ResendStale(ringResendAfter); n > 0 {
					log.Info("keyring messages sent again", "why", "no ack", "messages", n)
				}
			}
			n, err := d.km.ring.Maintain()
			switch {
			case errors.Is(err, errNoSeed):
				log.Debug("keyring maintenance waits for a seed", "err", err)
			case err != nil:
				log.Warn("keyring maintenance", "err", err)
			case n > 0:
				log.Info("keyrings refilled", "rings", n)
			}
		}
	}
}

// sendRingSync carries a local binding change to the peer (keyring OnSync).
func (d *Daemon) sendRingSync(m keyring.SyncMsg) {
	st := d.km.port.cur.Load()
	if st == nil {
		d.log.Debug("keyring message not sent yet: port is (re)starting; it is sent again after the next handshake", "port", d.km.port.cfg.Name, "msg", m.String())
		return
	}
	if err := st.ctl.SendKeyring(m.Marshal()); err != nil {
		d.log.Warn("keyring message not sent", "msg", m.String(), "err", err)
	}
}

// ringHooks returns the link hooks of pr for the keyring: seeds in, peer
// messages in. Both are no-ops for other ports.
func (d *Daemon) ringHooks(pr *portRun) (onSeed func(link.SeedEvent), onMsg func([]byte)) {
	if d.km.ring == nil || pr != d.km.port {
		return func(link.SeedEvent) {}, nil
	}
	onSeed = func(ev link.SeedEvent) {
		d.km.seeds.add(ev)
		d.queueKeepSeed(ev)
	}
	onMsg = func(b []byte) {
		select {
		case d.km.in <- append([]byte(nil), b...):
		default:
			d.log.Warn("peer keyring message dropped: queue full", "port", pr.cfg.Name)
		}
	}
	return onSeed, onMsg
}

func (d *Daemon) closeKeyMgmt() error {
	var errs []error
	if d.km.ring != nil {
		errs = append(errs, d.km.ring.Close())
	}
	if d.km.seeds != nil {
		d.km.seeds.wipe()
	}
	if d.km.syncer != nil {
		d.km.syncer.Close()
	}
	if d.km.kst != nil {
		errs = append(errs, d.km.kst.Close())
	}
	return errors.Join(errs...)
}

// errNoSeed: no seed old enough for the current window yet.
var errNoSeed = errors.New("keyring: no seed of the link before this window yet")

// seedSource holds the recent seeds of direction A→B of the keyring's
// port. End A picks the one for a refill by time: the newest seed that
// arrived before the start of the current window. End B does not pick: it
// takes the seed end A's fill message names (SeedByID), so a seed that
// reaches one end just before a window boundary and the other just after
// cannot make the ends fill differently. Safe for concurrent use.
type seedSource struct {
	mu     sync.Mutex
	origin time.Time
	window time.Duration
	seeds  []heldSeed // oldest first, at most maxHeldSeeds
	now    func() time.Time
}

type heldSeed struct {
	seed negotiation.Seed
	id   uint64
	at   time.Time
}

const maxHeldSeeds = 32

func newSeedSource(origin time.Time, window time.Duration) *seedSource {
	if origin.IsZero() {
		origin = time.Unix(0, 0)
	}
	return &seedSource{origin: origin, window: window, now: time.Now}
}

// add keeps a copy of an A→B seed (link OnSeed).
func (s *seedSource) add(ev link.SeedEvent) {
	if ev.Direction != negotiation.AtoB || ev.Seed == nil {
		return
	}
	h := heldSeed{seed: *ev.Seed, id: seedID(ev.Seed), at: ev.At}
	if h.at.IsZero() {
		h.at = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seeds) == maxHeldSeeds {
		s.seeds[0].seed.Zero()
		s.seeds = s.seeds[1:]
	}
	s.seeds = append(s.seeds, h)
}

// Seed implements keyring.SeedSource.
func (s *seedSource) Seed() (*negotiation.Seed, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	start := s.origin.Add(now.Sub(s.origin).Truncate(s.window))
	for i := len(s.seeds) - 1; i >= 0; i-- {
		if s.seeds[i].at.Before(start) {
			seed := s.seeds[i].seed
			return &seed, s.seeds[i].id, nil
		}
	}
	return nil, 0, errNoSeed
}

func (s *seedSource) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.seeds {
		s.seeds[i].seed.Zero()
	}
	s.seeds = nil
}

// seedID names a seed the same way at both ends without revealing it: the
// first 8 bytes of SM3("otkd keyring seed id v1" ‖ seed), never 0.
func seedID(seed *negotiation.Seed) uint64 {
	h := sm3.New()
	h.Write([]byte("otkd keyring seed id v1"))
	h.Write(seed[:])
	id := binary.BigEndian.Uint64(h.Sum(nil))
	if id == 0 {
		id = 1
	}
	return id
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
	errNoKeyring = fmt.Errorf("%w: no keyring: set [keyring] enabled = true in the configuration", api.ErrUnavailable)
	errNoSync    = fmt.Errorf("%w: no key sync: set [sync] enabled = true in the configuration", api.ErrUnavailable)
)

func keyringKey(k keyring.KeyInfo) api.KeyringKey {
	return api.KeyringKey{
		Consumer: k.Consumer, Fingerprint: fmt.Sprintf("%016x", k.KeyID), ID: k.KeyID, Ring: k.Ring, Slot: k.Slot,
		Epoch: k.Epoch, SeedID: fmt.Sprintf("%016x", k.SeedID), Alg: k.Alg.String(), ValidFrom: k.ValidFrom, ValidTo: k.ValidTo,
	}
}

// KeyringStatus implements api.Backend.
func (d *Daemon) KeyringStatus(ctx context.Context) (api.KeyringStatus, error) {
	if d.km.ring == nil {
		return api.KeyringStatus{}, errNoKeyring
	}
	s, err := d.km.ring.Status()
	if err != nil {
		return api.KeyringStatus{}, ringErr(err)
	}
	out := api.KeyringStatus{
		Pool: s.Pool, Port: d.km.port.cfg.Name, Side: "A", WindowSeconds: s.Window.Seconds(), Current: s.Current, Now: s.Now,
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
func (d *Daemon) KeyringConnect(ctx context.Context, consumer uint64) (api.KeyringKey, error) {
	if d.km.ring == nil {
		return api.KeyringKey{}, errNoKeyring
	}
	k, err := d.km.ring.Connect(consumer)
	if err != nil {
		return api.KeyringKey{}, ringErr(err)
	}
	return keyringKey(k), nil
}

// KeyringDisconnect implements api.Backend.
func (d *Daemon) KeyringDisconnect(ctx context.Context, consumer uint64) error {
	if d.km.ring == nil {
		return errNoKeyring
	}
	return ringErr(d.km.ring.Disconnect(consumer))
}

// KeyringLookup implements api.Backend.
func (d *Daemon) KeyringLookup(ctx context.Context, consumer uint64) (api.KeyringKey, error) {
	if d.km.ring == nil {
		return api.KeyringKey{}, errNoKeyring
	}
	k, err := d.km.ring.Lookup(consumer)
	if err != nil {
		return api.KeyringKey{}, ringErr(err)
	}
	return keyringKey(k), nil
}

// KeyringRefill implements api.Backend.
func (d *Daemon) KeyringRefill(ctx context.Context, ring int) error {
	if d.km.ring == nil {
		return errNoKeyring
	}
	err := d.km.ring.Refill(ring)
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
