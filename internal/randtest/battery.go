package randtest

import (
	"fmt"
	"math"
)

// battery lists the tests RunAll runs, with the parameters GM/T 0005 uses for
// 10⁶-bit sequences where it fixes them and the SP 800-22 recommendations
// otherwise.
var battery = []func(Bits) (Result, error){
	Frequency,
	func(b Bits) (Result, error) { return BlockFrequency(b, 0) },
	func(b Bits) (Result, error) { return Poker(b, 4) },
	func(b Bits) (Result, error) { return Poker(b, 8) },
	func(b Bits) (Result, error) { return Serial(b, 2) },
	func(b Bits) (Result, error) { return Serial(b, 5) },
	Runs,
	RunsDistribution,
	LongestRunOfOnes,
	func(b Bits) (Result, error) { return BinaryDerivative(b, 3) },
	func(b Bits) (Result, error) { return BinaryDerivative(b, 7) },
	func(b Bits) (Result, error) { return Autocorrelation(b, 1) },
	func(b Bits) (Result, error) { return Autocorrelation(b, 2) },
	func(b Bits) (Result, error) { return Autocorrelation(b, 8) },
	func(b Bits) (Result, error) { return Autocorrelation(b, 16) },
	Rank,
	CumulativeSums,
	func(b Bits) (Result, error) { return ApproximateEntropy(b, 2) },
	func(b Bits) (Result, error) { return ApproximateEntropy(b, 5) },
	func(b Bits) (Result, error) { return LinearComplexity(b, 0) },
	Universal,
	DFT,
}

// RunAll runs every test of the package on bits and decides each at alpha
// (Alpha if alpha ≤ 0). Tests the sequence is too short for are listed in
// Report.Errors. All tests run for sequences of at least 387840 bits; 10⁶ bits
// or more is what the standards assume.
func RunAll(bits Bits, alpha float64) Report {
	if alpha <= 0 {
		alpha = Alpha
	}
	rep := Report{N: bits.Len(), Alpha: alpha}
	for _, test := range battery {
		res, err := test(bits)
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		res.Alpha, res.Pass = alpha, res.PassAt(alpha)
		rep.Results = append(rep.Results, res)
	}
	return rep
}

// Proportion is the SP 800-22 §4.2.1 proportion rule applied to one test over
// many sequences.
type Proportion struct {
	Label    string  // test and p-value, e.g. "Serial m=5 P1"; empty from ProportionRule
	Passed   int     // sequences that passed
	Total    int     // sequences tested
	Observed float64 // Passed/Total
	Low      float64 // acceptable range: p̂ ± 3·√(p̂(1−p̂)/Total), p̂ = 1−alpha
	High     float64
	OK       bool // Observed within [Low, High]
}

// ProportionRule decides whether passed out of total sequences is an acceptable
// proportion at significance level alpha: within p̂ ± 3·√(p̂(1−p̂)/total) with
// p̂ = 1−alpha. The rule is meant for total of about 1/alpha or more; at
// alpha = 0.01 and fewer than 10 sequences a single failure is already outside
// the range.
func ProportionRule(passed, total int, alpha float64) Proportion {
	p := 1 - alpha
	margin := 3 * math.Sqrt(p*(1-p)/float64(total))
	obs := float64(passed) / float64(total)
	return Proportion{
		Passed: passed, Total: total, Observed: obs,
		Low: p - margin, High: p + margin,
		OK: total > 0 && obs >= p-margin && obs <= p+margin,
	}
}

// Proportions applies the proportion rule to each p-value of each test across
// the reports, at the first report's alpha. A test counts over the reports in
// which it ran. Labels keep battery order.
func Proportions(reports []Report) []Proportion {
	if len(reports) == 0 {
		return nil
	}
	alpha := reports[0].Alpha
	var order []string
	passed, total := map[string]int{}, map[string]int{}
	for _, rep := range reports {
		for _, res := range rep.Results {
			for i, p := range res.P {
				label := res.Label()
				if len(res.P) > 1 {
					label = fmt.Sprintf("%s P%d", label, i+1)
				}
				if _, seen := total[label]; !seen {
					order = append(order, label)
				}
				total[label]++
				if p >= alpha {
					passed[label]++
				}
			}
		}
	}
	props := make([]Proportion, len(order))
	for i, label := range order {
		props[i] = ProportionRule(passed[label], total[label], alpha)
		props[i].Label = label
	}
	return props
}
