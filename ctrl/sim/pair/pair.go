// Package pair runs the two ends of one otkd link, A and B, in one process
// over the simulated fibre: two dataplane ports, their two controllers and,
// on request, an eavesdropper on a tap of the fibre and a client at each end
// (Config.Clients). The tests, the demo and the benchmarks use it.
//
// Everything runs as in the daemon: real SM2 identities (generated per pair
// and pinned to each other), the handshake, encrypted frames with FEC,
// secret local noise, post-processing and key activation. Only the line is
// simulated.
package pair

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/noise"
)

// Config configures a pair. Zero fields take defaults.
type Config struct {
	// Profile is the channel and local-noise profile; default
	// noise.DefaultProfile().
	Profile noise.Profile
	// Seed makes the simulated fibre reproducible (the secret local noise
	// and all key material stay truly random).
	Seed uint64
	// NoBitErrors turns off the fibre's bit errors outside the negotiation
	// bits (they cost FEC decoding time; the default keeps them).
	NoBitErrors bool
	// Eavesdropper attaches a tap and runs Eve (see Eve).
	Eavesdropper bool
	// Params are the post-processing parameters; default
	// negotiation.DefaultParams().
	Params negotiation.Params
	// Duplicate, Flip and FlipBits impair the fibre beyond the profile,
	// and Attacker sits on it (simfiber.Config).
	Duplicate, Flip float64
	FlipBits        int
	Attacker        simfiber.Attacker
	// Port and Link, when set, adjust each end's dataplane and controller
	// configuration (end 0 = A) before it is built, e.g. COUNT limits or
	// handshake timeouts for a test.
	Port func(end int, c *dataplane.Config)
	Link func(end int, c *link.Config)
	// Clients, when set, give each end (0 = A) a client: a mapper
	// (dataplane/client, configured by ClientConfig) fills the end's frames
	// with the client's Ethernet frames and delivers those of the peer, and
	// Run serves the device with it. Nil for an end: the test pattern.
	Clients      [2]client.Device
	ClientConfig client.Config
	Log          *slog.Logger
	// Sink, when set, gives each end (0 = A, 1 = B) a link.Sink that gets
	// that end's events too, on its controller goroutine, after the pair
	// has recorded them.
	Sink func(end int) link.Sink
}

// Pair is a running or runnable link.
type Pair struct {
	cfg   Config
	Link  *simfiber.Link
	Ports [2]*dataplane.Port
	Ctrls [2]*link.Controller
	Eve   *Eve
	// Mappers are the ends' client mappers (nil for an end without a
	// client); their Stats may be read while the pair runs.
	Mappers [2]*client.Mapper

	mu    sync.Mutex
	seeds [2][]seedRec // per direction, in order: what each end made
}

type seedRec struct {
	fp  [2]string // by end; "" until that end made it
	at  time.Time
	res negotiation.Result
}

