package randtest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// mbit is the length the battery tests use: 4096 seed keys of 256 bits, the
// sample otkd tests its key negotiation with.
const mbit = 1 << 20

// goodSeed is a ChaCha8 seed whose first Mbit passes every test at α = 0.01.
// Any fixed seed keeps the test deterministic; one that happened to fail a test
// (which 1 in 4 or so would) was not chosen.
var goodSeed = [32]byte{1}

func chachaBytes(seed [32]byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b) // never fails
	return b
}

func TestRunAllPassesChaCha8(t *testing.T) {
	rep := RunAll(FromBytes(chachaBytes(goodSeed, mbit/8)), Alpha)
	if !rep.Passed() || len(rep.Results) != len(battery) {
		t.Fatalf("a ChaCha8 stream did not pass:\n%s", rep)
	}
	t.Logf("\n%s", rep)
}

// badSequences are Mbit sequences that a working battery must reject, each with
// a test that must be among the failures.
func badSequences() []struct {
	name     string
	bits     []byte
	mustFail string
} {
	alternating := make([]byte, mbit/8)
	for i := range alternating {
		alternating[i] = 0x55
	}
	biased := make([]byte, mbit/8)
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	for i := range mbit {
		if r.Float64() < 0.55 {
			biased[i/8] |= 0x80 >> (i % 8)
		}
	}
	period := chachaBytes([32]byte{3}, 1024/8)
	periodic := make([]byte, 0, mbit/8)
	for len(periodic) < mbit/8 {
		periodic = append(periodic, period...)
	}
	return []struct {
		name     string
		bits     []byte
		mustFail string
	}{
		{"all zeros", make([]byte, mbit/8), "Frequency"},
		{"alternating 0101", alternating, "Runs"},
		{"55% ones", biased, "Frequency"},
		{"period 1024", periodic, "Rank"},
	}
}

func TestRunAllRejectsBadSequences(t *testing.T) {
	for _, tc := range badSequences() {
		t.Run(tc.name, func(t *testing.T) {
			rep := RunAll(FromBytes(tc.bits), Alpha)
			if rep.Passed() {
				t.Fatalf("passed:\n%s", rep)
			}
			failed := rep.Failed()
			if !slices.ContainsFunc(failed, func(r Result) bool { return r.Name == tc.mustFail }) {
				t.Errorf("%s did not fail:\n%s", tc.mustFail, rep)
			}
			t.Logf("%d of %d tests failed", len(failed), len(rep.Results))
		})
	}
}

func TestRunAllShortSequence(t *testing.T) {
	rep := RunAll(FromBytes(chachaBytes(goodSeed, 2000)), 0)
	if rep.Passed() || len(rep.Errors) == 0 || rep.Alpha != Alpha {
		t.Fatalf("16000 bits: want Universal and others not run, got\n%s", rep)
	}
	if s := rep.String(); !strings.Contains(s, "Universal needs at least 387840 bits") {
		t.Errorf("report does not name the Universal minimum:\n%s", s)
	}
}

func TestProportionRule(t *testing.T) {
	tests := []struct {
		passed, total int
		ok            bool
	}{
		{100, 100, true},
		{97, 100, true},  // range is 0.99 ± 0.0298
		{96, 100, false}, // 0.96 < 0.9602
		{990, 1000, true},
		{980, 1000, false},
		{9, 10, true}, // 0.9 ≥ 0.8956
		{8, 9, false}, // 0.889 < 0.8905
		{0, 0, false},
	}
	for _, tc := range tests {
		if got := ProportionRule(tc.passed, tc.total, 0.01); got.OK != tc.ok {
			t.Errorf("%d/%d: %+v, want OK=%v", tc.passed, tc.total, got, tc.ok)
		}
	}
}

func TestProportions(t *testing.T) {
	rep := func(ps ...float64) Report {
		return Report{Alpha: 0.01, Results: []Result{
			{Name: "Frequency", P: ps[:1]},
			{Name: "Serial", Params: "m=2", P: ps[1:]},
		}}
	}
	var reps []Report
	for i := range 100 {
		p := 0.5
		if i < 5 {
			p = 0.001
		}
		reps = append(reps, rep(0.5, p, 0.5))
	}
	got := Proportions(reps)
	want := []Proportion{
		{Label: "Frequency", Passed: 100, Total: 100, OK: true},
		{Label: "Serial m=2 P1", Passed: 95, Total: 100, OK: false},
		{Label: "Serial m=2 P2", Passed: 100, Total: 100, OK: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d proportions, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Label != w.Label || g.Passed != w.Passed || g.Total != w.Total || g.OK != w.OK {
			t.Errorf("%+v, want %+v", g, w)
		}
	}
}

// BenchmarkRunAll1Mbit times the whole battery on one Mbit (2^20 bits); the
// Mbit/s figure is the rate at which key material can be certified.
func BenchmarkRunAll1Mbit(b *testing.B) {
	bits := FromBytes(chachaBytes(goodSeed, mbit/8))
	b.SetBytes(mbit / 8)
	b.ReportAllocs()
	for b.Loop() {
		RunAll(bits, Alpha)
	}
	b.ReportMetric(float64(b.N)*mbit/1e6/b.Elapsed().Seconds(), "Mbit/s")
}
