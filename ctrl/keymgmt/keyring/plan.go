package keyring

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// Session is one expected consumer session of a schedule.
type Session struct {
	Start, End time.Time
}

// Plan is the ring geometry a schedule needs. See ComputePlan for the rule.
type Plan struct {
	Rings       int           // R ≥ 2
	Window      time.Duration // W
	KeysPerRing int           // both ends' halves together
	MaxSession  time.Duration // L, the longest session in the schedule
	MaxStarts   int           // most sessions starting in one window
}

// PlanOptions tune ComputePlan. The zero value of each field is its default.
type PlanOptions struct {
	// Rings is R; 0 means 2.
	Rings int
	// Origin aligns windows (window n starts at Origin + n·W); the zero
	// value means the Unix epoch, as Config.Origin.
	Origin time.Time
	// Spare keys added to each end's half of a ring; 0 means none.
	Spare int
	// Granularity W is rounded up to; 0 means one second.
	Granularity time.Duration
}

// ComputePlan derives the window length and the ring size from a schedule
// of expected sessions.
//
// The rule: window n (n = ⌊(t − Origin)/W⌋) belongs to ring n mod R, so a
// ring's turn recurs every R·W. A session that connects in ring r's window
// [nW, (n+1)W) and lasts at most L ends before (n+1)W + L. Ring r's next
// window starts at (n+R)W; the ring is drained (no bindings) before it,
// and can be refilled in between, when
//
//	L ≤ (R−1)·W,  i.e.  W = ⌈L / (R−1)⌉ (rounded up to Granularity).
//
// Each connect consumes one key for good (keys are retired, never reused),
// so a ring needs as many keys as sessions start in one of its windows;
// each end allocates from its own half of the slots (see Config.Side), so
// KeysPerRing = 2·(MaxStarts + Spare).
func ComputePlan(sessions []Session, o PlanOptions) (Plan, error) {
	if o.Rings == 0 {
		o.Rings = 2
	}
	if o.Rings < 2 || o.Rings > MaxRings {
		return Plan{}, fmt.Errorf("%w: %d rings, want 2..%d", ErrConfig, o.Rings, MaxRings)
	}
	if o.Granularity <= 0 {
		o.Granularity = time.Second
	}
	if o.Spare < 0 {
		return Plan{}, fmt.Errorf("%w: negative spare", ErrConfig)
	}
	if len(sessions) == 0 {
		return Plan{}, fmt.Errorf("%w: empty schedule", ErrConfig)
	}
	p := Plan{Rings: o.Rings}
	for i, s := range sessions {
		d := s.End.Sub(s.Start)
		if d <= 0 {
			return Plan{}, fmt.Errorf("%w: session %d ends before it starts", ErrConfig, i+1)
		}
		p.MaxSession = max(p.MaxSession, d)
	}
	w := (p.MaxSession + time.Duration(o.Rings-2)) / time.Duration(o.Rings-1) // ceil
	w = (w + o.Granularity - 1) / o.Granularity * o.Granularity
	p.Window = w
	origin := originOf(o.Origin)
	starts := map[int64]int{}
	for _, s := range sessions {
		n, err := windowIndex(origin, w, s.Start)
		if err != nil {
			return Plan{}, err
		}
		starts[n]++
		p.MaxStarts = max(p.MaxStarts, starts[n])
	}
	p.KeysPerRing = 2 * (p.MaxStarts + o.Spare)
	if p.KeysPerRing > MaxKeysPerRing {
		return Plan{}, fmt.Errorf("%w: schedule needs %d keys per ring, max %d (use more rings)", ErrConfig, p.KeysPerRing, MaxKeysPerRing)
	}
	return p, nil
}

// ParseSchedule reads a schedule file: one session a line, "start end" in
// RFC 3339, blank lines and lines starting with # ignored.
func ParseSchedule(r io.Reader) ([]Session, error) {
	var out []Session
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Fields(t)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: schedule line %d: want \"start end\"", ErrConfig, line)
		}
		s, err1 := time.Parse(time.RFC3339, f[0])
		e, err2 := time.Parse(time.RFC3339, f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: schedule line %d: times must be RFC 3339", ErrConfig, line)
		}
		if !e.After(s) {
			return nil, fmt.Errorf("%w: schedule line %d: end not after start", ErrConfig, line)
		}
		out = append(out, Session{Start: s, End: e})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keyring: reading schedule: %w", err)
	}
	return out, nil
}

func originOf(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t
}

// windowIndex is ⌊(t − origin)/w⌋; t before origin is an error.
func windowIndex(origin time.Time, w time.Duration, t time.Time) (int64, error) {
	d := t.Sub(origin)
	if d < 0 {
		return 0, fmt.Errorf("%w: time %s before the window origin %s", ErrConfig, t.UTC().Format(time.RFC3339), origin.UTC().Format(time.RFC3339))
	}
	return int64(d / w), nil
}
