package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/otkd/otkd/ctrl/service"
)

// rpcStats counts the unary round trips to etcd by method (Range, Txn,
// Put, LeaseGrant, …), each attempt on its own (the client's retries count
// as round trips), and keeps the latencies of the last window of them.
type rpcStats struct {
	mu      sync.Mutex
	methods map[string]*methodStats
	window  [1024]time.Duration
	n       int
}

type methodStats struct {
	calls, errors uint64
	seconds       float64
}

func newRPCStats() *rpcStats { return &rpcStats{methods: map[string]*methodStats{}} }

// intercept times one round trip.
func (r *rpcStats) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	t0 := time.Now()
	err := invoke(ctx, method, req, reply, cc, opts...)
	r.observe(method[strings.LastIndexByte(method, '/')+1:], time.Since(t0), err)
	return err
}

func (r *rpcStats) observe(method string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.methods[method]
	if m == nil {
		m = &methodStats{}
		r.methods[method] = m
	}
	m.calls++
	m.seconds += d.Seconds()
	if err != nil {
		m.errors++
	}
	r.window[r.n%len(r.window)] = d
	r.n++
}

// quantiles returns the p50 and p99 of the window, and its size.
func (r *rpcStats) quantiles() (p50, p99 time.Duration, n int) {
	r.mu.Lock()
	n = min(r.n, len(r.window))
	w := slices.Clone(r.window[:n])
	r.mu.Unlock()
	if n == 0 {
		return 0, 0, 0
	}
	slices.Sort(w)
	return w[(n-1)/2], w[(n*99-1)/100], n
}

// WriteMetrics writes the etcd figures: round trips by method (count,
// errors, seconds), the latency quantiles of the last 1024, the stores'
// commits, conflicts (transactions run again) and failures, the leases
// made and the roles this process leads.
func (c *Cluster) WriteMetrics(m *service.Metrics) {
	c.rpc.mu.Lock()
	names := slices.Sorted(maps.Keys(c.rpc.methods))
	stats := make([]methodStats, len(names))
	for i, n := range names {
		stats[i] = *c.rpc.methods[n]
	}
	c.rpc.mu.Unlock()
	for i, n := range names {
		lb := fmt.Sprintf("method=%q", n)
		m.Put("otkd_etcd_requests_total", "counter", "Round trips to etcd by method (each attempt).", lb, float64(stats[i].calls))
		m.Put("otkd_etcd_request_errors_total", "counter", "Round trips to etcd that failed, by method.", lb, float64(stats[i].errors))
		m.Put("otkd_etcd_request_seconds_total", "counter", "Time spent in round trips to etcd, by method.", lb, stats[i].seconds)
	}
	if p50, p99, n := c.rpc.quantiles(); n > 0 {
		m.Put("otkd_etcd_request_latency_seconds", "gauge", "Latency of the last 1024 round trips to etcd.", `quantile="0.5"`, p50.Seconds())
		m.Put("otkd_etcd_request_latency_seconds", "gauge", "", `quantile="0.99"`, p99.Seconds())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ns := range slices.Sorted(maps.Keys(c.stores)) {
		st := c.stores[ns].Stats()
		lb := fmt.Sprintf("store=%q", strings.TrimSuffix(strings.SplitN(ns, "/", 2)[0], "/"))
		m.Put("otkd_etcd_txn_commits_total", "counter", "Controller-store transactions committed on etcd.", lb, float64(st.Commits))
		m.Put("otkd_etcd_txn_retries_total", "counter", "Controller-store transactions run again after losing to a concurrent writer.", lb, float64(st.Conflicts))
		m.Put("otkd_etcd_txn_failures_total", "counter", "Controller-store transactions that failed on etcd.", lb, float64(st.Failures))
	}
	m.Put("otkd_cluster_leases_total", "counter", "Leases this process made (more than one: a lease was lost).", "", float64(c.sessions))
	for _, name := range slices.Sorted(maps.Keys(c.roles)) {
		r := c.roles[name]
		lb := fmt.Sprintf("role=%q", name)
		v := 0.0
		if r.leading {
			v = 1
		}
		m.Put("otkd_cluster_leader", "gauge", "1 while this process leads the role among the fleet's otkd.", lb, v)
		m.Put("otkd_cluster_leadership_won_total", "counter", "Times this process became leader of the role.", lb, float64(r.won))
	}
}
