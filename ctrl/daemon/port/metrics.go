package port

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/dataplane"
)

// WriteMetrics writes the port's metric families, labelled port="NAME":
// whether it runs, its client's counters, and, while an incarnation is
// current, its frames, rejections, FEC, rounds, seeds, epochs, switches,
// sessions, what holds against an attacker on the line, and its line's
// counters.
func (p *Port) WriteMetrics(mw *service.Metrics) {
	lb := fmt.Sprintf("port=%q", p.cfg.Name)
	st := p.cur.Load()
	up := 0.0
	if st != nil {
		up = 1
	}
	mw.Put("otkd_port_up", "gauge", "1 while the port's pipelines run.", lb, up)
	p.writeTimes(mw, lb)
	if p.client != nil {
		writeClientMetrics(mw, lb, p.client.counters())
	}
	if st == nil {
		return
	}
	s, c := st.port.Stats(), st.ctl.Stats()
	hs := 0.0
	if c.Handshake == "done" {
		hs = 1
	}
	n := func(v uint64) float64 { return float64(v) }
	mw.Put("otkd_handshake_done", "gauge", "1 once the SM2 handshake with the peer has completed.", lb, hs)
	mw.Reason("otkd_frames_total", "counter", "Frames sent (tx) and opened (rx).", lb, "dir",
		[]service.Labelled{{Label: "tx", Value: n(s.TXFrames)}, {Label: "rx", Value: n(s.RXFrames)}})
	mw.Reason("otkd_frames_rejected_total", "counter", "Frames the RX could not open, by reason.", lb, "reason", []service.Labelled{
		{Label: "lost_fas", Value: n(s.RXLostFAS)}, {Label: "unknown_epoch", Value: n(s.RXUnknownEpoch)}, {Label: "tag", Value: n(s.RXAuthFailed)},
		{Label: "replayed", Value: n(s.RXReplayed)}, {Label: "too_old", Value: n(s.RXTooOld)}})
	mw.Put("otkd_frames_missing_total", "counter", "COUNT gaps between frames opened.", lb, n(s.RXGaps))
	mw.Put("otkd_fec_corrected_symbols_total", "counter", "RS(255,239) symbols corrected.", lb, n(s.FECCorrected))
	mw.Put("otkd_fec_uncorrectable_codewords_total", "counter", "Codewords the FEC could not correct.", lb, n(s.FECUncorrected))
	mw.Put("otkd_bip8_errors_total", "counter", "SM BIP-8 bit errors.", lb, n(s.BIPErrors))
	mw.Reason("otkd_rounds_total", "counter", "Rounds counted, own (this end initiates) and peer.", lb, "side",
		[]service.Labelled{{Label: "own", Value: n(s.CountsOwn)}, {Label: "peer", Value: n(s.CountsPeer)}})
	mw.Put("otkd_rounds_dropped_total", "counter", "Rounds dropped by the cross-checks.", lb, n(s.RoundsDropped))
	mw.Reason("otkd_seeds_total", "counter", "Seed keys made, own direction and peer direction.", lb, "side",
		[]service.Labelled{{Label: "own", Value: float64(c.SeedsOwn)}, {Label: "peer", Value: float64(c.SeedsPeer)}})
	fail := c.Initiator.DecodeFailures + c.Initiator.VerifyFailures + c.Initiator.Abandoned
	mw.Put("otkd_negotiation_failures_total", "counter", "Blocks or attempts that failed (decode, verify, bound).", lb, float64(fail))
	mw.Reason("otkd_disagreement_ratio", "gauge", "Measured bit disagreement before reconciliation (0..1) of each direction since the port started: own (this end initiates) and peer.", lb, "side",
		[]service.Labelled{{Label: "own", Value: c.Initiator.Disagreement()}, {Label: "peer", Value: c.Responder.Disagreement()}})
	mw.Reason("otkd_epoch", "gauge", "Current key epoch of the TX and the RX.", lb, "dir",
		[]service.Labelled{{Label: "tx", Value: float64(s.TXEpoch)}, {Label: "rx", Value: float64(s.RXEpoch)}})
	mw.Put("otkd_key_switches_total", "counter", "TX switches to a new session key.", lb, n(s.TXKeySwitches))
	mw.Put("otkd_sessions_total", "counter", "Sessions started: SM2 handshakes completed with the peer.", lb, float64(c.Sessions))
	writeLineSecurity(mw, lb, s, c, time.Now())
	st.line.writeMetrics(mw, lb)
	mw.Put("otkd_port_workers", "gauge", "Frame workers per direction.", lb, float64(st.port.Workers()))
}

