package daemon

// The supervisor is otkd's own, about sixty lines, rather than
// github.com/thejerf/suture/v4 (v4.0.6 evaluated). What otkd needs of it,
// and where suture differs:
//   - each worker backs off on its own, exponentially (0.5 s doubling to
//     30 s): a port whose peer refuses it must not make the API or another
//     port wait. Suture counts failures per supervisor (decaying every
//     FailureDecay) and, past FailureThreshold, pauses every restart of
//     that supervisor for FailureBackoff (15 s flat); before that it
//     restarts at once, with no delay, so a port failing fast handshakes
//     in a tight loop. Isolating workers would take one suture supervisor
//     per worker, which is this file again with an adapter;
//   - the watchdog (notify.go) needs per worker whether it runs, since
//     when, and how many runs in a row failed: suture reports failures only
//     as events to a hook, and its failure count is per supervisor and
//     decays;
//   - shutdown is ordered by the daemon (key switches finish first, then
//     every worker stops and the stores close after the last one):
//     suture's stop timeout would abandon a worker still holding a store.
// A panic is turned into an error here as suture does.

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// worker is one supervised task.
type worker struct {
	name     string
	run      func(ctx context.Context) error
	restarts atomic.Int64
	running  atomic.Bool
	// optional: the watchdog ignores this worker's crash loop (a restart of
	// otkd cannot cure it, and would cut every link: the metrics server).
	optional bool
	// failStreak counts the runs in a row that ended within backoffReset
	// of their start; startedAt is the current or last run's start (unix
	// ns). Both are read by the watchdog.
	failStreak atomic.Int64
	startedAt  atomic.Int64
}

// Backoff bounds of the supervisor.
const (
	backoffMin   = 500 * time.Millisecond
	backoffMax   = 30 * time.Second
	backoffReset = time.Minute
)

// crashLoopRuns is how many short runs in a row (each ended within
// backoffReset of its start) make a worker "failing" for the watchdog:
// with the backoff above, 5 runs take at least 0.5+1+2+4 = 7.5 s.
const crashLoopRuns = 5

// supervise runs w until ctx ends, restarting it after an error or a panic
// with exponential backoff.
func supervise(ctx context.Context, log *slog.Logger, w *worker) {
	backoff := backoffMin
	for {
		start := time.Now()
		w.startedAt.Store(start.UnixNano())
		w.running.Store(true)
		err := runSafe(ctx, w)
		w.running.Store(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > backoffReset {
			backoff = backoffMin
			w.failStreak.Store(0)
		}
		w.failStreak.Add(1)
		w.restarts.Add(1)
		log.Error("worker stopped; restarting", "worker", w.name, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// failing reports whether w is in a crash loop at now: its last
// crashLoopRuns runs or more each ended within backoffReset of their start,
// and the current run, if any, has not yet lasted backoffReset.
func (w *worker) failing(now time.Time) bool {
	if w.failStreak.Load() < crashLoopRuns {
		return false
	}
	return !w.running.Load() || now.Sub(time.Unix(0, w.startedAt.Load())) < backoffReset
}

// runSafe runs the worker once, turning a panic into an error.
func runSafe(ctx context.Context, w *worker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	err = w.run(ctx)
	if err == nil && ctx.Err() == nil {
		err = fmt.Errorf("worker %s returned", w.name)
	}
	return err
}
