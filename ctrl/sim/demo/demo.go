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
	"hash/maphash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/ctrl/link/publish"
	"github.com/otkd/otkd/ctrl/sim/pair"
	"github.com/otkd/otkd/ctrl/sim/report"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
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
	// ReportPath, if set, receives the HTML report. Run checks before the
	// link starts that a file can be written there (ErrReport).
	ReportPath string
	// ClientLoad is the share of each direction's payload capacity that a
	// generator at each end offers as client traffic (random Ethernet
	// frames of 60..1514 octets, each checked at the far end by sequence
	// number and digest), in [0, 1]; 0 means none (the frames carry the
	// test pattern). NoClient turns it off; the zero Options use
	// DefaultClientLoad.
	ClientLoad float64
	NoClient   bool
}

// DefaultClientLoad is the share of the payload capacity the demo's client
// generators offer by default: half, so that the machine keeps most of its
// time for the frames and the key negotiation the demo is about.
const DefaultClientLoad = 0.5

// Summary is the demo's result.
type Summary struct {
	// Verdict is the run in one line (the report's first line).
	Verdict    string        `json:"verdict"`
	Seconds    float64       `json:"seconds"`
	Directions [2]DirSummary `json:"directions"`
	Shm        ShmSummary    `json:"shm"`
	// Report is the absolute path of the HTML report written; absent
	// without one.
	Report string `json:"report,omitempty"`
	// Client is the client traffic through the link; absent when the
	// demo ran without.
	Client *ClientSummary `json:"client,omitempty"`
	// OK: keys flowed in both directions, no seed mismatched, the shm
	// stores of A and B hold the same active keys, and no client frame was
	// corrupted, reordered or lost without damaged frames to explain it.
	OK bool `json:"ok"`
}

// ClientSummary is the client traffic of a run.
type ClientSummary struct {
	Load       float64          `json:"load"` // share of the payload capacity offered
	Directions [2]ClientDirStat `json:"directions"`
	// KeySwitches is the number of TX key switches of both directions
	// while the traffic ran.
	KeySwitches int `json:"key_switches"`
	// Lost and Corrupted are the frames lost (sent, never delivered) and
	// corrupted or reordered in both directions.
	Lost      uint64 `json:"frames_lost"`
	Corrupted uint64 `json:"frames_corrupted"`
	// Explained: every lost frame is accounted for, by OTN frames that the
	// fibre damaged beyond the FEC or lost (the receiver drops the client
	// frames they carried, never delivers them damaged) or by the
	// receiving checker falling behind (its ring full).
	Explained bool `json:"losses_explained"`
	// Line is the one-line verdict the progress line, the summary and the
	// report show.
	Line string `json:"line"`
}

// ClientDirStat is one direction's client traffic.
type ClientDirStat struct {
	Name           string  `json:"name"`
	Sent           uint64  `json:"frames_sent"` // generated and queued for the line
	SentBytes      uint64  `json:"bytes_sent"`
	Delivered      uint64  `json:"frames_delivered"` // checked good at the far end, in order
	DeliveredBytes uint64  `json:"bytes_delivered"`
	Lost           uint64  `json:"frames_lost"`       // sent, never delivered
	Corrupted      uint64  `json:"frames_corrupted"`  // delivered with a bad digest
	OutOfOrder     uint64  `json:"frames_reordered"`  // delivered behind a later one, or twice
	DroppedSender  uint64  `json:"dropped_at_sender"` // tail-dropped: over capacity
	GoodputMbps    float64 `json:"goodput_mbit_per_second"`
	// What the receiving end saw of the line: OTN frames lost or damaged
	// beyond the FEC, and client frames it dropped for them.
	OTNFramesLost    uint64 `json:"otn_frames_lost"`
	OTNFramesDamaged uint64 `json:"otn_frames_damaged"`
	DroppedReceiver  uint64 `json:"dropped_at_receiver"` // for damage, or (DroppedQueue) because the checker fell behind
	DroppedQueue     uint64 `json:"dropped_receiver_queue"`
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
	// The receiver's FEC: RS(255,239) symbols corrected, codewords it
	// could not correct.
	FECCorrected     uint64  `json:"fec_corrected_symbols"`
	FECUncorrectable uint64  `json:"fec_uncorrectable_codewords"`
	EveAgreement     float64 `json:"eavesdropper_agreement"`
	EveCorrelation   float64 `json:"eavesdropper_correlation"`
	EveRounds        int     `json:"eavesdropper_rounds"`

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
	// Files are A's and B's store files when Options.ShmDir kept them;
	// absent when the demo used a temporary directory, removed at the end.
	Files []string `json:"files,omitempty"`
	// Active holds, per direction, the fingerprint of the active key in A's
	// and in B's store ("" when none).
	Active [2][2]string `json:"active_fingerprints"`
	Agree  bool         `json:"agree"`
}

