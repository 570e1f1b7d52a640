package xdp

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane/line/internal/vethtest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/race"
	"github.com/otkd/otkd/noise"
)

// stamp writes frame number i over the whole frame, so that a receiver can
// tell a frame that arrived whole from one spliced from two.
func stamp(frame []byte, i uint32) {
	for k := 0; k+4 <= len(frame); k += 4 {
		binary.LittleEndian.PutUint32(frame[k:], i*2654435761+uint32(k))
	}
}

// isNeg reports whether byte off of a frame carries soft samples (the
// channel model rewrites those).
func isNeg(off int) bool {
	return off >= framer.Data1Off && off < framer.Data1Off+framer.DataLen ||
		off >= framer.Data2Off && off < framer.Data2Off+framer.DataLen
}

// stampOf returns the frame number stamped in frame and whether every byte
// outside the negotiation fields agrees with it.
func stampOf(frame []byte) (uint32, bool) {
	i := binary.LittleEndian.Uint32(frame) * 244002641
	var want [framer.FrameLen]byte
	stamp(want[:], i)
	for k := range frame {
		if !isNeg(k) && frame[k] != want[k] {
			return i, false
		}
	}
	return i, true
}

// openPair opens an xdp line at each end of n.
// portFrameRate paces the port test: under the race detector a receiving
// port opens only ~200 frames/s (see the UDP line's e2e test).
func portFrameRate() float64 {
	if race.Enabled {
		return 150
	}
	return 2000
}

// streamRate paces the veth streams; the race detector slows the
// receiver's channel model tenfold.
func streamRate() float64 {
	if race.Enabled {
		return 500
	}
	return 5000
}

func openPair(t *testing.T, n *vethtest.Net, cfg Config) [2]*Line {
	t.Helper()
	var lines [2]*Line
	for i := range 2 {
		c := cfg
		c.Interface, c.Peer, c.Seed = n.Dev[i], n.MAC[1-i], cfg.Seed+uint64(i)
		err := n.Do(i, func() error {
			l, err := Open(c)
			lines[i] = l
			return err
		})
		if errors.Is(err, ErrUnsupported) {
			t.Skipf("AF_XDP line unsupported here: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lines[i].Close() })
		t.Logf("%v: %d chunks per frame", lines[i], lines[i].ChunksPerFrame())
	}
	return lines
}

// stream sends n stamped frames from one line and receives on the other
// until the sender is done and nothing arrived for a while; it checks every
// delivered frame is whole, in order, and delivered once, and returns the
// number delivered.
func stream(t *testing.T, from, to *Line, n int) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		frame := make([]byte, framer.FrameLen)
		for i := range n {
			stamp(frame, uint32(i))
			if err := from.Send(frame); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	got := make(chan uint32, n)
	bad := make(chan error, 1)
	go func() {
		frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
		next := uint32(0)
		for {
			if err := to.Recv(frame, soft); err != nil {
				close(got)
				return
			}
			i, whole := stampOf(frame)
			switch {
			case !whole:
				bad <- errors.New("a frame arrived spliced or corrupt")
			case i < next:
				bad <- errors.New("a frame arrived twice or out of order")
			}
			next = i + 1
			got <- i
		}
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for idle := time.NewTimer(time.Second); ; {
		select {
		case _, ok := <-got:
			if !ok {
				return delivered
			}
			delivered++
			idle.Reset(300 * time.Millisecond)
		case err := <-bad:
			t.Fatal(err)
		case <-idle.C:
			to.Close()
			for range got {
				delivered++
			}
			return delivered
		}
	}
}

// TestVethIntact: frames sent by one end's AF_XDP line over a veth pair
// between two namespaces arrive whole, in order, each once.
func TestVethIntact(t *testing.T) {
	n := vethtest.New(t)
	lines := openPair(t, n, Config{Seed: 5, FrameRate: streamRate()})
	const frames = 500
	got := stream(t, lines[0], lines[1], frames)
	sa, sb := lines[0].Stats(), lines[1].Stats()
	t.Logf("A %+v", sa)
	t.Logf("B %+v", sb)
	if sa.Sent != frames || sa.SentChunks != frames*uint64(lines[0].ChunksPerFrame()) {
		t.Fatalf("sent %d frames in %d chunks", sa.Sent, sa.SentChunks)
	}
	// A veth in copy mode drops only when the receiving side is starved
	// of CPU (a loaded machine); whatever it drops is counted.
	acc := sb.Received + sb.Incomplete + sb.Missed
	if got < frames/2 || sb.Malformed+sb.Foreign+sb.Stale != 0 || acc > frames || acc+5 < frames {
		t.Fatalf("delivered %d of %d; %+v", got, frames, sb)
	}
}

// TestVethFaults runs the AF_XDP line through a relay that drops,
// duplicates and reorders chunks on the wire: no frame is delivered
// spliced, twice or out of order, and every frame that is not delivered is
// counted as incomplete, missed or stale.
func TestVethFaults(t *testing.T) {
	n := vethtest.NewRelayed(t, vethtest.Faults{Loss: 0.01, Duplicate: 0.03, Reorder: 0.02, Seed: 3})
	lines := openPair(t, n, Config{Seed: 9, FrameRate: streamRate() / 2})
	frames := 1200
	if testing.Short() {
		frames = 400
	}
	got := stream(t, lines[0], lines[1], frames)
	sb := lines[1].Stats()
	t.Logf("delivered %d of %d; relay %+v; B %+v", got, frames, n.Relay(), sb)
	if sb.Incomplete+sb.Missed == 0 || sb.Stray == 0 || sb.DupChunks == 0 {
		t.Errorf("netem's faults left no trace in the counters: %+v", sb)
	}
	// Each frame is counted once: delivered, or dropped as incomplete,
	// missed or stale; only frames lost at the very end go unseen.
	acc := sb.Received + sb.SimLost + sb.Incomplete + sb.Missed + sb.Stale
	if acc > uint64(frames) || acc+5 < uint64(frames) {
		t.Errorf("accounted for %d of %d frames: %+v", acc, frames, sb)
	}
	if got < frames/4 { // 12 chunks a frame: ~60 % survive the relay's faults
		t.Errorf("only %d of %d frames delivered", got, frames)
	}
}
