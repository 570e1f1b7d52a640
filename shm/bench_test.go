package shm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// Read of a 32-byte key, in the same run:
//
//	floor          plain (non-atomic) copy of the slot record into a Key: no
//	               synchronisation at all, the cost of the bytes themselves
//	seqlock-slot   Reader.Slot: latch read of a known slot
//	seqlock-active Reader.ActiveKey: index probe + latch read (what plugins call)
//	rwmutex        sync.RWMutex read lock around the plain copy
//	lockwhole      a spinlock that the writer holds for the whole update and
//	               readers take too, so readers wait for the writer
//
// under four conditions: uncontended; a writer goroutine rewriting the key
// continuously; a writer process doing so (seqlock and floor only: a lock
// shared with another process would need a writable map in the readers);
// parallel readers (RunParallel, GOMAXPROCS of them).
//
// Metrics: xfloor is ns/op over the floor of the same condition (same cache
// traffic); xfloor0 is over the uncontended floor; wr/op is how many writer
// updates happened per read (shows that the writer really ran).
func BenchmarkRead32(b *testing.B) {
	floors := map[string]float64{}
	for _, cond := range []string{"uncontended", "writer-goroutine", "writer-process", "parallel"} {
		b.Run(cond, func(b *testing.B) {
			benchCondition(b, cond, floors)
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

// plainRead is the floor: copy 0 of slot i with plain loads.
func plainRead(v *view, i int, k *Key) {
	p := (*[slotWords]uint64)(unsafe.Add(v.base, v.g.slotsOff+i*slotSize))
	k.ID = p[1]
	w := p[2]
	k.Port, k.Dir, k.Epoch, k.State = uint16(w), Dir(w>>16), uint8(w>>24), State(w>>32)
	k.Alg, k.Len = Alg(w>>40), uint8(w>>48)
	k.ValidFrom, k.ValidTo, k.Consumer, k.Serial = int64(p[3]), int64(p[4]), p[5], p[6]
	for j := 0; j < 8; j++ {
		binary.LittleEndian.PutUint64(k.material[8*j:], p[7+j])
	}
	k.Sum = p[15]
}

func benchCondition(b *testing.B, cond string, floors map[string]float64) {
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
	type impl struct {
		name  string
		read  func(*Key)
		write func() // one update by the writer goroutine
	}
	// Every writer does the same update: rewrite the slot (both copies).
	seqWrite := func() { w.writeRecord(slot, &rec) }
	impls := []impl{
		{"floor", func(k *Key) { plainRead(&r.v, slot, k) }, seqWrite},
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
			b.SetBytes(32)
			b.ReportAllocs()
			if cond == "parallel" {
				b.RunParallel(func(pb *testing.PB) {
					var k Key
					for pb.Next() {
						im.read(&k)
					}
				})
			} else {
				var k Key
				for b.Loop() {
					im.read(&k)
				}
				if k.ID != 1 && im.name != "floor" {
					b.Fatalf("read %v", k)
				}
			}
			close(stop)
			wg.Wait()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if im.name == "floor" {
				floors[cond] = ns
			}
			if f := floors[cond]; f > 0 {
				b.ReportMetric(ns/f, "xfloor")
			}
			if f := floors["uncontended"]; f > 0 {
				b.ReportMetric(ns/f, "xfloor0")
			}
			if cond == "writer-goroutine" {
				b.ReportMetric(float64(writes.Load())/float64(b.N), "wr/op")
			}
		})
	}
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
