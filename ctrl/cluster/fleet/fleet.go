// Package fleet is the fleet view of otkd on etcd: every otkd whose
// controller store is etcd registers its node, its ports and, per port and
// direction, the metadata of its keys (epoch, fingerprint, times of the
// last seed and the last switch; never key bytes), and any of them lists
// the whole fleet with the stale nodes and links marked (otkctl fleet,
// GET /v1/fleet, and the metrics of every node).
//
// # Records
//
// Under the fleet's prefix (ctrl/cluster):
//
//	fleet/nodes/<node>   the node's last record (Node, JSON), kept when the node goes
//	fleet/alive/<node>   present while the node's lease lives (Alive, JSON)
//
// A node rewrites its record when a seed or a key switch changes it (at
// most once per second) and every RefreshEvery; its alive key goes with
// its lease (Config.LeaseTTL after it dies or loses etcd).
//
// # Stale
//
// A node is stale when its alive key is gone (lease expired: the process
// stopped, crashed or lost etcd). A link direction is stale when neither
// end made a seed for it within the threshold (the ports' seed_timeout,
// the larger of the two ends', or the caller's), or when an end's node is
// stale. Times come from the nodes' clocks: the view is as good as their
// clock synchronisation (NTP), which the threshold should dwarf.
package fleet

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Node is what a node registers.
type Node struct {
	Name    string    `json:"name"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"` // when the node wrote this record
	Ports   []Port    `json:"ports"`
}

// Port is one port of a node: one end of a link.
type Port struct {
	Name string `json:"name"`
	ID   uint16 `json:"id"`
	Role string `json:"role"` // "A" or "B"
	Peer string `json:"peer"` // the other end's node name
	// SeedTimeout is the port's seed_timeout: a direction without a seed
	// for longer is stale.
	SeedTimeout Duration    `json:"seed_timeout"`
	Directions  []Direction `json:"directions"`
}

// Direction is the key metadata of one direction of a port: "AB" (frames
// A→B, seeds of A's rounds) or "BA".
type Direction struct {
	Dir         string    `json:"dir"`
	Epoch       uint8     `json:"epoch"`                 // of the key in use (TX at its sender, RX at its receiver)
	Fingerprint string    `json:"fingerprint,omitempty"` // of that key (internal/keys), never the key
	LastSeed    time.Time `json:"last_seed,omitzero"`
	LastSwitch  time.Time `json:"last_switch,omitzero"`
	Seeds       int       `json:"seeds"` // since the node started
}

// Alive is the record under the node's lease.
type Alive struct {
	Lease string    `json:"lease"` // hex
	Since time.Time `json:"since"`
}

// Duration is a time.Duration that reads and writes as a Go duration
// string in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// View is the fleet as one otkd sees it (GET /v1/fleet).
type View struct {
	At         time.Time  `json:"at"`                    // when it was read
	StaleAfter Duration   `json:"stale_after,omitempty"` // the caller's threshold; 0: each port's seed_timeout
	Nodes      []NodeView `json:"nodes"`
	Links      []Link     `json:"links"`
}

// NodeView is a node with its state.
type NodeView struct {
	Node
	Alive  bool     `json:"alive"`
	Stale  bool     `json:"stale"`
	Reason string   `json:"reason,omitempty"`
	Errors []string `json:"errors,omitempty"` // records that did not decode
}

// Link is one link: its two ends (B empty when the other end is not in
// the fleet) and the state of each direction.
type Link struct {
	A          End       `json:"a"`
	B          End       `json:"b"`
	Directions []LinkDir `json:"directions"`
	Stale      bool      `json:"stale"`
}

// End is one end of a link.
type End struct {
	Node string `json:"node"`
	Port string `json:"port,omitempty"`
}

// LinkDir is one direction of a link, merged from both ends: the newest
// seed and switch either end saw, the epoch and fingerprint of the end
// that switched last.
type LinkDir struct {
	Direction
	SeedAge Duration `json:"seed_age"` // since the last seed, at View.At; since the node started when none
	Stale   bool     `json:"stale"`
	Reason  string   `json:"reason,omitempty"`
}

