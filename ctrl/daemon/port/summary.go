package port

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// summaryEvents count the seeds (own, peer) and key switches (tx, rx) of
// every incarnation of a port, as its sink sees them.
type summaryEvents struct{ seeds, keys [2]atomic.Uint64 }

// SummaryState is what the last summary line of a port counted from, so
// that the next one says what happened since. The zero value starts from
// nothing (the first line counts since the port started).
type SummaryState struct {
	at                          time.Time
	cur                         *state // the incarnation whose frame counters the line read
	seeds, keys                 [2]uint64
	txFrames, rxFrames, rejects uint64
}

// LogSummary logs one INFO line on the port since the last call (state
// holds what that one counted): seeds made per side, key switches per
// direction, frames sent and opened, frames rejected, the disagreement per
// side and the link's health. It is the port's INFO record at line rate;
// each seed and key has its own line at DEBUG.
func (p *Port) LogSummary(log *slog.Logger, st *SummaryState, now time.Time) {
	next := p.summaryState(now)
	attrs := []any{"port", p.cfg.Name}
	if !st.at.IsZero() {
		attrs = append(attrs, "seconds", now.Sub(st.at).Round(time.Second).Seconds())
	}
	attrs = append(attrs,
		"seeds_own", next.seeds[0]-st.seeds[0], "seeds_peer", next.seeds[1]-st.seeds[1],
		"switches_tx", next.keys[0]-st.keys[0], "switches_rx", next.keys[1]-st.keys[1])
	health := "down"
	if cur := next.cur; cur != nil {
		// Frame counters are the incarnation's: after a restart they
		// count from its start.
		d := func(v, last uint64) uint64 {
			if cur != st.cur || v < last {
				return v
			}
			return v - last
		}
		c := cur.ctl.Stats()
		attrs = append(attrs, "frames_tx", d(next.txFrames, st.txFrames), "frames_rx", d(next.rxFrames, st.rxFrames),
			"rejected", d(next.rejects, st.rejects),
			"disagreement_own", round6(c.Initiator.Disagreement()), "disagreement_peer", round6(c.Responder.Disagreement()))
		health = c.Health
		if !p.running() {
			health = "restarting"
		}
	}
	attrs = append(attrs, "health", health)
	log.Info("port summary", attrs...)
	*st = next
}

// StartSummary makes st count from now: the next LogSummary says what
// happened since.
func (p *Port) StartSummary(st *SummaryState, now time.Time) { *st = p.summaryState(now) }

func (p *Port) summaryState(now time.Time) SummaryState {
	st := SummaryState{at: now, cur: p.cur.Load()}
	for i := range 2 {
		st.seeds[i], st.keys[i] = p.events.seeds[i].Load(), p.events.keys[i].Load()
	}
	if st.cur != nil {
		s := st.cur.port.Stats()
		st.txFrames, st.rxFrames = s.TXFrames, s.RXFrames
		st.rejects = s.RXLostFAS + s.RXUnknownEpoch + s.RXAuthFailed + s.RXReplayed + s.RXTooOld
	}
	return st
}

// round6 keeps six decimals of a ratio for the log.
func round6(v float64) float64 { return float64(int64(v*1e6+0.5)) / 1e6 }
