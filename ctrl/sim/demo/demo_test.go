package demo

import (
	"context"
	"testing"
	"time"
)

// TestClientTraffic runs a short demo with client traffic: frames cross
// both ways, none is corrupted or reordered, every loss is explained by
// damage on the fibre, and the verdict says so.
func TestClientTraffic(t *testing.T) {
	// Long enough for the handshake and some traffic also on a busy
	// machine with the pure-Go kernels (-tags noasm) or -race.
	dur := 5 * time.Second
	if testing.Short() {
		dur = 4 * time.Second
	}
	sum, err := Run(context.Background(), Options{Duration: dur, ClientLoad: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Client
	if c == nil || c.Load != 0.25 {
		t.Fatalf("no client summary: %+v", sum)
	}
	for _, d := range c.Directions {
		if d.Delivered == 0 || d.Corrupted != 0 || d.OutOfOrder != 0 || d.Delivered > d.Sent {
			t.Errorf("%s: %+v", d.Name, d)
		}
	}
	if c.Corrupted != 0 || !c.Explained || c.Line == "" {
		t.Errorf("verdict: %+v", c)
	}
	t.Logf("%s", c.Line)
}

// TestNoClient: without client traffic the summary has none and the
// frames carry the test pattern, as before.
func TestNoClient(t *testing.T) {
	sum, err := Run(context.Background(), Options{Duration: time.Second, NoClient: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Client != nil {
		t.Fatalf("client summary without client traffic: %+v", sum.Client)
	}
}
