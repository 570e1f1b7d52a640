package shm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// Read of a 32-byte key, in the same run:
//
//	floor          plain copy of the slot record into a Key: the same word
//	               loads as the seqlock read, without atomics or sequence
//	               checks (what the synchronisation costs is the difference)
//	block          the same bytes as one block copy (vector moves): the
//	               cheapest possible copy
//	seqlock-slot   Reader.Slot: latch read of a known slot
//	seqlock-active Reader.ActiveKey: active-map load + latch read (what
//	               plugins call)
//	rwmutex        sync.RWMutex read lock around the plain copy
//	lockwhole      a spinlock the writer holds for its whole update and every
//	               reader takes too, so readers wait for the writer
//
// under four conditions: uncontended; a writer goroutine rewriting the slot
// continuously; a writer process doing so (seqlock only: a lock shared with
// another process would need a writable map in the readers); parallel
// readers (RunParallel, GOMAXPROCS of them). Every writer does the same
// update: rewrite both copies of the slot.
//
// The machine is shared and noisy, so each sub-benchmark measures its read
// and both floors interleaved, in blocks of 1024 reads each, and reports the
// median block of each kind as ns/read, floor-ns and block-ns, with xfloor =
// ns/read ÷ floor-ns and xblock = ns/read ÷ block-ns, and xfloor-mean, the
// ratio of the means (counts blocks hit by the writer or by preemption).
// ns/op is one block of each kind; B/op includes the block-time log (reads
// themselves do not allocate: TestReadsDoNotAllocate). wr/read is how many writer updates
// happened per read, to show that the writer really ran.
func BenchmarkRead32(b *testing.B) {
	for _, cond := range []string{"uncontended", "writer-goroutine", "writer-process", "parallel"} {
		b.Run(cond, func(b *testing.B) {
			benchCondition(b, cond)
		})
	}
}

// benchLock is the "lock the key region for the whole update" lock: one
// word, taken by compare-and-swap by the writer and by every reader.
type benchLock struct {
	_ [64]byte
	w uint64
	_ [56]byte
}

func (l *benchLock) lock() {
	for i := 0; !atomic.CompareAndSwapUint64(&l.w, 0, 1); i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
}

func (l *benchLock) unlock() { atomic.StoreUint64(&l.w, 0) }

// plainRead is the floor: the same fifteen word loads as the seqlock read
// of copy 0 of slot i, as plain loads, without the sequence checks.
func plainRead(v *view, i int, k *Key) {
	p := (*[slotWords]uint64)(unsafe.Add(v.base, v.g.slotsOff+i*slotSize))
	w := keyWords(k) // unrolled like readSlotCopy
	w[0], w[1], w[2], w[3], w[4] = p[1], p[2], p[3], p[4], p[5]
	w[5], w[6], w[7], w[8], w[9] = p[6], p[7], p[8], p[9], p[10]
	w[10], w[11], w[12], w[13], w[14] = p[11], p[12], p[13], p[14], p[15]
}

// blockRead is the absolute floor: the same 120 bytes as one block copy,
// which the compiler does with 16-byte vector moves.
func blockRead(v *view, i int, k *Key) {
	p := (*[slotWords]uint64)(unsafe.Add(v.base, v.g.slotsOff+i*slotSize))
	*keyWords(k) = *(*record)(p[1:])
}

