package api_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines outlive the tests: every server must
// stop with its context and every client must drop its connections.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := goroutinesSettle(before); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func goroutinesSettle(want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			return fmt.Errorf("goroutines leaked: %d, want %d\n%s", runtime.NumGoroutine(), want,
				strings.TrimSpace(string(buf[:n])))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
