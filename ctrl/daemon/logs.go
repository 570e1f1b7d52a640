package daemon

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
)

// Logs is the daemon's logging: a level and a format (text or JSON) that a
// SIGHUP can change while loggers derived from it stay valid.
type Logs struct {
	w     io.Writer
	level slog.LevelVar
	base  atomic.Pointer[slog.Handler]
}

// NewLogs writes to w at level, as JSON if json.
func NewLogs(w io.Writer, level slog.Level, json bool) *Logs {
	l := &Logs{w: w}
	l.Set(level, json)
	return l
}

// Set changes the level and the format.
func (l *Logs) Set(level slog.Level, json bool) {
	l.level.Set(level)
	opts := &slog.HandlerOptions{Level: &l.level}
	var h slog.Handler = slog.NewTextHandler(l.w, opts)
	if json {
		h = slog.NewJSONHandler(l.w, opts)
	}
	l.base.Store(&h)
}

// Logger returns a logger that follows Set.
func (l *Logs) Logger() *slog.Logger { return slog.New(&swapHandler{l: l}) }

// swapHandler forwards to the current base handler, replaying the
// attributes and groups it was derived with.
type swapHandler struct {
	l   *Logs
	ops []func(slog.Handler) slog.Handler
}

func (h *swapHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= h.l.level.Level() }

func (h *swapHandler) Handle(ctx context.Context, r slog.Record) error {
	b := *h.l.base.Load()
	for _, op := range h.ops {
		b = op(b)
	}
	return b.Handle(ctx, r)
}

func (h *swapHandler) with(op func(slog.Handler) slog.Handler) slog.Handler {
	ops := append(append([]func(slog.Handler) slog.Handler(nil), h.ops...), op)
	return &swapHandler{l: h.l, ops: ops}
}

func (h *swapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(func(b slog.Handler) slog.Handler { return b.WithAttrs(as) })
}

func (h *swapHandler) WithGroup(name string) slog.Handler {
	return h.with(func(b slog.Handler) slog.Handler { return b.WithGroup(name) })
}
