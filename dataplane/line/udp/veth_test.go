package udp

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane/line/internal/vethtest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/race"
)

// vethPair opens a UDP line in each namespace of n, each sending to the
// other's address.
// vethRate paces the veth streams; the race detector slows the receiver
// tenfold.
func vethRate() float64 {
	if race.Enabled {
		return 300
	}
	return 3000
}

func vethPair(t *testing.T, n *vethtest.Net, cfg Config) [2]*Line {
	t.Helper()
	var lines [2]*Line
	for i := range 2 {
		c := cfg
		c.Local = netip.AddrPortFrom(n.IP[i], 4790)
		c.Peer = netip.AddrPortFrom(n.IP[1-i], 4790)
		c.Seed += uint64(i)
		if err := n.Do(i, func() error {
			l, err := Dial(c)
			lines[i] = l
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lines[i].Close() })
	}
	return lines
}

// vethStream sends n stamped frames and receives until nothing arrives for
// a while: every delivered frame must be whole and none delivered twice (a
// UDP line does not promise order). It returns the number delivered.
func vethStream(t *testing.T, from, to *Line, n int) int {
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
		errc <- from.Flush()
	}()
	seen := make(map[uint32]bool)
	got := newBufs()
	var sendErr error
	sent := false
	for bound := time.Now().Add(time.Minute); time.Now().Before(bound); { // a bound for a stuck run
		to.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		err := to.Recv(got.frame, got.soft)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if sent { // nothing more after the sender finished
				break
			}
			select { // a loaded machine may not have started sending yet
			case sendErr = <-errc:
				sent = true
			default:
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		i, whole := stampOf(got.frame)
		if !whole {
			t.Fatalf("frame %d arrived spliced or corrupt", i)
		}
		if seen[i] {
			t.Fatalf("frame %d delivered twice", i)
		}
		seen[i] = true
	}
	if !sent {
		sendErr = <-errc
	}
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	return len(seen)
}

// TestVeth: the batched and the one-datagram line between two namespaces
// over a 1500-byte-MTU veth (each frame crosses as IP fragments): frames
// arrive whole; through a relay that drops, duplicates and reorders the
// fragments on the wire, the frames that arrive are still whole and each
// arrives once (IP reassembly and the UDP checksum keep a datagram whole
// or drop it).
func TestVeth(t *testing.T) {
	for _, faults := range []bool{false, true} {
		for _, batch := range []int{1, 16} {
			var n *vethtest.Net
			if faults {
				n = vethtest.NewRelayed(t, vethtest.Faults{Loss: 0.01, Duplicate: 0.03, Reorder: 0.02, Seed: 5})
			} else {
				n = vethtest.New(t)
			}
			lines := vethPair(t, n, Config{Seed: 3, Batch: batch, FrameRate: vethRate()})
			const frames = 600
			got := vethStream(t, lines[0], lines[1], frames)
			sa, sb := lines[0].Stats(), lines[1].Stats()
			t.Logf("faults %v, batch %d: delivered %d of %d; A %+v; B %+v", faults, batch, got, frames, sa, sb)
			if sa.Sent != frames || sb.Received != uint64(got) {
				t.Fatalf("sent %d, received %d", sa.Sent, sb.Received)
			}
			if !faults && got < frames*3/4 { // drops only when the receiver is starved of CPU
				t.Fatalf("delivered %d of %d over a clean veth", got, frames)
			}
			if faults {
				if got == frames || got < frames/2 {
					t.Fatalf("delivered %d of %d through the faulty relay (%+v)", got, frames, n.Relay())
				}
			}
		}
	}
}
