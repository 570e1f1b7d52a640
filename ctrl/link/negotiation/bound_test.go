package negotiation

import (
	"math"
	"testing"
)

func TestBoundTable(t *testing.T) {
	def := DefaultParams()
	with := func(eta, eps float64) Params {
		p := def
		p.EntropyPerBit, p.Epsilon = eta, eps
		return p
	}
	e64, e80 := math.Ldexp(1, -64), math.Ldexp(1, -80)
	tests := []struct {
		name         string
		p            Params
		kept, leaked int
		want         int
	}{
		{"no leak", def, 1000, 0, 500 - 128},
		{"one default block falls short", def, 523, blockLeak(523, 7) + TagBits, 261 - 74 - 64 - 128},
		{"three default blocks suffice", def, 1569, 3*blockLeak(523, 7) + TagBits, 784 - 3*74 - 64 - 128},
		{"exactly 256", with(1, e64), 448, 64, 256},
		{"smaller epsilon costs 32 bits", with(1, e80), 448, 64, 224},
		{"fractional entropy floors", with(0.37, e64), 1001, 0, 370 - 128},
		{"leak beyond entropy", def, 100, 200, 50 - 200 - 128},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bound(tc.p, tc.kept, tc.leaked); got != tc.want {
				t.Errorf("Bound(kept %d, leaked %d) = %d, want %d", tc.kept, tc.leaked, got, tc.want)
			}
		})
	}
}

func TestLeakAccounting(t *testing.T) {
	tests := []struct{ k, t, syn, reply int }{
		{0, 0, 0, 1},
		{523, 7, 70, 1 + 3},      // corrected ≤ 7: 3 bits
		{523, 8, 80, 1 + 4},      // corrected ≤ 8: 4 bits
		{1024, 5, 2 * 50, 1 + 4}, // two chunks, corrected ≤ 10
	}
	for _, tc := range tests {
		if got := syndromeLeak(tc.k, tc.t); got != tc.syn {
			t.Errorf("syndromeLeak(%d,%d) = %d, want %d", tc.k, tc.t, got, tc.syn)
		}
		if got := replyLeak(tc.k, tc.t); got != tc.reply {
			t.Errorf("replyLeak(%d,%d) = %d, want %d", tc.k, tc.t, got, tc.reply)
		}
	}
}

func TestChooseT(t *testing.T) {
	for _, tc := range []struct {
		k      int
		q, tgt float64
	}{{523, 0.004, 1e-3}, {523, 0.02, 1e-3}, {523, 0.05, 1e-2}, {2000, 0.004, 1e-3}} {
		got := chooseT(tc.k, tc.q, tc.tgt)
		_, n := chunkBounds(tc.k, 0)
		c := float64(chunkCount(tc.k))
		if binomialTail(n, got, tc.q) > tc.tgt/c {
			t.Errorf("chooseT(%v) = %d misses the target", tc, got)
		}
		if got > 1 && binomialTail(n, got-1, tc.q) <= tc.tgt/c {
			t.Errorf("chooseT(%v) = %d is not the smallest", tc, got)
		}
		t.Logf("K=%d q=%.3f target=%g: t=%d", tc.k, tc.q, tc.tgt, got)
	}
}

func TestBinomialTail(t *testing.T) {
	// P(X > 0) for Binomial(10, 0.5) = 1 − 2^-10; P(X > 9) = 2^-10.
	if got := binomialTail(10, 0, 0.5); math.Abs(got-(1-1.0/1024)) > 1e-12 {
		t.Errorf("P(X>0) = %v", got)
	}
	if got := binomialTail(10, 9, 0.5); math.Abs(got-1.0/1024) > 1e-12 {
		t.Errorf("P(X>9) = %v", got)
	}
	if binomialTail(10, 10, 0.5) != 0 {
		t.Error("P(X>n) != 0")
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Params){
		func(p *Params) { p.N = 511 },
		func(p *Params) { p.N = MaxBlockRounds + 1 },
		func(p *Params) { p.Alpha = -1 },
		func(p *Params) { p.Alpha = math.NaN() },
		func(p *Params) { p.Epsilon = 1e-10 },
		func(p *Params) { p.Epsilon = 0 },
		func(p *Params) { p.EntropyPerBit = 0 },
		func(p *Params) { p.EntropyPerBit = 1.5 },
		func(p *Params) { p.InitialQBER = 0.3 },
		func(p *Params) { p.TargetFailure = 1 },
		func(p *Params) { p.MaxBlocks = 0 },
		func(p *Params) { p.MaxBlocks = 65 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: %+v accepted", i, p)
		}
	}
}

func TestAttemptAddWipesOldBuffer(t *testing.T) {
	var a attempt
	a.add([]byte{1, 1, 1})
	old := a.bits[:cap(a.bits)]
	for len(a.bits) < cap(old) {
		a.add([]byte{1})
	}
	a.add([]byte{1}) // forces growth
	for _, b := range old {
		if b != 0 {
			t.Fatal("grown-out buffer not zeroised")
		}
	}
	if len(a.bits) != cap(old)+1 {
		t.Fatalf("len %d", len(a.bits))
	}
	a.wipe()
	if len(a.bits) != 0 || a.bits[:cap(a.bits)][0] != 0 {
		t.Fatal("wipe left bits")
	}
}
