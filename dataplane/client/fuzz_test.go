package client

import (
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/otkd/otkd/framer"
)

// FuzzDeliver hands the RX side arbitrary OPU payloads (the fuzzer's octets
// repeated over the 15 232 payload octets of a few frames, with COUNT steps
// from the input) and checks what reaches the client: never a frame whose
// Ethernet FCS does not check (computed here independently of the mapper's
// own check, over the FCS the line carried), never one outside the length
// limits. It must never panic.
func FuzzDeliver(f *testing.F) {
	for _, s := range deliverSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		m, _ := New(Config{MTU: 1500, RXQueue: 4})
		_, fr := newFrame()
		steps, data := data[:2], data[2:]
		count := uint32(0)
		for i := range 4 {
			count += uint32(steps[i%2]%3) + 1
			k := 0
			for r := range framer.Rows {
				row := fr.Row(r)[16:3824]
				for j := range row {
					row[j] = data[k%len(data)]
					k++
				}
			}
			fr.Row(3)[14] = PayloadType
			m.Deliver(&fr, count, byte(i%2))
			for out := m.NextOut(); out != nil; out = m.NextOut() {
				if len(out) < MinFrame || len(out) > m.MaxFrame() {
					t.Fatalf("delivered %d octets", len(out))
				}
				fcs := out[len(out) : len(out)+EthFCS]
				if crc32.ChecksumIEEE(out) != binary.LittleEndian.Uint32(fcs) {
					t.Fatal("delivered a frame whose FCS does not check")
				}
				m.ReleaseOut(true)
			}
		}
	})
}

// deliverSeeds: real mapped payloads (a few frames of traffic), damaged
// copies, idle, and junk.
func deliverSeeds() [][]byte {
	var seeds [][]byte
	tx, _ := New(Config{MTU: 1500})
	_, fr := newFrame()
	for i := range 3 {
		push(tx, testFrame(uint64(i+1), 100+i*700))
	}
	tx.Fill(&fr, 1)
	payload := make([]byte, 0, PayloadLen)
	for r := range framer.Rows {
		payload = append(payload, fr.Row(r)[16:3824]...)
	}
	seeds = append(seeds, append([]byte{0, 0}, payload[:3000]...))
	dam := append([]byte{0, 1}, payload[:3000]...)
	dam[500] ^= 0x20
	seeds = append(seeds, dam)
	seeds = append(seeds, []byte{2, 2, 0xB6, 0xAB, 0x31, 0xE0})
	seeds = append(seeds, []byte{0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5})
	return seeds
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite testdata/fuzz/FuzzDeliver/seed-* from deliverSeeds")

// TestFuzzCorpus keeps the committed corpus in step with deliverSeeds.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDeliver")
	for i, s := range deliverSeeds() {
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
