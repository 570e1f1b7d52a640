package negotiation

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

func TestFieldsPrimitive(t *testing.T) {
	for m := minFieldBits; m <= maxFieldBits; m++ {
		f := gf(m)
		seen := make([]bool, f.order+1)
		for i := range f.order {
			x := f.exp[i]
			if x == 0 || int(x) > f.order || seen[x] {
				t.Fatalf("m=%d: α^%d = %d repeats or is out of range: the polynomial is not primitive", m, i, x)
			}
			seen[x] = true
		}
		for ai := 1; ai <= f.order; ai += 1 + f.order/997 {
			a, b := uint16(ai), uint16(ai*7%f.order+1)
			if f.div(f.mul(a, b), b) != a {
				t.Fatalf("m=%d: (%d·%d)/%d != %d", m, a, b, b, a)
			}
		}
	}
	// The one-shot mode's field is this GF(2^10), of x^10 + x^3 + 1:
	// α^10 = α^3 + 1.
	if gf10() != gf(10) || gf(10).exp[10] != 1<<3|1 {
		t.Fatal("GF(2^10) is not the one-shot mode's field of x^10 + x^3 + 1")
	}
}

// slowSum evaluates S_j = Σ_{i: bit i} (α^j)^i over f by repeated
// multiplication.
func slowSum(f *field, bits []byte, j int) uint16 {
	aj := uint16(1)
	for range j {
		aj = f.mul(aj, 2)
	}
	var s uint16
	x := uint16(1)
	for _, b := range bits {
		if b == 1 {
			s ^= x
		}
		x = f.mul(x, aj)
	}
	return s
}

func TestOddSumsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 30, 525, 2047, 2100, 4000} {
		f := gf(fieldBits(n))
		bits := randomBits(rng, n)
		for _, from := range []int{0, 3} {
			s := make([]uint16, 6)
			f.oddSums(s, bits, from)
			for k := range s {
				if want := slowSum(f, bits, 2*(from+k)+1); s[k] != want {
					t.Fatalf("n=%d S_%d = %d, want %d", n, 2*(from+k)+1, s[k], want)
				}
			}
		}
	}
}

// decodeSteps runs an incDecoder over a block a (the initiator's) and b
// (the responder's) in steps of one odd sum from t0 until it accepts or
// reaches capT; it returns the decoded bits, the sums used and ok.
func decodeSteps(a, b []byte, t0, capT, confirm int) ([]byte, int, bool) {
	f := gf(fieldBits(len(a)))
	d := newIncDecoder(len(b))
	b = slices.Clone(b)
	for t := t0; ; t++ {
		first := len(d.syn)
		remote := make([]uint16, t-first)
		f.oddSums(remote, a, first)
		d.add(b, remote)
		if pos, ok := d.decode(confirm); ok {
			for _, p := range pos {
				b[p] ^= 1
			}
			return b, t, true
		}
		if t >= capT {
			return b, t, false
		}
	}
}

// TestIncrementalCorrects: every pattern of w disagreements is found
// exactly once enough sums are published (acceptAt), whatever the step.
func TestIncrementalCorrects(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	trials := 60
	if testing.Short() {
		trials = 15
	}
	for _, n := range []int{40, 525, 1998, 2100} {
		for _, w := range []int{0, 1, 2, 5, 12} {
			t.Run(fmt.Sprintf("n%d_w%d", n, w), func(t *testing.T) {
				for range trials {
					a := randomBits(rng, n)
					b := slices.Clone(a)
					for _, p := range rng.Perm(n)[:w] {
						b[p] ^= 1
					}
					got, used, ok := decodeSteps(a, b, 1, 200, DefaultConfirm)
					if !ok || !slices.Equal(got, a) {
						t.Fatalf("w=%d: ok=%v equal=%v after %d sums", w, ok, slices.Equal(got, a), used)
					}
					if want := acceptAt(n, w, DefaultConfirm); used > want {
						t.Fatalf("w=%d accepted at %d sums, acceptAt says %d", w, used, want)
					}
				}
			})
		}
	}
}

