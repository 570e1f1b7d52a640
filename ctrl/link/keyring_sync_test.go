package link_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

// oneSeed gives both ends the same seed (id 1) for every fill.
type oneSeed struct{}

func (oneSeed) Seed() (*keys.Seed, uint64, error) {
	s := keys.Seed{1, 2, 3}
	return &s, 1, nil
}

func (oneSeed) SeedByID(id uint64) (*keys.Seed, error) {
	if id != 1 {
		return nil, errors.New("no such seed")
	}
	s, _, _ := oneSeed{}.Seed()
	return s, nil
}

// ringEnd is one otkd as `otkd run` wires the keyring to its port: the
// keyring outlives the port, whose incarnations (line, dataplane port,
// link controller) come and go; keyring messages ride control message
// 0x08 and a new session makes the keyring resend.
type ringEnd struct {
	t        *testing.T
	role     dataplane.Role
	self     handshake.Identity
	peer     handshake.Peer
	local    netip.AddrPort
	remote   netip.AddrPort
	ring     *keyring.Keyring
	cur      atomic.Pointer[link.Controller]
	sessions atomic.Int32 // Sink.Session calls
	stop     context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	errs     []error // ApplySync errors other than "wait for a resend"
}

func newRingEnd(t *testing.T, role dataplane.Role, self handshake.Identity, peer handshake.Peer, local, remote netip.AddrPort) *ringEnd {
	t.Helper()
	e := &ringEnd{t: t, role: role, self: self, peer: peer, local: local, remote: remote}
	dir := t.TempDir()
	st, err := kstore.Open(filepath.Join(dir, "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := shm.Create(shm.Options{Path: filepath.Join(dir, "keys"), Slots: 64, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	side := int(role)
	e.ring, err = keyring.Open(keyring.Config{
		Pool: "default", Rings: 2, Window: time.Hour, KeysPerRing: 16, Side: side, Follow: side == 1,
		KEK: bytes.Repeat([]byte{5}, 16), OnSync: e.send,
	}, st, w, oneSeed{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.ring.Close() })
	return e
}

// send is the keyring's OnSync: over the current controller, if any.
func (e *ringEnd) send(m keyring.SyncMsg) {
	if c := e.cur.Load(); c != nil {
		if err := c.SendKeyring(m.Marshal()); err != nil {
			e.t.Errorf("SendKeyring: %v", err)
		}
	}
}

// onKeyring applies a peer message (on the controller goroutine here; the
// daemon hands it to a worker).
func (e *ringEnd) onKeyring(b []byte) {
	var m keyring.SyncMsg
	err := m.Unmarshal(b)
	if err == nil {
		err = e.ring.ApplySync(m)
	}
	if err != nil && (errors.Is(err, keyring.ErrPeer) || errors.Is(err, keyring.ErrSyncMsg)) {
		e.mu.Lock()
		e.errs = append(e.errs, err)
		e.mu.Unlock()
	}
}

// start runs a new incarnation of the port: line, dataplane port and
// controller, as the daemon's runPort does.
func (e *ringEnd) start() {
	e.t.Helper()
	var conn *net.UDPConn
	var err error
	for range 100 { // the port of the previous incarnation may linger a moment
		if conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(e.local)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.local = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	line, err := udp.FromConn(conn, udp.Config{Peer: e.remote, FrameRate: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	port, err := dataplane.NewPort(dataplane.Config{Role: e.role, Line: line})
	if err != nil {
		e.t.Fatal(err)
	}
	ctl, err := link.New(link.Config{Port: port, Self: e.self, Peer: e.peer,
		Sink: link.Funcs{OnKeyring: e.onKeyring, OnSession: func() { e.sessions.Add(1); e.ring.Resend() }}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.cur.Store(ctl)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); port.Run(ctx) }()
	go func() { defer wg.Done(); ctl.Run(ctx) }()
	go func() { defer wg.Done(); e.resendLoop(ctx) }()
	go func() { wg.Wait(); line.Close(); close(e.done) }()
}

// resendLoop resends what waits for an ack too long, as the daemon's
// keyring worker does: a message the peer could not apply yet (its own
// connect of the same consumer in flight) is not acknowledged.
func (e *ringEnd) resendLoop(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.ring.ResendStale(200 * time.Millisecond)
		}
	}
}

// halt stops the incarnation; messages sent meanwhile are lost.
func (e *ringEnd) halt() {
	e.cur.Store(nil)
	e.stop()
	<-e.done
}

func poll(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a bound for a stuck run, not a timing
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// state describes both ends for a failure message.
func state(what string, a, b *ringEnd) func() string {
	return func() string {
		var s string
		for _, e := range []*ringEnd{a, b} {
			st, _ := e.ring.Status()
			s += fmt.Sprintf("\n side %d: %d unacknowledged, %+v", e.role, e.ring.SyncPending(), st.Stats)
			for c := uint64(1); c <= 3; c++ {
				k, err := e.ring.Lookup(c)
				s += fmt.Sprintf("\n  consumer %d: key %016x %v", c, k.KeyID, err)
			}
		}
		return what + s
	}
}

// TestKeyringSyncAcrossRestart: keyring messages lost while end B's port
// restarts reach it after the new session, each applied once; a consumer
// that connects at both ends at once ends up with A's key at both.
func TestKeyringSyncAcrossRestart(t *testing.T) {
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	addr := [2]netip.AddrPort{conns[0].LocalAddr().(*net.UDPAddr).AddrPort(), conns[1].LocalAddr().(*net.UDPAddr).AddrPort()}
	conns[0].Close()
	conns[1].Close()
	var ids [2]handshake.Identity
	for i, name := range []string{"otkd:a", "otkd:b"} {
		var err error
		if ids[i], err = handshake.Generate(name, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	a := newRingEnd(t, dataplane.RoleA, ids[0], ids[1].Peer(), addr[0], addr[1])
	b := newRingEnd(t, dataplane.RoleB, ids[1], ids[0].Peer(), addr[1], addr[0])
	a.start()
	b.start()
	defer func() { a.halt(); b.halt() }()

	if _, err := a.ring.Maintain(); err != nil {
		t.Fatal(err)
	}
	poll(t, state("B fills as A did", a, b), func() bool {
		s, _ := b.ring.Status()
		return s.Rings[0].Filled && s.Rings[1].Filled && a.ring.SyncPending() == 0
	})

	b.halt()
	k1, err := a.ring.Connect(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ring.Connect(2); err != nil {
		t.Fatal(err)
	}
	if err := a.ring.Disconnect(2); err != nil {
		t.Fatal(err)
	}
	if n := a.ring.SyncPending(); n != 3 {
		t.Fatalf("%d messages wait for B, want 3", n)
	}
	b.start()
	poll(t, state("B gets consumer 1 and releases consumer 2 after its restart", a, b), func() bool {
		got, err := b.ring.Lookup(1)
		_, err2 := b.ring.Lookup(2)
		return err == nil && got.KeyID == k1.KeyID && errors.Is(err2, keyring.ErrNotBound) && a.ring.SyncPending() == 0
	})
	if s := b.ring.Stats(); s.PeerBinds != 2 || s.Disconnects != 1 || s.PeerRejected != 0 {
		t.Fatalf("B's stats %+v: each message applied once", s)
	}
	if na, nb := a.sessions.Load(), b.sessions.Load(); na < 2 || nb < 2 {
		t.Fatalf("Sink.Session called %d times at A, %d at B; want a session before and after B's restart", na, nb)
	}

	// Both ends bind consumer 3 before either hears of the other.
	ka, err := a.ring.Connect(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ring.Connect(3); err != nil {
		t.Fatal(err)
	}
	poll(t, state("consumer 3 holds A's key at both ends", a, b), func() bool {
		ia, errA := a.ring.Lookup(3)
		ib, errB := b.ring.Lookup(3)
		return errA == nil && errB == nil && ia.KeyID == ka.KeyID && ib.KeyID == ka.KeyID &&
			a.ring.SyncPending() == 0 && b.ring.SyncPending() == 0
	})
	for _, e := range []*ringEnd{a, b} {
		e.mu.Lock()
		if len(e.errs) != 0 {
			t.Errorf("side %d rejected: %v", e.role, e.errs)
		}
		e.mu.Unlock()
	}
}
