package httpsrv

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestRunShutsDownGracefully cancels the context while a request is in
// flight on a real loopback socket: the request completes, Run returns nil,
// and the listener is closed.
func TestRunShutsDownGracefully(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, hs, time.Minute, func() error { return hs.Serve(l) }) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	cancel()
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("in-flight request got %q", s)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v after cancel, want nil", err)
	}
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("listener still accepts after Run returned")
	}
}

// TestRunReturnsServeError: a listener closed under the server makes serve
// fail, and Run returns that error without waiting for ctx.
func TestRunReturnsServeError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	hs := &http.Server{}
	err = Run(context.Background(), hs, time.Second, func() error { return hs.Serve(l) })
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Run = %v, want the listener's error", err)
	}
}
