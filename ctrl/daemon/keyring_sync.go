package daemon

// Reliable keyring sync in otkd run (docs/keyring.md, "Delivery"): the
// keyring keeps its messages for the peer until acknowledged; the keyring
// worker resends them when the link of the keyring's port completes a
// handshake (a new session: link OnSession) and when acks stall
// (ResendStale). End B fills its rings as end A's fill messages say, with
// the seed of that id from seedSource (SeedByID).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keyring"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/negotiation"
)

// ringResendAfter is how long keyring messages wait for an ack before the
// worker sends them again.
const ringResendAfter = 5 * time.Second

// errSeedNotHere: end A named a seed this end does not hold (yet).
var errSeedNotHere = errors.New("keyring: no such seed of the link here (yet)")

// SeedByID implements keyring.SeedFinder: the held seed of that id.
func (s *seedSource) SeedByID(id uint64) (*negotiation.Seed, error) {
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

// ringSession returns the link OnSession hook of pr: a new session on the
// keyring's port wakes the keyring worker to resend. Nil for other ports.
func (d *Daemon) ringSession(pr *portRun) func() {
	if d.km.ring == nil || pr != d.km.port {
		return nil
	}
	return func() {
		select {
		case d.km.session <- struct{}{}:
		default: // a resend is already due
		}
	}
}

// applyRingMsg decodes and applies one peer keyring message, logging the
// outcome: refusals (ErrPeer, acknowledged) as warnings, messages that
// wait for a resend (out of order, ring busy, seed not here yet) at debug.
func (d *Daemon) applyRingMsg(b []byte) {
	log := d.log.With("component", "keyring")
	var m keyring.SyncMsg
	before := d.km.ring.Stats()
	ties, dups := before.TieBreaks, before.PeerDuplicates
	err := m.Unmarshal(b)
	if err == nil {
		err = d.km.ring.ApplySync(m)
	}
	if d.km.ring.Stats().TieBreaks != ties {
		log.Warn("consumer connected at both ends with different keys: end A's key kept at both", "msg", m.String())
	}
	switch {
	case err == nil && m.Op == keyring.OpAck:
		log.Debug("peer acknowledged keyring messages", "msg", m.String())
	case err == nil && d.km.ring.Stats().PeerDuplicates != dups:
		log.Debug("peer keyring message handled before (resent)", "msg", m.String())
	case err == nil:
		log.Info("peer keyring message applied", "msg", m.String())
	case errors.Is(err, keyring.ErrPeer), errors.Is(err, keyring.ErrSyncMsg), errors.Is(err, keyring.ErrNotBound):
		log.Warn("peer keyring message rejected", "msg", m.String(), "err", err)
	default:
		log.Debug("peer keyring message waits for a resend", "msg", m.String(), "err", err)
	}
}

// resendRing sends again the messages the peer has not acknowledged.
func (d *Daemon) resendRing(why string) {
	if n := d.km.ring.Resend(); n > 0 {
		d.log.Info("keyring messages sent again", "component", "keyring", "why", why, "messages", n)
	}
}

var _ api.KeyringSyncBackend = (*Daemon)(nil)

// KeyringSync implements api.KeyringSyncBackend.
func (d *Daemon) KeyringSync(ctx context.Context) (api.KeyringSync, error) {
	if d.km.ring == nil {
		return api.KeyringSync{}, errNoKeyring
	}
	return keyringSyncOf(d.cfg.Keyring.Pool, d.km.ring), nil
}

func keyringSyncOf(pool string, r *keyring.Keyring) api.KeyringSync {
	st, s := r.SyncState(), r.Stats()
	side := "A"
	if ks, err := r.Status(); err == nil && ks.Side == 1 {
		side = "B"
	}
	out := api.KeyringSync{Pool: pool, Side: side, Stream: fmt.Sprintf("%016x", st.Stream), Acked: st.Acked,
		Pending: st.Pending, PeerHandled: st.PeerHandled, PeerBinds: s.PeerBinds, PeerRejected: s.PeerRejected,
		PeerDuplicates: s.PeerDuplicates, PeerFills: s.PeerFills, TieBreaks: s.TieBreaks, Resent: s.SyncResent}
	if st.PeerStream != 0 {
		out.PeerStream = fmt.Sprintf("%016x", st.PeerStream)
	}
	return out
}

// keepQueue bounds the seeds waiting for the keyring worker to keep.
const keepQueue = 8

// queueKeepSeed hands a copy of an A→B seed to the keyring worker, which
// has end B's keyring keep it (link OnSeed, controller goroutine: the
// store write stays off it). End A keeps none: it decides the fills.
func (d *Daemon) queueKeepSeed(ev link.SeedEvent) {
	if ev.Direction != negotiation.AtoB || ev.Seed == nil || d.km.port.cfg.Role != "B" {
		return
	}
	h := heldSeed{seed: *ev.Seed, id: seedID(ev.Seed)}
	select {
	case d.km.keep <- h:
	default:
		h.seed.Zero()
		d.log.Warn("seed not kept for the keyring: queue full", "component", "keyring", "seed", fmt.Sprintf("%016x", h.id))
	}
}

// keepSeed has the keyring keep h (keyring worker) and zeroes h.
func (d *Daemon) keepSeed(h heldSeed) {
	defer h.seed.Zero()
	if err := d.km.ring.KeepSeed(h.id, &h.seed); err != nil {
		d.log.Warn("seed not kept for the keyring", "component", "keyring", "seed", fmt.Sprintf("%016x", h.id), "err", err)
	}
}
