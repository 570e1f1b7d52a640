// Package httpsrv runs an http.Server for as long as a context lives: the
// one shutdown sequence otkd's unix-socket API and its custody endpoints
// share.
package httpsrv

import (
	"context"
	"net/http"
	"time"
)

// Run calls serve (hs.Serve or hs.ServeTLS on a listener, which must
// belong to hs) in a goroutine and waits for ctx to end or serve to fail.
// When ctx ends it shuts hs down gracefully, letting in-flight requests run
// for up to grace before closing their connections, waits for serve to
// return and returns nil. When serve fails first it returns that error.
func Run(ctx context.Context, hs *http.Server, grace time.Duration, serve func() error) error {
	done := make(chan error, 1)
	go func() { done <- serve() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-done
	return nil
}