// TestFalseDecodeRate measures how often a pattern beyond the correction
// radius is accepted (a false "decoded") at one step with t sums and a low
// confirmation margin c, where the rule bounds it at about 2^−c: heavy
// patterns' syndromes fall on the ≤ 2^{m·t−c} syndromes of acceptable
// light patterns about uniformly. The test fails if the rate exceeds 2·2^−c
// by more than three standard deviations.
func TestFalseDecodeRate(t *testing.T) {
	trials := 20000
	if testing.Short() {
		trials = 3000
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ n, t, c int }{{525, 2, 6}, {525, 3, 8}, {525, 5, 8}, {525, 2, 2}, {2100, 3, 8}, {2100, 6, 6}, {2100, 2, 2}, {1998, 4, 10}} {
		t.Run(fmt.Sprintf("n%d_t%d_c%d", tc.n, tc.t, tc.c), func(t *testing.T) {
			f := gf(fieldBits(tc.n))
			accepted := 0
			for range trials {
				w := tc.t + 1 + rng.IntN(3*tc.t+3) // beyond the radius
				d := newIncDecoder(tc.n)
				e := make([]byte, tc.n)
				for _, p := range rng.Perm(tc.n)[:w] {
					e[p] = 1
				}
				remote := make([]uint16, tc.t)
				f.oddSums(remote, e, 0) // the disagreement pattern's sums: own bits all zero
				d.add(make([]byte, tc.n), remote)
				if _, ok := d.decode(tc.c); ok {
					accepted++
				}
			}
			// The accepted syndromes are those of the patterns of weight
			// ≤ lmax: a fraction |B_lmax| / 2^{m·t} ≤ 2^−c of all.
			lmax := 0
			for lmax < tc.t && confirmed(tc.n, f.m, tc.t, lmax+1, tc.c) {
				lmax++
			}
			want := math.Exp2(log2Ball(tc.n, lmax) - float64(f.m*tc.t))
			rate := float64(accepted) / float64(trials)
			t.Logf("%d of %d heavy patterns accepted: %.2g; uniform syndromes predict %.2g (L ≤ %d), the rule bounds it at 2^-%d = %.2g",
				accepted, trials, rate, want, lmax, tc.c, math.Ldexp(1, -tc.c))
			if bound := 2 * want; rate > bound+3*math.Sqrt(bound/float64(trials)) {
				t.Errorf("false decode rate %.3g above twice the prediction %.3g", rate, want)
			}
		})
	}
}

func TestLog2Ball(t *testing.T) {
	for _, tc := range []struct {
		n, l int
		want float64
	}{{10, 0, 0}, {10, 1, math.Log2(11)}, {10, 10, 10}, {525, 2, math.Log2(1 + 525 + 525*524/2)}} {
		if got := log2Ball(tc.n, tc.l); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("log2Ball(%d, %d) = %v, want %v", tc.n, tc.l, got, tc.want)
		}
	}
}

// openBlock feeds one block and runs Sift / SiftReply; it returns the
// initiator's first syndrome message (a Step or a Syndrome).
func openBlock(t *testing.T, tp *testPair) Message {
	t.Helper()
	tp.feed(tp.in.p.N)
	sift, err := tp.in.Next()
	if err != nil || sift == nil {
		t.Fatalf("Next: %v %v", sift, err)
	}
	reply, _, err := tp.rs.Handle(tp.wire(sift))
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := tp.in.Handle(tp.wire(reply))
	if err != nil {
		t.Fatal(err)
	}
	return first
}

// TestModeMismatchRefused: an incremental responder refuses a one-shot
// Syndrome and a one-shot responder refuses a Step, naming the parameter,
// and neither changes.
func TestModeMismatchRefused(t *testing.T) {
	for _, tc := range []struct{ ini, rsp Reconciliation }{{OneShot, Incremental}, {Incremental, OneShot}} {
		t.Run(tc.ini.String()+"_to_"+tc.rsp.String(), func(t *testing.T) {
			tp := newTestPair(t, modeParams(tc.ini), defaultSim(), 40)
			tp.rs, _ = NewResponder(modeParams(tc.rsp))
			m := openBlock(t, tp)
			before := responderState(tp.rs)
			_, _, err := tp.rs.Handle(tp.wire(m))
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "Reconciliation") {
				t.Fatalf("%v at a %v responder: %v", m.Type(), tc.rsp, err)
			}
			if responderState(tp.rs) != before {
				t.Fatal("the refused message changed the responder")
			}
		})
	}
}

// TestStepScheduleMismatch: a responder whose Params.Step differs refuses
// the initiator's second step.
func TestStepScheduleMismatch(t *testing.T) {
	p := DefaultParams()
	p.FirstStep, p.InitialQBER = 0.001, 1e-5 // a first step too short for the block: more steps follow
	tp := newTestPair(t, p, defaultSim(), 41)
	strict := p
	strict.Step = 2
	tp.rs, _ = NewResponder(strict)
	m := openBlock(t, tp)
	for range 50 {
		reply, _, err := tp.rs.Handle(tp.wire(m))
		if err != nil {
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "Params differ") {
				t.Fatalf("second step: %v", err)
			}
			return
		}
		if reply.(*StepReply).Status != StepMore {
			t.Fatalf("decoded after one step of %d sums: the test needs a shorter first step", len(m.(*Step).Sums))
		}
		if m, _, err = tp.in.Handle(tp.wire(reply)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no second step")
}

// TestHostileStepReplies: replies that contradict the schedule or the
// counts are refused and change nothing at the initiator.
func TestHostileStepReplies(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 42)
	m := openBlock(t, tp).(*Step)
	sent := m.First + len(m.Sums)
	capT := incCap(tp.in.p, m.Bits)
	before := initiatorState(tp.in)
	for _, r := range []*StepReply{
		{Header: m.Header, Status: StepDecoded, Sums: sent + 1, Corrected: 1}, // more sums than sent
		{Header: m.Header, Status: StepMore, Sums: sent - 1},                  // fewer
		{Header: m.Header, Status: StepFailed, Sums: sent},                    // gave up before the cap
		{Header: Header{Attempt: m.Attempt, Block: m.Block + 1}, Status: StepMore, Sums: sent},
		{Header: Header{Attempt: m.Attempt + 1, Block: m.Block}, Status: StepMore, Sums: sent},
	} {
		if _, _, err := tp.in.Handle(r); err == nil {
			t.Errorf("initiator took %+v", r)
		}
		if initiatorState(tp.in) != before {
			t.Fatalf("refused %+v changed the initiator", r)
		}
	}
	// At the cap, "more" is refused too.
	tp.in.t = capT
	if _, _, err := tp.in.Handle(&StepReply{Header: m.Header, Status: StepMore, Sums: capT}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("more at the cap: %v", err)
	}
}

