package keysync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/etcdstore"
)

// replicas opens n Syncers on one etcd prefix, each through its own client
// (as n processes would), with the fixture's key and platform.
func replicas(t *testing.T, f *fixture, n int) []*Syncer {
	t.Helper()
	c := etcdtest.Start(t, etcdtest.Options{})
	var out []*Syncer
	for range n {
		st, err := etcdstore.Open(c.Client(t), nil, etcdstore.Options{Prefix: "/otkd/shared/"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		opt := f.options()
		opt.Clock = nil
		s, err := New(st, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

// TestReplicasOnEtcd: three Syncers on one etcd serve 200 concurrent sync
// requests spread over them, two identities per key: every key is bound
// once, to the identity whose request succeeded, with one outbox entry and
// one bind event. Then all three push at once: the platform applies every
// delivery exactly once and the log records one push per delivery.
func TestReplicasOnEtcd(t *testing.T) {
	f := newFixture(t)
	rs := replicas(t, f, 3)
	const keys = 100
	recs := make([]Record, keys)
	for i := range recs {
		k := make([]byte, 16)
		rand.Read(k)
		recs[i] = Record{ID: fmt.Sprintf("key-%03d", i), Key: k}
	}
	file, err := BuildKeyFile(rand.Reader, &f.self.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rs[1].Import(file); err != nil || n != keys {
		t.Fatalf("Import = %d, %v", n, err)
	}
	// A file beyond one etcd transaction is refused whole.
	big := make([]Record, 130)
	for i := range big {
		big[i] = Record{ID: fmt.Sprintf("big-%03d", i), Key: recs[0].Key}
	}
	file, _ = BuildKeyFile(rand.Reader, &f.self.PublicKey, big)
	if _, err := rs[0].Import(file); !errors.Is(err, ErrTooLarge) || !errors.Is(err, kstore.ErrTxnTooLarge) {
		t.Fatalf("import of 130 keys on etcd: %v, want ErrTooLarge", err)
	}
	if _, ok, _ := rs[2].Lookup("big-000"); ok {
		t.Fatal("a refused import left a key")
	}

	const requests = 2 * keys
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			if err := rs[i%3].Register(fmt.Sprintf("dev%03d", i), app); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var mu sync.Mutex
	winner := map[string]string{} // key id → identity
	start := make(chan struct{})
	for i := range requests {
		wg.Go(func() {
			<-start
			id, key := fmt.Sprintf("dev%03d", i), fmt.Sprintf("key-%03d", i%keys)
			b, err := rs[(i/keys+i)%3].Request(id, key, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if w, dup := winner[key]; dup {
					t.Errorf("%s bound to %s and to %s", key, w, b.Identity)
				}
				winner[key] = id
			case !errors.Is(err, ErrKeyBound):
				t.Errorf("request %s %s: %v", id, key, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winner) != keys {
		t.Fatalf("%d keys bound by %d requests, want %d", len(winner), requests, keys)
	}
	for key, id := range winner {
		b, ok, err := rs[0].Lookup(key)
		if err != nil || !ok || b.Identity != id {
			t.Fatalf("Lookup(%s) = %+v %v %v, want bound to %s", key, b, ok, err, id)
		}
	}
	if ob, err := rs[2].Outbox(); err != nil || len(ob) != keys {
		t.Fatalf("outbox: %d entries, %v; want %d", len(ob), err, keys)
	}
	count := func(kind string) int {
		ev, _, err := rs[0].QueryAudit(AuditQuery{Kind: kind, Limit: MaxAuditLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(ev)
	}
	if n := count(EventBind); n != keys {
		t.Fatalf("%d bind events, want %d", n, keys)
	}

	f.plat.start()
	for _, s := range rs {
		wg.Go(func() {
			for {
				if _, err := s.PushDue(context.Background()); err != nil {
					t.Error(err)
					return
				}
				if ob, err := s.Outbox(); err != nil || len(ob) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	f.plat.mu.Lock()
	applied, posts, bad := len(f.plat.got), f.plat.requests, f.plat.bad
	f.plat.mu.Unlock()
	if applied != keys || len(bad) != 0 {
		t.Fatalf("platform applied %d deliveries (%d posts, %v), want %d", applied, posts, bad, keys)
	}
	if n := count(EventPush); n != keys {
		t.Fatalf("%d push events for %d deliveries (%d posts), want one each", n, keys, posts)
	}
	t.Logf("%d deliveries in %d posts by three concurrent pushers", applied, posts)
}

// TestAuditOnEtcd: two replicas on one etcd log events at the same
// instants (one clock): no event replaces another, a query by time at
// either sees both replicas' events of that span in time order, and
// pruning at one removes the old events for both.
func TestAuditOnEtcd(t *testing.T) {
	f := newFixture(t)
	c := etcdtest.Start(t, etcdtest.Options{})
	var rs []*Syncer
	for range 2 {
		st, err := etcdstore.Open(c.Client(t), nil, etcdstore.Options{Prefix: "/otkd/shared/"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		opt := f.options()
		opt.AuditRetention = 2 * time.Hour
		s, err := New(st, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		rs = append(rs, s)
	}
	t0 := f.clock.Now()
	for i := range 5 { // 05:00 … 09:00, both replicas each hour
		for r, s := range rs {
			if err := s.Register(fmt.Sprintf("dev%d-%d", i, r), app); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Add(time.Hour)
	}
	ev, _, err := rs[1].QueryAudit(AuditQuery{Since: t0.Add(2 * time.Hour), Until: t0.Add(4 * time.Hour), Kind: EventRegister})
	if err != nil || len(ev) != 4 {
		t.Fatalf("07:00 to 09:00: %d events, %v; want 4", len(ev), err)
	}
	ids := map[string]bool{}
	for i, e := range ev {
		ids[e.ID] = true
		if i > 0 && e.Time.Before(ev[i-1].Time) {
			t.Fatalf("events out of time order: %+v", ev)
		}
	}
	if len(ids) != 4 || !ev[0].Time.Equal(t0.Add(2*time.Hour)) || !ev[3].Time.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("07:00 to 09:00: %+v", ev)
	}
	// 10:00 now: pruning at replica 0 keeps 08:00 and 09:00 of both.
	if err := rs[0].PruneAudit(); err != nil {
		t.Fatal(err)
	}
	if ev, err := rs[1].Audit(time.Time{}); err != nil || len(ev) != 4 || !ev[0].Time.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after pruning: %+v, %v", ev, err)
	}
}