// Build makes the view of the registered nodes at now: alive names the
// nodes whose lease lives, staleAfter overrides the ports' seed timeouts
// when positive. Pure: the tests of staleness need no etcd.
func Build(nodes []Node, alive map[string]bool, now time.Time, staleAfter time.Duration) View {
	v := View{At: now, StaleAfter: Duration(staleAfter), Nodes: []NodeView{}, Links: []Link{}}
	byName := map[string]*Node{}
	for i := range nodes {
		n := &nodes[i]
		byName[n.Name] = n
		nv := NodeView{Node: *n, Alive: alive[n.Name]}
		if !nv.Alive {
			nv.Stale, nv.Reason = true, "lease expired: the node stopped or lost etcd"
		}
		v.Nodes = append(v.Nodes, nv)
	}
	slices.SortFunc(v.Nodes, func(a, b NodeView) int { return cmp.Compare(a.Name, b.Name) })
	paired := map[End]bool{}
	for _, n := range v.Nodes {
		for _, p := range n.Ports {
			me := End{n.Name, p.Name}
			if paired[me] {
				continue
			}
			l := Link{A: me}
			ends := []*Port{&p}
			nodesOf := []string{n.Name}
			if other := byName[p.Peer]; other != nil {
				if q := peerPort(other, n.Name, p.Name); q != nil {
					l.B = End{other.Name, q.Name}
					paired[l.B] = true
					ends, nodesOf = append(ends, q), append(nodesOf, other.Name)
				}
			}
			if l.B.Node == "" {
				l.B = End{Node: p.Peer}
			}
			if p.Role == "B" && l.B.Port != "" { // list the A end first
				l.A, l.B = l.B, l.A
			}
			paired[me] = true
			l.Directions = mergeDirs(ends, nodesOf, byName, alive, now, staleAfter)
			for _, d := range l.Directions {
				l.Stale = l.Stale || d.Stale
			}
			v.Links = append(v.Links, l)
		}
	}
	slices.SortFunc(v.Links, func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.A.Node, b.A.Node), cmp.Compare(a.A.Port, b.A.Port))
	})
	return v
}

// peerPort finds the port of node other whose peer is node: the only one,
// or the one named like name when there are several.
func peerPort(other *Node, node, name string) *Port {
	var found []*Port
	for i := range other.Ports {
		if other.Ports[i].Peer == node {
			found = append(found, &other.Ports[i])
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	for _, q := range found {
		if q.Name == name {
			return q
		}
	}
	return nil
}

// mergeDirs merges the directions the ends report.
func mergeDirs(ends []*Port, nodesOf []string, byName map[string]*Node, alive map[string]bool, now time.Time, staleAfter time.Duration) []LinkDir {
	var out []LinkDir
	for _, dir := range []string{"AB", "BA"} {
		ld := LinkDir{Direction: Direction{Dir: dir}}
		threshold := staleAfter
		var started time.Time
		for i, p := range ends {
			if staleAfter <= 0 {
				threshold = max(threshold, time.Duration(p.SeedTimeout))
			}
			if n := byName[nodesOf[i]]; n != nil && (started.IsZero() || n.Started.Before(started)) {
				started = n.Started
			}
			for _, d := range p.Directions {
				if d.Dir != dir {
					continue
				}
				if d.LastSeed.After(ld.LastSeed) {
					ld.LastSeed = d.LastSeed
				}
				if d.LastSwitch.After(ld.LastSwitch) || ld.Fingerprint == "" {
					if d.LastSwitch.After(ld.LastSwitch) {
						ld.LastSwitch = d.LastSwitch
					}
					ld.Epoch, ld.Fingerprint = d.Epoch, d.Fingerprint
				}
				ld.Seeds = max(ld.Seeds, d.Seeds)
			}
		}
		since := ld.LastSeed
		if since.IsZero() {
			since = started
		}
		ld.SeedAge = Duration(max(now.Sub(since), 0))
		for _, n := range nodesOf {
			if !alive[n] {
				ld.Stale, ld.Reason = true, fmt.Sprintf("node %s is stale", n)
			}
		}
		if !ld.Stale && threshold > 0 && time.Duration(ld.SeedAge) > threshold {
			ld.Stale, ld.Reason = true, fmt.Sprintf("no seed for %v (threshold %v)", time.Duration(ld.SeedAge).Round(time.Second), threshold)
		}
		out = append(out, ld)
	}
	return out
}
