package fleet

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	port := func(name, role, peer string, seedAgo time.Duration, epoch uint8, fp string) Port {
		return Port{Name: name, Role: role, Peer: peer, SeedTimeout: Duration(5 * time.Minute), Directions: []Direction{
			{Dir: "AB", Epoch: epoch, Fingerprint: fp, LastSeed: now.Add(-seedAgo), LastSwitch: now.Add(-seedAgo), Seeds: 3},
			{Dir: "BA", Epoch: epoch, Fingerprint: fp + "b", LastSeed: now.Add(-seedAgo), LastSwitch: now.Add(-seedAgo), Seeds: 2},
		}}
	}
	started := now.Add(-time.Hour)
	nodes := []Node{
		{Name: "b", Started: started, Ports: []Port{port("west", "B", "a", time.Minute, 4, "f2")}},
		{Name: "a", Started: started, Ports: []Port{port("east", "A", "b", 2*time.Minute, 3, "f1"), port("north", "A", "x", 10*time.Minute, 1, "f3")}},
		{Name: "c", Started: started, Ports: []Port{port("east", "A", "d", time.Second, 1, "f4")}},
	}
	v := Build(nodes, map[string]bool{"a": true, "b": true}, now, 0)
	if len(v.Nodes) != 3 || v.Nodes[0].Name != "a" || v.Nodes[2].Name != "c" || !v.Nodes[2].Stale || v.Nodes[0].Stale {
		t.Fatalf("nodes %+v", v.Nodes)
	}
	if len(v.Links) != 3 {
		t.Fatalf("links %+v", v.Links)
	}
	ab := v.Links[0]
	if ab.A != (End{"a", "east"}) || ab.B != (End{"b", "west"}) || ab.Stale {
		t.Fatalf("a-b: %+v", ab)
	}
	// The newest seed and the epoch and fingerprint of the end that
	// switched last (b, a minute ago).
	if d := ab.Directions[0]; d.Epoch != 4 || d.Fingerprint != "f2" || !d.LastSeed.Equal(now.Add(-time.Minute)) || time.Duration(d.SeedAge) != time.Minute {
		t.Fatalf("a-b AB: %+v", d)
	}
	north := v.Links[1]
	if north.A != (End{"a", "north"}) || north.B != (End{Node: "x"}) || !north.Stale || !strings.Contains(north.Directions[0].Reason, "no seed for 10m0s (threshold 5m0s)") {
		t.Fatalf("a-north: %+v", north)
	}
	if cd := v.Links[2]; !cd.Stale || cd.Directions[0].Reason != "node c is stale" {
		t.Fatalf("c-d: %+v", cd)
	}
	// A threshold of the caller's replaces the ports'.
	v = Build(nodes, map[string]bool{"a": true, "b": true}, now, 30*time.Second)
	if !v.Links[0].Stale || !strings.Contains(v.Links[0].Directions[1].Reason, "threshold 30s") {
		t.Fatalf("a-b with stale_after 30s: %+v", v.Links[0])
	}
	// JSON: the ends and the durations as Go durations.
	b, err := json.Marshal(v.Links[0])
	if err != nil || !strings.Contains(string(b), `"a":{"node":"a","port":"east"}`) || !strings.Contains(string(b), `"b":{"node":"b","port":"west"}`) ||
		!strings.Contains(string(b), `"seed_age":"1m0s"`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
	// A node that never seeded counts from its start.
	v = Build([]Node{{Name: "e", Started: now.Add(-time.Second), Ports: []Port{{Name: "p", Role: "A", Peer: "f", SeedTimeout: Duration(time.Minute)}}}},
		map[string]bool{"e": true}, now, 0)
	if l := v.Links[0]; l.Stale || time.Duration(l.Directions[0].SeedAge) != time.Second {
		t.Fatalf("a fresh node: %+v", l)
	}
	// Empty fleet: empty lists, not null.
	if b, _ := json.Marshal(Build(nil, nil, now, 0)); !strings.Contains(string(b), `"nodes":[]`) || !strings.Contains(string(b), `"links":[]`) {
		t.Fatalf("empty view %s", b)
	}
}

// TestDurationJSON: a Duration reads and writes a Go duration string, and
// a bad one is an error.
func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := json.Unmarshal([]byte(`"1m30s"`), &d); err != nil || time.Duration(d) != 90*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	for _, bad := range []string{`"soon"`, `90`, `null`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil && bad != "null" {
			t.Errorf("%s: no error", bad)
		}
	}
}
