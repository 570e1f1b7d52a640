package sp80090b

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// ref is one estimator's published output from the reference
// implementation (its selftest reference data, printed with -vv): the
// final estimate and the intermediate values it prints.
type ref struct {
	name   string
	h      float64
	detail map[string]float64
}

// rand1Short is the reference output for its 10 000-bit sample input
// rand1_short.bin (testdata/, one bit per byte).
var rand1Short = []ref{
	{"Most Common Value", 0.96105882570055079, map[string]float64{"Mode count": 5008, "p-hat": 0.50080000000000002, "p_u": 0.51367977403722886}},
	{"Collision", 0.69146412099724186, map[string]float64{"v": 4013, "Sum t_i": 10000, "X-bar": 2.4919013207076999,
		"sigma-hat": 0.49999670809559466, "X-bar'": 2.47157074650488, "p": 0.61922510955147203}},
	{"Markov", 0.98759610445940904, map[string]float64{"P_0": 0.49919999999999998, "P_1": 0.50080000000000002,
		"P_{0,0}": 0.49489080344620318, "P_{0,1}": 0.50510919655379682, "P_{1,0}": 0.50359424920127793,
		"P_{1,1}": 0.49640575079872207, "p-hat_max": 8.8329437846494303e-39}},
	{"Compression", 0.61171620479394506, map[string]float64{"X-bar": 5.2322840424169268, "sigma-hat": 1.0295215682119498,
		"X-bar'": 5.1295260964851117, "p": 0.07854715169871973}},
	{"t-Tuple", 0.86762443081707374, map[string]float64{"t": 9, "p-hat_max": 0.5352007027872665, "p_u": 0.54804853523673636}},
	{"LRS", 0.96262580383278706, map[string]float64{"u": 10, "v": 25, "p-hat": 0.50024235643935155, "p_u": 0.51312214544969137}},
	{"MultiMCW Prediction", 0.95261806053262654, map[string]float64{"C": 5006, "r": 13, "N": 9937,
		"P_global": 0.50377377478112106, "P_global'": 0.51669396543410306}},
	{"Lag Prediction", 0.9433337065757712, map[string]float64{"C": 5071, "r": 18, "N": 9999,
		"P_global": 0.50715071507150711, "P_global'": 0.52002983240629286}},
	{"MultiMMC Prediction", 0.96161666782888089, map[string]float64{"C": 5005, "r": 19, "N": 9998,
		"P_global": 0.50060012002400478, "P_global'": 0.51348118957041589}},
	{"LZ78Y Prediction", 0.96144624595247796, map[string]float64{"C": 4998, "r": 19, "N": 9983,
		"P_global": 0.50065110688169889, "P_global'": 0.51354184937316061}},
}

// The reference outputs for its two 1 000 000-bit sample inputs
// (truerand_1bit.bin and biased-random-bits.bin), checked when
// OTKD_SP80090B_DIR names a directory holding them.
var (
	trueRand1Bit = []ref{
		{"Most Common Value", 0.99504301513122573, map[string]float64{"Mode count": 500433, "p_u": 0.50172091481279224}},
		{"Collision", 0.90093572690822665, map[string]float64{"v": 400078, "Sum t_i": 999999, "X-bar'": 2.4974739206155063}},
		{"Markov", 0.99848647555611059, map[string]float64{"P_{1,1}": 0.50052554592831799}},
		{"Compression", 0.82967708323406131, map[string]float64{"X-bar": 5.2152990022175647, "p": 0.03172881608928213}},
		{"t-Tuple", 0.91422636745977381, map[string]float64{"t": 16, "p-hat_max": 0.52934264357354366}},
		{"LRS", 0.98581833722719769, map[string]float64{"u": 17, "v": 39, "p-hat": 0.50365134530399536}},
		{"MultiMCW Prediction", 0.99697224801623707, map[string]float64{"C": 499731, "r": 20, "N": 999937}},
		{"Lag Prediction", 0.99829166636629973, map[string]float64{"C": 499304, "r": 23, "N": 999999}},
		{"MultiMMC Prediction", 0.99665994380395218, map[string]float64{"C": 499870, "r": 20, "N": 999998}},
		{"LZ78Y Prediction", 0.99705004757897153, map[string]float64{"C": 499727, "r": 20, "N": 999983}},
	}
	biasedBits = []ref{
		{"Most Common Value", 0.028633069781464748, map[string]float64{"Mode count": 979988}},
		{"Collision", 0.028513792826295892, map[string]float64{"v": 490415, "p": 0.98042977738018067}},
		{"Markov", 0.029123023940057065, map[string]float64{"p-hat_max": 0.075480769220803628}},
		{"Compression", 0.017766579116465196, map[string]float64{"X-bar": 0.71412876245517609, "p": 0.92877466571109557}},
		{"t-Tuple", 0.026489257053631029, map[string]float64{"t": 513, "p-hat_max": 0.98145911043718781}},
		{"LRS", 0.055881394003087538, map[string]float64{"u": 514, "v": 585, "p-hat": 0.96151101766964431}},
		{"MultiMCW Prediction", 0.028634892142081356, map[string]float64{"C": 979925, "r": 534}},
		{"Lag Prediction", 0.040599763274887825, map[string]float64{"C": 959838, "r": 527, "P_local": 0.97225067522872544}},
		{"MultiMMC Prediction", 0.02863458625634421, map[string]float64{"C": 979985, "r": 534}},
		{"LZ78Y Prediction", 0.028635020154766919, map[string]float64{"C": 979970, "r": 534}},
	}
)

