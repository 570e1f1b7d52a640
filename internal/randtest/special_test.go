package randtest

import (
	"math"
	"testing"
)

// igamcInt is Q(n,x) for integer n in closed form, e^(−x)·Σ_{k<n} x^k/k!,
// summed in logs so that large n and x do not overflow.
func igamcInt(n int, x float64) float64 {
	sum := 0.0
	for k := 0; k < n; k++ {
		lg, _ := math.Lgamma(float64(k + 1))
		sum += math.Exp(float64(k)*math.Log(x) - x - lg)
	}
	return sum
}

// igamcHalf is Q(n+½,x) in closed form, erfc(√x) + e^(−x)·Σ_{k<n} x^(k+½)/Γ(k+3/2).
func igamcHalf(n int, x float64) float64 {
	sum := math.Erfc(math.Sqrt(x))
	for k := 0; k < n; k++ {
		lg, _ := math.Lgamma(float64(k) + 1.5)
		sum += math.Exp((float64(k)+0.5)*math.Log(x) - x - lg)
	}
	return sum
}

func TestIgamcClosedForms(t *testing.T) {
	xs := []float64{1e-6, 0.01, 0.3, 0.5, 1, 1.5, 2.5, 4, 7.5, 10, 20, 31, 50, 64, 80, 100, 128, 140, 200, 300}
	for _, n := range []int{1, 2, 3, 5, 8, 16, 32, 64, 127, 128, 512} {
		for _, x := range xs {
			checkClose(t, "Q(n,x)", float64(n), x, igamc(float64(n), x), igamcInt(n, x))
			checkClose(t, "Q(n+½,x)", float64(n)+0.5, x, igamc(float64(n)+0.5, x), igamcHalf(n, x))
		}
	}
	for _, x := range xs {
		checkClose(t, "Q(½,x)", 0.5, x, igamc(0.5, x), math.Erfc(math.Sqrt(x)))
	}
}

// checkClose accepts a relative error of 1e-9, or an absolute one of 1e-300 for
// values that underflow.
func checkClose(t *testing.T, what string, a, x, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Abs(want)+1e-300 {
		t.Errorf("%s a=%g x=%g: got %.15g, want %.15g", what, a, x, got, want)
	}
}

func TestIgamcKnownValues(t *testing.T) {
	tests := []struct {
		a, x, want, tol float64
	}{
		{1.5, 0.5, 0.801252, 1e-6}, // SP 800-22 §2.2.4 block frequency example
		{1, 0, 1, 0},
		{1, math.Inf(1), 0, 0},
		{1, 1, math.Exp(-1), 1e-15},
		{2, 2, 3 * math.Exp(-2), 1e-15},
		{0.5, 1, math.Erfc(1), 1e-15},
	}
	for _, tc := range tests {
		if got := igamc(tc.a, tc.x); math.Abs(got-tc.want) > tc.tol {
			t.Errorf("igamc(%g, %g) = %.10g, want %.10g", tc.a, tc.x, got, tc.want)
		}
	}
	for _, a := range []float64{0, -1, math.NaN()} {
		if got := igamc(a, 1); !math.IsNaN(got) {
			t.Errorf("igamc(%g, 1) = %g, want NaN", a, got)
		}
	}
}

// TestIgamcMonotone checks that Q falls in x and stays in [0,1] across the
// switch between series and continued fraction.
func TestIgamcMonotone(t *testing.T) {
	for _, a := range []float64{0.5, 1, 2.5, 3, 31.5, 127.5, 4096} {
		prev := 1.0
		for x := 0.0; x < 3*a+50; x += a / 64 {
			q := igamc(a, x)
			if q < 0 || q > 1 || q > prev+1e-15 {
				t.Fatalf("igamc(%g, %g) = %g after %g", a, x, q, prev)
			}
			prev = q
		}
	}
}
