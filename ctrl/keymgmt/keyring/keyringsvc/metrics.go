package keyringsvc

import (
	"fmt"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/service"
)

// WriteMetrics implements service.Service: each pool's counters, labelled
// pool="…", every family's lines together.
func (s *Service) WriteMetrics(mw *service.Metrics) {
	if len(s.pools) == 0 {
		return
	}
	type poolStats struct {
		lb string
		st keyring.Stats
		ss keyring.SyncState
	}
	ps := make([]poolStats, len(s.pools))
	for i, p := range s.pools {
		ps[i] = poolStats{fmt.Sprintf("pool=%q", p.cfg.Pool), p.ring.Stats(), p.ring.SyncState()}
	}
	type family struct{ name, typ, help, label string }
	put := func(f family, v func(*poolStats) uint64) {
		for i := range ps {
			lb := ps[i].lb
			if f.label != "" {
				lb += "," + f.label
			}
			mw.Put(f.name, f.typ, f.help, lb, float64(v(&ps[i])))
		}
	}
	const (
		events  = "Keyring events: connects, disconnects, refills, peer binds."
		refused = "Connects refused (exhausted ring, ring not filled) and peer bindings rejected."
		syncs   = "Keyring sync with the peer: messages resent, duplicates dropped, tie-breaks settled for end A, rings filled as end A said."
	)
	put(family{"otkd_keyring_events_total", "counter", events, `event="connect"`}, func(p *poolStats) uint64 { return p.st.Connects })
	put(family{"otkd_keyring_events_total", "counter", events, `event="disconnect"`}, func(p *poolStats) uint64 { return p.st.Disconnects })
	put(family{"otkd_keyring_events_total", "counter", events, `event="refill"`}, func(p *poolStats) uint64 { return p.st.Refills })
	put(family{"otkd_keyring_events_total", "counter", events, `event="peer_bind"`}, func(p *poolStats) uint64 { return p.st.PeerBinds })
	put(family{"otkd_keyring_refused_total", "counter", refused, `reason="exhausted"`}, func(p *poolStats) uint64 { return p.st.Exhausted })
	put(family{"otkd_keyring_refused_total", "counter", refused, `reason="not_filled"`}, func(p *poolStats) uint64 { return p.st.NotReady })
	put(family{"otkd_keyring_refused_total", "counter", refused, `reason="peer_rejected"`}, func(p *poolStats) uint64 { return p.st.PeerRejected })
	put(family{"otkd_keyring_sync_total", "counter", syncs, `event="resent"`}, func(p *poolStats) uint64 { return p.st.SyncResent })
	put(family{"otkd_keyring_sync_total", "counter", syncs, `event="duplicate"`}, func(p *poolStats) uint64 { return p.st.PeerDuplicates })
	put(family{"otkd_keyring_sync_total", "counter", syncs, `event="tie_break"`}, func(p *poolStats) uint64 { return p.st.TieBreaks })
	put(family{"otkd_keyring_sync_total", "counter", syncs, `event="peer_fill"`}, func(p *poolStats) uint64 { return p.st.PeerFills })
	put(family{"otkd_keyring_sync_pending", "gauge", "Sync messages the peer has not acknowledged yet.", ""}, func(p *poolStats) uint64 { return uint64(p.ss.Pending) })
}