// writeTimes writes when the port last made a seed (per side) and switched
// a key (per direction), over every incarnation since the daemon started:
// what an on-call operator alerts on (time() minus the value). 0 until the
// first.
func (p *Port) writeTimes(mw *service.Metrics, lb string) {
	ts := func(a *atomic.Int64) float64 {
		if v := a.Load(); v != 0 {
			return float64(v) / 1e9
		}
		return 0
	}
	mw.Reason("otkd_last_seed_timestamp_seconds", "gauge", "Unix time of the last seed of each direction: own (this end initiates) and peer; 0 before the first since otkd started.", lb, "side",
		[]service.Labelled{{Label: "own", Value: ts(&p.lastSeed[0])}, {Label: "peer", Value: ts(&p.lastSeed[1])}})
	mw.Reason("otkd_last_key_switch_timestamp_seconds", "gauge", "Unix time the port last switched to a new session key: tx (it sends with it), rx (it installed the peer's); 0 before the first since otkd started.", lb, "dir",
		[]service.Labelled{{Label: "tx", Value: ts(&p.lastKey[0])}, {Label: "rx", Value: ts(&p.lastKey[1])}})
}

// writeLineSecurity writes what says whether a port holds against an
// attacker on the line (docs/security.md): the peer's liveness, the TX
// key's state, the handshake lane's refusals and the time since the last
// seed per direction.
func writeLineSecurity(mw *service.Metrics, lb string, s dataplane.Snapshot, c link.Stats, now time.Time) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	mw.Put("otkd_link_healthy", "gauge", "1 while the link is healthy (otkctl status names the reasons otherwise).", lb, b(c.Health == "ok"))
	mw.Put("otkd_peer_alive", "gauge", "1 while authentic frames from the peer keep arriving.", lb, b(c.PeerAlive))
	mw.Put("otkd_tx_key_exhausted", "gauge", "1 while the TX has no key because the last one reached the hard COUNT limit.", lb, b(c.TXExhausted))
	mw.Put("otkd_tx_key_count", "gauge", "COUNT of the last frame sent under the current TX key.", lb, float64(s.TXCount))
	mw.Put("otkd_key_rotations_total", "counter", "TX keys rotated at the soft COUNT limit.", lb, float64(c.Rotations))
	mw.Reason("otkd_handshake_lane_total", "counter", "Handshake-lane messages refused (forged, stale, malformed) or ignored while a live session runs.", lb, "event",
		[]service.Labelled{{Label: "rejected", Value: float64(c.HandshakeRejected)}, {Label: "ignored", Value: float64(c.LaneIgnored)}})
	mw.Put("otkd_handshake_attempts_total", "counter", "Handshakes end A started.", lb, float64(c.HandshakeAttempts))
	var since []service.Labelled
	for _, d := range []struct {
		side string
		at   time.Time
	}{{"own", c.LastSeedOwn}, {"peer", c.LastSeedPeer}} {
		if d.at.IsZero() {
			d.at = c.Started
		}
		since = append(since, service.Labelled{Label: d.side, Value: now.Sub(d.at).Seconds()})
	}
	mw.Reason("otkd_seconds_since_seed", "gauge", "Seconds since the last seed of each direction (own: this end initiates), or since start.", lb, "side", since)
}
