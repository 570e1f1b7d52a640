package gfp

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// checker is a Sink that checks what a Decoder hands it: a delivered frame
// lies inside its area, and a frame that says it has a pFCS has a correct
// one. The buffer is poisoned before each frame so stale bytes show.
type checker struct {
	t    *testing.T
	buf  [MaxPLI]byte
	n    int
	last int
}

func (c *checker) Buffer(n int) []byte {
	if n < CoreLen || n > MaxPLI {
		c.t.Fatalf("Buffer(%d) out of bounds", n)
	}
	for i := range c.buf[:n] {
		c.buf[i] = 0xA5
	}
	c.last = n
	return c.buf[:n]
}

func (c *checker) Frame(area, info []byte, pfcs bool, err error) {
	if err != nil {
		if info != nil {
			c.t.Fatal("an error came with an information field")
		}
		return
	}
	if len(area) != c.last || len(info) == 0 || &info[0] != &area[HeaderLen] {
		c.t.Fatalf("info (%d) not inside the area (%d)", len(info), len(area))
	}
	if pfcs && !CheckPFCS(area) {
		c.t.Fatal("a frame with a wrong pFCS was delivered")
	}
	c.n++
}

// FuzzDecoder feeds arbitrary octets to a Decoder in spans whose lengths
// come from the first octet, with a loss of the stream wherever an octet
// 0xFF follows 0xFF in the control prefix. It must never panic and never
// deliver a frame whose pFCS does not check.
func FuzzDecoder(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		span := 1 + int(data[0])
		loseEvery := int(data[1])
		data = data[2:]
		for _, opt := range []Options{{}, {MaxPLI: 200}} {
			d := NewDecoder(opt)
			c := &checker{t: t}
			for i := 0; len(data) > 0; i++ {
				k := min(span, len(data))
				d.Write(data[:k], c)
				data = data[k:]
				if loseEvery > 0 && i%loseEvery == loseEvery-1 {
					d.Lose(c)
				}
			}
		}
	})
}

// fuzzSeeds returns the streams the committed corpus was made from (see
// TestFuzzCorpus): real encoder output, damaged copies, idle runs and
// control frames.
func fuzzSeeds() [][]byte {
	frames := [][]byte{
		bytes.Repeat([]byte{0x11}, 60), []byte("short"), bytes.Repeat([]byte{0, 1, 2, 3}, 100),
		make([]byte, 64), bytes.Repeat([]byte{0xB6, 0xAB, 0x31, 0xE0}, 30),
	}
	q := &queue{frames: frames, hold: -1}
	e := NewEncoder(true)
	clean := make([]byte, 1400)
	e.Encode(clean, q)
	var seeds [][]byte
	with := func(span, lose byte, s []byte) []byte { return append([]byte{span, lose}, s...) }
	seeds = append(seeds, with(255, 0, clean), with(6, 0, clean), with(0, 3, clean))
	dam := append([]byte(nil), clean...)
	dam[9] ^= 0x41 // core header of the first frame: two bits
	dam[300] ^= 0x01
	seeds = append(seeds, with(100, 0, dam))
	nofcs := NewEncoder(false)
	q2 := &queue{frames: frames, hold: -1}
	s2 := make([]byte, 800)
	nofcs.Encode(s2, q2)
	seeds = append(seeds, with(13, 0, s2))
	seeds = append(seeds, with(3, 0, bytes.Repeat([]byte{0xB6, 0xAB, 0x31, 0xE0}, 64)))
	ctl := []byte{0xB6, 0xAB, 0x31, 0xE0, 0xB6, 0xAB, 0x31, 0xE0}
	c2 := HEC([]byte{0, 3})
	ctl = append(ctl, 0xB6, 0x03^0xAB, byte(c2>>8)^0x31, byte(c2)^0xE0, 1, 2, 3)
	seeds = append(seeds, with(7, 0, append(ctl, clean...)))
	big := make([]byte, 0, 64)
	for range 4 {
		h := coreHeader(0xFFFF)
		big = append(big, byte(h>>24), byte(h>>16), byte(h>>8), byte(h))
	}
	seeds = append(seeds, with(2, 1, big))
	return seeds
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite testdata/fuzz/FuzzDecoder/seed-* from fuzzSeeds")

// TestFuzzCorpus keeps the committed corpus in step with fuzzSeeds: every
// seed is a file of testdata/fuzz/FuzzDecoder (go test runs them all as
// tests). -write-corpus rewrites them.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecoder")
	for i, s := range fuzzSeeds() {
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if *writeCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != body {
			t.Fatalf("%s is missing or stale (go test -run TestFuzzCorpus -write-corpus)", name)
		}
	}
}
