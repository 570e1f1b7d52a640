package keyringsvc

// Reliable keyring sync in otkd run (docs/keyring.md, "Delivery"): the
// keyring keeps its messages for the peer until acknowledged; the pool's
// worker resends them when the link of the pool's port completes a
// handshake (a new session: link.Sink.Session) and when acks stall
// (ResendStale). End B fills its rings as end A's fill messages say, with
// the seed of that id from seedSource (SeedByID).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
)

// ringResendAfter is how long keyring messages wait for an ack before the
// worker sends them again.
const ringResendAfter = 5 * time.Second

// errSeedNotHere: end A named a seed this end does not hold (yet).
var errSeedNotHere = errors.New("keyring: no such seed of the link here (yet)")

// SeedByID implements keyring.SeedFinder: the held seed of that id.
func (s *seedSource) SeedByID(id uint64) (*keys.Seed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.seeds) - 1; i >= 0; i-- {
		if s.seeds[i].id == id {
			seed := s.seeds[i].seed
			return &seed, nil
		}
	}
	return nil, fmt.Errorf("%w: seed %016x (%d held)", errSeedNotHere, id, len(s.seeds))
}

var _ keyring.SeedFinder = (*seedSource)(nil)

// apply applies one peer keyring message of p, logging the outcome:
// refusals (ErrPeer, acknowledged) as warnings, messages that wait for a
// resend (out of order, ring busy, seed not here yet) at debug.
func (p *pool) apply(m keyring.SyncMsg) {
	before := p.ring.Stats()
	ties, dups := before.TieBreaks, before.PeerDuplicates
	err := p.ring.ApplySync(m)
	if p.ring.Stats().TieBreaks != ties {
		p.log.Warn("consumer connected at both ends with different keys: end A's key kept at both", "msg", m.String())
	}
	switch {
	case err == nil && m.Op == keyring.OpAck:
		p.log.Debug("peer acknowledged keyring messages", "msg", m.String())
	case err == nil && p.ring.Stats().PeerDuplicates != dups:
		p.log.Debug("peer keyring message handled before (resent)", "msg", m.String())
	case err == nil:
		p.log.Info("peer keyring message applied", "msg", m.String())
	case errors.Is(err, keyring.ErrPeer), errors.Is(err, keyring.ErrSyncMsg), errors.Is(err, keyring.ErrNotBound):
		p.log.Warn("peer keyring message rejected", "msg", m.String(), "err", err)
	default:
		p.log.Debug("peer keyring message waits for a resend", "msg", m.String(), "err", err)
	}
}

// resend sends again the messages the peer has not acknowledged.
func (p *pool) resend(why string) {
	if n := p.ring.Resend(); n > 0 {
		p.log.Info("keyring messages sent again", "why", why, "messages", n)
	}
}

var _ KeyringSyncBackend = (*Service)(nil)

// KeyringSync implements KeyringSyncBackend.
func (s *Service) KeyringSync(ctx context.Context, pool string) (KeyringSync, error) {
	p, err := s.pool(pool)
	if err != nil {
		return KeyringSync{}, err
	}
	return keyringSyncOf(p.cfg.Pool, p.ring), nil
}

func keyringSyncOf(pool string, r *keyring.Keyring) KeyringSync {
	st, s := r.SyncState(), r.Stats()
	side := "A"
	if ks, err := r.Status(); err == nil && ks.Side == 1 {
		side = "B"
	}
	out := KeyringSync{Pool: pool, Side: side, Stream: fmt.Sprintf("%016x", st.Stream), Acked: st.Acked,
		Pending: st.Pending, PeerHandled: st.PeerHandled, PeerBinds: s.PeerBinds, PeerRejected: s.PeerRejected,
		PeerDuplicates: s.PeerDuplicates, PeerFills: s.PeerFills, TieBreaks: s.TieBreaks, Resent: s.SyncResent}
	if st.PeerStream != 0 {
		out.PeerStream = fmt.Sprintf("%016x", st.PeerStream)
	}
	return out
}

// keepQueue bounds the seeds waiting for the keyring worker to keep.
const keepQueue = 8

// queueKeepSeed hands a copy of an A→B seed to p's worker, which has end
// B's keyring keep it (link OnSeed, controller goroutine: the store write
// stays off it). End A keeps none: it decides the fills.
func (p *pool) queueKeepSeed(ev link.SeedEvent) {
	if ev.Direction != keys.AtoB || ev.Seed == nil || p.port.Role() != "B" {
		return
	}
	h := heldSeed{seed: *ev.Seed, id: ev.Seed.ID()}
	select {
	case p.keep <- h:
	default:
		h.seed.Zero()
		p.log.Warn("seed not kept for the keyring: queue full", "seed", fmt.Sprintf("%016x", h.id))
	}
}

// keepSeed has p's keyring keep h (p's worker) and zeroes h.
func (p *pool) keepSeed(h heldSeed) {
	defer h.seed.Zero()
	if err := p.ring.KeepSeed(h.id, &h.seed); err != nil {
		p.log.Warn("seed not kept for the keyring", "seed", fmt.Sprintf("%016x", h.id), "err", err)
	}
}
