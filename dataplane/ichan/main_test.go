package ichan

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run when a test leaves goroutines behind (the
// goroutine tests must stop their TX, RX and controller loops).
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		n := runtime.NumGoroutine()
		// The testing package's own goroutines take a moment to exit,
		// longer under -race: wait up to 0.5 s, once, at exit.
		for i := 0; i < 500 && n > before; i++ {
			time.Sleep(time.Millisecond)
			n = runtime.NumGoroutine()
		}
		if n > before {
			buf := make([]byte, 1<<16)
			fmt.Fprintf(os.Stderr, "ichan: %d goroutines leaked\n%s", n-before, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}