// close reports whether got matches the reference's printed want: integers
// exactly, real numbers to 1e-9 relative (the roots of §6.3.4 and §6.3.7
// are found by searches that stop at slightly different points).
func close(got, want float64) bool {
	if want == math.Trunc(want) && math.Abs(want) < 1e15 && math.Abs(want) >= 1 {
		return got == want
	}
	return math.Abs(got-want) <= 1e-9*math.Max(math.Abs(want), 1e-300) || math.Abs(got-want) < 1e-12
}

func checkRefs(t *testing.T, r Report, refs []ref) {
	t.Helper()
	byName := map[string]Estimate{}
	for _, e := range r.Estimates {
		byName[e.Name] = e
	}
	want := 1.0
	for _, rf := range refs {
		e, ok := byName[rf.name]
		if !ok || !e.Ran {
			t.Errorf("%s: not run", rf.name)
			continue
		}
		if !close(e.MinEntropy, rf.h) {
			t.Errorf("%s: min-entropy %.17g, reference %.17g", rf.name, e.MinEntropy, rf.h)
		}
		keys := make([]string, 0, len(rf.detail))
		for k := range rf.detail {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if got, ok := e.Detail[k]; !ok || !close(got, rf.detail[k]) {
				t.Errorf("%s: %s = %.17g, reference %.17g", rf.name, k, got, rf.detail[k])
			}
		}
		want = min(want, rf.h)
	}
	if !close(r.MinEntropy, want) {
		t.Errorf("assessed min-entropy %.17g, reference %.17g", r.MinEntropy, want)
	}
}

func load(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReferenceShortSample compares every estimate and intermediate value
// with the reference implementation's output on its 10 000-bit sample.
func TestReferenceShortSample(t *testing.T) {
	r, err := NonIID(load(t, filepath.Join("testdata", "rand1_short.bin")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)
	checkRefs(t, r, rand1Short)
}

// TestReferenceMillionBits compares with the reference's outputs on its
// 1 000 000-bit samples (a fair and a heavily biased source) when
// OTKD_SP80090B_DIR names the directory holding truerand_1bit.bin and
// biased-random-bits.bin.
func TestReferenceMillionBits(t *testing.T) {
	dir := os.Getenv("OTKD_SP80090B_DIR")
	if dir == "" || testing.Short() {
		t.Skip("set OTKD_SP80090B_DIR to the directory of the reference's sample inputs")
	}
	for _, tc := range []struct {
		file string
		refs []ref
	}{{"truerand_1bit.bin", trueRand1Bit}, {"biased-random-bits.bin", biasedBits}} {
		t.Run(tc.file, func(t *testing.T) {
			r, err := NonIID(load(t, filepath.Join(dir, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", r)
			checkRefs(t, r, tc.refs)
		})
	}
}

// TestTupleCountsAgainstNaive checks the suffix-array tuple counts against
// direct counting of every tuple.
func TestTupleCountsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 17, 200, 1500} {
		for _, p1 := range []float64{0.5, 0.9} {
			s := make([]byte, n)
			for i := range s {
				if rng.Float64() < p1 {
					s[i] = 1
				}
			}
			q, pairs := tupleCounts(s)
			v := len(q) - 1
			for w := 1; w <= v+1 && w <= n; w++ {
				count := map[string]int{}
				for i := 0; i+w <= n; i++ {
					count[string(s[i:i+w])]++
				}
				best, pr := 0, int64(0)
				for _, c := range count {
					best = max(best, c)
					pr += int64(c) * int64(c-1) / 2
				}
				if w > v {
					if best != 1 {
						t.Fatalf("n=%d: a %d-tuple repeats beyond the LRS length %d", n, w, v)
					}
					continue
				}
				if q[w] != best || pairs[w] != pr {
					t.Fatalf("n=%d p1=%v W=%d: q %d pairs %d, naive %d %d", n, p1, w, q[w], pairs[w], best, pr)
				}
			}
		}
	}
}

func TestSuffixArraySorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := make([]byte, 3000)
	for i := range s {
		s[i] = byte(rng.IntN(2))
		if i > 1000 && i < 1400 {
			s[i] = s[i-100] // long repeats
		}
	}
	sa := suffixArray(s)
	for i := 1; i < len(sa); i++ {
		if string(s[sa[i-1]:]) >= string(s[sa[i]:]) {
			t.Fatalf("suffixes %d and %d out of order", sa[i-1], sa[i])
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range [][]byte{nil, {1}, {0, 1, 2}} {
		if _, err := NonIID(in); !errors.Is(err, ErrInput) {
			t.Errorf("%v: %v", in, err)
		}
	}
	r, err := NonIID([]byte{0, 1, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.String(), "not run") {
		t.Errorf("a 5-bit input ran every estimator:\n%s", r)
	}
}
