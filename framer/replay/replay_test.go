package replay

import (
	"math/rand/v2"
	"testing"
)

// reference is the slow, obviously right filter: every COUNT accepted, and
// the highest one.
type reference struct {
	seen    map[uint32]bool
	last    uint32
	started bool
}

// accept is the filter's contract written plainly: serial-number order
// (RFC 1982) around the highest COUNT, a set of every COUNT accepted.
func (r *reference) accept(n uint32) Verdict {
	behind := int64(int32(r.last - n)) // > 0: n is behind the highest
	if r.started && behind >= Window {
		return TooOld
	}
	if r.seen[n] {
		return Replay
	}
	r.seen[n] = true
	if !r.started || behind < 0 {
		r.last = n
	}
	r.started = true
	return OK
}

// TestAgainstReference runs the filter and the reference side by side over
// random streams: in order, reordered, duplicated, replayed from far back,
// with jumps forward.
func TestAgainstReference(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var f Filter
		ref := reference{seen: map[uint32]bool{}}
		base := uint32(rng.IntN(1 << 20))
		if seed%4 == 0 {
			base = 1<<32 - 1<<14 // near the top: the COUNTs cross the wrap
		}
		next := base
		var sent []uint32
		for range 30000 {
			var n uint32
			switch k := rng.IntN(100); {
			case k < 70 || len(sent) == 0: // in order
				n = next
				next++
			case k < 80: // reordered: one of the last few
				n = sent[len(sent)-1-rng.IntN(min(len(sent), 16))]
			case k < 90: // replayed from anywhere
				n = sent[rng.IntN(len(sent))]
			case k < 95: // a jump forward
				next += uint32(rng.IntN(3 * Window))
				n = next
				next++
			default: // around the edge of the window
				n = ref.last - Window + uint32(rng.IntN(3)) - 1
			}
			if int32(n-base) < 0 {
				continue
			}
			sent = append(sent, n)
			if got, want := f.Accept(n), ref.accept(n); got != want {
				t.Fatalf("seed %d: COUNT %d (highest %d): filter says %v, reference %v", seed, n, ref.last, got, want)
			}
		}
	}
}

func TestVerdicts(t *testing.T) {
	var f Filter
	steps := []struct {
		n    uint32
		want Verdict
	}{
		{0, OK}, {0, Replay}, {5, OK}, {3, OK}, {3, Replay}, {4, OK},
		{5000, OK}, {5000 - Window + 1, OK}, {5000 - Window, TooOld}, {4, TooOld},
		{5000 + 100*64, OK}, {5000, TooOld}, // a jump beyond the ring clears it all
		{5000 + 100*64 - 1, OK},
		{1<<32 - 1, TooOld},             // serial order: 11 400 behind, not ahead
		{5000 + 100*64 + 1<<31 - 1, OK}, // 2^31 − 1 ahead is ahead
	}
	for i, s := range steps {
		if got := f.Accept(s.n); got != s.want {
			t.Fatalf("step %d: Accept(%d) = %v, want %v", i, s.n, got, s.want)
		}
	}
	// Across the wrap of COUNT at 2^32.
	f.Reset()
	wrap := []struct {
		n    uint32
		want Verdict
	}{
		{1<<32 - 2, OK}, {1<<32 - 1, OK}, {0, OK}, {1, OK}, {1<<32 - 1, Replay}, {0, Replay},
		{1<<32 - 3, OK}, {1<<32 + 1 - Window + 1, OK}, {1<<32 + 1 - Window, TooOld}, {100, OK}, {99, OK},
	}
	for i, s := range wrap {
		if got := f.Accept(s.n); got != s.want {
			t.Fatalf("wrap step %d: Accept(%d) = %v, want %v", i, s.n, got, s.want)
		}
	}
	f.Reset()
	if f.Accept(0) != OK || f.Highest() != 0 {
		t.Fatal("Reset did not empty the window")
	}
}

func TestNoAlloc(t *testing.T) {
	var f Filter
	n := uint32(0)
	if a := testing.AllocsPerRun(1000, func() { f.Accept(n); n += 3 }); a != 0 {
		t.Fatalf("%v allocations per Accept", a)
	}
}

// BenchmarkAcceptInOrder is the common case: every frame one COUNT ahead.
func BenchmarkAcceptInOrder(b *testing.B) {
	var f Filter
	b.ReportAllocs()
	n := uint32(0)
	for b.Loop() {
		f.Accept(n)
		n++
	}
}

// BenchmarkAcceptReordered mixes in-window reordering and duplicates.
func BenchmarkAcceptReordered(b *testing.B) {
	var f Filter
	rng := rand.New(rand.NewPCG(1, 2))
	seq := make([]uint32, 4096)
	for i := range seq {
		seq[i] = uint32(i) + uint32(rng.IntN(8))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.Accept(seq[i&4095] + uint32(i&^4095))
		i++
	}
}
