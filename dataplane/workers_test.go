package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/linetest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// runStages runs some of a port's goroutines (the TX's or the RX's alone)
// until stop, and returns their first error.
func runStages(p *Port, stages []stage) (stop func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, len(stages))
	ch := make(chan struct{})
	p.startStages(&wg, stages, errs, ch)
	return func() error {
		close(ch)
		p.cfg.Line.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, linetest.ErrEnough) && !errors.Is(err, linetest.ErrClosed) {
				return err
			}
		}
		return nil
	}
}

// randomDelay makes workers finish out of order: a random pause for about
// one frame in three.
func randomDelay(seed uint64) func(uint64) {
	return func(n uint64) {
		r := rand.New(rand.NewPCG(seed, n))
		if r.IntN(3) == 0 {
			time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
		}
	}
}

var testSeed = [32]byte{14, 14, 14}

type sealedRec struct {
	key   byte
	epoch uint8
	count uint32
}

// txRun is what a TX-only run produced.
type txRun struct {
	frames [][]byte
	sealed []sealedRec
	stats  Snapshot
}

const txFrames = 700

// runTXScript runs a TX alone with a fixed seed through a scripted life:
// a first key, a switch scheduled at an exact COUNT, a session switch, the
// handshake lane on and off, a key exhausted at the hard limit, a key that
// comes while the TX has none, a reused key refused; peer rounds to
// answer and finals queued before it starts (as if its RX had received
// them). It returns the first txFrames wire frames.
func runTXScript(t *testing.T, w int, delay func(uint64)) txRun {
	t.Helper()
	first := uint32(1<<32 - 100) // across the wrap
	line := linetest.NewCapture(txFrames)
	var rec []sealedRec
	var p *Port
	testKeys := []keys.Key{{0xB1}, {0xB2}, {0xB3}, {0xB4}}
	sealed := func(k *keys.Key, e uint8, c uint32) {
		rec = append(rec, sealedRec{k[0], e, c})
		switch c - first {
		case 20:
			if err := p.ScheduleTX(2, &testKeys[1], first+37); err != nil {
				t.Error(err)
			}
		case 60:
			if err := p.SwitchSession(3, &testKeys[2], p.NewChan()); err != nil {
				t.Error(err)
			}
		case 100:
			if err := p.ScheduleTX(4, &testKeys[3], first+400); err != nil {
				t.Error(err)
			}
		case 80:
			if err := p.SetLane(bytes.Repeat([]byte{lane.KindHandshake}, 300)); err != nil {
				t.Error(err)
			}
		case 250:
			p.SetLane(nil)
		case 300:
			if err := p.ScheduleTX(5, &testKeys[0], first+320); err != nil { // used before: refused
				t.Error(err)
			}
		}
	}
	var err error
	p, err = NewPort(Config{Role: RoleA, Line: line, Workers: w, FirstCount: first, LaneEvery: 4,
		SoftLimit: 100, HardLimit: 150, Sealed: sealed, seed: &testSeed, workerDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ScheduleTX(1, &testKeys[0], 0); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 64 {
		a := p.toAnsQ.Slot()
		a.id = uint32(i + 1)
		for j := range a.xa3 {
			a.xa3[j] = byte(rng.Uint32())
		}
		p.toAnsQ.Commit()
		f := p.finQ.Slot()
		f.id = uint32(1000 + i)
		for j := range f.c1 {
			f.c1[j] = byte(rng.Uint32())
		}
		p.finQ.Commit()
	}
	stop := runStages(p, p.txStages())
	for deadline := time.Now().Add(time.Minute); ; {
		if p.Stats().TXFrames >= txFrames || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if line.N != txFrames {
		t.Fatalf("W=%d: %d frames sent, want %d", w, line.N, txFrames)
	}
	// The sealed records of the frames that were sent: a W > 1 builder may
	// have made a few more.
	n := 0
	for n < len(rec) && int32(rec[n].count-(first+txFrames)) < 0 {
		n++
	}
	return txRun{frames: line.Frames, sealed: rec[:n], stats: p.Stats()}
}

// TestWorkersWireIdentical: W = 2 and 4, with and without random delays in
// the workers, send exactly W = 1's bytes, seal the same (key, epoch,
// COUNT) sequence and end with the same counters; the scheduled switch
// happens at its exact COUNT.
func TestWorkersWireIdentical(t *testing.T) {
	ref := runTXScript(t, 1, nil)
	first := uint32(1<<32 - 100)
	// The script's switch at first+37: epoch 1 up to first+36, 2 from
	// first+37 (null lane frames are not in the record).
	for _, r := range ref.sealed {
		if d := int32(r.count - (first + 37)); d >= -20 && d < 0 && r.epoch != 1 || d >= 0 && d < 20 && r.epoch != 2 {
			t.Fatalf("W=1: COUNT %d sealed under epoch %d", r.count, r.epoch)
		}
	}
	st := ref.stats
	if st.TXKeySwitches != 4 || st.TXKeyExhausted != 2 || st.TXKeyReused != 1 || st.TXNullFrames == 0 || st.RoundsAnswered != 64 {
		t.Fatalf("the script did not run its course: %+v", st)
	}
	for _, w := range []int{2, 4} {
		for _, delayed := range []bool{false, true} {
			name := fmt.Sprintf("W=%d delays=%v", w, delayed)
			t.Run(name, func(t *testing.T) {
				var delay func(uint64)
				if delayed {
					delay = randomDelay(uint64(w))
				}
				got := runTXScript(t, w, delay)
				for i := range txFrames {
					if !bytes.Equal(got.frames[i], ref.frames[i]) {
						f, _ := framer.View(got.frames[i])
						t.Fatalf("frame %d differs from W=1 (COUNT field %d)", i, f.Count())
					}
				}
				if len(got.sealed) != len(ref.sealed) {
					t.Fatalf("%d frames sealed under testKeys, W=1 %d", len(got.sealed), len(ref.sealed))
				}
				for i := range ref.sealed {
					if got.sealed[i] != ref.sealed[i] {
						t.Fatalf("sealed record %d: %+v, W=1 %+v", i, got.sealed[i], ref.sealed[i])
					}
				}
				g, r := got.stats, ref.stats
				if g.TXKeySwitches != r.TXKeySwitches || g.TXKeyExhausted != r.TXKeyExhausted || g.TXKeyReused != r.TXKeyReused ||
					g.RoundsStarted < r.RoundsStarted || g.RoundsAnswered != r.RoundsAnswered {
					t.Fatalf("stats differ:\nW=%d %+v\nW=1 %+v", w, g, r)
				}
			})
		}
	}
}

// rxRecorder is a PayloadSink that records what it gets.
type rxRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (s *rxRecorder) Deliver(f *framer.Frame, count uint32, epoch uint8) {
	h := sha256.New()
	for r := range framer.Rows {
		h.Write(f.Row(r)[payFirst:framer.InfoCols])
	}
	s.recs = append(s.recs, fmt.Sprintf("%d/%d/%x", count, epoch, h.Sum(nil)[:8]))
}

func (s *rxRecorder) Lost() { s.recs = append(s.recs, "lost") }

// hostile turns the W = 1 TX capture into what an attacker on the line and
// a bad fibre deliver: replays, duplicates, forgeries (with a valid FEC),
// reordering, FEC-correctable and uncorrectable damage, an unknown epoch,
// lost alignment.
func hostile(frames [][]byte) (out [][]byte) {
	rng := rand.New(rand.NewPCG(9, 9))
	c := fec.New()
	for i := 0; i < len(frames); i++ {
		f := bytes.Clone(frames[i])
		switch r := rng.IntN(40); r {
		case 0:
			out = append(out, f, bytes.Clone(f)) // duplicate
			continue
		case 1:
			if i > 30 {
				out = append(out, bytes.Clone(frames[i-30])) // replay
			}
		case 2: // forged message byte, area FEC re-encoded
			g := bytes.Clone(f)
			g[framer.IntOff+7] ^= 0x40
			c.EncodeArea(g[framer.IntOff:])
			out = append(out, g)
		case 3: // reordered with the next
			if i+1 < len(frames) {
				out = append(out, bytes.Clone(frames[i+1]), f)
				i++
				continue
			}
		case 4: // correctable symbol errors
			for e := range 5 {
				f[framer.RowLen*(e%4)+(50+e*11)*16+e] ^= 0x3C
			}
		case 5: // a row codeword beyond the FEC
			for e := range 12 {
				f[2*framer.RowLen+(60+e*9)*16+5] ^= byte(0x81 + e)
			}
		case 6: // alignment lost
			f[0], f[1], f[2], f[3] = 0, 0, 0, 0
		case 7: // an epoch not held
			g := make([]byte, framer.FrameLen)
			v, _ := framer.View(g)
			s, _ := framer.NewSealer(0, framer.Options{})
			s.Seal(&v, &keys.Key{0x99}, uint32(1<<32-100+i), 99)
			out = append(out, g)
		}
		out = append(out, f)
	}
	return out
}

// rxRun is what an RX-only run recorded.
type rxRun struct {
	sink   []string
	counts []Count
	stats  Snapshot
	answer []toAnswer
	lanes  []string
}

// runRXScript feeds stream to a role-B RX alone (W workers), with the keys
// of the TX script installed ahead of their frames and the own rounds the
// TX script's answers refer to queued as if B's TX had started them.
func runRXScript(t *testing.T, w int, delay func(uint64), stream [][]byte) rxRun {
	t.Helper()
	testKeys := []keys.Key{{0xB1}, {0xB2}, {0xB3}, {0xB4}}
	sink := &rxRecorder{}
	var p *Port
	line := linetest.NewFeed(stream, noise.DefaultProfile())
	installAt := map[int]int{0: 0, 10: 1, 50: 2, 120: 3}
	other := keys.Key{0xEE}
	line.Before = func(i int) {
		if k, ok := installAt[i]; ok {
			if err := p.InstallRX(uint8(k+1), &testKeys[k]); err != nil {
				t.Error(err)
			}
		}
		// Another key under the current epoch, then the right one again:
		// the frames still in flight under the replaced key must open
		// with it (it may only be wiped once they are through), those in
		// between fail, and the right key comes back with a fresh window.
		switch i {
		case 300:
			if err := p.InstallRX(4, &other); err != nil {
				t.Error(err)
			}
		case 303:
			if err := p.InstallRX(4, &testKeys[3]); err != nil {
				t.Error(err)
			}
		}
	}
	var err error
	p, err = NewPort(Config{Role: RoleB, Line: line, Workers: w, Sink: sink, seed: &testSeed, workerDelay: delay, CountQueue: 4096})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 64 {
		o := p.ownQ.Slot()
		o.id = uint32(i + 1)
		for j := range o.x1 {
			o.x1[j], o.x2[j] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		p.ownQ.Commit()
	}
	stop := runStages(p, p.rxStages())
	<-line.Done
	if x := p.rx.par; x != nil {
		for x.freed.Load() < uint64(len(stream)) {
			runtime.Gosched()
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var run rxRun
	run.sink = sink.recs
	var c Count
	for p.Counts().Pop(&c) {
		run.counts = append(run.counts, c)
	}
	var a toAnswer
	for p.toAnsQ.Pop(&a) {
		run.answer = append(run.answer, a)
	}
	var buf [lane.MaxMsg]byte
	for {
		n, ok := p.LaneRecv(buf[:])
		if !ok {
			break
		}
		run.lanes = append(run.lanes, fmt.Sprintf("%x", sha256.Sum256(buf[:n])))
	}
	run.stats = p.Stats()
	return run
}

// TestWorkersRXIdentical: a hostile stream opened by W = 2 and 4 workers,
// with and without random delays, gives exactly what W = 1 gives: the
// frames the sink gets (COUNT, epoch, payload, in order), the round counts,
// the rounds queued for the TX, the lane messages and every RX counter.
// The replay window sees only authentic frames, in arrival order.
func TestWorkersRXIdentical(t *testing.T) {
	tx := runTXScript(t, 1, nil)
	stream := hostile(tx.frames)
	ref := runRXScript(t, 1, nil, stream)
	st := ref.stats
	t.Logf("W=1: %d frames fed, sink %d, counts %d, %+v", len(stream), len(ref.sink), len(ref.counts), st)
	if st.RXFrames < 300 || st.RXReplayed == 0 || st.RXAuthFailed == 0 || st.RXLostFAS == 0 || st.RXUnknownEpoch == 0 ||
		st.RXNullFrames == 0 || st.FECCorrected == 0 || st.FECUncorrected == 0 || st.BIPErrors == 0 || len(ref.counts) < 32 || len(ref.lanes) == 0 {
		t.Fatalf("the stream did not exercise the RX: %+v", st)
	}
	for _, w := range []int{2, 4} {
		for _, delayed := range []bool{false, true} {
			t.Run(fmt.Sprintf("W=%d delays=%v", w, delayed), func(t *testing.T) {
				var delay func(uint64)
				if delayed {
					delay = randomDelay(uint64(10 + w))
				}
				got := runRXScript(t, w, delay, stream)
				if len(got.sink) != len(ref.sink) {
					t.Fatalf("sink got %d frames, W=1 %d", len(got.sink), len(ref.sink))
				}
				for i := range ref.sink {
					if got.sink[i] != ref.sink[i] {
						t.Fatalf("sink frame %d: %s, W=1 %s", i, got.sink[i], ref.sink[i])
					}
				}
				if fmt.Sprint(got.counts) != fmt.Sprint(ref.counts) {
					t.Fatalf("round counts differ:\nW=%d %v\nW=1 %v", w, got.counts, ref.counts)
				}
				if fmt.Sprint(got.answer) != fmt.Sprint(ref.answer) || fmt.Sprint(got.lanes) != fmt.Sprint(ref.lanes) {
					t.Fatal("rounds to answer or lane messages differ")
				}
				if got.stats != ref.stats {
					t.Fatalf("stats differ:\nW=%d %+v\nW=1 %+v", w, got.stats, ref.stats)
				}
			})
		}
	}
}

// orderSink checks that the COUNTs it gets form one unbroken sequence.
type orderSink struct {
	n, breaks atomic.Uint64
	last      uint32
	started   bool
	lost      atomic.Uint64
}

func (s *orderSink) Deliver(_ *framer.Frame, count uint32, _ uint8) {
	if s.started && count != s.last+1 {
		s.breaks.Add(1)
	}
	s.started, s.last = true, count
	s.n.Add(1)
}

func (s *orderSink) Lost() { s.lost.Add(1) }

// TestWorkersPairFlow: two ports with two workers each, over an in-memory
// line, with rounds, the channel, the handshake lane and key switches at
// announced COUNTs: every frame reaches the far sink in one unbroken COUNT
// sequence, the rounds count at both ends, and the per-frame path
// allocates nothing (AllocsPerRun over frames of the running pipelines).
func TestWorkersPairFlow(t *testing.T) {
	for _, w := range []int{2, 4} {
		t.Run(fmt.Sprintf("W=%d", w), func(t *testing.T) {
			a, b := linetest.Pipe(8, noise.DefaultProfile())
			sinks := [2]*orderSink{{}, {}}
			var ports [2]*Port
			for i, l := range []Line{a, b} {
				var err error
				ports[i], err = NewPort(Config{Role: Role(i), Line: l, Workers: w, Sink: sinks[i], LaneEvery: 8, SoftLimit: 3000, HardLimit: 4000})
				if err != nil {
					t.Fatal(err)
				}
			}
			testKeys := [2][2]keys.Key{{{1}, {2}}, {{3}, {4}}} // [port][epoch-1]
			for i, p := range ports {
				if err := p.ScheduleTX(1, &testKeys[i][0], 0); err != nil {
					t.Fatal(err)
				}
				if err := ports[1-i].InstallRX(1, &testKeys[i][0]); err != nil {
					t.Fatal(err)
				}
				if err := p.SetLane(make([]byte, 300)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, p := range ports {
				wg.Add(1)
				go func() { defer wg.Done(); p.Run(ctx) }()
			}
			defer func() { cancel(); wg.Wait() }()
			var c Count
			var laneBuf [lane.MaxMsg]byte
			// pump drains what the controller would and waits until each
			// port has received n more frames.
			pump := func(n uint64) {
				want := [2]uint64{sinks[0].n.Load() + n, sinks[1].n.Load() + n}
				for sinks[0].n.Load() < want[0] || sinks[1].n.Load() < want[1] {
					for _, p := range ports {
						for p.Counts().Pop(&c) {
						}
						for {
							if _, ok := p.LaneRecv(laneBuf[:]); !ok {
								break
							}
						}
					}
					runtime.Gosched()
				}
			}
			pump(200)
			// Switch A→B to epoch 2 at a COUNT announced ahead, as the
			// controller does.
			if err := ports[1].InstallRX(2, &testKeys[0][1]); err != nil {
				t.Fatal(err)
			}
			at := ports[0].TXCount() + 100
			if err := ports[0].ScheduleTX(2, &testKeys[0][1], at); err != nil {
				t.Fatal(err)
			}
			if err := ports[0].Chan().Send([]byte("a control message over the workers")); err != nil {
				t.Fatal(err)
			}
			pump(300)
			if ports[0].TXEpoch() != 2 {
				t.Fatalf("the TX did not switch: epoch %d", ports[0].TXEpoch())
			}
			var msg [64]byte
			if n, ok := ports[1].Chan().Recv(msg[:]); !ok || string(msg[:n]) != "a control message over the workers" {
				t.Fatalf("channel message: %q %v", msg[:n], ok)
			}
			if a := testing.AllocsPerRun(20, func() { pump(16) }); a != 0 {
				t.Fatalf("%v allocations per 16 frames each way", a)
			}
			for i, s := range sinks {
				st := ports[i].Stats()
				if s.breaks.Load() != 0 || s.lost.Load() != 0 {
					t.Fatalf("port %d: the sink's COUNT sequence broke %d times (%d lost)", i, s.breaks.Load(), s.lost.Load())
				}
				if st.RXAuthFailed != 0 || st.RXReplayed != 0 || st.PayloadErrors != 0 || st.RXUnknownEpoch != 0 {
					t.Fatalf("port %d: %+v", i, st)
				}
				if st.CountsOwn == 0 || st.CountsPeer == 0 || st.RXNullFrames == 0 {
					t.Fatalf("port %d: rounds or lane not exercised: %+v", i, st)
				}
			}
		})
	}
}

// TestWorkersConfig: bad worker counts and CPU lists are refused with an
// error that names them; a good CPU list pins and runs.
func TestWorkersConfig(t *testing.T) {
	line := linetest.NewCapture(4)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Workers: -1}, "Workers -1"},
		{Config{Workers: MaxWorkers + 1}, "Workers 65"},
		{Config{CPUs: []int{-1}}, "CPU -1"},
		{Config{CPUs: []int{0, 0}}, "listed twice"},
		{Config{CPUs: []int{maxCPU - 1}}, "not among the CPUs"},
	} {
		tc.cfg.Line = line
		_, err := NewPort(tc.cfg)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Fatalf("%+v: %v, want an error naming %q", tc.cfg, err, tc.want)
		}
	}
	cpus, err := AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPort(Config{Line: linetest.NewCapture(64), Workers: 2, CPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if err := <-done; !errors.Is(err, linetest.ErrEnough) {
		t.Fatalf("pinned port: %v", err)
	}
	cancel()
	if p.Stats().TXFrames != 64 {
		t.Fatalf("%d frames", p.Stats().TXFrames)
	}
	th := p.Threads()
	if len(th) != 2+2+2*2 {
		t.Fatalf("threads %+v", th)
	}
	for _, x := range th {
		if x.TID <= 0 || x.CPU != p.cpuFor(txSide, -1) && x.CPU != p.cpuFor(rxSide, -1) && x.CPU != p.cpuFor(txSide, 0) && x.CPU != p.cpuFor(rxSide, 0) {
			t.Fatalf("thread %+v", x)
		}
	}
}
