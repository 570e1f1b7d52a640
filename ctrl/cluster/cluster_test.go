package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/cluster"
	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/service"
)

func open(t *testing.T, ec *etcdtest.Cluster, node string) *cluster.Cluster {
	t.Helper()
	cfg := cluster.Config{Endpoints: ec.Endpoints, LeaseTTL: "2s", RequestTimeout: "2s"}
	var ps service.Problems
	cfg.Validate(&ps)
	if len(ps) > 0 {
		t.Fatal(errors.Join(ps...))
	}
	cl, err := cluster.Open(cfg, node, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestLead: two processes campaign for one role on a 3-member etcd: one
// leads, the other waits; when the leader resigns the other leads; when
// that one's connection closes (its lease revoked) the first leads again.
// The metrics say who leads and count the round trips.
func TestLead(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	a, b := open(t, ec, "a"), open(t, ec, "b")
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on a hang
	defer cancel()
	actx, release, err := a.Lead(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if who, err := b.Leader(ctx, "r"); err != nil || who != "a" {
		t.Fatalf("Leader = %q, %v; want a", who, err)
	}
	type lead struct {
		ctx     context.Context
		release func()
		err     error
	}
	bc := make(chan lead, 1)
	go func() {
		c, r, err := b.Lead(ctx, "r")
		bc <- lead{c, r, err}
	}()
	select {
	case <-bc:
		t.Fatal("b leads while a does")
	case <-time.After(300 * time.Millisecond):
	}
	var m bytes.Buffer
	a.WriteMetrics(service.NewMetrics(&m))
	for _, want := range []string{`otkd_cluster_leader{role="r"} 1`, `otkd_cluster_leadership_won_total{role="r"} 1`, `otkd_etcd_requests_total{method="Range"}`, "otkd_cluster_leases_total 1"} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("a's metrics lack %q:\n%s", want, m.String())
		}
	}
	release()
	if actx.Err() == nil {
		t.Fatal("a's leadership context lives on after its release")
	}
	l := <-bc
	if l.err != nil {
		t.Fatal(l.err)
	}
	if who, _ := a.Leader(ctx, "r"); who != "b" {
		t.Fatalf("Leader = %q after a resigned, want b", who)
	}
	go func() {
		c, r, err := a.Lead(ctx, "r")
		bc <- lead{c, r, err}
	}()
	b.Close() // revokes b's lease: its candidacy goes at once
	if l.ctx.Err() == nil {
		select {
		case <-l.ctx.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("b's leadership context lives on after its connection closed")
		}
	}
	l = <-bc
	if l.err != nil {
		t.Fatal(l.err)
	}
	defer l.release()
	if who, _ := a.Leader(ctx, "r"); who != "a" {
		t.Fatalf("Leader = %q after b closed, want a", who)
	}
}

// TestOpenUnreachable: no member answers: Open fails within the dial
// timeout with ErrUnavailable naming the endpoints.
func TestOpenUnreachable(t *testing.T) {
	cfg := cluster.Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: "300ms"}
	_, err := cluster.Open(cfg, "a", nil)
	if !errors.Is(err, cluster.ErrUnavailable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open = %v, want ErrUnavailable naming the endpoint", err)
	}
}
