package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

var exhaustedMetric = regexp.MustCompile(`otkd_keyring_refused_total\{pool="default",reason="exhausted"\} (\d+)`)

func exhaustedCount(t *testing.T, n *node) int {
	t.Helper()
	m := exhaustedMetric.FindStringSubmatch(metrics(t, n))
	if m == nil {
		t.Fatalf("%s: no exhausted counter on /metrics", n.name)
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// TestKeyringParallelConnectsDaemons: six otkctl processes connect six
// consumers at end A at once, in a ring whose A half has four keys: four
// get four different keys (each bound at end B to the same key), two get
// a clear "exhausted" error (exit 1), and the exhausted counter on
// /metrics grows by two. A round that straddles a window boundary is
// discarded and run again in the next window.
func TestKeyringParallelConnectsDaemons(t *testing.T) {
	a, b := newLink(t)
	for _, n := range []*node{a, b} {
		appendConfig(t, n, `
[controller]
store = "controller.db"

[keyring]
enabled = true
port = "east"
window = "10s"
keys_per_ring = 8
`)
	}
	a.start(t)
	b.start(t)
	waitAgree(t, a, b, 2)

	type result struct {
		key  keyringsvc.KeyringKey
		code int
		err  string
	}
	base := 100
	for attempt := 1; ; attempt, base = attempt+1, base+100 {
		if attempt > 5 {
			t.Fatal("five rounds of connects each straddled a window boundary")
		}
		var st keyringsvc.KeyringStatus
		poll(t, "A's current ring filled with 5 s of its window left", 2*time.Minute, func() bool {
			c, _ := a.otkctlJSON(t, &st, "keyring", "status")
			r := st.Rings[st.Current]
			return c == 0 && r.Filled && r.Free == 4 && time.Until(r.WindowEnd) > 5*time.Second
		}, a, b)
		epoch := st.Rings[st.Current].Epoch
		before := exhaustedCount(t, a)

		res := make([]result, 6)
		var wg sync.WaitGroup
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i].code, res[i].err = a.otkctlJSON(t, &res[i].key, "keyring", "connect", "--consumer", strconv.Itoa(base+i+1))
			}()
		}
		wg.Wait()

		var ok []keyringsvc.KeyringKey
		exhausted := 0
		straddled := false
		for i, r := range res {
			switch {
			case r.code == 0:
				ok = append(ok, r.key)
				straddled = straddled || r.key.Epoch != epoch
			case r.code == 1 && strings.Contains(r.err, "exhausted") && strings.Contains(r.err, "all 4 keys of this end used"):
				exhausted++
			case r.code == 1 && strings.Contains(r.err, "not filled"): // the next window began
				straddled = true
			default:
				t.Fatalf("consumer %d: exit %d: %s", base+i+1, r.code, r.err)
			}
		}
		if straddled {
			t.Logf("round %d straddled a window boundary; again", attempt)
			for _, k := range ok { // so that the rings can be refilled
				if c, e := a.otkctlJSON(t, nil, "keyring", "disconnect", "--consumer", strconv.FormatUint(k.Consumer, 10)); c != 0 {
					t.Fatalf("disconnect %d: exit %d: %s", k.Consumer, c, e)
				}
			}
			continue
		}
		if len(ok) != 4 || exhausted != 2 {
			t.Fatalf("%d connects succeeded and %d were exhausted; want 4 and 2: %+v", len(ok), exhausted, res)
		}
		slots, ids := map[uint32]bool{}, map[string]bool{}
		for _, k := range ok {
			if slots[k.Slot] || ids[k.Fingerprint] {
				t.Fatalf("a key handed out twice: %+v", ok)
			}
			slots[k.Slot], ids[k.Fingerprint] = true, true
		}
		if got := exhaustedCount(t, a) - before; got != 2 {
			t.Fatalf("exhausted counter grew by %d, want 2", got)
		}
		for _, k := range ok {
			var kb keyringsvc.KeyringKey
			poll(t, fmt.Sprintf("B binds consumer %d", k.Consumer), time.Minute, func() bool {
				c, _ := b.otkctlJSON(t, &kb, "keyring", "status", "--consumer", strconv.FormatUint(k.Consumer, 10))
				return c == 0
			}, a, b)
			if kb.Fingerprint != k.Fingerprint || kb.Slot != k.Slot {
				t.Fatalf("consumer %d: A bound %+v, B %+v", k.Consumer, k, kb)
			}
		}
		break
	}
	a.stop(t)
	b.stop(t)
}
