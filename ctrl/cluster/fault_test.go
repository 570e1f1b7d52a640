package cluster_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/cluster"
	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/service"
)

// countingPlatform is an HTTPS application platform that requires the
// sync client's certificate and applies each delivery id once (a repeat
// is answered 200 without applying it).
type countingPlatform struct {
	srv     *httptest.Server
	mu      sync.Mutex
	applied map[string]keysync.PushBody
	posts   int
	bad     []string
}

func newCountingPlatform(t *testing.T, ec *etcdtest.Cluster) *countingPlatform {
	t.Helper()
	p := &countingPlatform{applied: map[string]keysync.PushBody{}}
	cert, err := tls.LoadX509KeyPair(ec.ServerCertFile, ec.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ec.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b keysync.PushBody
		id := r.Header.Get(keysync.IdempotencyHeader)
		err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&b)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.posts++
		switch prev, seen := p.applied[id]; {
		case err != nil || id == "":
			p.bad = append(p.bad, fmt.Sprintf("a push without a body or an id: %v", err))
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		case seen && (prev.KeyID != b.KeyID || prev.Identity != b.Identity):
			p.bad = append(p.bad, fmt.Sprintf("delivery %s posted again with another body", id))
		case !seen:
			p.applied[id] = b
		}
	}))
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert}
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

// replica is one otkd's key sync on the cluster: the service of a [sync]
// table on its own connection to etcd, with its pusher running under the
// cluster's election as in otkd run.
type replica struct {
	cl   *cluster.Cluster
	sync *keysyncsvc.Service
}

