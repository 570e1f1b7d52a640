// Package demo is `otkd demo`: a whole link, ends A and B in one process
// over the simulated fibre, with an eavesdropper on the fibre, publishing
// its keys into two shared-memory stores (one per end) exactly as the
// daemon does. It shows a progress line, returns a summary (printable as
// JSON) and can write a self-contained HTML report.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/negotiation"
	"github.com/otkd/otkd/ctrl/pair"
	"github.com/otkd/otkd/ctrl/publish"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/noise"
	"github.com/otkd/otkd/shm"
)

// Options configures a demo run. Zero fields take defaults.
type Options struct {
	// Duration of the run; default 10 s.
	Duration time.Duration
	// ShmDir receives the two key stores otkd-a and otkd-b; "" means
	// a temporary directory, removed at the end.
	ShmDir string
	// Profile is the channel and noise profile; default noise.DefaultProfile().
	Profile noise.Profile
	// Seed makes the simulated fibre reproducible.
	Seed uint64
	// Progress receives a live progress line once a second; nil for none.
	// With ProgressTTY the line is redrawn in place (\r), else one line is
	// written per second.
	Progress    io.Writer
	ProgressTTY bool
	// ReportPath, if set, receives the HTML report.
	ReportPath string
}

// Summary is the demo's result.
type Summary struct {
	Seconds    float64       `json:"seconds"`
	Directions [2]DirSummary `json:"directions"`
	Shm        ShmSummary    `json:"shm"`
	// OK: keys flowed in both directions, no seed mismatched, the shm
	// stores of A and B hold the same active keys.
	OK bool `json:"ok"`
}

// DirSummary is one direction (0: A→B, A's rounds; 1: B→A).
type DirSummary struct {
	Name           string  `json:"name"`
	Seeds          int     `json:"seeds"`
	Mismatches     int     `json:"mismatches"`
	SeedsPerSecond float64 `json:"seeds_per_second"`
	Rounds         int     `json:"rounds"`
	KeptBits       int     `json:"kept_bits"`
	Disagreement   float64 `json:"disagreement"`
	LeakedBits     int     `json:"leaked_bits"`
	Failures       int     `json:"failures"`
	KeySwitches    int     `json:"key_switches"`
	Epoch          int     `json:"epoch"`
	FramesSent     uint64  `json:"frames_sent"`
	FramesReceived uint64  `json:"frames_received"`
	FramesPerSec   float64 `json:"frames_per_second"`
	FramesLost     uint64  `json:"frames_lost"`
	FramesRejected uint64  `json:"frames_rejected"`
	EveAgreement   float64 `json:"eavesdropper_agreement"`
	EveCorrelation float64 `json:"eavesdropper_correlation"`
	EveRounds      int     `json:"eavesdropper_rounds"`

	// Efficiency is the reconciliation efficiency f (0 before a
	// disagreement was corrected); RoundsPerSeed, StepsPerBlock and
	// BoundPerSeed the post-processing figures of docs/postprocessing.md.
	Efficiency    float64                `json:"efficiency"`
	RoundsPerSeed float64                `json:"rounds_per_seed"`
	StepsPerBlock float64                `json:"steps_per_block"`
	BoundPerSeed  negotiation.BoundTerms `json:"bound_per_seed"`
}

// ShmSummary tells what a plugin reading each end's store sees.
type ShmSummary struct {
	Files [2]string `json:"files"`
	// Active holds, per direction, the fingerprint of the active key in A's
	// and in B's store ("" when none).
	Active [2][2]string `json:"active_fingerprints"`
	Agree  bool         `json:"agree"`
}

// recorder keeps what the report plots.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	counts [2]map[uint32][2]uint16 // by direction: round → (initiator, responder)
	seeds  [2][]seedPoint
}

type seedPoint struct {
	at     time.Duration
	fp     string
	result link.SeedEvent
}

const maxCountRounds = 20000

