package client

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
)

// TestConcurrent runs the four sides on their own goroutines: a client
// reader that sends at the pace of its ring, then as fast as it can, the TX and RX frame loops (one
// goroutine here, Fill then Deliver on the same frame), and a client writer
// that sleeps in WaitOut. Every frame is delivered in order and exact, or
// counted as a tail drop at either ring; the race detector watches the
// hand-offs.
func TestConcurrent(t *testing.T) {
	const n = 3000
	a, _ := New(Config{TXQueue: 32, RXQueue: 8})
	b, _ := New(Config{TXQueue: 32, RXQueue: 64})
	sent := make([][]byte, n)
	for i := range sent {
		sent[i] = testFrame(uint64(i+1), 60+(i*37)%1459)
	}
	var wg sync.WaitGroup
	readerDone := make(chan struct{})
	stop := make(chan struct{})
	wg.Add(3)
	go func() { // client reader
		defer wg.Done()
		defer close(readerDone)
		for i, fr := range sent {
			// Two thirds at the pace of the ring, then as fast as it goes.
			for i < 2*n/3 && a.txq.Len() == a.txq.Cap() {
				runtime.Gosched()
			}
			push(a, fr)
		}
	}()
	go func() { // frame loops
		defer wg.Done()
		defer close(stop)
		_, f := newFrame()
		count := uint32(0)
		tail := 3
		for tail > 0 {
			select {
			case <-readerDone:
				if !a.TXPending() {
					tail--
				}
			default:
			}
			count++
			a.Fill(&f, count)
			b.Deliver(&f, count, 1)
			runtime.Gosched() // an unpaced loop outruns the line rate
		}
	}()
	var got [][]byte
	go func() { // client writer
		defer wg.Done()
		for {
			for fr := b.NextOut(); fr != nil; fr = b.NextOut() {
				got = append(got, append([]byte(nil), fr...))
				b.ReleaseOut(true)
			}
			select {
			case <-stop:
				if b.NextOut() == nil {
					return
				}
				continue
			default:
			}
			b.WaitOut(stop)
		}
	}()
	wg.Wait()
	j := 0
	for _, fr := range got {
		for j < n && !bytes.Equal(sent[j], fr) {
			j++
		}
		if j == n {
			t.Fatal("a delivered frame is not a sent one, or out of order")
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if len(got) == 0 {
		t.Fatal("nothing delivered")
	}
	if uint64(len(got))+sa.DropCapacity.Load()+sb.DropQueue.Load() != n {
		t.Fatalf("delivered %d + tail drops %d (TX) %d (RX) != %d sent", len(got), sa.DropCapacity.Load(), sb.DropQueue.Load(), n)
	}
	if sb.DropDelineation.Load()+sb.DropMalformed.Load()+sb.DropFCS.Load()+sb.DropPFCS.Load() != 0 {
		t.Fatal("drops on a clean link")
	}
	t.Logf("delivered %d, tail-dropped %d at the client side and %d before the client writer", len(got), sa.DropCapacity.Load(), sb.DropQueue.Load())
}
