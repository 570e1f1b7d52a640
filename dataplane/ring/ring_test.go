package ring

import (
	"runtime"
	"sync"
	"testing"
)

func TestOrderAndBounds(t *testing.T) {
	r := New[int](3)
	if r.Cap() != 4 {
		t.Fatalf("cap %d", r.Cap())
	}
	for i := range 4 {
		v := i
		if !r.Push(&v) {
			t.Fatalf("push %d refused", i)
		}
	}
	v := 9
	if r.Push(&v) || r.Slot() != nil {
		t.Fatal("full queue accepted a push")
	}
	for i := range 4 {
		var got int
		if !r.Pop(&got) || got != i {
			t.Fatalf("pop %d = %d", i, got)
		}
	}
	if r.Peek() != nil || r.Len() != 0 {
		t.Fatal("empty queue returned an item")
	}
}

// TestConcurrent moves 200 000 items between two goroutines; under -race
// this also proves the hand-off is properly ordered.
func TestConcurrent(t *testing.T) {
	type item struct {
		seq uint64
		pay [6]uint64
	}
	n := uint64(200_000)
	if testing.Short() {
		n = 20_000
	}
	r := New[item](64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(0); i < n; {
			s := r.Slot()
			if s == nil {
				runtime.Gosched()
				continue
			}
			s.seq = i
			for k := range s.pay {
				s.pay[k] = i * uint64(k+1)
			}
			r.Commit()
			i++
		}
	}()
	for i := uint64(0); i < n; {
		s := r.Peek()
		if s == nil {
			runtime.Gosched()
			continue
		}
		if s.seq != i {
			t.Fatalf("got %d, want %d", s.seq, i)
		}
		for k := range s.pay {
			if s.pay[k] != i*uint64(k+1) {
				t.Fatalf("item %d torn", i)
			}
		}
		r.Release()
		i++
	}
	wg.Wait()
}

func TestNoAlloc(t *testing.T) {
	r := New[[64]byte](8)
	var v [64]byte
	if a := testing.AllocsPerRun(100, func() { r.Push(&v); r.Pop(&v) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