func (r *recorder) count(end int, c dataplane.Count) {
	d, slot := end, 0 // own counts: end is the initiator of direction end
	if !c.Own {
		d, slot = 1-end, 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.counts[d]
	v, ok := m[c.Round]
	if !ok && len(m) >= maxCountRounds {
		return
	}
	v[slot] = c.Value + 1 // +1: 0 means "not seen"
	m[c.Round] = v
}

func (r *recorder) seed(ev link.SeedEvent) {
	if !ev.Initiator {
		return
	}
	r.mu.Lock()
	r.seeds[ev.Direction] = append(r.seeds[ev.Direction], seedPoint{at: ev.At.Sub(r.start), fp: ev.Fingerprint, result: ev})
	r.mu.Unlock()
}

// Run runs the demo until the duration has passed or ctx ends.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Profile == (noise.Profile{}) {
		o.Profile = noise.DefaultProfile()
	}
	dir := o.ShmDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "otkd-demo-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: --shm-dir: %w", err)
	}
	var writers [2]*shm.Writer
	var pubs [2]*publish.Publisher
	files := [2]string{filepath.Join(dir, "otkd-a"), filepath.Join(dir, "otkd-b")}
	for i := range writers {
		w, err := shm.Create(shm.Options{Path: files[i], Slots: 64}, nil)
		if err != nil {
			return nil, fmt.Errorf("demo: key store %s: %w", files[i], err)
		}
		defer w.Close()
		writers[i], pubs[i] = w, publish.New(w, 0)
	}
	rec := &recorder{start: time.Now()}
	rec.counts[0], rec.counts[1] = map[uint32][2]uint16{}, map[uint32][2]uint16{}
	var pubErr error
	var pubMu sync.Mutex
	p, err := pair.New(pair.Config{
		Profile: o.Profile, Seed: o.Seed, Eavesdropper: true,
		OnSeed:  func(end int, ev link.SeedEvent) { rec.seed(ev) },
		OnCount: rec.count,
		OnKey: func(end int, ev link.KeyEvent) {
			if err := pubs[end].Publish(ev); err != nil {
				pubMu.Lock()
				pubErr = errors.Join(pubErr, err)
				pubMu.Unlock()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if o.Progress != nil {
		go progress(ctx, o.Progress, o.ProgressTTY, p, rec.start)
	}
	runErr := <-done
	elapsed := time.Since(rec.start)
	if o.Progress != nil && o.ProgressTTY {
		fmt.Fprintln(o.Progress)
	}
	sum := summarise(p, elapsed)
	sum.Shm = readStores(files)
	sum.OK = runErr == nil && pubErr == nil && sum.Shm.Agree
	for _, d := range sum.Directions {
		sum.OK = sum.OK && d.KeySwitches > 0 && d.Mismatches == 0
	}
	if o.ReportPath != "" {
		if err := writeReport(o.ReportPath, p, rec, sum, o); err != nil {
			return sum, err
		}
	}
	return sum, errors.Join(runErr, pubErr)
}

func summarise(p *pair.Pair, el time.Duration) *Summary {
	st := p.Stats()
	eve := p.Eve.Score(0.5)
	s := &Summary{Seconds: el.Seconds()}
	for d, x := range st {
		s.Directions[d] = DirSummary{
			Name: [2]string{"A->B", "B->A"}[d], Seeds: x.Seeds, Mismatches: x.Mismatches,
			SeedsPerSecond: float64(x.Seeds) / el.Seconds(), Rounds: x.Rounds, KeptBits: x.Kept,
			Disagreement: x.Disagreement, LeakedBits: x.LeakedBits, Failures: x.Failures,
			KeySwitches: x.KeySwitches, Epoch: int(x.TXEpoch),
			FramesSent: x.FramesSent, FramesReceived: x.FramesReceived, FramesPerSec: float64(x.FramesSent) / el.Seconds(),
			FramesLost: x.FramesLost, FramesRejected: x.RejectedEpoch,
			EveAgreement: eve[d].Agreement, EveCorrelation: eve[d].Correlation, EveRounds: eve[d].Kept,
			Efficiency: finite(x.Efficiency), StepsPerBlock: x.StepsPerBlock, BoundPerSeed: x.PerSeed,
			RoundsPerSeed: float64(x.Rounds) / float64(max(1, x.Seeds)),
		}
	}
	return s
}

// finite maps ±Inf and NaN (no figure yet) to 0, which JSON can carry.
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// readStores reads both stores through the plugin reader, as a plugin would.
func readStores(files [2]string) ShmSummary {
	s := ShmSummary{Files: files, Agree: true}
	for end, f := range files {
		r, err := shm.Open(f)
		if err != nil {
			s.Agree = false
			continue
		}
		for d := range 2 {
			var k shm.Key
			if err := r.ActiveKey(0, shm.Dir(d), &k); err == nil {
				fp := k.Fingerprint()
				s.Active[d][end] = fmt.Sprintf("%x", fp[:])
			}
			k.Zero()
		}
		r.Close()
	}
	for d := range 2 {
		if s.Active[d][0] == "" || s.Active[d][0] != s.Active[d][1] {
			s.Agree = false
		}
	}
	return s
}

// progress prints one status line per second until ctx ends.
func progress(ctx context.Context, w io.Writer, tty bool, p *pair.Pair, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last [2]uint64
	lastT := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			st := p.Stats()
			line := fmt.Sprintf("%5.1fs", now.Sub(start).Seconds())
			dis := 0.0
			for d, x := range st {
				fps := float64(x.FramesSent-last[d]) / now.Sub(lastT).Seconds()
				last[d] = x.FramesSent
				line += fmt.Sprintf(" | %s %4.0f fr/s %6d rounds %3d seeds ep %d",
					[2]string{"A→B", "B→A"}[d], fps, x.Rounds, x.Seeds, x.TXEpoch)
				dis += x.Disagreement / 2
			}
			line += fmt.Sprintf(" | dis %.2f%%", 100*dis)
			if ls := p.Ctrls[0].Stats().LastSwitch; !ls.IsZero() {
				line += fmt.Sprintf(" | switch %.1fs ago", now.Sub(ls).Seconds())
			}
			lastT = now
			if tty {
				fmt.Fprint(w, "\r"+line+"  ")
			} else {
				fmt.Fprintln(w, line)
			}
		}
	}
}
