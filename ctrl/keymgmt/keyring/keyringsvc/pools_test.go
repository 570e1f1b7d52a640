package keyringsvc

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
)

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRouteRingMsg: a peer message goes to the queue of the pool it names
// among the pools of its port; one naming a pool that port does not have,
// or malformed, goes nowhere and is logged.
func TestRouteRingMsg(t *testing.T) {
	var log strings.Builder
	var mu sync.Mutex
	lg := slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))
	mk := func(name string) *pool {
		return &pool{cfg: Pool{Pool: name}, in: make(chan keyring.SyncMsg, 1), log: lg}
	}
	vpn, web := mk("vpn"), mk("web")
	ps := portSink{log: lg, pools: []*pool{vpn, web}}
	m := keyring.SyncMsg{Pool: "web", Op: keyring.OpBind, Stream: 1, Seq: 1, Consumer: 7, KeyID: 9}
	ps.Keyring(m.Marshal())
	select {
	case got := <-web.in:
		if got != m {
			t.Fatalf("web got %v, want %v", got, m)
		}
	default:
		t.Fatal("web's message not queued for web")
	}
	if len(vpn.in) != 0 {
		t.Fatal("web's message queued for vpn")
	}
	m.Pool = "mail"
	ps.Keyring(m.Marshal())
	ps.Keyring([]byte{2, 1})
	if len(vpn.in)+len(web.in) != 0 {
		t.Fatal("a message of an unknown pool or a malformed one was queued")
	}
	mu.Lock()
	defer mu.Unlock()
	if s := log.String(); !strings.Contains(s, "no such pool on this port") || !strings.Contains(s, "vpn, web") || !strings.Contains(s, "version 2") {
		t.Fatalf("log does not name the refusals:\n%s", s)
	}
}
