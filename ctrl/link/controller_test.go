package link_test

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/linktest"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/internal/keys"
)

// keyEvents records an end's key events by direction and epoch.
type keyEvents struct {
	mu sync.Mutex
	tx map[keys.Epoch]string // fingerprints of the keys this end sent with
	rx map[keys.Epoch]string // and of those it installed for the peer's frames
}

func (k *keyEvents) sink() link.Sink {
	return link.Funcs{OnKey: func(ev link.KeyEvent) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if ev.TX {
			k.tx[ev.Epoch] = ev.Fingerprint
		} else {
			k.rx[ev.Epoch] = ev.Fingerprint
		}
	}}
}

// TestControllersOverFakePorts runs two controllers joined by the
// in-memory ports of linktest, without the frame path: they handshake over
// the lane, open a session, turn the counts the test feeds into seeds in
// both directions and activate the seeds' keys, and every key one end
// sends with is the key the other end installed under the same epoch. The
// receiving ports never meet a frame under a key they do not hold: key
// switches lose nothing.
func TestControllersOverFakePorts(t *testing.T) {
	pair := linktest.NewPair(linktest.Config{})
	var ids [2]handshake.Identity
	for i, name := range []string{"otkd:fake-a", "otkd:fake-b"} {
		var err error
		if ids[i], err = handshake.Generate(name, crand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	params := negotiation.DefaultParams()
	params.N = 512
	var ev [2]*keyEvents
	var ctls [2]*link.Controller
	for i := range 2 {
		ev[i] = &keyEvents{tx: map[keys.Epoch]string{}, rx: map[keys.Epoch]string{}}
		c, err := link.New(link.Config{Port: pair.Ports[i], Self: ids[i], Peer: ids[1-i].Peer(), Params: params,
			ActivationMargin: 16, Sink: ev[i].sink()})
		if err != nil {
			t.Fatal(err)
		}
		ctls[i] = c
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, c := range ctls {
		wg.Go(func() { c.Run(ctx) })
	}
	wg.Go(func() { pair.Run(ctx, 100*time.Microsecond) })
	wg.Go(func() { feedCounts(ctx, pair) })

	deadline := time.Now().Add(2 * time.Minute)
	for {
		a, b := ctls[0].Stats(), ctls[1].Stats()
		if a.SeedsOwn >= 2 && b.SeedsOwn >= 2 && a.TXSwitches >= 3 && b.TXSwitches >= 3 && !pair.Ports[0].SwitchPending() && !pair.Ports[1].SwitchPending() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no seeds and key switches in time: A %+v\nB %+v", a, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for i := range 2 {
		a, b := ctls[i].Stats(), ctls[1-i].Stats()
		// The responder's seed and the initiator's come with the same
		// exchange, so at most one is in flight when the test stops.
		if a.Handshake != "done" || a.Sessions != 1 || a.SeedsPeer < 2 || a.SeedsPeer > b.SeedsOwn+1 || b.SeedsOwn > a.SeedsPeer+1 {
			t.Errorf("end %d: handshake %q, %d sessions, %d peer seeds (peer made %d)", i, a.Handshake, a.Sessions, a.SeedsPeer, b.SeedsOwn)
		}
		if n := pair.Ports[i].Rejected(); n != 0 {
			t.Errorf("end %d refused %d frames under a key it did not hold", i, n)
		}
		ev[i].mu.Lock()
		ev[1-i].mu.Lock()
		for epoch, fp := range ev[i].tx {
			if got := ev[1-i].rx[epoch]; got != fp {
				t.Errorf("epoch %d: end %d sent with key %s, end %d installed %q", epoch, i, fp, 1-i, got)
			}
		}
		if len(ev[i].tx) < 3 {
			t.Errorf("end %d sent with %d keys, want the session's and two seeds'", i, len(ev[i].tx))
		}
		ev[1-i].mu.Unlock()
		ev[i].mu.Unlock()
	}
	for i := range 2 {
		ep, key := pair.Ports[i].TXKey()
		if rx := pair.Ports[1-i].RXKeys(); ep == keys.NullEpoch || rx[0] != key && rx[1] != key {
			t.Errorf("end %d sends under epoch %d with a key end %d does not hold", i, ep, 1-i)
		}
	}
}

// feedCounts gives both ends the same count for every round of both
// directions (no disagreement: the test is about the controller, not the
// reconciliation), a few hundred rounds per millisecond.
func feedCounts(ctx context.Context, pair *linktest.Pair) {
	rng := rand.New(rand.NewPCG(7, 13))
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for round := uint32(1); ; {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for range 200 {
			va, vb := uint16(10+rng.IntN(30)), uint16(10+rng.IntN(30))
			pair.Ports[0].Feed(dataplane.Count{Round: round, Value: va, Own: true})
			pair.Ports[1].Feed(dataplane.Count{Round: round, Value: va})
			pair.Ports[1].Feed(dataplane.Count{Round: round, Value: vb, Own: true})
			pair.Ports[0].Feed(dataplane.Count{Round: round, Value: vb})
			round++
		}
	}
}
