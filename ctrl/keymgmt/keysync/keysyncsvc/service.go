package keysyncsvc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/service"
)

// Service runs key sync in otkd run ([sync]): the syncer on the
// controller store, with the node's SM2 key as envelope key, and its
// pusher. It implements service.Service, Backend and AuditBackend.
type Service struct {
	cfg    Config
	syncer *keysync.Syncer
	lead   func(ctx context.Context, role string) (context.Context, func(), error)
	log    *slog.Logger
}

// PusherRole is the role the pushers of key sync's replicas elect one
// leader for: one pushes the outbox at a time.
const PusherRole = "keysync-pusher"

// New returns the service of a [sync] table.
func New(cfg Config) *Service { return &Service{cfg: cfg.Clone()} }

var (
	_ service.Service = (*Service)(nil)
	_ AuditBackend    = (*Service)(nil)
)

// Name implements service.Service.
func (s *Service) Name() string { return "sync" }

// Enabled implements service.Service.
func (s *Service) Enabled() bool { return s.cfg.Enabled }

// Check implements service.Service: nothing beyond the config's checks.
func (s *Service) Check() error { return nil }

// Start implements service.Service: it reads the TLS files and opens the
// syncer on the controller store.
func (s *Service) Start(h *service.Host) error {
	if !s.cfg.Enabled {
		return nil
	}
	sc := s.cfg
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
	self := h.Self.Priv
	if sc.PrivateKey != "" {
		if self, err = handshake.LoadPrivateKey(sc.PrivateKey); err != nil {
			return fmt.Errorf("sync.private_key: %w", err)
		}
	}
	st, err := h.SharedStore()
	if err != nil {
		return err
	}
	sy, err := keysync.New(st, keysync.Options{Self: self, Platforms: platforms, Log: h.Log.With("component", "keysync"),
		AuditRetention: sc.Retention()})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.syncer, s.lead, s.log = sy, h.Lead, h.Log.With("component", "keysync")
	return nil
}

// Status implements service.Service.
func (s *Service) Status() []any { return []any{"platforms", len(s.cfg.Platforms)} }

// Workers implements service.Service: the pusher.
func (s *Service) Workers() []service.Worker {
	if s.syncer == nil {
		return nil
	}
	return []service.Worker{{Name: "sync pusher", Run: s.runPusher}}
}

// runPusher pushes the outbox while this process leads PusherRole: on a
// shared store (replicas) one otkd pushes at a time, and when it dies or
// loses etcd another takes over after its lease; the delivery id keeps a
// push repeated across the switch from being applied twice.
//
// When the election itself fails (etcd unreachable, no quorum) it waits
// and stands again, up to 30 s apart, rather than fail: a restart of otkd
// would not bring etcd back, and the watchdog would count the failures.
func (s *Service) runPusher(ctx context.Context) error {
	wait := time.Second
	for {
		lctx, release := ctx, func() {}
		if s.lead != nil {
			var err error
			if lctx, release, err = s.lead(ctx, PusherRole); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("sync pusher: cannot stand for election, trying again", "in", wait, "err", err)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
				wait = min(2*wait, 30*time.Second)
				continue
			}
			wait = time.Second
		}
		err := s.syncer.RunPusher(lctx)
		release()
		if ctx.Err() != nil {
			return nil
		}
		if lctx.Err() == nil {
			return err
		}
		// The leadership ended (lease lost): stand again.
	}
}

// Routes implements service.Service: the service serves its routes
// whether it is enabled or not (off, each answers 503 naming the key that
// turns it on, as the daemon always has).
func (s *Service) Routes(r *api.Router) { Routes(r, s) }

// WriteMetrics implements service.Service: key sync has no metrics of its
// own (its audit log is the record).
func (s *Service) WriteMetrics(*service.Metrics) {}

// Stop implements service.Service.
func (s *Service) Stop() error {
	if s.syncer != nil {
		s.syncer.Close()
	}
	return nil
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
	case errors.Is(err, keysync.ErrTooLarge):
		return fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	case errors.Is(err, kstore.ErrUnavailable), errors.Is(err, kstore.ErrConflict):
		return fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	return err
}

// SyncImport implements Backend.
func (s *Service) SyncImport(ctx context.Context, file []byte) (int, error) {
	if s.syncer == nil {
		return 0, errNoSync
	}
	n, err := s.syncer.Import(file)
	return n, syncErr(err)
}

// SyncRegister implements Backend.
func (s *Service) SyncRegister(ctx context.Context, identity, app string) error {
	if s.syncer == nil {
		return errNoSync
	}
	return syncErr(s.syncer.Register(identity, app))
}

// SyncRequest implements Backend.
func (s *Service) SyncRequest(ctx context.Context, identity, keyID, app string) (SyncBinding, error) {
	if s.syncer == nil {
		return SyncBinding{}, errNoSync
	}
	b, err := s.syncer.Request(identity, keyID, app)
	if err != nil {
		return SyncBinding{}, syncErr(err)
	}
	return SyncBinding{Identity: b.Identity, App: b.App, KeyID: b.KeyID, KeyFingerprint: b.KeyFP,
		DeliveryID: b.DeliveryID, Bound: b.Bound, Delivered: b.Delivered}, nil
}

// SyncOutbox implements Backend.
func (s *Service) SyncOutbox(ctx context.Context) ([]SyncPending, error) {
	if s.syncer == nil {
		return nil, errNoSync
	}
	ps, err := s.syncer.Outbox()
	if err != nil {
		return nil, syncErr(err)
	}
	out := make([]SyncPending, 0, len(ps))
	for _, p := range ps {
		out = append(out, SyncPending{DeliveryID: p.DeliveryID, Identity: p.Identity, App: p.App, KeyID: p.KeyID,
			KeyFingerprint: p.KeyFP, Created: p.Created, Attempts: p.Attempts, NextAt: p.NextAt, LastError: p.LastError})
	}
	return out, nil
}

// SyncAudit implements AuditBackend: the key-sync audit log, filtered.
// The events hold ids and fingerprints only.
func (s *Service) SyncAudit(ctx context.Context, q SyncAuditQuery) (SyncAudit, error) {
	if s.syncer == nil {
		return SyncAudit{}, errNoSync
	}
	ev, trunc, err := s.syncer.QueryAudit(q)
	if errors.Is(err, keysync.ErrAuditQuery) {
		return SyncAudit{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	if err != nil {
		return SyncAudit{}, syncErr(err)
	}
	if ev == nil {
		ev = []SyncEvent{}
	}
	return SyncAudit{Events: ev, Truncated: trunc}, nil
}
