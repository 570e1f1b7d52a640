// Package cluster is otkd's connection to the etcd cluster that holds the
// controller store when several otkd share it ([controller] store =
// "etcd", docs/cluster.md): the client (TLS with a client certificate),
// the node's lease session, the stores (one of the node's own, one shared
// by the fleet), leader election among replicas, and the metrics of the
// etcd round trips.
//
// # Keys
//
// Under Config.Prefix (default "/otkd/"):
//
//	nodes/<node>/...   the node's own controller store (keyrings, custody): kstore on etcd
//	shared/...         the store every otkd of the fleet shares (key sync)
//	elect/<role>/...   elections (concurrency.Election), one key per candidate under its lease
//	fleet/...          the fleet registry (ctrl/cluster/fleet)
//
// # Leases
//
// One lease per process (a concurrency.Session of Config.LeaseTTL): the
// node's registration and its leaderships live under it. When the process
// dies or loses etcd for longer than the TTL, the lease expires: etcd
// deletes those keys, the process's leadership contexts end, and another
// replica is elected. A new session is made on the next use.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/etcdstore"
)

// Cluster is an open connection to etcd. Safe for concurrent use.
type Cluster struct {
	cli  *clientv3.Client
	set  settings
	node string
	log  *slog.Logger
	rpc  *rpcStats

	// sessMu serialises making sessions and opening stores (round trips
	// to etcd); mu guards the fields and is never held across one, so
	// the metrics never wait on etcd.
	sessMu   sync.Mutex
	mu       sync.Mutex
	sess     *concurrency.Session
	sessions int // sessions made (a second one means a lease was lost)
	stores   map[string]*etcdstore.Store
	roles    map[string]*role
	closed   bool
}

// role is the state of one elected role of this process.
type role struct {
	leading bool
	won     int // times this process became leader
}

// ErrUnavailable: no etcd member answered.
var ErrUnavailable = errors.New("cluster: etcd unavailable")

// Open connects to etcd as node (its [node] name) and checks that a member
// answers within the dial timeout. cfg must have passed Validate.
func Open(cfg Config, node string, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{set: cfg.settings(), node: node, log: log, rpc: newRPCStats(),
		stores: map[string]*etcdstore.Store{}, roles: map[string]*role{}}
	cc := clientv3.Config{
		Endpoints:   c.set.endpoints,
		DialTimeout: c.set.dial,
		Logger:      zap.NewNop(), // errors reach the caller; the daemon logs them
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(c.rpc.intercept)},
		// Keep the connection through quiet periods and notice a dead
		// member within seconds.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
	}
	if c.set.cert != "" {
		tc, err := tlsConfig(c.set.caFile, c.set.cert, c.set.key)
		if err != nil {
			return nil, err
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, strings.Join(c.set.endpoints, ","), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.set.dial)
	defer cancel()
	if _, err := cli.Get(clientv3.WithRequireLeader(ctx), c.set.prefix, clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: no member of %s answered within %v: %v", ErrUnavailable, strings.Join(c.set.endpoints, ","), c.set.dial, err)
	}
	c.cli = cli
	return c, nil
}

// tlsConfig is the client side of TLS with etcd: the CA verifies the
// members, the certificate authenticates this node.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf(field+"cert_file/key_file: %w", err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf(field+"ca_file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf(field+"ca_file %s: no PEM certificate in it", caFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// Client returns the etcd client (the Cluster's: do not close it).
func (c *Cluster) Client() *clientv3.Client { return c.cli }

// Prefix returns the fleet's key prefix.
func (c *Cluster) Prefix() string { return c.set.prefix }

// Node returns this node's name.
func (c *Cluster) Node() string { return c.node }

// RequestTimeout returns the bound of one request.
func (c *Cluster) RequestTimeout() time.Duration { return c.set.request }

// LeaseTTL returns the TTL of the node's lease.
func (c *Cluster) LeaseTTL() time.Duration { return c.set.ttl }

// NodeStore opens the controller store of this node alone (prefix
// nodes/<node>/), with migrations.
func (c *Cluster) NodeStore(migrations []kstore.Migration) (*etcdstore.Store, error) {
	return c.store("nodes/"+c.node+"/", migrations)
}

// SharedStore opens the store every otkd of the fleet shares (prefix
// shared/): key sync's state.
func (c *Cluster) SharedStore() (*etcdstore.Store, error) { return c.store("shared/", nil) }

func (c *Cluster) store(ns string, migrations []kstore.Migration) (*etcdstore.Store, error) {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	c.mu.Lock()
	s, ok := c.stores[ns]
	closed := c.closed
	c.mu.Unlock()
	switch {
	case ok:
		return s, nil
	case closed:
		return nil, kstore.ErrClosed
	}
	s, err := etcdstore.Open(c.cli, migrations, etcdstore.Options{Prefix: c.set.prefix + ns,
		RequestTimeout: c.set.request, MaxOps: c.set.maxOps})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.stores[ns] = s
	c.mu.Unlock()
	return s, nil
}

