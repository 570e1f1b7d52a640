package daemon

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
}

// Backoff bounds of the supervisor.
const (
	backoffMin   = 500 * time.Millisecond
	backoffMax   = 30 * time.Second
	backoffReset = time.Minute
)

// supervise runs w until ctx ends, restarting it after an error or a panic
// with exponential backoff.
func supervise(ctx context.Context, log *slog.Logger, w *worker) {
	backoff := backoffMin
	for {
		start := time.Now()
		w.running.Store(true)
		err := runSafe(ctx, w)
		w.running.Store(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > backoffReset {
			backoff = backoffMin
		}
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
