package report

import (
	"math"
	"testing"
	"time"
)

// FuzzWrite checks that any numbers give a page whose plots are
// well-formed SVG holding finite coordinates only.
func FuzzWrite(f *testing.F) {
	f.Add(1.0, 2.0, 3.0, 4.0, int64(time.Second), 0.03, uint8(3))
	f.Add(math.NaN(), math.Inf(1), math.Inf(-1), 0.0, int64(0), math.NaN(), uint8(1))
	f.Add(math.MaxFloat64, -math.MaxFloat64, 5e-324, -0.0, int64(-5), 1e300, uint8(200))
	f.Fuzz(func(t *testing.T, a, b, c, e float64, at int64, dis float64, n uint8) {
		d := &Data{Duration: time.Duration(at)}
		x := &d.Directions[0]
		x.Counts = [][2]float64{{a, b}, {c, e}, {a, e}}
		x.Eve = [][2]float64{{b, a}, {e, c}}
		x.EveCorrelation, x.EveAgreement, x.Kept, x.Rounds = a, b, int(n), int(n)
		for i := range int(n) {
			x.Seeds = append(x.Seeds, Seed{At: time.Duration(at) * time.Duration(i), Disagreement: dis * float64(i), Match: i%7 != 3})
		}
		checkNumbers(t, svgs(t, render(t, d)))
	})
}
