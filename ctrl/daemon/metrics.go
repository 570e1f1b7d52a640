package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/dataplane"
)

// metricsServer serves /metrics in the Prometheus text format on the
// configured address ("" = off). A reload with a new address restarts it.
type metricsServer struct {
	d       *Daemon
	mu      sync.Mutex
	addr    string
	restart chan struct{}
}

func newMetricsServer(d *Daemon) *metricsServer {
	return &metricsServer{d: d, addr: d.cfg.Metrics.Listen, restart: make(chan struct{}, 1)}
}

// setAddr changes the address; the running server stops and the supervisor
// starts it again on the new one.
func (m *metricsServer) setAddr(a string) {
	m.mu.Lock()
	m.addr = a
	m.mu.Unlock()
	select {
	case m.restart <- struct{}{}:
	default:
	}
}

var errRestart = errors.New("metrics: address changed")

func (m *metricsServer) run(ctx context.Context) error {
	m.mu.Lock()
	addr := m.addr
	m.mu.Unlock()
	if addr == "" {
		select {
		case <-ctx.Done():
			return nil
		case <-m.restart:
			return errRestart
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.d.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	m.d.log.Info("metrics listening", "addr", l.Addr().String())
	var ret error
	select {
	case <-ctx.Done():
	case <-m.restart:
		ret = errRestart
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return ret
}

// metric writes one metric family.
type metricWriter struct {
	w    io.Writer
	seen map[string]bool
}

func (mw *metricWriter) put(name, typ, help, labels string, v float64) {
	if !mw.seen[name] {
		mw.seen[name] = true
		fmt.Fprintf(mw.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(mw.w, "%s%s %g\n", name, labels, v)
}

// writeMetrics writes every metric. Metric values are counters and
// fingerprint-free gauges: no key material.
func (d *Daemon) writeMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	mw := &metricWriter{w: w, seen: map[string]bool{}}
	for _, pr := range d.ports {
		lb := fmt.Sprintf("port=%q", pr.cfg.Name)
		st := pr.cur.Load()
		up := 0.0
		if st != nil {
			up = 1
		}
		mw.put("otkd_port_up", "gauge", "1 while the port's pipelines run.", lb, up)
		if pr.client != nil {
			writeClientMetrics(mw, lb, pr.client.counters())
		}
		if st == nil {
			continue
		}
		s, c := st.port.Stats(), st.ctl.Stats()
		hs := 0.0
		if c.Handshake == "done" {
			hs = 1
		}
		mw.put("otkd_handshake_done", "gauge", "1 once the SM2 handshake with the peer has completed.", lb, hs)
		mw.put("otkd_frames_total", "counter", "Frames sent (tx) and opened (rx).", lb+`,dir="tx"`, float64(s.TXFrames))
		mw.put("otkd_frames_total", "counter", "", lb+`,dir="rx"`, float64(s.RXFrames))
		mw.put("otkd_frames_rejected_total", "counter", "Frames the RX could not open, by reason.", lb+`,reason="lost_fas"`, float64(s.RXLostFAS))
		mw.put("otkd_frames_rejected_total", "counter", "", lb+`,reason="unknown_epoch"`, float64(s.RXUnknownEpoch))
		mw.put("otkd_frames_rejected_total", "counter", "", lb+`,reason="tag"`, float64(s.RXAuthFailed))
		mw.put("otkd_frames_rejected_total", "counter", "", lb+`,reason="replayed"`, float64(s.RXReplayed))
		mw.put("otkd_frames_rejected_total", "counter", "", lb+`,reason="too_old"`, float64(s.RXTooOld))
		mw.put("otkd_frames_missing_total", "counter", "COUNT gaps between frames opened.", lb, float64(s.RXGaps))
		mw.put("otkd_fec_corrected_symbols_total", "counter", "RS(255,239) symbols corrected.", lb, float64(s.FECCorrected))
		mw.put("otkd_fec_uncorrectable_codewords_total", "counter", "Codewords the FEC could not correct.", lb, float64(s.FECUncorrected))
		mw.put("otkd_bip8_errors_total", "counter", "SM BIP-8 bit errors.", lb, float64(s.BIPErrors))
		mw.put("otkd_rounds_total", "counter", "Rounds counted, own (this end initiates) and peer.", lb+`,side="own"`, float64(s.CountsOwn))
		mw.put("otkd_rounds_total", "counter", "", lb+`,side="peer"`, float64(s.CountsPeer))
		mw.put("otkd_rounds_dropped_total", "counter", "Rounds dropped by the cross-checks.", lb, float64(s.RoundsDropped))
		mw.put("otkd_seeds_total", "counter", "Seed keys made, own direction and peer direction.", lb+`,side="own"`, float64(c.SeedsOwn))
		mw.put("otkd_seeds_total", "counter", "", lb+`,side="peer"`, float64(c.SeedsPeer))
		fail := c.Initiator.DecodeFailures + c.Initiator.VerifyFailures + c.Initiator.Abandoned
		mw.put("otkd_negotiation_failures_total", "counter", "Blocks or attempts that failed (decode, verify, bound).", lb, float64(fail))
		mw.put("otkd_epoch", "gauge", "Current key epoch of the TX and the RX.", lb+`,dir="tx"`, float64(s.TXEpoch))
		mw.put("otkd_epoch", "gauge", "", lb+`,dir="rx"`, float64(s.RXEpoch))
		mw.put("otkd_key_switches_total", "counter", "TX switches to a new session key.", lb, float64(s.TXKeySwitches))
		mw.put("otkd_sessions_total", "counter", "Sessions started: SM2 handshakes completed with the peer.", lb, float64(c.Sessions))
		writeLineSecurity(mw, lb, s, c, time.Now())
		st.line.writeMetrics(mw, lb)
		mw.put("otkd_port_workers", "gauge", "Frame workers per direction.", lb, float64(st.port.Workers()))
	}
	mw.put("otkd_store_keys", "gauge", "Live keys in the shm store.", "", float64(d.countKeys()))
	mw.put("otkd_store_slots", "gauge", "Key slots of the shm store.", "", float64(d.reader.Slots()))
	mw.put("otkd_store_generation", "gauge", "Generation of the shm store (bumped at each start).", "", float64(d.writer.Generation()))
	if len(d.km.pools) > 0 {
		d.writeKeyringMetrics(mw)
	}
	if d.custody != nil {
		d.writeMPCMetrics(mw)
	}
	for _, wk := range d.workers {
		mw.put("otkd_worker_restarts_total", "counter", "Supervisor restarts of each worker.", fmt.Sprintf("worker=%q", wk.name), float64(wk.restarts.Load()))
	}
}

// writeKeyringMetrics writes each pool's counters, labelled pool="…",
// every family's lines together.
func (d *Daemon) writeKeyringMetrics(mw *metricWriter) {
	type poolStats struct {
		lb string
		st keyring.Stats
		ss keyring.SyncState
	}
	ps := make([]poolStats, len(d.km.pools))
	for i, p := range d.km.pools {
		ps[i] = poolStats{fmt.Sprintf("pool=%q", p.cfg.Pool), p.ring.Stats(), p.ring.SyncState()}
	}
	type family struct{ name, typ, help, label string }
	put := func(f family, v func(*poolStats) uint64) {
		for i := range ps {
			help := f.help
			lb := ps[i].lb
			if f.label != "" {
				lb += "," + f.label
			}
			mw.put(f.name, f.typ, help, lb, float64(v(&ps[i])))
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

// writeMPCMetrics writes the threshold-custody node's state: its epoch (0
// before key generation), the rounds it coordinated, and when the last one
// ran. Never a share, a key or a backup's content.
func (d *Daemon) writeMPCMetrics(mw *metricWriter) {
	m := d.custody
	m.mu.Lock()
	ok, bad, last := m.roundsOK, m.roundsBad, m.lastRound
	m.mu.Unlock()
	lb := fmt.Sprintf("node=\"%d\"", d.cfg.MPC.Index)
	mw.put("otkd_mpc_epoch", "gauge", "Epoch of this node's share of the cluster key (0: no key yet); refresh raises it.", lb, float64(m.node.Epoch()))
	mw.put("otkd_mpc_rounds_total", "counter", "Key-generation and refresh rounds this node coordinated, by result.", lb+`,result="ok"`, float64(ok))
	mw.put("otkd_mpc_rounds_total", "counter", "", lb+`,result="failed"`, float64(bad))
	var ts float64
	if !last.IsZero() {
		ts = float64(last.Unix())
	}
	mw.put("otkd_mpc_last_round_timestamp_seconds", "gauge", "Unix time of the last round this node coordinated (0: none since start).", lb, ts)
}

// writeLineSecurity writes what says whether a port holds against an
// attacker on the line (docs/security.md): the peer's liveness, the TX
// key's state, the handshake lane's refusals and the time since the last
// seed per direction.
func writeLineSecurity(mw *metricWriter, lb string, s dataplane.Snapshot, c link.Stats, now time.Time) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	mw.put("otkd_link_healthy", "gauge", "1 while the link is healthy (otkctl status names the reasons otherwise).", lb, b(c.Health == "ok"))
	mw.put("otkd_peer_alive", "gauge", "1 while authentic frames from the peer keep arriving.", lb, b(c.PeerAlive))
	mw.put("otkd_tx_key_exhausted", "gauge", "1 while the TX has no key because the last one reached the hard COUNT limit.", lb, b(c.TXExhausted))
	mw.put("otkd_tx_key_count", "gauge", "COUNT of the last frame sent under the current TX key.", lb, float64(s.TXCount))
	mw.put("otkd_key_rotations_total", "counter", "TX keys rotated at the soft COUNT limit.", lb, float64(c.Rotations))
	mw.put("otkd_handshake_lane_total", "counter", "Handshake-lane messages refused (forged, stale, malformed) or ignored while a live session runs.", lb+`,event="rejected"`, float64(c.HandshakeRejected))
	mw.put("otkd_handshake_lane_total", "counter", "", lb+`,event="ignored"`, float64(c.LaneIgnored))
	mw.put("otkd_handshake_attempts_total", "counter", "Handshakes end A started.", lb, float64(c.HandshakeAttempts))
	for _, d := range []struct {
		side string
		at   time.Time
	}{{"own", c.LastSeedOwn}, {"peer", c.LastSeedPeer}} {
		if d.at.IsZero() {
			d.at = c.Started
		}
		mw.put("otkd_seconds_since_seed", "gauge", "Seconds since the last seed of each direction (own: this end initiates), or since start.", lb+`,side="`+d.side+`"`, now.Sub(d.at).Seconds())
	}
}
