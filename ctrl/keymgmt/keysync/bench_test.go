package keysync

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// BenchmarkImport1000Keys: open and store a vendor file of 1000 keys (a
// new file with new ids every iteration, built off the clock).
func BenchmarkImport1000Keys(b *testing.B) {
	f := newFixture(b)
	build := func(i int) []byte {
		recs := make([]Record, 1000)
		for j := range recs {
			recs[j] = Record{ID: fmt.Sprintf("k%06d.%06d", i, j), Key: make([]byte, 16)}
		}
		file, err := BuildKeyFile(rand.Reader, &f.self.PublicKey, recs)
		if err != nil {
			b.Fatal(err)
		}
		return file
	}
	b.SetBytes(int64(len(build(0))))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		file := build(i)
		b.StartTimer()
		if _, err := f.s.Import(file); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkRequestParallel: sync requests from many devices at once (one
// transaction each, grouped by the store's Batch).
func BenchmarkRequestParallel(b *testing.B) {
	f := newFixture(b)
	n := b.N
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprintf("k%08d", i), Key: make([]byte, 16)}
	}
	f.importKeys(recs)
	if err := f.s.Register("dev-1", app); err != nil {
		b.Fatal(err)
	}
	next := make(chan string, n)
	for _, r := range recs {
		next <- r.ID
	}
	close(next)
	b.ReportAllocs()
	b.SetParallelism(16) // devices waiting on the store, not CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.s.Request("dev-1", <-next, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "requests/s")
}
