package keyring

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func at(h, m, s int) time.Time { return time.Date(2026, 11, 22, h, m, s, 0, time.UTC) }

func TestComputePlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sessions []Session
		opts     PlanOptions
		window   time.Duration
		rings    int
		keys     int
		starts   int
	}{
		{"one session two rings", []Session{{at(10, 0, 0), at(12, 0, 0)}}, PlanOptions{}, 2 * time.Hour, 2, 2, 1},
		{"four rings split L in three", []Session{{at(10, 0, 0), at(11, 30, 0)}}, PlanOptions{Rings: 4}, 30 * time.Minute, 4, 2, 1},
		{"rounded up to the second", []Session{{at(10, 0, 0), at(10, 1, 1)}}, PlanOptions{Rings: 3}, 31 * time.Second, 3, 2, 1},
		{"granularity", []Session{{at(10, 0, 0), at(10, 1, 1)}}, PlanOptions{Rings: 3, Granularity: time.Minute}, time.Minute, 3, 2, 1},
		{"busiest window and spare", []Session{
			{at(10, 0, 0), at(10, 20, 0)}, {at(10, 5, 0), at(10, 10, 0)}, {at(10, 15, 0), at(10, 30, 0)},
			{at(11, 0, 0), at(11, 40, 0)}}, PlanOptions{Rings: 2, Spare: 1}, 40 * time.Minute, 2, 8, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ComputePlan(tc.sessions, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.Window != tc.window || p.Rings != tc.rings || p.KeysPerRing != tc.keys || p.MaxStarts != tc.starts {
				t.Fatalf("plan %+v, want W=%v R=%d keys=%d starts=%d", p, tc.window, tc.rings, tc.keys, tc.starts)
			}
		})
	}
}

func TestComputePlanErrors(t *testing.T) {
	one := []Session{{at(10, 0, 0), at(11, 0, 0)}}
	for name, tc := range map[string]struct {
		s []Session
		o PlanOptions
	}{
		"empty":        {nil, PlanOptions{}},
		"one ring":     {one, PlanOptions{Rings: 1}},
		"too many":     {one, PlanOptions{Rings: MaxRings + 1}},
		"negative":     {one, PlanOptions{Spare: -1}},
		"backwards":    {[]Session{{at(11, 0, 0), at(10, 0, 0)}}, PlanOptions{}},
		"before epoch": {[]Session{{time.Unix(-10, 0), time.Unix(10, 0)}}, PlanOptions{}},
	} {
		if _, err := ComputePlan(tc.s, tc.o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestPlanDrainsBeforeNextTurn checks the rule on random schedules: every
// session ends before its ring's next window starts.
func TestPlanDrainsBeforeNextTurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var ss []Session
		for range 1 + rng.IntN(20) {
			s := at(0, 0, 0).Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
			ss = append(ss, Session{s, s.Add(time.Second + time.Duration(rng.Int64N(int64(6*time.Hour))))})
		}
		rings := 2 + rng.IntN(5)
		p, err := ComputePlan(ss, PlanOptions{Rings: rings})
		if err != nil {
			t.Fatal(err)
		}
		origin := time.Unix(0, 0)
		for _, s := range ss {
			n, _ := windowIndex(origin, p.Window, s.Start)
			next := origin.Add(time.Duration(n+int64(p.Rings)) * p.Window)
			if s.End.After(next) {
				t.Fatalf("trial %d: session %v..%v outlives its ring's turn (next %v, plan %+v)", trial, s.Start, s.End, next, p)
			}
		}
	}
}

func TestParseSchedule(t *testing.T) {
	in := "# expected sessions\n2026-11-22T10:00:00Z 2026-11-22T11:00:00Z\n\n  2026-11-22T10:30:00+01:00 2026-11-22T12:00:00+01:00\n"
	ss, err := ParseSchedule(strings.NewReader(in))
	if err != nil || len(ss) != 2 || ss[1].End.Sub(ss[1].Start) != 90*time.Minute {
		t.Fatalf("%v %v", ss, err)
	}
	for _, bad := range []string{"2026-11-22T10:00:00Z", "yesterday today", "2026-11-22T10:00:00Z 2026-11-22T09:00:00Z"} {
		if _, err := ParseSchedule(strings.NewReader(bad)); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
