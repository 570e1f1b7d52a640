package xdp

import (
	"math/rand/v2"
	"testing"

	"github.com/otkd/otkd/framer"
)

var (
	macA = [6]byte{2, 0, 0, 0, 0, 0xa}
	macB = [6]byte{2, 0, 0, 0, 0, 0xb}
)

// cut returns the chunk packets of frame seq.
func cut(frame []byte, seq uint32, size int) [][]byte {
	count := (framer.FrameLen + size - 1) / size
	var pkts [][]byte
	for i := range count {
		off := i * size
		n := min(size, framer.FrameLen-off)
		p := make([]byte, max(hdrLen+n, minEthFrame))
		p = p[:putChunk(p, macB, macA, seq, i, count, off, n, frame)]
		pkts = append(pkts, p)
	}
	return pkts
}

// feed passes packets to r and returns the sequence numbers of the frames
// delivered, checking each against the frame sent under that number.
func feed(t *testing.T, r *reassembler, pkts [][]byte, sent map[uint32][]byte) []uint32 {
	t.Helper()
	var out []uint32
	var c chunk
	for _, p := range pkts {
		if !parseChunk(p, &c) {
			continue
		}
		if r.add(&c) {
			want, ok := sent[c.seq]
			if ok && want == nil {
				// a forged chunk of this frame was on the wire (see
				// forgedFrames): only the framer can tell
			} else if !ok || string(want) != string(r.buf[:]) {
				t.Fatalf("frame %d delivered with bytes that are not its own", c.seq)
			}
			out = append(out, c.seq)
		}
	}
	return out
}

func randFrame(rng *rand.Rand) []byte {
	f := make([]byte, framer.FrameLen)
	for i := range f {
		f[i] = byte(rng.Uint32())
	}
	return f
}

func TestChunkRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, size := range []int{minChunkSize, 1484, 3000, MaxChunkSize} {
		var r reassembler
		sent := map[uint32][]byte{}
		var pkts [][]byte
		for s := uint32(0xfffffffe); s != 3; s++ { // across the wrap
			f := randFrame(rng)
			sent[s] = f
			pkts = append(pkts, cut(f, s, size)...)
		}
		if got := feed(t, &r, pkts, sent); len(got) != 5 {
			t.Fatalf("size %d: delivered %v", size, got)
		}
	}
}

// TestReassemblerFaults plays random losses, duplicates, reorderings,
// forged and corrupted chunks against the reassembler: every frame it
// delivers is byte for byte a frame that was sent under that number (feed
// checks), none twice, in increasing order, and the tally adds up.
func TestReassemblerFaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	for round := range rounds {
		var r reassembler
		sent := map[uint32][]byte{}
		var wire [][]byte
		size := []int{1484, 2000, 700}[round%3]
		base := rng.Uint32()
		const frames = 20
		for k := range uint32(frames) {
			f := randFrame(rng)
			sent[base+k] = f
			for _, p := range cut(f, base+k, size) {
				switch x := rng.Float64(); {
				case x < 0.02: // lost
				case x < 0.04: // duplicated
					wire = append(wire, p, p)
				case x < 0.06 && len(wire) > 0: // overtakes the chunk before it
					wire = append(wire[:len(wire)-1], p, wire[len(wire)-1])
				case x < 0.07: // a forged chunk of the same frame and index, other bytes
					q := append([]byte(nil), p...)
					q[len(q)-1] ^= 1
					wire = append(wire, q)
				case x < 0.08 && round%4 == 3: // a corrupted header
					q := append([]byte(nil), p...)
					q[16+rng.IntN(14)] ^= byte(1 + rng.IntN(255))
					wire = append(wire, q)
				default:
					wire = append(wire, p)
				}
			}
		}
		// A forged chunk replaces the real one only if the real one is
		// then refused: frames may be lost, never wrong — except that a
		// forged chunk carrying other bytes is a different frame only
		// the framer can refuse. Skip the check for the frames touched.
		got := feed(t, &r, wire, forgedFrames(sent, wire))
		for i := 1; i < len(got); i++ {
			if int32(got[i]-got[i-1]) <= 0 {
				t.Fatalf("round %d: frames delivered out of order or twice: %v", round, got)
			}
		}
		st := &r.stats
		acc := uint64(len(got)) + st.Incomplete.Load() + st.Missed.Load() + st.Stale.Load()
		// The last frame may still be pending; a corrupted header may
		// move the tally (the line authenticates nothing).
		if (acc > frames || acc+1 < frames) && round%4 != 3 {
			t.Fatalf("round %d: %d delivered, %d incomplete, %d missed, %d stale of %d", round, len(got),
				st.Incomplete.Load(), st.Missed.Load(), st.Stale.Load(), frames)
		}
	}
}

// forgedFrames returns sent with nil for the frames of which a chunk with
// a valid header but other bytes is on the wire: those may be delivered
// with the forged bytes (the line cannot tell; the framer's check does).
func forgedFrames(sent map[uint32][]byte, wire [][]byte) map[uint32][]byte {
	out := map[uint32][]byte{}
	for s, f := range sent {
		out[s] = f
	}
	var c chunk
	for _, p := range wire {
		if parseChunk(p, &c) {
			if f := sent[c.seq]; f != nil && string(f[c.off:c.off+c.n]) != string(c.payload) {
				out[c.seq] = nil
			}
		}
	}
	return out
}

// FuzzParseChunk: any packet either is refused or yields a chunk whose
// bytes lie inside the packet and whose range lies inside a frame; adding
// it to a reassembler never panics.
func FuzzParseChunk(f *testing.F) {
	frame := make([]byte, framer.FrameLen)
	for _, p := range cut(frame, 5, 1484) {
		f.Add(p)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		var c chunk
		if !parseChunk(p, &c) {
			return
		}
		if c.off+c.n > framer.FrameLen || len(c.payload) != c.n || hdrLen+c.n > len(p) || c.idx >= c.count {
			t.Fatalf("accepted an inconsistent chunk %+v", c)
		}
		var r reassembler
		r.add(&c)
	})
}
