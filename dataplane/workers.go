package dataplane

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/replay"
)

// Frame workers (Config.Workers = W > 1).
//
// Each direction becomes three stages over a ring of S preallocated frame
// slots (S = PipelineDepth(W)), in the manner of wireguard-go's encryption
// workers and per-peer sequential queues, but without channels or locks per
// frame:
//
//	TX: builder ──slot n──▶ worker n mod W (SealWorker.Seal) ──▶ sender (BIP-8, Line.Send)
//	RX: receiver (Line.Recv, decide, keys) ──▶ worker n mod W (OpenWorker.Open) ──▶ sequencer
//
// The front stage (builder, receiver) fills slot n mod S with frame n and
// publishes it (slot.ready = n+1); worker n mod W takes the frames of its
// stride in order and publishes each when done (slot.done = n+1); the back
// stage (sender, sequencer) takes frames in order n = 0, 1, 2, … and hands
// the slot back (freed = n+1), which the front stage waits for before it
// reuses the slot for frame n+S. Frames therefore leave the back stage in
// exactly the order the front stage made them, whatever order the workers
// finish in. Everything that depends on the frames before stays in the
// front or back stage: COUNT, key switches, payload, rounds, channel and
// lane on TX; replay window, BIP-8 chain, rounds, channel, lane, sink and
// statistics on RX. Only Seal and Open (encrypt, tag, FEC, scramble and the
// reverse) run in the workers. Static striding (frame n to worker n mod W)
// suits frames that cost the same, as clean frames do; a frame the FEC
// works hard on delays its worker's later frames, never the order.
//
// Keys: a frame's slot names the keys of its position (TX: the key of its
// COUNT; RX: the current and previous keys held when it arrived, as
// framer.KeyRefs). Keys live in a pool of preallocated entries; the front
// stage retires an entry at the frame n from which no frame uses it, and it
// is wiped (zeroised) once the back stage has released every frame before
// n. No frame ever sees a key change under it, and nothing locks per frame.
//
// Waiting: each stage spins briefly on the counter it waits for, then
// notes the value it waits for, sets its sleeping flag, checks the counter
// again and parks on a one-slot doorbell channel; the stage that advances
// the counter rings the doorbell only when the flag is set and the new
// value is the one awaited. Under load the stages never park and no channel
// operation happens per frame; a stage that ran dry costs one doorbell send
// (a channel operation, which takes the channel's lock but does not
// allocate) when its work comes, and a front stage that waits for room
// waits for half the ring, so it wakes once per S/2 frames. With W = 1 none of this exists: one TX and
// one RX goroutine do everything, as before.

// MaxWorkers bounds Config.Workers.
const MaxWorkers = 64

// maxCPU bounds the CPU numbers Config.CPUs may name (CPU_SETSIZE).
const maxCPU = 1024

// PipelineDepth is the number of frames each direction of a port with w
// workers holds between its front and back stage: 4w, at least 8, a power
// of two. The TX builds at most this many frames ahead of the line.
func PipelineDepth(w int) int {
	n := 8
	for n < 4*w {
		n <<= 1
	}
	return n
}

// How long a stage spins on the counter it waits for before it parks:
// unpinned, spinChecks looks, yielding to the Go scheduler after the first
// few (another stage's goroutine may run on this P meanwhile); pinned to a
// CPU of its own, pinnedSpin plain looks (a core no one else needs); pinned
// to a CPU it shares with another stage of the port, none: the thread parks
// at once, since spinning would hold the core the stage it waits for needs
// (and yielding a locked thread costs two thread switches).
const (
	spinChecks = 64
	pinnedSpin = 2048
)

// ErrCPU is wrapped by the errors of a bad Config.CPUs.
var ErrCPU = errors.New("dataplane: bad CPU list")

// checkCPUs validates a CPU list: distinct CPUs, each one this process may
// run on.
func checkCPUs(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return fmt.Errorf("%w: reading this process's CPUs: %w", ErrCPU, err)
	}
	seen := map[int]bool{}
	for _, c := range cpus {
		switch {
		case c < 0 || c >= maxCPU:
			return fmt.Errorf("%w: CPU %d is not 0…%d", ErrCPU, c, maxCPU-1)
		case seen[c]:
			return fmt.Errorf("%w: CPU %d is listed twice", ErrCPU, c)
		case !allowed.IsSet(c):
			return fmt.Errorf("%w: CPU %d is not among the CPUs this process may use (%s)", ErrCPU, c, cpuList(&allowed))
		}
		seen[c] = true
	}
	return nil
}

// AllowedCPUs returns the CPUs this process may run on (sched_getaffinity).
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := range maxCPU {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func cpuList(set *unix.CPUSet) string {
	s := ""
	for c := range maxCPU {
		if set.IsSet(c) {
			if s != "" {
				s += ","
			}
			s += fmt.Sprint(c)
		}
	}
	return s
}

// pinThread locks the calling goroutine to its OS thread and that thread to
// cpu. The goroutine never unlocks: when it returns, the runtime ends the
// pinned thread rather than reuse it.
func pinThread(cpu int) error {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("%w: pinning a pipeline thread to CPU %d: %w", ErrCPU, cpu, err)
	}
	return nil
}

// side names a direction's goroutines for CPU placement.
type side int

const (
	txSide side = 0
	rxSide side = 1
)

// cpuFor returns the CPU a goroutine of side s is pinned to, or -1 when
// Config.CPUs is empty. The TX takes the CPUs at even positions of the
// list, the RX those at odd positions (both take all of a one-CPU list);
// a side's front and back stages (or its one goroutine with W = 1) run on
// its first CPU, its worker i on its CPU i+1 (cyclically).
func (p *Port) cpuFor(s side, worker int) int {
	cpus := p.cfg.CPUs
	if len(cpus) == 0 {
		return -1
	}
	var mine []int
	for i, c := range cpus {
		if len(cpus) == 1 || i%2 == int(s) {
			mine = append(mine, c)
		}
	}
	if worker < 0 {
		return mine[0]
	}
	return mine[(worker+1)%len(mine)]
}

