package keysync

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines outlive the tests (pushers,
// platform servers, idle TLS connections). Fuzzing is left alone: its
// workers keep goroutines of their own.
func TestMain(m *testing.M) {
	flag.Parse()
	before := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		code = leakCheck(before)
	}
	os.Exit(code)
}

func leakCheck(before int) int {
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	fmt.Fprintf(os.Stderr, "leaked goroutines: %d before, %d after\n%s\n",
		before, runtime.NumGoroutine(), strings.TrimSpace(stacks))
	return 1
}
