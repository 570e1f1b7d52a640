package randtest

import (
	"errors"
	"fmt"
	"strings"
)

// Alpha is the significance level of SP 800-22 and GM/T 0005: a test passes when
// every p-value it returns is at least Alpha.
const Alpha = 0.01

// ErrTooShort is matched (errors.Is) by every *ShortError.
var ErrTooShort = errors.New("randtest: sequence too short")

// ErrBadParam is wrapped by errors about a test parameter outside its range.
var ErrBadParam = errors.New("randtest: bad parameter")

// ShortError reports a sequence shorter than a test's minimum length.
type ShortError struct {
	Test string // test name, e.g. "Universal"
	Min  int    // minimum number of bits the test accepts with these parameters
	Have int    // number of bits given
}

func (e *ShortError) Error() string {
	return fmt.Sprintf("randtest: %s needs at least %d bits, have %d", e.Test, e.Min, e.Have)
}

// Unwrap returns ErrTooShort.
func (e *ShortError) Unwrap() error { return ErrTooShort }

// needBits returns a *ShortError if have < min.
func needBits(test string, have, min int) error {
	if have < min {
		return &ShortError{Test: test, Min: min, Have: have}
	}
	return nil
}

// badParam returns an error wrapping ErrBadParam with test's name.
func badParam(test, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadParam, test, fmt.Sprintf(format, args...))
}

// Result is the outcome of one test on one sequence.
type Result struct {
	Name   string    // test name, e.g. "Serial"
	Params string    // parameters, e.g. "m=5"; empty if none
	P      []float64 // p-values, in the order the test's doc comment gives
	Alpha  float64   // significance level Pass was decided at
	Pass   bool      // every p-value ≥ Alpha
}

// newResult returns the Result of a test decided at the package's Alpha.
func newResult(name, params string, p ...float64) Result {
	r := Result{Name: name, Params: params, P: p}
	r.Alpha, r.Pass = Alpha, r.PassAt(Alpha)
	return r
}

// PassAt reports whether every p-value is at least alpha. A NaN p-value fails.
func (r Result) PassAt(alpha float64) bool {
	for _, p := range r.P {
		if !(p >= alpha) {
			return false
		}
	}
	return len(r.P) > 0
}

// Label returns the name and parameters, e.g. "Serial m=5".
func (r Result) Label() string {
	if r.Params == "" {
		return r.Name
	}
	return r.Name + " " + r.Params
}

// Report is the outcome of RunAll on one sequence.
type Report struct {
	N       int      // sequence length in bits
	Alpha   float64  // significance level
	Results []Result // tests that ran, in battery order
	Errors  []error  // tests that could not run (mostly *ShortError)
}

// Passed reports whether the whole battery ran and every test passed. A test that
// could not run counts as not passed: a sequence too short for the battery has
// not shown that it passes it.
func (r Report) Passed() bool {
	return len(r.Errors) == 0 && len(r.Results) > 0 && len(r.Failed()) == 0
}

// Failed returns the results that did not pass.
func (r Report) Failed() []Result {
	var f []Result
	for _, res := range r.Results {
		if !res.Pass {
			f = append(f, res)
		}
	}
	return f
}

// String formats the report as a table, one row per test.
func (r Report) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "randomness tests: n=%d bits, alpha=%g\n", r.N, r.Alpha)
	fmt.Fprintf(&sb, "%-34s %-21s %s\n", "test", "p-value(s)", "result")
	for _, res := range r.Results {
		ps := make([]string, len(res.P))
		for i, p := range res.P {
			ps[i] = fmt.Sprintf("%.6f", p)
		}
		verdict := "pass"
		if !res.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(&sb, "%-34s %-21s %s\n", res.Label(), strings.Join(ps, " "), verdict)
	}
	for _, err := range r.Errors {
		fmt.Fprintf(&sb, "not run: %v\n", err)
	}
	verdict := "PASSED"
	if !r.Passed() {
		verdict = fmt.Sprintf("NOT PASSED (%d failed, %d not run)", len(r.Failed()), len(r.Errors))
	}
	fmt.Fprintf(&sb, "%s\n", verdict)
	return sb.String()
}