func benchCondition(b *testing.B, cond string) {
	var (
		w    *Writer
		r    *Reader
		path string
	)
	const port = 3
	key := patternKey(1, port, DirAtoB, StateActive)
	if cond == "writer-process" {
		path = startBenchWriter(b)
		r = openReader(b, path)
	} else {
		w, path = newFileWriter(b, 64, nil)
		if err := w.Put(key); err != nil {
			b.Fatal(err)
		}
		r = openReader(b, path)
	}
	slot := 0
	var mu sync.RWMutex
	var spin benchLock
	var rec record
	key.encode(&rec)
	floor := func(k *Key) { plainRead(&r.v, slot, k) }
	block := func(k *Key) { blockRead(&r.v, slot, k) }
	seqWrite := func() { w.writeRecord(slot, &rec) }
	impls := []struct {
		name  string
		read  func(*Key)
		write func() // one update by the writer goroutine
	}{
		{"seqlock-slot", func(k *Key) { r.Slot(slot, k) }, seqWrite},
		{"seqlock-active", func(k *Key) { r.ActiveKey(port, DirAtoB, k) }, seqWrite},
		{"rwmutex", func(k *Key) { mu.RLock(); plainRead(&r.v, slot, k); mu.RUnlock() },
			func() { mu.Lock(); w.writeRecord(slot, &rec); mu.Unlock() }},
		{"lockwhole", func(k *Key) { spin.lock(); plainRead(&r.v, slot, k); spin.unlock() },
			func() { spin.lock(); w.writeRecord(slot, &rec); spin.unlock() }},
	}
	for _, im := range impls {
		if cond == "writer-process" && (im.name == "rwmutex" || im.name == "lockwhole") {
			continue
		}
		b.Run(im.name, func(b *testing.B) {
			var writes atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if cond == "writer-goroutine" {
				wg.Add(1)
				go func() { // writerLoop: updates until stopped
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						im.write()
						writes.Add(1)
					}
				}()
			}
			b.SetBytes(3 * 32 * pairBlock) // key bytes copied per op, all three kinds
			b.ReportAllocs()
			var times blockTimes
			if cond == "parallel" {
				var mu sync.Mutex
				b.RunParallel(func(pb *testing.PB) {
					var k Key
					var mine blockTimes
					for pb.Next() {
						mine.add(pairedBlock(&k, im.read, floor, block))
					}
					mu.Lock()
					times.merge(&mine)
					mu.Unlock()
				})
			} else {
				var k Key
				times.grow(b.N)
				for b.Loop() {
					times.add(pairedBlock(&k, im.read, floor, block))
				}
				if k.ID != 1 {
					b.Fatalf("read %v", k)
				}
			}
			close(stop)
			wg.Wait()
			rd, fl, bl := times.median(0), times.median(1), times.median(2)
			b.ReportMetric(rd, "ns/read")
			b.ReportMetric(fl, "floor-ns")
			b.ReportMetric(bl, "block-ns")
			b.ReportMetric(rd/fl, "xfloor")
			b.ReportMetric(rd/bl, "xblock")
			b.ReportMetric(times.mean(0)/times.mean(1), "xfloor-mean")
			n := float64(b.N) * pairBlock
			if cond == "writer-goroutine" {
				b.ReportMetric(float64(writes.Load())/n, "wr/read")
			}
		})
	}
}

const pairBlock = 1024

// blockTimes collects the duration of every block of each kind; the
// benchmark reports medians, which shrug off blocks hit by preemption on a
// busy machine.
type blockTimes [3][]time.Duration

func (bt *blockTimes) grow(n int) {
	for i := range bt {
		bt[i] = make([]time.Duration, 0, n)
	}
}

func (bt *blockTimes) add(t [3]time.Duration) {
	for i := range bt {
		bt[i] = append(bt[i], t[i])
	}
}

func (bt *blockTimes) merge(o *blockTimes) {
	for i := range bt {
		bt[i] = append(bt[i], o[i]...)
	}
}

// mean returns the mean block of kind i, in ns per read.
func (bt *blockTimes) mean(i int) float64 {
	var sum time.Duration
	for _, d := range bt[i] {
		sum += d
	}
	return float64(sum.Nanoseconds()) / float64(max(1, len(bt[i]))) / pairBlock
}

// median returns the median block of kind i, in ns per read.
func (bt *blockTimes) median(i int) float64 {
	d := slices.Clone(bt[i])
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)/2].Nanoseconds()) / pairBlock
}

// pairedBlock times pairBlock calls of each reader in turn.
func pairedBlock(k *Key, readers ...func(*Key)) (t [3]time.Duration) {
	for j, read := range readers {
		t0 := time.Now()
		for i := 0; i < pairBlock; i++ {
			read(k)
		}
		t[j] = time.Since(t0)
	}
	return t
}

// startBenchWriter runs a writer process that rewrites key 1's slot until
// the benchmark ends; it returns the file path.
func startBenchWriter(b *testing.B) string {
	path := b.TempDir() + "/keys.shm"
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "OTKD_SHM_ROLE=benchwriter", "OTKD_SHM_PATH="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "READY\n" {
		b.Fatalf("bench writer: %q %v", line, err)
	}
	return path
}

func benchWriterChild() int {
	w, err := Create(Options{Path: os.Getenv("OTKD_SHM_PATH"), Slots: 64}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k := patternKey(1, 3, DirAtoB, StateActive)
	w.Put(k)
	var rec record
	k.encode(&rec)
	var done atomic.Bool
	go func() { io.Copy(io.Discard, os.Stdin); done.Store(true) }()
	fmt.Println("READY")
	for !done.Load() {
		w.writeRecord(0, &rec) // the same update as the in-process writers
	}
	w.Close()
	return 0
}

// BenchmarkWriterUpdate is the writer's cost per update (no persistence):
// an in-place rewrite of a key, and a rekey (put a new active key, which
// supersedes the old one, then retire the old one).
func BenchmarkWriterUpdate(b *testing.B) {
	b.Run("inplace", func(b *testing.B) {
		w, _ := newFileWriter(b, 64, nil)
		k := patternKey(1, 3, DirAtoB, StateActive)
		b.ReportAllocs()
		for b.Loop() {
			if err := w.Put(k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rekey", func(b *testing.B) {
		w, _ := newFileWriter(b, 64, nil)
		c := newChurner(b, w, 8)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := c.step(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
