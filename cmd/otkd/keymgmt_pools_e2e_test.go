package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/shm"
)

// shmBound reads the key bound to consumer in the map at path, as a
// plugin would, and returns its id (0: none bound).
func shmBound(t *testing.T, path string, consumer uint64) uint64 {
	t.Helper()
	r, err := shm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var k shm.Key
	defer k.Zero()
	if err := r.Bound(consumer, &k); err != nil {
		return 0
	}
	return k.ID
}

// TestKeyringPoolsTwoDaemons: two otkd run daemons with two consumer pools
// on one port, each with its own window, ring count and shared-memory
// map. Consumer 7 connects in both pools at end A; end B binds it in each
// pool to the key of that pool (two different keys), each map holds its
// own pool's key bound to consumer 7 and not the other's, a disconnect in
// one pool leaves the other bound, and otkctl without --pool names the
// pools.
func TestKeyringPoolsTwoDaemons(t *testing.T) {
	a, b := newLink(t)
	webShm := map[*node]string{}
	for _, n := range []*node{a, b} {
		webShm[n] = n.shm + "-web"
		t.Cleanup(func() { os.Remove(webShm[n]); os.Remove(webShm[n] + ".lock") })
		appendConfig(t, n, fmt.Sprintf(`
[controller]
store = "controller.db"

[[keyring]]
pool = "vpn"
port = "east"
window = "4s"
keys_per_ring = 8

[[keyring]]
pool = "web"
port = "east"
window = "6s"
rings = 3
keys_per_ring = 8
shm_path = %q
shm_slots = 32
`, webShm[n]))
	}
	a.start(t)
	b.start(t)
	waitAgree(t, a, b, 2) // negotiated seeds flow

	maps := map[string]func(*node) string{"vpn": func(n *node) string { return n.shm }, "web": func(n *node) string { return webShm[n] }}
	ka := map[string]keyringsvc.KeyringKey{}
	for _, pool := range []string{"vpn", "web"} {
		// Both ends filled the pool's current ring alike, not in its last
		// second (the connect below stays in the window).
		sa, _ := waitRingsAlike(t, a, b, "--pool", pool)
		if sa.Pool != pool || len(sa.Rings) != map[string]int{"vpn": 2, "web": 3}[pool] || sa.Shm != maps[pool](a) {
			t.Fatalf("status of pool %s at A: %+v", pool, sa)
		}
		var k keyringsvc.KeyringKey
		if c, e := a.otkctlJSON(t, &k, "keyring", "connect", "--pool", pool, "--consumer", "7"); c != 0 {
			t.Fatalf("connect 7 in %s at A: exit %d: %s", pool, c, e)
		}
		if k.Pool != pool || k.Consumer != 7 || k.ID == 0 {
			t.Fatalf("connect 7 in %s at A: %+v", pool, k)
		}
		ka[pool] = k
	}
	if ka["vpn"].ID == ka["web"].ID {
		t.Fatalf("consumer 7 got one key in both pools: %016x", ka["vpn"].ID)
	}
	for pool, k := range ka {
		var kb keyringsvc.KeyringKey
		poll(t, "B binds consumer 7 in pool "+pool, time.Minute, func() bool {
			c, _ := b.otkctlJSON(t, &kb, "keyring", "status", "--pool", pool, "--consumer", "7")
			return c == 0
		}, a, b)
		if kb.Pool != pool || kb.ID != k.ID || kb.Ring != k.Ring || kb.Slot != k.Slot || kb.Epoch != k.Epoch {
			t.Fatalf("pool %s: A bound %+v, B %+v", pool, k, kb)
		}
	}
	// Each map holds its pool's key bound to consumer 7, at both ends.
	for _, n := range []*node{a, b} {
		for pool, k := range ka {
			other := ka[map[string]string{"vpn": "web", "web": "vpn"}[pool]]
			path := maps[pool](n)
			if got := shmBound(t, path, 7); got != k.ID {
				t.Fatalf("%s: map of pool %s binds consumer 7 to %016x, want %016x", n.name, pool, got, k.ID)
			}
			if shmIDs(t, path)[other.ID] {
				t.Fatalf("%s: map of pool %s holds the other pool's key %016x", n.name, pool, other.ID)
			}
		}
	}
	// Without --pool, otkctl is told which pools there are.
	if c, e := a.otkctlJSON(t, nil, "keyring", "connect", "--consumer", "8"); c != exitUsage || !strings.Contains(e, "vpn, web") {
		t.Fatalf("connect without --pool: exit %d: %s", c, e)
	}
	if c, e := a.otkctlJSON(t, nil, "keyring", "status", "--pool", "mail"); c != 1 || !strings.Contains(e, `no keyring pool "mail"`) {
		t.Fatalf("status of an unknown pool: exit %d: %s", c, e)
	}
	// A disconnect in one pool leaves the other.
	if c, e := a.otkctlJSON(t, nil, "keyring", "disconnect", "--pool", "vpn", "--consumer", "7"); c != 0 {
		t.Fatalf("disconnect 7 in vpn at A: exit %d: %s", c, e)
	}
	poll(t, "B releases consumer 7 in pool vpn", time.Minute, func() bool {
		c, e := b.otkctlJSON(t, nil, "keyring", "status", "--pool", "vpn", "--consumer", "7")
		return c == 1 && strings.Contains(e, "not bound")
	}, a, b)
	var kw keyringsvc.KeyringKey
	if c, e := b.otkctlJSON(t, &kw, "keyring", "status", "--pool", "web", "--consumer", "7"); c != 0 || kw.ID != ka["web"].ID {
		t.Fatalf("consumer 7 in web at B after the disconnect in vpn: exit %d %s: %+v", c, e, kw)
	}
	if got := shmBound(t, webShm[b], 7); got != ka["web"].ID {
		t.Fatalf("B: map of pool web binds consumer 7 to %016x after the disconnect in vpn", got)
	}
	for _, n := range []*node{a, b} {
		if shmIDs(t, n.shm)[ka["vpn"].ID] {
			t.Fatalf("%s: retired key of pool vpn still in its map", n.name)
		}
	}
	poll(t, "A's sync messages acknowledged in both pools", time.Minute, func() bool {
		m := metrics(t, a)
		return hasSample(m, `otkd_keyring_sync_pending{pool="vpn"} 0`) && hasSample(m, `otkd_keyring_sync_pending{pool="web"} 0`)
	}, a, b)
	m := metrics(t, a)
	for _, want := range []string{`otkd_keyring_events_total{pool="vpn",event="connect"} 1`, `otkd_keyring_events_total{pool="web",event="connect"} 1`,
		`otkd_keyring_events_total{pool="vpn",event="disconnect"} 1`, `otkd_keyring_events_total{pool="web",event="disconnect"} 0`} {
		if !hasSample(m, want) {
			t.Fatalf("metrics lack %s:\n%s", want, m)
		}
	}
	a.stop(t)
	b.stop(t)
}