// New builds a pair.
func New(cfg Config) (*Pair, error) {
	if cfg.Profile == (noise.Profile{}) {
		cfg.Profile = noise.DefaultProfile()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l, err := simfiber.New(simfiber.Config{Profile: cfg.Profile, Seed: cfg.Seed, BitErrors: !cfg.NoBitErrors, Tap: cfg.Eavesdropper,
		Duplicate: cfg.Duplicate, Flip: cfg.Flip, FlipBits: cfg.FlipBits, Attacker: cfg.Attacker})
	if err != nil {
		return nil, err
	}
	p := &Pair{cfg: cfg, Link: l}
	ids := [2]handshake.Identity{}
	for i, name := range []string{"otkd:pair-a", "otkd:pair-b"} {
		if ids[i], err = handshake.Generate(name, rand.Reader); err != nil {
			return nil, err
		}
	}
	lines := [2]dataplane.Line{l.A(), l.B()}
	for i := range 2 {
		pc := dataplane.Config{Role: dataplane.Role(i), Line: lines[i], Profile: cfg.Profile}
		if cfg.Clients[i] != nil {
			if p.Mappers[i], err = client.New(cfg.ClientConfig); err != nil {
				return nil, err
			}
			pc.Payload, pc.Sink = p.Mappers[i], p.Mappers[i]
		}
		if cfg.Port != nil {
			cfg.Port(i, &pc)
		}
		if p.Ports[i], err = dataplane.NewPort(pc); err != nil {
			return nil, err
		}
	}
	if cfg.Eavesdropper {
		p.Eve = newEve(l.Tap(), cfg.Profile)
	}
	for i := range 2 {
		end := i
		lc := link.Config{
			Port: p.Ports[i], Self: ids[i], Peer: ids[1-i].Peer(), Params: cfg.Params,
			Log: cfg.Log.With("end", dataplane.Role(i).String()),
			Sink: link.Funcs{
				OnSeed:  func(ev link.SeedEvent) { p.onSeed(end, ev) },
				OnKey:   func(ev link.KeyEvent) { p.onKey(end, ev) },
				OnCount: func(c dataplane.Count) { p.onCount(end, c) },
			},
		}
		if cfg.Sink != nil {
			lc.Sink = link.Tee(lc.Sink, cfg.Sink(end))
		}
		if cfg.Link != nil {
			cfg.Link(i, &lc)
		}
		if p.Ctrls[i], err = link.New(lc); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Pair) onSeed(end int, ev link.SeedEvent) {
	p.mu.Lock()
	recs := p.seeds[ev.Direction]
	// The initiator's and the responder's seeds of a direction come in the
	// same order: match the first record this end has not filled.
	i := 0
	for i < len(recs) && recs[i].fp[end] != "" {
		i++
	}
	if i == len(recs) {
		recs = append(recs, seedRec{at: ev.At, res: ev.Result})
	}
	recs[i].fp[end] = ev.Fingerprint
	if ev.Initiator {
		recs[i].res = ev.Result
	}
	p.seeds[ev.Direction] = recs
	p.mu.Unlock()
}

func (p *Pair) onKey(end int, ev link.KeyEvent) {
	if p.Eve != nil {
		p.Eve.learnKey(ev)
	}
}

func (p *Pair) onCount(end int, c dataplane.Count) {
	if p.Eve != nil && c.Own {
		p.Eve.truth(end, c)
	}
}

// Run runs both ends (and Eve) until ctx ends, then stops everything and
// returns the first failure.
func (p *Pair) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	for i := range 2 {
		run("port "+dataplane.Role(i).String(), p.Ports[i].Run)
		run("controller "+dataplane.Role(i).String(), p.Ctrls[i].Run)
		if m, dev := p.Mappers[i], p.cfg.Clients[i]; m != nil {
			run("client "+dataplane.Role(i).String(), func(ctx context.Context) error { return m.Serve(ctx, dev) })
		}
	}
	if p.Eve != nil {
		run("eavesdropper", p.Eve.run)
	}
	<-ctx.Done()
	p.Link.Close()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if !errors.Is(err, simfiber.ErrClosed) {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// DirStats are the figures of one direction (0 = A→B: A's rounds, A's
// frames; 1 = B→A).
type DirStats struct {
	Rounds         int     // counts the initiator collected
	Kept           int     // bits kept after sifting and intersection
	Disagreement   float64 // before reconciliation
	LeakedBits     int
	Seeds          int // seeds both ends made
	Mismatches     int // seeds whose fingerprints differ between the ends
	Failures       int // decode + verification failures + abandoned attempts
	Efficiency     float64
	TXEpoch        uint8
	KeySwitches    int
	FramesSent     uint64
	FramesReceived uint64
	FramesLost     uint64 // COUNT gaps seen by the receiver
	FramesDamaged  uint64 // frames the receiver refused for damage beyond the FEC (alignment lost, interaction area uncorrectable)
	RejectedEpoch  uint64 // frames the receiver could not open for their epoch

	StepsPerBlock float64                // syndrome round trips per block
	PerSeed       negotiation.BoundTerms // the leftover-hash bound's terms per seed
}

// Stats returns the per-direction figures.
func (p *Pair) Stats() [2]DirStats {
	var out [2]DirStats
	p.mu.Lock()
	defer p.mu.Unlock()
	for d := range 2 {
		ini, rcv := p.Ctrls[d].Stats(), p.Ports[1-d].Stats()
		tx := p.Ports[d].Stats()
		s := &out[d]
		s.Rounds, s.Kept, s.LeakedBits = ini.Initiator.Rounds, ini.Initiator.Kept, ini.Initiator.LeakedBits
		s.Disagreement, s.Efficiency = ini.Initiator.Disagreement(), ini.Initiator.Efficiency()
		s.StepsPerBlock, s.PerSeed = ini.Initiator.StepsPerBlock(), ini.Initiator.PerSeed()
		s.Failures = ini.Initiator.DecodeFailures + ini.Initiator.VerifyFailures + ini.Initiator.Abandoned
		s.TXEpoch, s.KeySwitches = ini.TXEpoch, ini.TXSwitches
		s.FramesSent, s.FramesReceived = tx.TXFrames, rcv.RXFrames
		s.FramesLost, s.RejectedEpoch = rcv.RXGaps, rcv.RXUnknownEpoch
		s.FramesDamaged = rcv.RXLostFAS + rcv.AreaBad
		for _, r := range p.seeds[d] {
			if r.fp[0] == "" || r.fp[1] == "" {
				continue
			}
			s.Seeds++
			if r.fp[0] != r.fp[1] {
				s.Mismatches++
			}
		}
	}
	return out
}

// SeedFingerprints returns, per direction, the fingerprints each end made
// (index 0 = A's, 1 = B's) in order.
func (p *Pair) SeedFingerprints() [2][][2]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [2][][2]string
	for d := range 2 {
		for _, r := range p.seeds[d] {
			out[d] = append(out[d], r.fp)
		}
	}
	return out
}