// Session returns the process's lease session, making a new one when
// there is none or the last one expired.
func (c *Cluster) Session(ctx context.Context) (*concurrency.Session, error) {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	c.mu.Lock()
	closed, cur := c.closed, c.sess
	c.mu.Unlock()
	if closed {
		return nil, kstore.ErrClosed
	}
	if cur != nil {
		select {
		case <-cur.Done():
			c.log.Warn("cluster: lease lost, making a new one", "lease", fmt.Sprintf("%x", cur.Lease()))
		default:
			return cur, nil
		}
	}
	gctx, cancel := context.WithTimeout(ctx, c.set.request)
	defer cancel()
	resp, err := c.cli.Grant(gctx, int64(c.set.ttl/time.Second))
	if err != nil {
		return nil, fmt.Errorf("%w: granting a lease: %v", ErrUnavailable, err)
	}
	s, err := concurrency.NewSession(c.cli, concurrency.WithLease(resp.ID), concurrency.WithTTL(int(c.set.ttl/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("%w: keeping the lease alive: %v", ErrUnavailable, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed { // closed meanwhile: the lease goes with this session
		s.Close()
		return nil, kstore.ErrClosed
	}
	c.sess = s
	c.sessions++
	return s, nil
}

// Lead blocks until this process leads role among every otkd of the fleet
// (an etcd election under the process's lease), and returns a context
// that ends when the leadership does (the lease lost, ctx done) and a
// release that resigns it. Only one process leads a role at a time, as
// far as a lease can tell: a leader cut off from etcd learns it lost the
// lease when its keep-alives fail, at about the time etcd expires it, so
// work done under a leadership must stay safe if two processes overlap
// for a moment (key sync's is: each delivery's outcome commits once).
func (c *Cluster) Lead(ctx context.Context, roleName string) (context.Context, func(), error) {
	for {
		s, err := c.Session(ctx)
		if err != nil {
			return nil, nil, err
		}
		e := concurrency.NewElection(s, c.set.prefix+"elect/"+roleName)
		if err := e.Campaign(ctx, c.node); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			select {
			case <-s.Done():
				continue // the lease expired while waiting: a new session
			default:
			}
			return nil, nil, fmt.Errorf("%w: campaigning for %s: %v", ErrUnavailable, roleName, err)
		}
		// Campaign returns once every earlier candidate is gone; the
		// lease may have expired meanwhile, taking this candidacy along.
		if !c.holds(ctx, s, e.Key()) {
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-s.Done():
			case <-lctx.Done():
			}
			cancel()
		}()
		c.leading(roleName, true)
		c.log.Info("cluster: leading", "role", roleName, "node", c.node)
		var once sync.Once
		release := func() {
			once.Do(func() {
				cancel()
				c.leading(roleName, false)
				rctx, rcancel := context.WithTimeout(context.Background(), c.set.request)
				defer rcancel()
				e.Resign(rctx) // a lost lease took the key already: nothing to undo then
			})
		}
		return lctx, release, nil
	}
}

// holds reports whether key is still there under s's lease.
func (c *Cluster) holds(ctx context.Context, s *concurrency.Session, key string) bool {
	select {
	case <-s.Done():
		return false
	default:
	}
	gctx, cancel := context.WithTimeout(ctx, c.set.request)
	defer cancel()
	resp, err := c.cli.Get(gctx, key)
	return err == nil && len(resp.Kvs) == 1 && clientv3.LeaseID(resp.Kvs[0].Lease) == s.Lease()
}

func (c *Cluster) leading(name string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.roles[name]
	if r == nil {
		r = &role{}
		c.roles[name] = r
	}
	if on && !r.leading {
		r.won++
	}
	r.leading = on
}

// Leader returns the node that leads role now ("" when none).
func (c *Cluster) Leader(ctx context.Context, roleName string) (string, error) {
	gctx, cancel := context.WithTimeout(ctx, c.set.request)
	defer cancel()
	resp, err := c.cli.Get(gctx, c.set.prefix+"elect/"+roleName+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Close resigns nothing (leaderships end with their contexts), revokes
// the lease (the node's registration and candidacies go at once) and
// closes the client.
func (c *Cluster) Close() error {
	c.mu.Lock()
	c.closed = true
	sess := c.sess
	for _, s := range c.stores {
		s.Close()
	}
	c.mu.Unlock()
	if sess != nil {
		sess.Orphan() // stop the keep-alives, then revoke: the registration and candidacies go at once
		ctx, cancel := context.WithTimeout(context.Background(), c.set.request)
		c.cli.Revoke(ctx, sess.Lease())
		cancel()
	}
	return c.cli.Close()
}
