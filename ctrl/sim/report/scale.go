package report

import (
	"math"
	"strconv"
	"strings"
)

// span is a data range [lo, hi] widened to whole tick steps.
type span struct {
	lo, hi, step float64
}

// maxTicks bounds the tick loop whatever the arithmetic does.
const maxTicks = 30

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceSpan returns an axis covering [lo, hi] in about n steps of 1, 2 or 5
// times a power of ten. A degenerate or non-finite range gets a usable one.
func niceSpan(lo, hi float64, n int) span {
	if !finite(lo) || !finite(hi) {
		return span{0, 1, 0.2}
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		pad := math.Max(math.Abs(lo)*0.1, 0.5)
		lo, hi = lo-pad, hi+pad
	}
	// Halved so that ±MaxFloat64 does not overflow.
	raw := (hi/2 - lo/2) / float64(n) * 2
	if !finite(raw) || raw <= 0 {
		return span{0, 1, 0.2}
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			step = m * mag
			break
		}
	}
	s := span{math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step}
	if !finite(s.lo) || !finite(s.hi) || s.hi <= s.lo {
		return span{lo, hi, hi/float64(n) - lo/float64(n)}
	}
	return s
}

// tightSpan is like niceSpan but the axis ends at lo and hi exactly; the
// ticks are still whole steps.
func tightSpan(lo, hi float64, n int) span {
	s := niceSpan(lo, hi, n)
	if finite(lo) && finite(hi) && lo < hi {
		s.lo, s.hi = lo, hi
	}
	return s
}

// frac maps v into [0, 1] over the span (outside for values outside it).
func (s span) frac(v float64) float64 {
	return (v/2 - s.lo/2) / (s.hi/2 - s.lo/2) // halved against overflow
}

// ticks returns the tick values of the span, at most maxTicks+1 of them.
func (s span) ticks() []float64 {
	var out []float64
	first := math.Ceil(s.lo/s.step-1e-9) * s.step
	if !finite(first) {
		first = s.lo
	}
	for i := 0; i <= maxTicks; i++ {
		v := first + float64(i)*s.step
		if !finite(v) { // near ±MaxFloat64
			v = 2 * (first/2 + float64(i)*(s.step/2))
		}
		if v > s.hi+s.step*1e-6 || !finite(v) {
			break
		}
		if math.Abs(v) < s.step*1e-9 {
			v = 0
		}
		out = append(out, v)
	}
	return out
}

// label formats a tick value with as many decimals as the step needs.
func (s span) label(v float64) string {
	if math.Max(math.Abs(s.lo), math.Abs(s.hi)) >= 1e7 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	dec := 0
	if s.step > 0 && s.step < 1 {
		dec = int(math.Ceil(-math.Log10(s.step) - 1e-9))
	}
	return trimNegZero(strconv.FormatFloat(v, 'f', dec, 64))
}

// coord formats a pixel coordinate with at most one decimal. Non-finite values
// become 0 and huge ones are clamped, so the SVG always holds numbers.
func coord(v float64) string {
	switch {
	case math.IsNaN(v):
		v = 0
	case v > 1e5:
		v = 1e5
	case v < -1e5:
		v = -1e5
	}
	return strings.TrimSuffix(trimNegZero(strconv.FormatFloat(v, 'f', 1, 64)), ".0")
}

func trimNegZero(s string) string {
	if strings.Trim(s, "-0.") == "" {
		return strings.TrimPrefix(s, "-")
	}
	return s
}

// fixed formats v with dec decimals, or "n/a" if it is not finite.
func fixed(v float64, dec int) string {
	if !finite(v) {
		return "n/a"
	}
	return trimNegZero(strconv.FormatFloat(v, 'f', dec, 64))
}

// percent formats a fraction as a percentage with dec decimals.
func percent(v float64, dec int) string {
	if !finite(v) {
		return "n/a"
	}
	return fixed(v*100, dec) + " %"
}

// thousands formats n with thin spaces between groups of three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(c)
	}
	return b.String()
}

// integer formats a signed count like thousands.
func integer(n int) string {
	if n < 0 {
		return "-" + thousands(uint64(-n))
	}
	return thousands(uint64(n))
}
