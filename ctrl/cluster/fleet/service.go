package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/cluster"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/internal/keys"
)

// PortInfo is what the daemon's configuration says of a port.
type PortInfo struct {
	Name, Role, Peer string
	ID               uint16
	SeedTimeout      time.Duration
}

// Options of a Service; zero fields take their defaults.
type Options struct {
	// Enabled: the controller store is etcd.
	Enabled bool
	// Node is this node's name, Version the daemon's.
	Node, Version string
	Ports         []PortInfo
	// Cluster opens (once) the daemon's connection to etcd.
	Cluster func() (*cluster.Cluster, error)
	// RefreshEvery is how often the node rewrites its record and reads
	// the fleet for its metrics. Default 10 s.
	RefreshEvery time.Duration
	// Clock returns the time. Default time.Now.
	Clock func() time.Time
}

// Service registers this node in the fleet and serves the fleet's view: a
// service.Service of otkd run, on whenever the controller store is etcd.
type Service struct {
	opt Options
	cl  *cluster.Cluster
	log *slog.Logger

	mu    sync.Mutex
	rec   Node                  // this node's record
	dirs  map[string]*Direction // port/dir → its entry in rec
	dirty chan struct{}

	view atomic.Pointer[View] // the last listing, for the metrics
}

var _ service.Service = (*Service)(nil)

// New returns the fleet service.
func New(opt Options) *Service {
	if opt.RefreshEvery <= 0 {
		opt.RefreshEvery = 10 * time.Second
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	s := &Service{opt: opt, dirs: map[string]*Direction{}, dirty: make(chan struct{}, 1)}
	s.rec = Node{Name: opt.Node, Version: opt.Version, Ports: []Port{}}
	for _, p := range opt.Ports {
		port := Port{Name: p.Name, ID: p.ID, Role: p.Role, Peer: p.Peer, SeedTimeout: Duration(p.SeedTimeout),
			Directions: []Direction{{Dir: "AB"}, {Dir: "BA"}}}
		s.rec.Ports = append(s.rec.Ports, port)
	}
	for i := range s.rec.Ports {
		p := &s.rec.Ports[i]
		for j := range p.Directions {
			s.dirs[p.Name+"/"+p.Directions[j].Dir] = &p.Directions[j]
		}
	}
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return "fleet" }

// Enabled implements service.Service.
func (s *Service) Enabled() bool { return s.opt.Enabled }

// Check implements service.Service.
func (s *Service) Check() error { return nil }

// Start implements service.Service: it connects to etcd and subscribes to
// every port's key events.
func (s *Service) Start(h *service.Host) error {
	if !s.opt.Enabled {
		return nil
	}
	cl, err := s.opt.Cluster()
	if err != nil {
		return err
	}
	s.cl, s.log = cl, h.Log.With("component", "fleet")
	s.rec.Started = s.opt.Clock().UTC()
	for _, p := range s.opt.Ports {
		port, ok := h.Port(p.Name)
		if !ok {
			return fmt.Errorf("fleet: no port %q", p.Name)
		}
		port.Subscribe(link.Funcs{OnSeed: func(ev link.SeedEvent) { s.seed(p.Name, ev) }, OnKey: func(ev link.KeyEvent) { s.key(p.Name, ev) }})
	}
	return nil
}

func dirName(d keys.Direction) string {
	if d == keys.BtoA {
		return "BA"
	}
	return "AB"
}

// seed and key run on the link controller's goroutine: they update the
// record in memory and wake the registration loop, never block.
func (s *Service) seed(port string, ev link.SeedEvent) {
	s.mu.Lock()
	if d := s.dirs[port+"/"+dirName(ev.Direction)]; d != nil {
		d.LastSeed = ev.At.UTC()
		d.Seeds++
	}
	s.mu.Unlock()
	s.touch()
}

func (s *Service) key(port string, ev link.KeyEvent) {
	s.mu.Lock()
	if d := s.dirs[port+"/"+dirName(ev.Direction)]; d != nil {
		d.Epoch, d.Fingerprint, d.LastSwitch = ev.Epoch, ev.Fingerprint, ev.At.UTC()
	}
	s.mu.Unlock()
	s.touch()
}

func (s *Service) touch() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// record returns this node's record as of now.
func (s *Service) record() Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.rec
	n.Updated = s.opt.Clock().UTC()
	n.Ports = make([]Port, len(s.rec.Ports))
	for i, p := range s.rec.Ports {
		p.Directions = append([]Direction(nil), p.Directions...)
		n.Ports[i] = p
	}
	return n
}

// Status implements service.Service.
func (s *Service) Status() []any {
	return []any{"prefix", s.cl.Prefix(), "lease_ttl", s.cl.LeaseTTL(), "ports", len(s.opt.Ports)}
}

