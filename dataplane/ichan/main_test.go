package ichan

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

// TestMain fails the run when a test leaves goroutines behind (the
// goroutine tests must stop their TX, RX and controller loops).
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		n := runtime.NumGoroutine()
		for i := 0; i < 1000 && n > before; i++ {
			runtime.Gosched()
			n = runtime.NumGoroutine()
		}
		if n > before {
			fmt.Fprintf(os.Stderr, "ichan: %d goroutines leaked\n", n-before)
			code = 1
		}
	}
	os.Exit(code)
}
