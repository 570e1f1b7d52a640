package udp

import (
	"math"
	"time"
)

// maxAhead is how far ahead of schedule Send may be before it waits: the
// pacer waits once per millisecond of frames at rates above 1000 frames/s.
const maxAhead = int64(time.Millisecond)

// pacer is a deadline scheme: frame i is due at start + i·period. It keeps
// one timer for its waits, so pacing allocates nothing per frame.
type pacer struct {
	period int64 // ns per frame; 0 = unpaced
	slack  int64 // how late the schedule may run before lateness is forgiven
	start  time.Time
	next   int64 // when the next frame is due, ns since start
	timer  *time.Timer
}

func (p *pacer) init(rate float64) {
	if rate <= 0 {
		return
	}
	p.period = max(1, int64(math.Round(1e9/rate)))
	p.slack = max(maxAhead, 2*p.period)
	p.start = time.Now()
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
}

// wait claims the next frame's slot and waits until it is due when that is
// a millisecond or more away. It reports whether it waited and false for ok
// when done closed during the wait.
func (p *pacer) wait(done <-chan struct{}) (waited, ok bool) {
	now := int64(time.Since(p.start))
	p.next = max(p.next, now-p.slack)
	ahead := p.next - now
	p.next += p.period
	if ahead < maxAhead {
		return false, true
	}
	p.timer.Reset(time.Duration(ahead))
	select {
	case <-p.timer.C:
		return true, true
	case <-done:
		p.timer.Stop()
		return true, false
	}
}