// Workers implements service.Service: the registration loop.
func (s *Service) Workers() []service.Worker {
	if s.cl == nil {
		return nil
	}
	return []service.Worker{{Name: "fleet registration", Run: s.register, Optional: true}}
}

// register keeps this node's records in etcd: the alive key under the
// process's lease (again under a new lease when one expired), the node's
// record on every change (at most once a second) and every RefreshEvery,
// and reads the fleet for the metrics as often and whenever a node comes
// or goes (a watch on the alive keys).
func (s *Service) register(ctx context.Context) error {
	var sess interface {
		Done() <-chan struct{}
		Lease() clientv3.LeaseID
	}
	tick := time.NewTicker(s.opt.RefreshEvery)
	defer tick.Stop()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nodes := s.cl.Client().Watch(clientv3.WithRequireLeader(wctx), s.cl.Prefix()+"fleet/alive/", clientv3.WithPrefix())
	for {
		cur, err := s.cl.Session(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if sess != cur {
			a, _ := json.Marshal(Alive{Lease: fmt.Sprintf("%x", cur.Lease()), Since: s.opt.Clock().UTC()})
			if err := s.put(ctx, "fleet/alive/"+s.opt.Node, string(a), clientv3.WithLease(cur.Lease())); err != nil {
				return err
			}
			sess = cur
		}
		rec, _ := json.Marshal(s.record())
		if err := s.put(ctx, "fleet/nodes/"+s.opt.Node, string(rec)); err != nil {
			return err
		}
		if v, err := s.read(ctx, 0); err == nil {
			s.view.Store(&v)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Done():
		case <-tick.C:
		case _, ok := <-nodes:
			if !ok { // the watch broke (etcd unreachable): set it up again
				nodes = s.cl.Client().Watch(clientv3.WithRequireLeader(wctx), s.cl.Prefix()+"fleet/alive/", clientv3.WithPrefix())
				t := time.NewTimer(time.Second)
				select {
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
		case <-s.dirty:
			t := time.NewTimer(time.Second) // gather the events of one switch
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
}

func (s *Service) put(ctx context.Context, key, val string, opts ...clientv3.OpOption) error {
	pctx, cancel := context.WithTimeout(ctx, s.cl.RequestTimeout())
	defer cancel()
	if _, err := s.cl.Client().Put(pctx, s.cl.Prefix()+key, val, opts...); err != nil {
		return fmt.Errorf("fleet: writing %s: %w", key, err)
	}
	return nil
}

// read lists the fleet and builds its view.
func (s *Service) read(ctx context.Context, staleAfter time.Duration) (View, error) {
	nodes, alive, bad, err := Read(ctx, s.cl.Client(), s.cl.Prefix(), s.cl.RequestTimeout())
	if err != nil {
		return View{}, err
	}
	v := Build(nodes, alive, s.opt.Clock().UTC(), staleAfter)
	for i := range v.Nodes {
		v.Nodes[i].Errors = bad[v.Nodes[i].Name]
	}
	return v, nil
}

// Read returns the fleet's node records, which nodes are alive, and the
// records that did not decode (by node), at one revision of etcd.
func Read(ctx context.Context, cli *clientv3.Client, prefix string, timeout time.Duration) ([]Node, map[string]bool, map[string][]string, error) {
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.Get(gctx, prefix+"fleet/", clientv3.WithPrefix())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: reading the fleet: %v", cluster.ErrUnavailable, err)
	}
	var nodes []Node
	alive, bad := map[string]bool{}, map[string][]string{}
	for _, kv := range resp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), prefix+"fleet/")
		kind, name, _ := strings.Cut(rest, "/")
		switch kind {
		case "alive":
			alive[name] = true
		case "nodes":
			if !printable(name) {
				continue // not a node name otkd writes: nothing to show safely
			}
			var n Node
			if err := json.Unmarshal(kv.Value, &n); err != nil || n.Name != name {
				bad[name] = append(bad[name], fmt.Sprintf("record %s does not decode", kv.Key))
				n = Node{Name: name}
			} else if why := n.check(); why != "" {
				bad[name] = append(bad[name], fmt.Sprintf("record %s: %s", kv.Key, why))
				n = Node{Name: name}
			}
			nodes = append(nodes, n)
		}
	}
	return nodes, alive, bad, nil
}

// Routes implements service.Service: GET /v1/fleet.
func (s *Service) Routes(r *api.Router) { Routes(r, s) }

// Fleet implements Backend: the fleet read now from etcd.
func (s *Service) Fleet(ctx context.Context, staleAfter time.Duration) (View, error) {
	if s.cl == nil {
		return View{}, errNoFleet
	}
	v, err := s.read(ctx, staleAfter)
	if errors.Is(err, cluster.ErrUnavailable) {
		return View{}, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	return v, err
}

// WriteMetrics implements service.Service: the etcd connection's figures
// (cluster), this node's key metadata per port and direction, and the
// fleet as this node last read it.
func (s *Service) WriteMetrics(m *service.Metrics) {
	if s.cl == nil {
		return
	}
	s.cl.WriteMetrics(m)
	rec := s.record()
	now := s.opt.Clock()
	for _, p := range rec.Ports {
		for _, d := range p.Directions {
			lb := fmt.Sprintf("port=%q,dir=%q", p.Name, d.Dir)
			m.Put("otkd_fleet_key_epoch", "gauge", "Epoch of the key in use, per port and direction (what this node registers in the fleet).", lb, float64(d.Epoch))
			m.Put("otkd_fleet_seeds_total", "counter", "Seeds made since the start, per port and direction.", lb, float64(d.Seeds))
			if !d.LastSeed.IsZero() {
				m.Put("otkd_fleet_last_seed_timestamp_seconds", "gauge", "Unix time of the last seed, per port and direction.", lb, float64(d.LastSeed.UnixNano())/1e9)
				m.Put("otkd_fleet_seed_age_seconds", "gauge", "Seconds since the last seed, per port and direction.", lb, now.Sub(d.LastSeed).Seconds())
			}
			if !d.LastSwitch.IsZero() {
				m.Put("otkd_fleet_last_switch_timestamp_seconds", "gauge", "Unix time of the last key switch, per port and direction.", lb, float64(d.LastSwitch.UnixNano())/1e9)
			}
		}
	}
	v := s.view.Load()
	if v == nil {
		return
	}
	staleNodes, staleLinks := 0, 0
	for _, n := range v.Nodes {
		if n.Stale {
			staleNodes++
		}
		alive := 0.0
		if n.Alive {
			alive = 1
		}
		m.Put("otkd_fleet_node_alive", "gauge", "1 while the node's lease lives, by node (the fleet as this node last read it).", fmt.Sprintf("node=%q", n.Name), alive)
	}
	for _, l := range v.Links {
		if l.Stale {
			staleLinks++
		}
		for _, d := range l.Directions {
			lb := fmt.Sprintf("node=%q,port=%q,peer=%q,dir=%q", l.A.Node, l.A.Port, l.B.Node, d.Dir)
			stale := 0.0
			if d.Stale {
				stale = 1
			}
			m.Put("otkd_fleet_link_seed_age_seconds", "gauge", "Seconds since either end's last seed, per link and direction.", lb, time.Duration(d.SeedAge).Seconds())
			m.Put("otkd_fleet_link_stale", "gauge", "1 when the link direction is stale (an end's lease expired or no seed within the threshold).", lb, stale)
		}
	}
	m.Put("otkd_fleet_nodes", "gauge", "Nodes registered in the fleet.", "", float64(len(v.Nodes)))
	m.Put("otkd_fleet_nodes_stale", "gauge", "Nodes of the fleet whose lease expired.", "", float64(staleNodes))
	m.Put("otkd_fleet_links", "gauge", "Links of the fleet.", "", float64(len(v.Links)))
	m.Put("otkd_fleet_links_stale", "gauge", "Links of the fleet with a stale direction.", "", float64(staleLinks))
}

// Stop implements service.Service: the daemon closes the cluster
// connection, which revokes the lease (the node turns stale at once).
func (s *Service) Stop() error { return nil }

// printable reports whether s is a name otkd could have written: 1 to 64
// bytes of printable ASCII without spaces. The records come from etcd, where
// any holder of a fleet client certificate writes: what reaches a
// terminal or a metric label is checked first.
func printable(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// check says what is wrong with a decoded record, "" if nothing.
func (n *Node) check() string {
	if len(n.Version) > 64 || (n.Version != "" && !printable(n.Version)) {
		return "bad version"
	}
	if len(n.Ports) > 1024 {
		return "too many ports"
	}
	for _, p := range n.Ports {
		if !printable(p.Name) || !printable(p.Peer) || (p.Role != "A" && p.Role != "B") || len(p.Directions) > 2 {
			return fmt.Sprintf("bad port %q", p.Name)
		}
		for _, d := range p.Directions {
			if (d.Dir != "AB" && d.Dir != "BA") || (d.Fingerprint != "" && !printable(d.Fingerprint)) || d.Seeds < 0 {
				return fmt.Sprintf("port %q: bad direction", p.Name)
			}
		}
	}
	return ""
}
