package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSuperviseRestarts: a worker that panics and one that fails are both
// restarted; the supervisor counts the restarts and stops with ctx.
func TestSuperviseRestarts(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var runs atomic.Int64
	w := &worker{name: "flaky", run: func(ctx context.Context) error {
		switch runs.Add(1) {
		case 1:
			panic("boom")
		case 2:
			return errors.New("failed")
		}
		<-ctx.Done()
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { supervise(ctx, log, w); close(done) }()
	for runs.Load() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	if !w.running.Load() || w.restarts.Load() != 2 {
		t.Fatalf("running %v, restarts %d", w.running.Load(), w.restarts.Load())
	}
	cancel()
	<-done
}

// TestNotify sends READY=1 to a real unixgram socket, as systemd listens.
func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	notify("READY=1")
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // bounds a hang only
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", "")
	if iv := watchdogInterval(); iv != 2*time.Second {
		t.Fatalf("watchdog interval %v", iv)
	}
}

// TestLogsReload: loggers made before Set follow the new level and format.
func TestLogsReload(t *testing.T) {
	var sb strings.Builder
	l := NewLogs(&sb, slog.LevelInfo, false)
	log := l.Logger().With("port", "east")
	log.Debug("hidden")
	log.Info("text line")
	l.Set(slog.LevelDebug, true)
	log.Debug("json line")
	out := sb.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, `msg="text line" port=east`) ||
		!strings.Contains(out, `"msg":"json line","port":"east"`) {
		t.Fatalf("log output:\n%s", out)
	}
}
