package pair

import (
	"context"
	"encoding/binary"
	"math"
	"sync"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// Eve is an eavesdropper on a tap of the fibre. She receives every frame of
// both directions with soft samples of the negotiation bits carrying her own
// fibre noise, and builds her best estimate of each initiator's count: the
// expected number of errors the receivers' secret noise makes on the bits
// that enter the count (X1 at the responder, Y2 at the initiator), averaged
// over the secret σ range of the profile.
//
// To give her the best possible alignment, the simulation hands Eve the
// session keys so that she can find which frame carried which round; she
// uses them for that only. She never reads C1 or C2: with those and the
// keys the counts are not secret (see the package test), which is why the
// interaction area is encrypted.
type Eve struct {
	tap  *simfiber.Tap
	prof noise.Profile

	mu    sync.Mutex
	keys  [2][]rxKey
	part1 [2]map[uint32]float64 // by initiator end: X1 samples at the responder
	part2 [2]map[uint32]float64 // Y2 samples at the initiator
	real  [2]map[uint32]uint16  // the initiator's true counts

	pf [4096]float64 // expected flip probability by quantised |s − threshold|
}

type rxKey struct {
	epoch uint8
	key   keys.Key
}

const pfStep = 1.0 / 1024 // resolution of the pf table in sample units

func newEve(tap *simfiber.Tap, p noise.Profile) *Eve {
	e := &Eve{tap: tap, prof: p}
	for i := range 2 {
		e.part1[i], e.part2[i], e.real[i] = map[uint32]float64{}, map[uint32]float64{}, map[uint32]uint16{}
	}
	// pf(d) = E_σ[Q(d/σ)], σ uniform in [LocalSigmaMin, LocalSigmaMax].
	for i := range e.pf {
		d := float64(i) * pfStep
		sum := 0.0
		const n = 16
		for k := range n {
			sigma := p.LocalSigmaMin + (p.LocalSigmaMax-p.LocalSigmaMin)*(float64(k)+0.5)/n
			sum += 0.5 * math.Erfc(d/sigma/math.Sqrt2)
		}
		e.pf[i] = sum / n
	}
	return e
}

// learnKey records a key taking effect at a receiver (the receiver's key of
// that direction).
func (e *Eve) learnKey(ev link.KeyEvent) {
	if ev.TX {
		return
	}
	e.mu.Lock()
	e.keys[ev.Direction] = append(e.keys[ev.Direction], rxKey{epoch: ev.Epoch, key: *ev.Key})
	e.mu.Unlock()
}

// truth records an initiator's real count (to score Eve, not for her use).
func (e *Eve) truth(end int, c dataplane.Count) {
	e.mu.Lock()
	e.real[end][c.Round] = c.Value
	e.mu.Unlock()
}

func (e *Eve) run(ctx context.Context) error {
	var wg sync.WaitGroup
	for d := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); e.listen(d) }()
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// listen reads direction d until the tap closes.
func (e *Eve) listen(d int) {
	op, _ := framer.NewOpener(uint8(d), framer.Options{})
	buf := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	f, _ := framer.View(buf)
	var st framer.Stats
	var r ichan.AreaReader
	thr := float64(e.prof.Threshold())
	for {
		if err := e.tap.Recv(d, buf, soft); err != nil {
			return
		}
		e.mu.Lock()
		for _, k := range e.keys[d] {
			op.Install(k.epoch, &k.key)
		}
		e.keys[d] = e.keys[d][:0]
		e.mu.Unlock()
		if op.Open(&f, &st) != nil || st.Epoch == keys.NullEpoch || r.Reset(f.Interaction()) != nil {
			continue
		}
		for {
			typ, val, ok := r.Next()
			if !ok {
				break
			}
			switch {
			case typ == ichan.TypeOwnRound && len(val) == 4:
				// data1 of sender d: X1 is data1's even bytes; the
				// responder (end 1-d) decides them. Initiator: end d.
				s := e.sum(soft[:8*framer.DataLen], 0, thr)
				e.mu.Lock()
				e.part1[d][binary.BigEndian.Uint32(val)] = s
				e.mu.Unlock()
			case typ == ichan.TypeResponse && len(val) >= 4:
				// data2 of sender d answers a round of end 1-d: Y2 is
				// data2's odd bytes, decided by that round's initiator.
				s := e.sum(soft[8*framer.DataLen:], 1, thr)
				e.mu.Lock()
				e.part2[1-d][binary.BigEndian.Uint32(val)] = s
				e.mu.Unlock()
			}
		}
	}
}

// sum adds the expected flip probabilities of the samples of the bytes with
// parity par (0: even bytes = first array, 1: odd bytes = second array).
func (e *Eve) sum(soft []noise.Sample, par int, thr float64) float64 {
	s := 0.0
	for j := par; j < framer.DataLen; j += 2 {
		for k := range 8 {
			d := math.Abs(float64(soft[8*j+k]) - thr)
			i := int(d / pfStep)
			if i >= len(e.pf) {
				i = len(e.pf) - 1
			}
			s += e.pf[i]
		}
	}
	return s
}

// EveScore is how well Eve's estimates match one direction's initiator.
type EveScore struct {
	Rounds    int     // rounds with both an estimate and a true count
	Kept      int     // of those, outside the initiator's guard band
	Agreement float64 // fraction of kept rounds whose quantised bits agree
	// Correlation is Pearson's r between Eve's estimates and the counts.
	Correlation float64
	// Pairs holds up to 2000 (true count, Eve's estimate) pairs for plots.
	Pairs [][2]float64
}

// Score compares Eve's estimates with the initiators' true counts, with the
// initiator's quantisation (guard band alpha·σ around the mean).
func (e *Eve) Score(alpha float64) [2]EveScore {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out [2]EveScore
	for d := range 2 {
		var xs, ys []float64
		for id, c := range e.real[d] {
			p1, ok1 := e.part1[d][id]
			p2, ok2 := e.part2[d][id]
			if ok1 && ok2 {
				xs = append(xs, float64(c))
				ys = append(ys, p1+p2)
			}
		}
		out[d] = score(xs, ys, alpha)
	}
	return out
}

func score(xs, ys []float64, alpha float64) EveScore {
	s := EveScore{Rounds: len(xs)}
	if len(xs) < 2 {
		return s
	}
	mx, sx := meanStd(xs)
	my, sy := meanStd(ys)
	agree, cov := 0, 0.0
	for i := range xs {
		cov += (xs[i] - mx) * (ys[i] - my)
		if math.Abs(xs[i]-mx) <= alpha*sx {
			continue
		}
		s.Kept++
		if (xs[i] > mx) == (ys[i] > my) {
			agree++
		}
	}
	if s.Kept > 0 {
		s.Agreement = float64(agree) / float64(s.Kept)
	}
	if sx > 0 && sy > 0 {
		s.Correlation = cov / float64(len(xs)) / (sx * sy)
	}
	for i := 0; i < len(xs) && len(s.Pairs) < 2000; i++ {
		s.Pairs = append(s.Pairs, [2]float64{xs[i], ys[i]})
	}
	return s
}

func meanStd(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)))
}
