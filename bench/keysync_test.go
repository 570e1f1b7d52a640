package bench_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/etcdstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
)

// BenchmarkKeySync: key-sync requests (bind a key to a device, queue its
// push, log it: one store transaction each) from 16 devices at once,
// through
//
//   - bbolt: one Syncer on the controller's bbolt file (fsync on);
//   - etcd-1: one replica on a 3-member etcd cluster over TLS on loopback
//     (the members fsync their log);
//   - etcd-3: three replicas (each its own client, as three otkd) on the
//     same cluster, the requests spread over them.
//
// All in one run on one machine, so the ratios hold even when the machine
// is loaded. Reported: requests/s and the p50 and p99 latency of one
// request. The pusher does not run (requests only). Run with
//
//	go test ./bench -run '^$' -bench KeySync -benchtime 2000x
func BenchmarkKeySync(b *testing.B) {
	ec := etcdtest.Start(b, etcdtest.Options{TLS: true, Fsync: true})
	id, err := handshake.Generate("otkd:bench", rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(ec.CertFile, ec.KeyFile)
	if err != nil {
		b.Fatal(err)
	}
	pem, err := os.ReadFile(ec.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	opt := keysync.Options{Self: id.Priv, Platforms: map[string]keysync.Platform{
		"vpn": {URL: "https://127.0.0.1:1/keys", CA: roots, Cert: cert}}}
	var runs atomic.Int64
	var etcdStores []*etcdstore.Store // of the running sub-benchmark
	syncers := func(b *testing.B, stores []kstore.Store) []*keysync.Syncer {
		var out []*keysync.Syncer
		for _, st := range stores {
			s, err := keysync.New(st, opt)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(s.Close)
			out = append(out, s)
		}
		return out
	}
	etcd := func(replicas int) func(b *testing.B) []*keysync.Syncer {
		return func(b *testing.B) []*keysync.Syncer {
			prefix := fmt.Sprintf("/bench/%d/", runs.Add(1))
			var stores []kstore.Store
			etcdStores = nil
			for range replicas {
				st, err := etcdstore.Open(ec.Client(b), nil, etcdstore.Options{Prefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				stores = append(stores, st)
				etcdStores = append(etcdStores, st)
			}
			return syncers(b, stores)
		}
	}
	for _, c := range []struct {
		name string
		open func(b *testing.B) []*keysync.Syncer
	}{
		{"bbolt", func(b *testing.B) []*keysync.Syncer {
			st, err := kstore.Open(filepath.Join(b.TempDir(), "controller.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			etcdStores = nil
			return syncers(b, []kstore.Store{st})
		}},
		{"etcd-1", etcd(1)},
		{"etcd-3", etcd(3)},
	} {
		b.Run(c.name, func(b *testing.B) {
			rs := c.open(b)
			var before uint64
			for _, st := range etcdStores {
				before += st.Stats().Conflicts
			}
			benchRequests(b, rs, &id.Priv.PublicKey)
			if etcdStores != nil {
				var after uint64
				for _, st := range etcdStores {
					after += st.Stats().Conflicts
				}
				b.ReportMetric(float64(after-before)/float64(b.N), "retries/op")
			}
		})
	}
}

// benchRequests imports b.N keys (100 per file: one etcd transaction),
// registers 16 devices, then binds every key from 16 goroutines, request
// i through replica i mod len(rs).
func benchRequests(b *testing.B, rs []*keysync.Syncer, to *ecdsa.PublicKey) {
	const devices = 16
	n := b.N
	for start := 0; start < n; start += 100 {
		recs := make([]keysync.Record, 0, 100)
		for i := start; i < min(start+100, n); i++ {
			recs = append(recs, keysync.Record{ID: fmt.Sprintf("k%08d", i), Key: make([]byte, 16)})
		}
		file, err := keysync.BuildKeyFile(rand.Reader, to, recs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rs[0].Import(file); err != nil {
			b.Fatal(err)
		}
	}
	for d := range devices {
		if err := rs[d%len(rs)].Register(fmt.Sprintf("dev%02d", d), "vpn"); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, devices)
	var wg sync.WaitGroup
	b.ResetTimer()
	for d := range devices {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if _, err := rs[i%len(rs)].Request(fmt.Sprintf("dev%02d", d), fmt.Sprintf("k%08d", i), ""); err != nil {
					b.Error(err)
					return
				}
				lat[d] = append(lat[d], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) != n {
		b.Fatalf("%d of %d requests done", len(all), n)
	}
	slices.Sort(all)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "requests/s")
	b.ReportMetric(float64(all[(n-1)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[(n*99-1)/100].Microseconds())/1000, "p99-ms")
}
