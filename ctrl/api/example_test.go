package api_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
)

// The daemon's side: create the socket, serve its Backend until SIGTERM.
func ExampleServer_Serve() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	l, err := api.Listen("/run/otkd/otkd.sock", "otkd")
	if err != nil {
		slog.Error("api", "err", err) // e.g. "socket in use": another otkd runs
		os.Exit(1)
	}
	var backend api.Backend = apitest.New() // the daemon's own implementation
	srv := api.NewServer(backend, api.ServerOptions{Logger: slog.Default()})
	if err := srv.Serve(ctx, l); err != nil {
		slog.Error("api", "err", err)
	}
}

// The client's side, as otkctl does it.
func ExampleDial() {
	c := api.Dial("/run/otkd/otkd.sock")
	defer c.Close()
	keys, err := c.Keys(context.Background())
	if err != nil {
		slog.Error("keys", "err", err) // errors.Is(err, api.ErrUnreachable) when otkd is down
		return
	}
	for _, k := range keys {
		slog.Info("key", "id", k.ID, "port", k.Port, "state", k.State, "fingerprint", k.Fingerprint)
	}
}
