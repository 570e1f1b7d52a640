package bench_test

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

// The shm package's own BenchmarkRead32 compares the seqlock with a plain
// copy, RWMutex and a whole-update lock on the mapped file itself. These
// benchmarks give the plugin's view through the public API only, each read
// timed against a plain copy of a shm.Key held in the plugin's own memory
// (copy-ns: what a read costs with no sharing at all; xcopy is the ratio):
//
//	rwmutex   that copy under sync.RWMutex (an in-process key table)
//	shm       Reader.ActiveKey on the shared file
//
// uncontended and with a writer goroutine updating the key continuously,
// and the writer's update cost with the encrypted bbolt store (fsync per
// update) and without persistence.

func newStore(b *testing.B, persist bool) (*shm.Writer, *shm.Reader) {
	dir := b.TempDir()
	var p shm.Persister
	if persist {
		kek := filepath.Join(dir, "kek")
		if err := os.WriteFile(kek, []byte("0123456789abcdef"), 0o600); err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(filepath.Join(dir, "keys.db"), kek)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		p = st
	}
	w, err := shm.Create(shm.Options{Path: filepath.Join(dir, "keys.shm"), Slots: 64, Heartbeat: -1}, p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	r, err := shm.Open(filepath.Join(dir, "keys.shm"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return w, r
}

func benchKey() *shm.Key {
	k := &shm.Key{ID: 1, Port: 3, State: shm.StateActive, Alg: shm.AlgZUC128}
	m := make([]byte, 32)
	for i := range m {
		m[i] = byte(i * 7)
	}
	k.SetMaterial(m)
	return k
}

func BenchmarkShmRead32(b *testing.B) {
	for _, withWriter := range []bool{false, true} {
		name := "uncontended"
		if withWriter {
			name = "writer-goroutine"
		}
		b.Run(name, func(b *testing.B) {
			w, r := newStore(b, false)
			src := benchKey()
			if err := w.Put(src); err != nil {
				b.Fatal(err)
			}
			var mu sync.RWMutex
			floor := func(k *shm.Key) { *k = *src }
			for _, impl := range []struct {
				name  string
				read  func(*shm.Key)
				write func()
			}{
				{"rwmutex", func(k *shm.Key) { mu.RLock(); *k = *src; mu.RUnlock() },
					func() { mu.Lock(); w.Put(src); mu.Unlock() }},
				{"shm", func(k *shm.Key) { r.ActiveKey(3, shm.DirAtoB, k) }, func() { w.Put(src) }},
			} {
				b.Run(impl.name, func(b *testing.B) {
					stop := make(chan struct{})
					var wg sync.WaitGroup
					if withWriter {
						wg.Add(1)
						go func() { // writerLoop: updates until stopped
							defer wg.Done()
							for {
								select {
								case <-stop:
									return
								default:
									impl.write()
								}
							}
						}()
					}
					b.SetBytes(2 * 32 * block) // key bytes copied per op, both kinds
					b.ReportAllocs()
					var k shm.Key
					rd := make([]time.Duration, 0, b.N)
					fl := make([]time.Duration, 0, b.N)
					for b.Loop() {
						t0 := time.Now()
						for range block {
							impl.read(&k)
						}
						t1 := time.Now()
						for range block {
							floor(&k)
						}
						rd, fl = append(rd, t1.Sub(t0)), append(fl, time.Since(t1))
					}
					close(stop)
					wg.Wait()
					k.Zero()
					mr, mf := median(rd), median(fl)
					b.ReportMetric(mr, "ns/read")
					b.ReportMetric(mf, "copy-ns")
					b.ReportMetric(mr/mf, "xcopy")
				})
			}
		})
	}
}

// Reads are timed in blocks interleaved with the floor; medians of the
// blocks shrug off preemption on a busy machine (ns/op is one block of each;
// B/op includes the block-time log and, with a writer, the writer's Puts).
const block = 1024

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)/2].Nanoseconds()) / block
}

// BenchmarkShmWriterUpdate: cost of one Put of an existing key, with the
// SM4-GCM bbolt store (one fsync'd transaction per update) and without.
func BenchmarkShmWriterUpdate(b *testing.B) {
	for _, persist := range []bool{false, true} {
		name := "memory"
		if persist {
			name = "bbolt-sm4gcm"
		}
		b.Run(name, func(b *testing.B) {
			w, _ := newStore(b, persist)
			k := benchKey()
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Put(k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