// TestIncrementalLeakCounted recomputes a block's leak from the messages
// on the wire (m bits per odd sum, a status bit per reply, the corrected
// count in bits.Len(t) bits) and compares it with what both ends counted.
func TestIncrementalLeakCounted(t *testing.T) {
	p := DefaultParams()
	p.FirstStep, p.InitialQBER = 0.05, 1e-5 // several steps per block
	tp := newTestPair(t, p, defaultSim(), 43)
	leak := 0
	tp.tamper = func(b []byte) []byte {
		m, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *Step:
			leak += m.Field() * len(m.Sums)
		case *StepReply:
			leak++
			if m.Status == StepDecoded {
				leak += bits.Len(uint(m.Sums))
			}
		}
		return b
	}
	ri, rr := tp.nextSeed(10 * p.N)
	s := tp.in.Stats()
	if s.DecodeFailures != 0 || s.Steps <= s.Blocks {
		t.Fatalf("want decoded blocks of several steps: %+v", s)
	}
	if ri.LeakedBits != leak+TagBits || rr.LeakedBits != ri.LeakedBits || s.SyndromeBits != leak || tp.rs.Stats().SyndromeBits != leak {
		t.Fatalf("leak on the wire %d (+%d tag); counted: initiator %d, responder %d, stats %d / %d",
			leak, TagBits, ri.LeakedBits, rr.LeakedBits, s.SyndromeBits, tp.rs.Stats().SyndromeBits)
	}
	if ri.Bound != Bound(p, ri.KeptBits, ri.LeakedBits) || ri.Bound < ri.Seeds*SeedBits {
		t.Fatalf("bound: %v", ri)
	}
}

// TestReleaseOrder: a verified attempt's seeds come one per exchange, in
// order, identical at both ends and distinct; a Release out of order is
// refused, a retransmitted one answered without a second result.
func TestReleaseOrder(t *testing.T) {
	tp := newTestPair(t, DefaultParams(), defaultSim(), 44)
	ri, rr := tp.nextSeed(10 * tp.in.p.N)
	if ri.Seeds < 2 {
		t.Fatalf("want an attempt of several seeds at the default profile: %v", ri)
	}
	rel, ok := tp.next.(*Release)
	if !ok || rel.Index != 1 {
		t.Fatalf("pending after the first seed: %v", tp.next)
	}
	skip := *rel
	skip.Index = 2
	before := responderState(tp.rs)
	if _, _, err := tp.rs.Handle(&skip); !errors.Is(err, ErrUnexpected) || responderState(tp.rs) != before {
		t.Fatalf("Release out of order: %v", err)
	}
	if _, _, err := tp.rs.Handle(&Sift{Header: Header{Attempt: ri.Attempt + 1}, siftBody: siftBody{Lo: 1 << 30, Span: 8, Bitmap: []byte{0xff}}}); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("Sift while seeds are released: %v", err)
	}
	reply, res, err := tp.rs.Handle(tp.wire(rel))
	if err != nil || res == nil {
		t.Fatalf("Release: %v %v", res, err)
	}
	again, res2, err := tp.rs.Handle(tp.wire(rel))
	if err != nil || res2 != nil || again != reply {
		t.Fatalf("retransmitted Release: %v %v %v", again, res2, err)
	}
	next, resI, err := tp.in.Handle(tp.wire(reply))
	if err != nil || resI == nil || resI.Seed != res.Seed || resI.Index != 1 {
		t.Fatalf("ReleaseReply: %v %v", resI, err)
	}
	if resI.Seed == ri.Seed || resI.Seed != res.Seed || ri.Seed != rr.Seed {
		t.Fatal("seeds of one attempt repeat or differ between the ends")
	}
	a, b := *ri, *resI
	a.Seed, b.Seed, a.Index, b.Index = keys.Seed{}, keys.Seed{}, 0, 0
	if a != b {
		t.Fatalf("results of one attempt differ beyond seed and index:\n%v\n%v", ri, resI)
	}
	tp.next = next
}