// waiter is a stage's doorbell (see the package comment above).
type waiter struct {
	_     [64]byte
	sleep atomic.Bool
	want  atomic.Uint64 // the value the sleeper waits for
	bell  chan struct{}
	spin  int  // looks before parking
	yield bool // runtime.Gosched between looks
	_     [32]byte
}

func newWaiter() *waiter { return &waiter{bell: make(chan struct{}, 1), spin: spinChecks, yield: true} }

// pinned sets the spinning of a stage pinned to a CPU, shared with another
// stage or not. Called before the stage starts.
func (w *waiter) pinned(shared bool) {
	w.yield = false
	w.spin = pinnedSpin
	if shared {
		w.spin = 0
	}
}

// await returns true once v ≥ want, false when stop closes first.
func (w *waiter) await(v *atomic.Uint64, want uint64, stop <-chan struct{}) bool {
	for i := 0; v.Load() < want; i++ {
		if i < w.spin {
			if w.yield && i >= 8 {
				runtime.Gosched()
			}
			continue
		}
		w.want.Store(want)
		w.sleep.Store(true)
		if v.Load() >= want {
			w.sleep.Store(false)
			return true
		}
		select {
		case <-w.bell:
		case <-stop:
			w.sleep.Store(false)
			return false
		}
		w.sleep.Store(false)
	}
	return true
}

// wake rings the doorbell if the stage sleeps (or is about to) waiting for
// a value ≤ v, v being the new value of the counter it waits on.
func (w *waiter) wake(v uint64) {
	if w.sleep.Load() && v >= w.want.Load() {
		select {
		case w.bell <- struct{}{}:
		default:
		}
	}
}

// slotState is the hand-off of one frame slot between the stages.
type slotState struct {
	ready atomic.Uint64 // n+1 once the front stage filled it with frame n
	done  atomic.Uint64 // n+1 once its worker finished frame n
}

// pipe is the shared part of a parallel direction: stride, depth, the
// back stage's progress and the three kinds of doorbell.
type pipe struct {
	w, mask uint64
	_       [64]byte
	freed   atomic.Uint64 // frames the back stage has released
	_       [56]byte
	front   *waiter
	back    *waiter
	workers []*waiter
	delay   func(n uint64) // tests: called by a worker before it publishes frame n
}

func (p *pipe) init(w int, delay func(uint64)) {
	p.w, p.mask, p.delay = uint64(w), uint64(PipelineDepth(w)-1), delay
	p.front, p.back = newWaiter(), newWaiter()
	for range w {
		p.workers = append(p.workers, newWaiter())
	}
}

// slotFree waits until slot n's previous frame (n − S) has been released.
// When the ring is full it waits until half of it is free, so that a front
// stage that runs ahead (a TX builder) wakes once per half ring, not once
// per frame.
func (p *pipe) slotFree(n uint64, stop <-chan struct{}) bool {
	if n <= p.mask || p.freed.Load() >= n-p.mask {
		return true
	}
	return p.front.await(&p.freed, n-p.mask+p.mask/2, stop)
}

// poolKey is one key of a pipeline's key pool: its FrameKey (read by the
// workers), the RX's anti-replay window (back stage only), and its life:
// free → live (front stage) → retired at frame n (front stage) → wiped and
// free (whichever stage reclaims it first once frames < n are released).
type poolKey struct {
	fk       framer.FrameKey
	win      replay.Filter
	state    atomic.Uint32
	retireAt uint64 // written before state becomes keyRetired
	epoch    uint8
	gen      uint64
}

const (
	keyFree uint32 = iota
	keyLive
	keyRetired
	keyWiping
)

// keyPool holds a direction's keys.
type keyPool struct {
	keys    []poolKey
	retired atomic.Int32
}

func newKeyPool(n int) *keyPool { return &keyPool{keys: make([]poolKey, n)} }

// get returns a free entry, live from now on, or nil when all are in use.
// Front stage only (the only stage that makes entries live).
func (kp *keyPool) get() *poolKey {
	for i := range kp.keys {
		k := &kp.keys[i]
		if k.state.Load() == keyFree {
			k.state.Store(keyLive)
			return k
		}
	}
	return nil
}

// retire marks k unused from frame n on. Front stage only.
func (kp *keyPool) retire(k *poolKey, n uint64) {
	if k == nil {
		return
	}
	k.retireAt = n
	kp.retired.Add(1)
	k.state.Store(keyRetired)
}

// reclaim wipes the retired entries no frame before released can use:
// those retired at a frame ≤ released. Either stage may call it; an
// entry is wiped once.
func (kp *keyPool) reclaim(released uint64) {
	if kp.retired.Load() == 0 {
		return
	}
	for i := range kp.keys {
		k := &kp.keys[i]
		if k.state.Load() == keyRetired && k.retireAt <= released && k.state.CompareAndSwap(keyRetired, keyWiping) {
			k.fk.Wipe()
			k.win.Reset()
			k.epoch, k.gen = 0, 0
			kp.retired.Add(-1)
			k.state.Store(keyFree)
		}
	}
}

// wipeAll zeroises every entry; the pipeline has stopped.
func (kp *keyPool) wipeAll() {
	for i := range kp.keys {
		k := &kp.keys[i]
		k.fk.Wipe()
		k.win.Reset()
		k.state.Store(keyFree)
	}
	kp.retired.Store(0)
}
