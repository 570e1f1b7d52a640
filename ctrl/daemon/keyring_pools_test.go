package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
)

// TestRouteRingMsg: a peer message goes to the queue of the pool it names
// among the pools of its port; one naming a pool that port does not have,
// or malformed, goes nowhere and is logged.
func TestRouteRingMsg(t *testing.T) {
	var log lockedBuf
	d := &Daemon{log: NewLogs(&log, 0, false).Logger()}
	pr := &portRun{cfg: config.Port{Name: "east"}}
	mk := func(name string) *pool {
		return &pool{cfg: config.Keyring{Pool: name}, port: pr, in: make(chan keyring.SyncMsg, 1), log: d.log}
	}
	vpn, web := mk("vpn"), mk("web")
	pools := []*pool{vpn, web}
	m := keyring.SyncMsg{Pool: "web", Op: keyring.OpBind, Stream: 1, Seq: 1, Consumer: 7, KeyID: 9}
	d.routeRingMsg(pr, pools, m.Marshal())
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
	d.routeRingMsg(pr, pools, m.Marshal())
	d.routeRingMsg(pr, pools, []byte{2, 1})
	if len(vpn.in)+len(web.in) != 0 {
		t.Fatal("a message of an unknown pool or a malformed one was queued")
	}
	if s := log.String(); !strings.Contains(s, "no such pool on this port") || !strings.Contains(s, "vpn, web") || !strings.Contains(s, "version 2") {
		t.Fatalf("log does not name the refusals:\n%s", s)
	}
}

// TestKeyringPoolsKeepStore: two otkd run daemons with a [keyring] table
// bind consumer 7; restarted with [[keyring]] tables, pool "default" (the
// same table) and a new pool "web" with its own map, both ends still hold
// consumer 7's binding in pool "default", and pool "web" starts empty: the
// store of a single-pool daemon is the store of its pool.
func TestKeyringPoolsKeepStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two daemons negotiating seeds")
	}
	a, b := newTestLink(t, "6s")
	a.start(t)
	b.start(t)
	ctx := context.Background()
	pollDaemons(t, "both ends fill the current ring alike", func() bool {
		sa, errA := a.d.KeyringStatus(ctx, "")
		sb, errB := b.d.KeyringStatus(ctx, "")
		if errA != nil || errB != nil || sa.Current != sb.Current {
			return false
		}
		ra, rb := sa.Rings[sa.Current], sb.Rings[sb.Current]
		return ra.Filled && rb.Filled && ra.Epoch == rb.Epoch && ra.SeedID == rb.SeedID
	}, a, b)
	k7, err := a.d.KeyringConnect(ctx, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	pollDaemons(t, "B binds consumer 7", func() bool {
		k, err := b.d.KeyringLookup(ctx, "", 7)
		return err == nil && k.ID == k7.ID
	}, a, b)
	a.stop(t)
	b.stop(t)

	for _, n := range []*runningNode{a, b} {
		text, err := os.ReadFile(n.cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(text), "[keyring]\nenabled = true\n", "[[keyring]]\npool = \"default\"\n", 1)
		s += "\n[[keyring]]\npool = \"web\"\nport = \"east\"\nwindow = \"6s\"\nshm_path = \"web.shm\"\nshm_slots = 128\n"
		if !strings.Contains(s, "[[keyring]]\npool = \"default\"") {
			t.Fatalf("%s: no [keyring] table to rewrite:\n%s", n.name, text)
		}
		if err := os.WriteFile(n.cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a.start(t)
	b.start(t)
	defer a.stop(t)
	defer b.stop(t)
	for _, n := range []*runningNode{a, b} {
		k, err := n.d.KeyringLookup(ctx, "default", 7)
		if err != nil || k.ID != k7.ID || k.Pool != "default" {
			t.Fatalf("%s: consumer 7 of pool default after the change to [[keyring]]: %+v %v; want key %016x", n.name, k, err, k7.ID)
		}
		if _, err := n.d.KeyringLookup(ctx, "web", 7); !errors.Is(err, api.ErrNotFound) {
			t.Fatalf("%s: consumer 7 of the new pool web: %v, want not bound", n.name, err)
		}
		if _, err := n.d.KeyringLookup(ctx, "", 7); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "default, web") {
			t.Fatalf("%s: lookup without a pool: %v, want a refusal naming the pools", n.name, err)
		}
	}
}
