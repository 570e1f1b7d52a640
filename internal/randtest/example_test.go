package randtest_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/otkd/otkd/internal/randtest"
)

// ExampleRunAll tests 4096 concatenated 256-bit keys, here drawn from a fixed
// ChaCha8 stream, at α = 0.01.
func ExampleRunAll() {
	keys := make([]byte, 4096*32)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(keys)
	rep := randtest.RunAll(randtest.FromBytes(keys), randtest.Alpha)
	fmt.Println(rep.N, len(rep.Results), rep.Passed())
	// Output: 1048576 22 true
}

// ExampleFrequency runs one test and handles a sequence that is too short.
func ExampleFrequency() {
	bits, _ := randtest.FromString("1011010101")
	_, err := randtest.Frequency(bits)
	fmt.Println(err)
	// Output: randtest: Frequency needs at least 100 bits, have 10
}