func startReplica(t *testing.T, ctx context.Context, ec *etcdtest.Cluster, name string, sc keysyncsvc.Config) *replica {
	t.Helper()
	cfg := cluster.Config{Endpoints: ec.Endpoints, CAFile: ec.CAFile, CertFile: ec.CertFile, KeyFile: ec.KeyFile,
		RequestTimeout: "1s", DialTimeout: "5s", LeaseTTL: "2s"}
	var ps service.Problems
	cfg.Validate(&ps)
	if len(ps) > 0 {
		t.Fatal(errors.Join(ps...))
	}
	cl, err := cluster.Open(cfg, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	s := keysyncsvc.New(sc)
	h := &service.Host{Log: slog.New(slog.DiscardHandler), Node: name,
		SharedStore: func() (kstore.Store, error) { return cl.SharedStore() }, Lead: cl.Lead}
	if err := s.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // the daemon's supervisor, in short
		defer close(done)
		for wctx.Err() == nil {
			if err := s.Workers()[0].Run(wctx); err != nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &replica{cl: cl, sync: s}
}

// TestQuorumLoss: two key-sync replicas on a 3-member etcd over TLS serve
// requests while the members fail: first a follower is killed (the two
// left keep quorum: requests go on), then the leader (no quorum: every
// request fails within the request timeout with api.ErrUnavailable naming
// etcd, none hangs), then both come back. Once quorum returns every
// request that failed succeeds when sent again (a request is idempotent:
// a failed commit whose outcome was unknown is found bound to the same
// identity), every key is bound once to its requester, and the pusher
// (re-elected across the outage) delivers each binding exactly once to
// the platform; the audit log has one bind and one push per key.
func TestQuorumLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("kills etcd members and waits for quorum and leases (about 15 s)")
	}
	ec := etcdtest.Start(t, etcdtest.Options{TLS: true})
	plat := newCountingPlatform(t, ec)
	dir := t.TempDir()
	id, err := handshake.Generate("otkd:sync", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	platKey := filepath.Join(dir, "sync.key")
	if err := handshake.WritePrivateKey(platKey, id.Priv); err != nil {
		t.Fatal(err)
	}
	sc := keysyncsvc.Config{Enabled: true, Platforms: map[string]string{"vpn": plat.srv.URL + "/keys"},
		CAFile: ec.CAFile, CertFile: ec.CertFile, KeyFile: ec.KeyFile, PrivateKey: platKey}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := []*replica{startReplica(t, ctx, ec, "r0", sc), startReplica(t, ctx, ec, "r1", sc)}

	const keys = 60
	recs := make([]keysync.Record, keys)
	for i := range recs {
		k := make([]byte, 16)
		rand.Read(k)
		recs[i] = keysync.Record{ID: fmt.Sprintf("key-%03d", i), Key: k}
	}
	file, err := keysync.BuildKeyFile(rand.Reader, &id.Priv.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rs[0].sync.SyncImport(ctx, file); err != nil || n != keys {
		t.Fatalf("import: %d, %v", n, err)
	}
	for i := range keys {
		if err := rs[i%2].sync.SyncRegister(ctx, fmt.Sprintf("dev%03d", i), "vpn"); err != nil {
			t.Fatal(err)
		}
	}

	t0 := time.Now()
	var failed []int
	var clear []error
	request := func(i int) error {
		_, err := rs[i%2].sync.SyncRequest(ctx, fmt.Sprintf("dev%03d", i), fmt.Sprintf("key-%03d", i), "")
		if err != nil {
			failed = append(failed, i)
			if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "etcd") {
				clear = append(clear, fmt.Errorf("request %d: %w", i, err))
			}
		}
		return err
	}
	i := 0
	for ; i < 15; i++ { // all members up
		if err := request(i); err != nil {
			t.Fatalf("request %d with every member up: %v", i, err)
		}
	}
	leader := ec.Leader()
	follower := (leader + 1) % 3
	t.Logf("%v: killing follower m%d", time.Since(t0).Round(100*time.Millisecond), follower)
	ec.Kill(t, follower)
	for ; i < 30; i++ { // two members: quorum
		request(i)
	}
	// A request in flight on the killed member may fail (clearly: checked
	// below); the client fails over for the next ones.
	if len(failed) > 5 {
		t.Fatalf("%d of 15 requests failed with quorum: %v", len(failed), clear)
	}
	t.Logf("%v: killing leader m%d", time.Since(t0).Round(100*time.Millisecond), leader)
	ec.Kill(t, leader)
	lost := len(failed)
	for ; i < 35; i++ { // one member: no quorum
		t0 := time.Now()
		err := request(i)
		if err == nil {
			t.Fatalf("request %d succeeded without quorum", i)
		}
		if d := time.Since(t0); d > 30*time.Second { // the request timeout is 1 s: a bound on a hang
			t.Fatalf("request %d took %v", i, d)
		}
		if i == 30 {
			t.Logf("without quorum: %v", err)
		}
	}
	if len(failed)-lost != 5 || len(clear) != 0 {
		t.Fatalf("without quorum: %d of 5 requests failed; unclear errors: %v", len(failed)-lost, clear)
	}
	t.Logf("%v: restarting both", time.Since(t0).Round(100*time.Millisecond))
	ec.Restart(t, leader)
	ec.Restart(t, follower)
	ec.WaitQuorum(t, ec.Client(t))
	t.Logf("%v: quorum is back", time.Since(t0).Round(100*time.Millisecond))
	retry := failed
	failed = nil
	deadline := time.Now().Add(time.Minute) // a bound on a hang
	for len(retry) > 0 {
		for _, j := range retry {
			request(j)
		}
		retry, failed = failed, nil
		if time.Now().After(deadline) {
			t.Fatalf("requests %v still fail after quorum returned: %v", retry, clear)
		}
	}
	for ; i < keys; i++ {
		if err := request(i); err != nil {
			t.Fatalf("request %d after quorum returned: %v", i, err)
		}
	}
	for j := range keys {
		b, err := rs[(j+1)%2].sync.SyncRequest(ctx, fmt.Sprintf("dev%03d", j), fmt.Sprintf("key-%03d", j), "")
		if err != nil || b.Identity != fmt.Sprintf("dev%03d", j) {
			t.Fatalf("key %d: %+v, %v", j, b, err)
		}
	}
	if _, err := rs[0].sync.SyncRequest(ctx, "dev001", "key-000", ""); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("a second identity for a bound key: %v", err)
	}

	t.Logf("%v: every key bound", time.Since(t0).Round(100*time.Millisecond))
	deadline = time.Now().Add(time.Minute)
	for {
		ob, err := rs[1].sync.SyncOutbox(ctx)
		if err == nil && len(ob) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox is not delivered after quorum returned: %d left, %v", len(ob), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%v: the outbox is delivered", time.Since(t0).Round(100*time.Millisecond))
	plat.mu.Lock()
	applied, posts, bad := len(plat.applied), plat.posts, plat.bad
	byKey := map[string]int{}
	for _, b := range plat.applied {
		byKey[b.KeyID]++
	}
	plat.mu.Unlock()
	if applied != keys || len(byKey) != keys || len(bad) > 0 {
		t.Fatalf("platform: %d deliveries applied for %d keys in %d posts, problems %v; want %d", applied, len(byKey), posts, bad, keys)
	}
	for _, kind := range []string{keysync.EventBind, keysync.EventPush} {
		a, err := rs[0].sync.SyncAudit(ctx, keysyncsvc.SyncAuditQuery{Kind: kind, Limit: keysyncsvc.MaxAuditLimit})
		if err != nil || len(a.Events) != keys {
			t.Fatalf("audit: %d %s events, %v; want %d", len(a.Events), kind, err, keys)
		}
	}
	t.Logf("%d keys bound and delivered in %d posts across the outage", keys, posts)
}
