package noise

import "testing"

// TestZeroAllocs holds the fast-path rule: nothing allocates per frame.
func TestZeroAllocs(t *testing.T) {
	p := DefaultProfile()
	p.Loss, p.Reorder, p.Burst = 0.5, 0.5, 0.5
	c := newTestChannel(t, p, 1)
	l := seededLocal(t, p, 1)
	bits := make([]byte, SamplesPerFrame/8)
	soft := make([]Sample, SamplesPerFrame)
	out := make([]byte, SamplesPerFrame/8)
	a, b, x := make([]byte, 62), make([]byte, 62), make([]byte, 62)
	frame := make([]byte, 16830)
	var sink int
	tests := []struct {
		name string
		f    func()
	}{
		{"Modulate", func() { Modulate(bits, SamplesPerFrame, soft, &p) }},
		{"AddFibreNoise", func() { c.AddFibreNoise(soft) }},
		{"BitErrors", func() { sink += c.BitErrors(frame) }},
		{"Decide", func() { Decide(soft, 0, out) }},
		{"BeginRound+AddAndDecide", func() {
			l.BeginRound()
			l.AddAndDecide(soft[:992], out[:124])
			l.BeginRound()
			l.AddAndDecide(soft[992:], out[124:])
		}},
		{"Channel frame decisions", func() {
			if !c.Lose() {
				sink += c.ReorderDelay()
				_, n := c.Burst(frame)
				sink += n
			}
		}},
		{"XOR", func() { XOR(x, a, b) }},
		{"PopCount", func() { sink += PopCount(x) }},
		{"PopCountXOR3", func() { sink += PopCountXOR3(a, b, x) }},
	}
	for _, tt := range tests {
		// 500 runs of 1984 samples cross many keystream blocks.
		if n := testing.AllocsPerRun(500, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
	_ = sink
}
