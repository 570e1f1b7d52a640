// Package testmain is the TestMain of otkd's packages that start
// goroutines or open files: it runs a package's tests and fails the run
// when goroutines or file descriptors the tests started outlive them. A
// test that leaves a pipeline, a server, a pusher or a socket behind would
// otherwise pass and leak into every test that follows, in CI and in the
// daemon alike.
//
// Use it as the whole TestMain:
//
//	func TestMain(m *testing.M) { testmain.Main(m) }
//
// or call Run between a package's own set-up and tear-down (building a
// binary, re-executing itself as a child process) and exit with its code.
//
// The check compares what the process holds after the tests with what it
// held before them, by goroutine id and by descriptor number and target, and
// waits up to Settle for stragglers (servers shutting down, the testing
// package's own goroutines) before it reports. Goroutines and descriptors
// the Go runtime keeps for the life of the process (the network poller, the
// signal loop) are not leaks. It checks only a run that passed, and not a
// fuzzing run (the fuzzer's workers keep their own).
package testmain

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/internal/race"
)

// Settle is how long Run waits for the goroutines and descriptors of the
// tests to go away; the race detector slows shutdowns, so it waits longer
// there.
var Settle = 5 * time.Second

func init() {
	if race.Enabled {
		Settle = 15 * time.Second
	}
}

// Main runs m's tests, checks for leaks and exits with the result.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs m's tests and returns the exit code: m.Run's, or 1 when the
// tests passed but left goroutines or file descriptors behind (each listed
// on stderr: a goroutine with its stack, a descriptor with its target).
func Run(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	g0, fd0 := goroutines(), descriptors()
	code := m.Run()
	if code != 0 || fuzzing() {
		return code
	}
	var leaks []string
	for deadline := time.Now().Add(Settle); ; time.Sleep(20 * time.Millisecond) {
		leaks = leaked(g0, fd0)
		if len(leaks) == 0 {
			return code
		}
		if time.Now().After(deadline) {
			break
		}
	}
	fmt.Fprintf(os.Stderr, "testmain: the tests passed but left %d goroutines or file descriptors behind:\n\n%s\n",
		len(leaks), strings.Join(leaks, "\n\n"))
	return 1
}

func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// leaked lists the goroutines and descriptors that are not in g0 and fd0
// and are not the runtime's own.
func leaked(g0 map[int]string, fd0 map[string]string) []string {
	var out []string
	for id, stack := range goroutines() {
		if _, ok := g0[id]; !ok && !benignGoroutine(stack) {
			out = append(out, stack)
		}
	}
	for fd, target := range descriptors() {
		if t0, ok := fd0[fd]; (!ok || t0 != target) && !benignDescriptor(target) {
			out = append(out, fmt.Sprintf("file descriptor %s -> %s", fd, target))
		}
	}
	slices.Sort(out)
	return out
}

// benignStacks mark goroutines that live as long as the process once
// started: not the tests' to stop.
var benignStacks = []string{
	"os/signal.signal_recv", "os/signal.loop", // signal.Notify's loop
	"testing.(*M).startAlarm", "testing.runTests", "testing.(*M).Run",
	"runtime.ensureSigM",
	"created by os/signal.Notify",
}

func benignGoroutine(stack string) bool {
	for _, s := range benignStacks {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutines returns every goroutine's stack by id, the caller's excluded.
func goroutines() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the caller
		}
		head, _, _ := strings.Cut(g, " [")
		id, err := strconv.Atoi(strings.TrimPrefix(head, "goroutine "))
		if err == nil {
			out[id] = strings.TrimSpace(g)
		}
	}
	return out
}

// descriptors returns the process's open file descriptors and their
// targets (nil where /proc is not mounted: no check then).
func descriptors() map[string]string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, e := range ents {
		t, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory being read, closed by now
		}
		out[e.Name()] = t
	}
	return out
}

// benignDescriptor: the network poller's epoll and wake-up descriptors,
// created on the first network use and kept by the runtime.
func benignDescriptor(target string) bool {
	return target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]" ||
		strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/fd")
}
