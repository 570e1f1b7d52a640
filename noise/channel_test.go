package noise

import (
	"bytes"
	"math"
	"math/bits"
	"slices"
	"testing"
)

func newTestChannel(t testing.TB, p Profile, seed uint64) *Channel {
	t.Helper()
	c, err := NewChannel(p, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChannelFibreNoise(t *testing.T) {
	p := DefaultProfile()
	c := newTestChannel(t, p, 1)
	n := sampleCount() + 5 // the last block is partial
	soft := make([]Sample, n)
	c.AddFibreNoise(soft)
	z := make([]float64, n)
	for i, s := range soft {
		z[i] = float64(s) / p.FibreSigma
	}
	checkNormal(t, z)

	p.FibreSigma = 0
	c = newTestChannel(t, p, 1)
	soft = []Sample{-1, 1, 0.5}
	c.AddFibreNoise(soft)
	if !slices.Equal(soft, []Sample{-1, 1, 0.5}) {
		t.Fatalf("noiseless fibre changed samples: %v", soft)
	}
}

func TestChannelDeterministic(t *testing.T) {
	p := DefaultProfile()
	p.Loss, p.Reorder, p.Burst = 0.1, 0.1, 0.1
	trace := func(seed uint64) []float32 {
		c := newTestChannel(t, p, seed)
		soft := make([]Sample, 100)
		buf := make([]byte, 100)
		var tr []float32
		for range 50 {
			c.AddFibreNoise(soft)
			off, n := c.Burst(buf)
			tr = append(tr, soft[0], float32(c.ReorderDelay()), float32(off), float32(n))
			if c.Lose() {
				tr = append(tr, -1)
			}
		}
		return tr
	}
	if !slices.Equal(trace(9), trace(9)) {
		t.Fatal("same seed, different channel behaviour")
	}
	if slices.Equal(trace(9), trace(10)) {
		t.Fatal("different seeds, same channel behaviour")
	}
}

// within checks that k events in n trials fit probability q (5 standard errors).
func within(t *testing.T, what string, k, n int, q float64) {
	t.Helper()
	se := math.Sqrt(q * (1 - q) / float64(n))
	if got := float64(k) / float64(n); math.Abs(got-q) > 5*se {
		t.Errorf("%s: rate %.4f, want %.4f ± %.4f", what, got, q, 5*se)
	}
}

func TestChannelFrameDecisions(t *testing.T) {
	p := DefaultProfile()
	p.Loss, p.Reorder, p.ReorderDepth, p.Burst, p.BurstLen = 0.01, 0.05, 3, 0.02, 40
	c := newTestChannel(t, p, 2)
	if c.Latency() != 4 || c.Profile() != p {
		t.Fatalf("Latency %d, Profile %+v", c.Latency(), c.Profile())
	}
	frames := 100_000
	if testing.Short() {
		frames = 20_000
	}
	var lost, reordered, bursts int
	var depth [4]int
	buf := make([]byte, 300)
	for range frames {
		if c.Lose() {
			lost++
		}
		if d := c.ReorderDelay(); d != 0 {
			if d < 1 || d > 3 {
				t.Fatalf("reorder delay %d outside [1, 3]", d)
			}
			reordered++
			depth[d]++
		}
		clear(buf)
		off, n := c.Burst(buf)
		if n == 0 {
			if PopCount(buf) != 0 {
				t.Fatal("bytes changed without a burst")
			}
			continue
		}
		bursts++
		if n != 40 || off < 0 || off+n > len(buf) {
			t.Fatalf("burst at %d length %d in %d bytes", off, n, len(buf))
		}
		for i, b := range buf {
			if inside := i >= off && i < off+n; inside != (b != 0) {
				t.Fatalf("burst [%d, %d): byte %d = %#x", off, off+n, i, b)
			}
		}
	}
	within(t, "loss", lost, frames, p.Loss)
	within(t, "reorder", reordered, frames, p.Reorder)
	within(t, "burst", bursts, frames, p.Burst)
	for d := 1; d <= 3; d++ {
		within(t, "reorder depth", depth[d], reordered, 1.0/3)
	}
}

func TestChannelDefaultsAreClean(t *testing.T) {
	c := newTestChannel(t, DefaultProfile(), 3)
	buf := []byte("frame")
	for range 10_000 {
		if c.Lose() || c.ReorderDelay() != 0 {
			t.Fatal("default profile lost or reordered a frame")
		}
		if _, n := c.Burst(buf); n != 0 {
			t.Fatal("default profile made a burst")
		}
	}
	if !bytes.Equal(buf, []byte("frame")) {
		t.Fatal("frame changed")
	}
	// A burst longer than the buffer covers all of it.
	p := DefaultProfile()
	p.Burst, p.BurstLen = 1, 100
	c = newTestChannel(t, p, 4)
	if off, n := c.Burst(buf); off != 0 || n != len(buf) {
		t.Fatalf("long burst: off %d n %d", off, n)
	}
	if off, n := c.Burst(nil); off != 0 || n != 0 {
		t.Fatalf("burst on an empty buffer: off %d n %d", off, n)
	}
}

func TestBitErrorsRate(t *testing.T) {
	p := DefaultProfile()
	c, err := NewChannel(p, 99)
	if err != nil {
		t.Fatal(err)
	}
	ber := c.BER()
	if ber < 4e-4 || ber > 4.6e-4 { // Q(1/0.3) = 4.29e-4
		t.Fatalf("BER %g, want Q(3.33) ≈ 4.29e-4", ber)
	}
	buf := make([]byte, 16830)
	frames := 400
	total := 0
	for range frames {
		clear(buf)
		n := c.BitErrors(buf)
		got := 0
		for _, b := range buf {
			got += bits.OnesCount8(b)
		}
		if got != n {
			t.Fatalf("reported %d flips, buffer has %d", n, got)
		}
		total += n
	}
	mean := float64(frames*len(buf)*8) * ber
	if d := math.Abs(float64(total) - mean); d > 5*math.Sqrt(mean) {
		t.Fatalf("%d bit errors in %d frames, want %.0f ± %.0f", total, frames, mean, 5*math.Sqrt(mean))
	}
	q, _ := NewChannel(Profile{Level0: -1, Level1: 1, FibreSigma: 0, LocalSigmaMin: 0.3, LocalSigmaMax: 0.8}, 1)
	if q.BitErrors(buf) != 0 {
		t.Fatal("a noiseless fibre made errors")
	}
}
