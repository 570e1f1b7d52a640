package daemon

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/otkd/otkd/ctrl/daemon/port"
)

// summaries logs each port's summary line ([log] summary, default every
// minute) until ctx ends. A reload that changes the interval takes effect
// at once (setEvery).
type summaries struct {
	d     *Daemon
	every atomic.Int64 // ns; 0: off
	reset chan struct{}
}

func newSummaries(d *Daemon) *summaries {
	s := &summaries{d: d, reset: make(chan struct{}, 1)}
	s.every.Store(int64(d.cfg.SummaryInterval()))
	return s
}

func (s *summaries) setEvery(iv time.Duration) {
	s.every.Store(int64(iv))
	select {
	case s.reset <- struct{}{}:
	default:
	}
}

func (s *summaries) run(ctx context.Context) error {
	states := make([]port.SummaryState, len(s.d.ports))
	now := time.Now()
	for i, p := range s.d.ports { // the first line counts from here
		p.StartSummary(&states[i], now)
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		t.Stop()
		var tick <-chan time.Time
		if iv := time.Duration(s.every.Load()); iv > 0 {
			t.Reset(iv)
			tick = t.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.reset:
		case now := <-tick:
			for i, p := range s.d.ports {
				p.LogSummary(s.d.log, &states[i], now)
			}
		}
	}
}
