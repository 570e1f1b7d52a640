package randtest

import (
	"math"
	"testing"
)

// bitsOf unpacks a string of '0'/'1' for the unexported test functions, which
// run the worked examples below the exported functions' length minimums.
func bitsOf(t *testing.T, s string) []uint8 {
	t.Helper()
	b, err := FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b.unpack()
}

// TestWorkedExamples checks the worked examples of SP 800-22 rev 1a §2. The
// published p-values have six or seven significant digits.
func TestWorkedExamples(t *testing.T) {
	const eps100 = "11001001000011111101101010100010001000010110100011" +
		"00001000110100110001001100011001100010100010111000"
	tests := []struct {
		name string
		run  func(x []uint8) Result
		bits string
		want []float64
	}{
		{"Frequency §2.1.4", frequency, "1011010101", []float64{0.527089}},
		{"Frequency §2.1.8", frequency, eps100, []float64{0.109599}},
		{"BlockFrequency §2.2.4", func(x []uint8) Result { return blockFrequency(x, 3) },
			"0110011010", []float64{0.801252}},
		{"Runs §2.3.4", runs, "1001101011", []float64{0.147232}},
		{"CumulativeSums forward §2.13.4", func(x []uint8) Result {
			return newResult("", "", cusum(x, false))
		}, "1011010111", []float64{0.4116588}},
		{"ApproximateEntropy §2.12.4", func(x []uint8) Result { return approximateEntropy(x, 3) },
			"0100110101", []float64{0.261961}},
		{"Serial §2.11.4", func(x []uint8) Result { return serial(x, 3) },
			"0011011101", []float64{0.808792, 0.670320}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run(bitsOf(t, tc.bits)).P
			if len(got) != len(tc.want) {
				t.Fatalf("got %d p-values, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				if math.Abs(got[i]-w) > 1e-6 {
					t.Errorf("P[%d] = %.7f, want %.7f", i, got[i], w)
				}
			}
		})
	}
}
