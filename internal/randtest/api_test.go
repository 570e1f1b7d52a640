package randtest

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestBits(t *testing.T) {
	b, err := FromString("1011010101")
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 10 || b.Bit(0) != 1 || b.Bit(1) != 0 || b.Bit(9) != 1 {
		t.Errorf("FromString: %v", b)
	}
	if p := b.Prefix(3); p.Len() != 3 || string(p.unpack()) != "\x01\x00\x01" {
		t.Errorf("Prefix(3): %v", p.unpack())
	}
	if p := b.Prefix(20); p.Len() != 10 {
		t.Errorf("Prefix(20) has %d bits", p.Len())
	}
	if _, err := FromString("10x1"); !errors.Is(err, ErrBadParam) {
		t.Errorf("FromString(10x1): %v", err)
	}
	src := []byte{0xA5}
	fb := FromBytes(src)
	src[0] = 0
	if fb.Len() != 8 || fb.Bit(0) != 1 || fb.Bit(1) != 0 || fb.Bit(7) != 1 {
		t.Errorf("FromBytes does not copy or reads the wrong bit order")
	}
}

// TestMinimumLengths checks that each test rejects one bit less than its
// minimum with an error naming the minimum, and accepts the minimum.
func TestMinimumLengths(t *testing.T) {
	tests := []struct {
		name string
		run  func(Bits) (Result, error)
		min  int
	}{
		{"Frequency", Frequency, 100},
		{"BlockFrequency", func(b Bits) (Result, error) { return BlockFrequency(b, 128) }, 128},
		{"Poker", func(b Bits) (Result, error) { return Poker(b, 8) }, 10240},
		{"Serial", func(b Bits) (Result, error) { return Serial(b, 5) }, 256},
		{"Runs", Runs, 100},
		{"RunsDistribution", RunsDistribution, 100},
		{"LongestRunOfOnes", LongestRunOfOnes, 128},
		{"BinaryDerivative", func(b Bits) (Result, error) { return BinaryDerivative(b, 7) }, 107},
		{"Autocorrelation", func(b Bits) (Result, error) { return Autocorrelation(b, 16) }, 116},
		{"Rank", Rank, 38912},
		{"CumulativeSums", CumulativeSums, 100},
		{"ApproximateEntropy", func(b Bits) (Result, error) { return ApproximateEntropy(b, 5) }, 2048},
		{"LinearComplexity", func(b Bits) (Result, error) { return LinearComplexity(b, 500) }, 100000},
		{"Universal", Universal, 387840},
		{"DFT", DFT, 1000},
	}
	long := FromBytes(chachaBytes(goodSeed, 387840/8))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.run(long.Prefix(tc.min - 1))
			var short *ShortError
			if !errors.As(err, &short) || !errors.Is(err, ErrTooShort) || short.Min != tc.min {
				t.Fatalf("%d bits: error %v, want a ShortError with minimum %d", tc.min-1, err, tc.min)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.name) || !strings.Contains(msg, strconv.Itoa(tc.min)) {
				t.Errorf("message %q does not name the test and minimum", msg)
			}
			res, err := tc.run(long.Prefix(tc.min))
			if err != nil || len(res.P) == 0 || res.Name != tc.name {
				t.Errorf("%d bits: %+v, %v", tc.min, res, err)
			}
		})
	}
}

func TestBadParams(t *testing.T) {
	b := FromBytes(make([]byte, 1<<14))
	calls := map[string]func() (Result, error){
		"Poker m=0":                func() (Result, error) { return Poker(b, 0) },
		"Serial m=1":               func() (Result, error) { return Serial(b, 1) },
		"ApproximateEntropy m=17":  func() (Result, error) { return ApproximateEntropy(b, 17) },
		"LinearComplexity M=100":   func() (Result, error) { return LinearComplexity(b, 100) },
		"BinaryDerivative k=0":     func() (Result, error) { return BinaryDerivative(b, 0) },
		"Autocorrelation d=0":      func() (Result, error) { return Autocorrelation(b, 0) },
		"LinearComplexity M=10000": func() (Result, error) { return LinearComplexity(b, 10000) },
	}
	for name, call := range calls {
		if _, err := call(); !errors.Is(err, ErrBadParam) {
			t.Errorf("%s: %v, want ErrBadParam", name, err)
		}
	}
}

func TestResultPassAt(t *testing.T) {
	r := newResult("Serial", "m=2", 0.02, 0.5)
	if !r.Pass || r.PassAt(0.05) || !r.PassAt(0.01) || r.Label() != "Serial m=2" {
		t.Errorf("%+v", r)
	}
	if newResult("X", "", 0.5, nanP()).Pass {
		t.Error("a NaN p-value passed")
	}
}

func nanP() float64 { var zero float64; return zero / zero }