// recorder keeps what the report plots.
type recorder struct {
	mu       sync.Mutex
	start    time.Time
	counts   [2]map[uint32][2]uint16 // by direction: round → (initiator, responder)
	seeds    [2][]seedPoint
	samples  []report.Sample
	switches []report.Switch
	nswitch  [2]int // switches per direction so far: the full count the 8-bit epoch wraps from
}

// sampleEvery is the interval of the report's samples of the line.
const sampleEvery = 250 * time.Millisecond

// maxSamples bounds the samples kept (a long run keeps its first ones).
const maxSamples = 100000

// key records a sender's switch to a new session key.
func (r *recorder) key(ev link.KeyEvent) {
	if !ev.TX || ev.Direction > 1 {
		return // each direction's switch is reported once, by its sender
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d := int(ev.Direction)
	r.nswitch[d]++
	if len(r.switches) < maxSamples {
		r.switches = append(r.switches, report.Switch{At: ev.At.Sub(r.start), Direction: d, Number: r.nswitch[d],
			Epoch: ev.Epoch, Fingerprint: ev.Fingerprint})
	}
}

// sample records what the line did per direction every sampleEvery until
// ctx ends: frames sent, the receiver's FEC corrections and uncorrectable
// codewords, as rates over the interval.
func (r *recorder) sample(ctx context.Context, p *pair.Pair) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	var last [2]dataplane.Snapshot
	lastT := r.start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := report.Sample{At: now.Sub(r.start)}
			dt := now.Sub(lastT).Seconds()
			cur := [2]dataplane.Snapshot{p.Ports[0].Stats(), p.Ports[1].Stats()}
			for d := range 2 { // direction d: end d sends, the other end receives
				tx, rx := &cur[d], &cur[1-d]
				s.FramesPerSecond[d] = float64(tx.TXFrames-last[d].TXFrames) / dt
				s.FECCorrected[d] = float64(rx.FECCorrected-last[1-d].FECCorrected) / dt
				s.FECUncorrectable[d] = float64(rx.FECUncorrected-last[1-d].FECUncorrected) / dt
			}
			last, lastT = cur, now
			r.mu.Lock()
			if len(r.samples) < maxSamples {
				r.samples = append(r.samples, s)
			}
			r.mu.Unlock()
		}
	}
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
	if o.ReportPath != "" {
		abs, err := CheckReportPath(o.ReportPath)
		if err != nil {
			return nil, err
		}
		o.ReportPath = abs
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
	load := o.ClientLoad
	if load == 0 && !o.NoClient {
		load = DefaultClientLoad
	}
	if o.NoClient {
		load = 0
	}
	if !(load >= 0 && load <= 1) {
		return nil, fmt.Errorf("demo: client load %v: want 0..1", load)
	}
	var gens [2]*traffic
	var devs [2]client.Device
	if load > 0 {
		seed := maphash.MakeSeed()
		for i := range gens {
			gens[i] = newTraffic(i, nil, load, seed)
			devs[i] = gens[i]
		}
	}
	p, err := pair.New(pair.Config{
		// The checkers share two cores with both ends' frame loops: a
		// deeper ring lets them fall behind for a while without a drop.
		Clients: devs, ClientConfig: client.Config{RXQueue: 4 * client.DefaultQueue},
		Profile: o.Profile, Seed: o.Seed, Eavesdropper: true,
		Sink: func(end int) link.Sink {
			return link.Funcs{
				OnSeed:  rec.seed,
				OnCount: func(c dataplane.Count) { rec.count(end, c) },
				OnKey: func(ev link.KeyEvent) {
					rec.key(ev)
					if err := pubs[end].Publish(ev); err != nil {
						pubMu.Lock()
						pubErr = errors.Join(pubErr, err)
						pubMu.Unlock()
					}
				},
			}
		},
	})
	if err != nil {
		return nil, err
	}
	for i, g := range gens {
		if g != nil {
			g.port = p.Ports[i]
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	pctx, pcancel := context.WithCancel(ctx)
	if o.Progress != nil {
		go progress(pctx, o.Progress, o.ProgressTTY, p, gens, rec.start)
	}
	sampled := make(chan struct{})
	go func() { rec.sample(pctx, p); close(sampled) }()
	var runErr error
	select {
	case <-time.After(o.Duration):
	case <-ctx.Done():
	case runErr = <-done:
		done <- runErr
	}
	elapsed := time.Since(rec.start)
	if gens[0] != nil {
		// The generators stop; the frames still on their way arrive.
		for _, g := range gens {
			g.pause()
		}
		drain(p, gens)
	}
	settled, agreed := settle(p, files)
	pcancel()
	<-sampled
	cancel()
	runErr = <-done
	if o.Progress != nil && o.ProgressTTY {
		fmt.Fprintln(o.Progress)
	}
	sum := summarise(p, elapsed)
	// The stores as they were at the settled moment: the link ran on
	// until it was cancelled, and a switch begun meanwhile may have been
	// cut between one end's publication and the other's.
	sum.Shm = settled
	if !agreed {
		sum.Shm = readStores(files)
	}
	if o.ShmDir == "" {
		sum.Shm.Files = nil // the temporary directory is removed on return
	}
	sum.OK = runErr == nil && pubErr == nil && sum.Shm.Agree
	for _, d := range sum.Directions {
		sum.OK = sum.OK && d.KeySwitches > 0 && d.Mismatches == 0
	}
	if gens[0] != nil {
		sum.Client = summariseClient(p, gens, load)
		sum.OK = sum.OK && sum.Client.Corrupted == 0 && sum.Client.Explained
	}
	sum.Verdict = verdict(sum)
	if o.ReportPath != "" {
		if err := writeReport(o.ReportPath, p, rec, sum, o); err != nil {
			return sum, err
		}
		sum.Report = o.ReportPath
	}
	return sum, errors.Join(runErr, pubErr)
}

func summarise(p *pair.Pair, el time.Duration) *Summary {
	st := p.Stats()
	eve := p.Eve.Score(0.5)
	s := &Summary{Seconds: el.Seconds()}
	for d, x := range st {
		rx := p.Ports[1-d].Stats() // direction d's receiver
		s.Directions[d] = DirSummary{
			FECCorrected: rx.FECCorrected, FECUncorrectable: rx.FECUncorrected,
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

// settle waits (bounded) for a moment when no key switch is pending at
// either end and both stores show the same active keys, and returns the
// stores as read then, so that the run is not judged between one end's
// switch and the other's. Switches come every few hundred milliseconds
// per direction; on a loaded machine (or the pure-Go kernels) a quiet
// moment can take a few seconds to come.
func settle(p *pair.Pair, files [2]string) (ShmSummary, bool) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !p.Ports[0].SwitchPending() && !p.Ports[1].SwitchPending() {
			if s := readStores(files); s.Agree && !p.Ports[0].SwitchPending() && !p.Ports[1].SwitchPending() {
				return s, true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ShmSummary{}, false
}

// readStores reads both stores through the plugin reader, as a plugin would.
func readStores(files [2]string) ShmSummary {
	s := ShmSummary{Files: files[:], Agree: true}
	for end, f := range files {
		r, err := shm.Open(f)
		if err != nil {
			s.Agree = false
			continue
		}
		for d := range 2 {
			var k shm.Key
			if err := r.ActiveKey(0, shm.Dir(d), &k); err == nil {
				s.Active[d][end] = k.Fingerprint().String()
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
func progress(ctx context.Context, w io.Writer, tty bool, p *pair.Pair, gens [2]*traffic, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last, lastRx [2]uint64
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
			if gens[0] != nil {
				var rate [2]float64
				for d := range gens { // direction d: end d's frames, checked at the far end
					rx := gens[1-d].st.ReceivedBytes.Load()
					rate[d] = float64(rx-lastRx[d]) * 8 / now.Sub(lastT).Seconds() / 1e6
					lastRx[d] = rx
				}
				line += fmt.Sprintf(" | client %.0f/%.0f Mbit/s, %s", rate[0], rate[1], liveVerdict(p, gens))
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

// ErrReport: the report cannot be written where Options.ReportPath says
// (errors.Is; the error's text says why).
var ErrReport = errors.New("the report cannot be written there")

// reportError is an ErrReport worded for the user.
type reportError struct{ msg string }

func (e *reportError) Error() string        { return e.msg }
func (e *reportError) Is(target error) bool { return target == ErrReport }

func reportErrorf(format string, args ...any) error {
	return &reportError{fmt.Sprintf(format, args...)}
}

// CheckReportPath checks, before a run, that the report can be written to
// path: its directory exists and takes a new file, and path is not a
// directory or a file this user cannot write. It returns the absolute path
// (what the summary names) and creates nothing that stays.
func CheckReportPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", reportErrorf("demo: --report %s: %v", path, err)
	}
	if fi, err := os.Stat(abs); err == nil {
		if !fi.Mode().IsRegular() {
			return "", reportErrorf("demo: --report %s: it exists and is not a regular file (%s)", path, fi.Mode().Type())
		}
		f, err := os.OpenFile(abs, os.O_WRONLY, 0) // no O_TRUNC: the old report stays until the new one is written
		if err != nil {
			return "", reportErrorf("demo: --report %s: %v", path, errors.Unwrap(err))
		}
		f.Close()
		return abs, nil
	}
	dir := filepath.Dir(abs)
	f, err := os.CreateTemp(dir, ".otkd-report-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", reportErrorf("demo: --report %s: cannot create a file in %s: %v", path, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return abs, nil
}

// verdict is the run in one line: what went wrong first, else what went
// right.
func verdict(s *Summary) string {
	var bad []string
	seeds, switches := 0, 0
	var corrected, uncorrectable uint64
	for _, d := range s.Directions {
		if d.Mismatches > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d of %d seeds differ between the ends", d.Name, d.Mismatches, d.Seeds))
		}
		if d.KeySwitches == 0 {
			bad = append(bad, d.Name+": no key switch")
		}
		seeds += d.Seeds
		switches += d.KeySwitches
		corrected += d.FECCorrected
		uncorrectable += d.FECUncorrectable
	}
	if !s.Shm.Agree {
		bad = append(bad, "the two key stores do not hold the same active keys")
	}
	if c := s.Client; c != nil && (c.Corrupted > 0 || !c.Explained) {
		bad = append(bad, "client traffic: "+c.Line)
	}
	if len(bad) > 0 {
		return "FAILED: " + strings.Join(bad, "; ")
	}
	line := fmt.Sprintf("OK: %s, identical at both ends; %s, both stores agree; the FEC corrected %s, %s uncorrectable",
		plural(seeds, "seed"), plural(switches, "key switch"), plural(int(corrected), "symbol"), plural(int(uncorrectable), "codeword"))
	if c := s.Client; c != nil {
		line += fmt.Sprintf("; client frames: %d lost, each explained, none corrupted", c.Lost)
	}
	return line
}

// plural is "1 seed", "2 seeds", "2 key switches".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
