package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
)

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
		sa, errA := a.d.keyring().KeyringStatus(ctx, "")
		sb, errB := b.d.keyring().KeyringStatus(ctx, "")
		if errA != nil || errB != nil || sa.Current != sb.Current {
			return false
		}
		ra, rb := sa.Rings[sa.Current], sb.Rings[sb.Current]
		return ra.Filled && rb.Filled && ra.Epoch == rb.Epoch && ra.SeedID == rb.SeedID
	}, a, b)
	k7, err := a.d.keyring().KeyringConnect(ctx, "", 7)
	if err != nil {
		t.Fatal(err)
	}
	pollDaemons(t, "B binds consumer 7", func() bool {
		k, err := b.d.keyring().KeyringLookup(ctx, "", 7)
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
		k, err := n.d.keyring().KeyringLookup(ctx, "default", 7)
		if err != nil || k.ID != k7.ID || k.Pool != "default" {
			t.Fatalf("%s: consumer 7 of pool default after the change to [[keyring]]: %+v %v; want key %016x", n.name, k, err, k7.ID)
		}
		if _, err := n.d.keyring().KeyringLookup(ctx, "web", 7); !errors.Is(err, api.ErrNotFound) {
			t.Fatalf("%s: consumer 7 of the new pool web: %v, want not bound", n.name, err)
		}
		if _, err := n.d.keyring().KeyringLookup(ctx, "", 7); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "default, web") {
			t.Fatalf("%s: lookup without a pool: %v, want a refusal naming the pools", n.name, err)
		}
	}
}
