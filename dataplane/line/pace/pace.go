// Package pace is the frame clock of the network lines (udp, xdp): frame i
// is due at start + i/rate. A sender claims each frame's slot with Claim and
// sleeps with Sleep only when the slot is a millisecond or more ahead, so at
// high rates it waits once per millisecond of frames, never once per frame.
// A sender that fell behind catches up at full speed by at most a
// millisecond of frames (or two frames, whichever is more); older lateness
// is forgiven, so a stall is not followed by a long burst.
//
// A Pacer is used by one goroutine (a line's sender); it keeps one timer,
// so nothing allocates per frame.
package pace

import (
	"math"
	"time"
)

// MaxAhead is how far ahead of schedule a sender may run before it waits.
const MaxAhead = time.Millisecond

// Pacer is a deadline scheme. The zero value is unpaced: Claim returns 0.
type Pacer struct {
	period int64 // ns per frame; 0 = unpaced
	slack  int64 // how late the schedule may run before lateness is forgiven
	start  time.Time
	next   int64 // when the next frame is due, ns since start
	timer  *time.Timer
}

// Init sets the rate in frames per second; rate ≤ 0 leaves the pacer
// unpaced.
func (p *Pacer) Init(rate float64) {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		*p = Pacer{}
		return
	}
	p.period = max(1, int64(math.Round(1e9/rate)))
	p.slack = max(int64(MaxAhead), 2*p.period)
	p.start = time.Now()
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
}

// Paced reports whether the pacer has a rate.
func (p *Pacer) Paced() bool { return p.period > 0 }

// Claim takes the next frame's slot and returns how far ahead of now it is
// due; the caller must Sleep that long when it is MaxAhead or more.
func (p *Pacer) Claim() time.Duration {
	if p.period == 0 {
		return 0
	}
	now := int64(time.Since(p.start))
	p.next = max(p.next, now-p.slack)
	ahead := p.next - now
	p.next += p.period
	return time.Duration(ahead)
}

// Sleep waits d or until done is closed, and reports false in the latter
// case.
func (p *Pacer) Sleep(d time.Duration, done <-chan struct{}) bool {
	p.timer.Reset(d)
	select {
	case <-p.timer.C:
		return true
	case <-done:
		p.timer.Stop()
		return false
	}
}

// Wait claims the next frame's slot and sleeps until it is due when that is
// MaxAhead or more away. It reports whether it slept, and false for ok when
// done closed during the sleep.
func (p *Pacer) Wait(done <-chan struct{}) (waited, ok bool) {
	ahead := p.Claim()
	if ahead < MaxAhead {
		return false, true
	}
	return true, p.Sleep(ahead, done)
}
