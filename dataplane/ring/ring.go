// Package ring is a bounded single-producer single-consumer queue of
// preallocated slots, the hand-off between otkd's pipeline goroutines.
//
// Exactly one goroutine may produce (Slot, Commit) and exactly one may
// consume (Peek, Release) at a time; both sides are lock-free and
// wait-free, and nothing allocates after New. Items are written and read in
// place: the producer fills the slot Slot returns and publishes it with
// Commit; the consumer reads the slot Peek returns and hands it back with
// Release. The atomic publish orders the slot's contents, so the race
// detector sees a correct hand-off.
package ring

import "sync/atomic"

// SPSC is the queue. Its zero value is not usable; make one with New.
type SPSC[T any] struct {
	_    [64]byte // keep the indices off the neighbours' cache lines
	head atomic.Uint64
	_    [56]byte
	tail atomic.Uint64
	_    [56]byte
	buf  []T
	mask uint64
}

// New returns a queue of capacity slots, rounded up to a power of two (≥ 2).
func New[T any](capacity int) *SPSC[T] {
	n := 2
	for n < capacity {
		n <<= 1
	}
	return &SPSC[T]{buf: make([]T, n), mask: uint64(n - 1)}
}

// Cap returns the number of slots.
func (r *SPSC[T]) Cap() int { return len(r.buf) }

// Len returns the number of committed, unreleased items (a snapshot).
func (r *SPSC[T]) Len() int { return int(r.tail.Load() - r.head.Load()) }

// Slot returns the next free slot for the producer, or nil when the queue
// is full. The slot holds whatever it held last; the producer overwrites it.
func (r *SPSC[T]) Slot() *T {
	t := r.tail.Load()
	if t-r.head.Load() == uint64(len(r.buf)) {
		return nil
	}
	return &r.buf[t&r.mask]
}

// Commit publishes the slot Slot returned.
func (r *SPSC[T]) Commit() { r.tail.Add(1) }

// Push copies v into the queue; false when full.
func (r *SPSC[T]) Push(v *T) bool {
	s := r.Slot()
	if s == nil {
		return false
	}
	*s = *v
	r.Commit()
	return true
}

// Peek returns the oldest committed item for the consumer, or nil when the
// queue is empty. It stays valid until Release.
func (r *SPSC[T]) Peek() *T {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	return &r.buf[h&r.mask]
}

// Release hands the item Peek returned back to the producer.
func (r *SPSC[T]) Release() { r.head.Add(1) }

// Pop copies the oldest item into v; false when empty.
func (r *SPSC[T]) Pop(v *T) bool {
	s := r.Peek()
	if s == nil {
		return false
	}
	*v = *s
	r.Release()
	return true
}
