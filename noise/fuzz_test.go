package noise

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// FuzzAddAndDecide checks the decisions on arbitrary samples, keystream words and 1/σ:
// against exact arithmetic wherever a word is clear of its threshold, between the
// vector kernel and the pure-Go twin everywhere, and that nothing past ⌈n/8⌉ bytes is
// written.
func FuzzAddAndDecide(f *testing.F) {
	f.Add([]byte{}, float32(2), float32(0))
	f.Add(bytes.Repeat([]byte{0xff}, 8*13), float32(1.25), float32(0.95))
	f.Add(bytes.Repeat([]byte{0x00, 0xfe, 0xff, 0xff, 0, 0, 0x80, 0x3f}, 33), float32(1e3), float32(-1))
	f.Fuzz(func(t *testing.T, data []byte, inv, thr float32) {
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
		withEngine(engineGeneric, func() { addAndDecide(soft, ks, inv, thr, want[:(n+7)/8]) })
		for _, e := range vectorEngines() {
			withEngine(e, func() { addAndDecide(soft, ks, inv, thr, got[:(n+7)/8]) })
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, n=%d 1/σ=%v thr=%v: kernel %x, generic %x", e, n, inv, thr, got, want)
			}
		}
		checkAgainstExact(t, soft, ks, inv, thr, want)
	})
}
