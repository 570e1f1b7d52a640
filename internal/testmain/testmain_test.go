package testmain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// parkedLeak blocks until stop is closed: a goroutine a test forgot.
func parkedLeak(stop chan struct{}) { <-stop }

// TestLeakedGoroutine: a goroutine started after the snapshot is reported
// with its stack, and no longer once it has ended.
func TestLeakedGoroutine(t *testing.T) {
	g0, fd0 := goroutines(), descriptors()
	stop := make(chan struct{})
	go parkedLeak(stop)
	parked := func(l []string) bool { return len(l) == 1 && strings.Contains(l[0], "testmain.parkedLeak") }
	if l := settle(g0, fd0, parked); len(l) != 1 || !strings.Contains(l[0], "testmain.parkedLeak") {
		t.Fatalf("leaks %q, want the parked goroutine", l)
	}
	close(stop)
	if l := settle(g0, fd0, func(l []string) bool { return len(l) == 0 }); len(l) != 0 {
		t.Fatalf("leaks %q after the goroutine ended", l)
	}
}

// TestLeakedDescriptor: a file left open is reported with its path, and
// no longer once closed.
func TestLeakedDescriptor(t *testing.T) {
	g0, fd0 := goroutines(), descriptors()
	if fd0 == nil {
		t.Skip("no /proc/self/fd here")
	}
	path := filepath.Join(t.TempDir(), "left-open")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if l := leaked(g0, fd0); len(l) != 1 || !strings.Contains(l[0], path) {
		f.Close()
		t.Fatalf("leaks %q, want %s", l, path)
	}
	f.Close()
	if l := leaked(g0, fd0); len(l) != 0 {
		t.Fatalf("leaks %q after the file was closed", l)
	}
}

// settle polls leaked until done says so or a second passed.
func settle(g0 map[int]string, fd0 map[string]string, done func([]string) bool) []string {
	for range 100 {
		if l := leaked(g0, fd0); done(l) {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	return leaked(g0, fd0)
}
