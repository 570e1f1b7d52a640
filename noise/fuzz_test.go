package noise

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// FuzzAddAndDecideGeneric checks the group kernel against the bit-at-a-time reference
// on arbitrary samples, keystream words (slow-path and tail words included) and σ, and
// that it never writes past ⌈n/8⌉ bytes.
func FuzzAddAndDecideGeneric(f *testing.F) {
	f.Add([]byte{}, float32(0.5), uint64(1))
	f.Add(bytes.Repeat([]byte{0xff}, 8*13), float32(0.8), uint64(2)) // every word rejects
	f.Add(bytes.Repeat([]byte{0x00, 0xfe, 0xff, 0xff, 0, 0, 0x80, 0x3f}, 9), float32(1e-3), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, sigma float32, seed uint64) {
		// Each sample takes 8 bytes: its soft value, then its keystream word.
		n := len(data) / 8
		soft := make([]Sample, n)
		ks := make([]byte, 4*n)
		for i := range n {
			soft[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[8*i:]))
			copy(ks[4*i:], data[8*i+4:8*i+8])
		}
		got, want := make([]byte, (n+7)/8+1), make([]byte, (n+7)/8+1)
		got[len(got)-1], want[len(want)-1] = 0x5a, 0x5a
		addAndDecideGeneric(soft, ks, sigma, 0, got[:(n+7)/8], newPCGWords(seed))
		addAndDecideSlow(soft, ks, sigma, 0, want, newPCGWords(seed))
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d σ=%v: generic %x, reference %x", n, sigma, got, want)
		}
	})
}
