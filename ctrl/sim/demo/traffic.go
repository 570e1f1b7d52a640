package demo

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otkd/otkd/ctrl/sim/pair"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
)

// traffic is one end's client in the demo: a client.Device whose Read is a
// generator of Ethernet frames for the far end and whose Write checks the
// frames the far end generated. Each frame carries a sequence number and a
// digest of its contents, so the checker sees every frame lost, repeated,
// reordered or altered between the two generators' reads and the far
// checker's write, whatever the layers between them checked.
//
// The generator offers a fixed share (load) of the payload its end's
// frames carry: it counts the keyed frames its port sent and may send
// load × 15 232 octets per frame of client frames. So it follows the rate
// the machine sustains and never sends before the link carries payload;
// it never outruns the link unless load is near 1 (the GFP headers and
// idle frames take their share).
type traffic struct {
	end  int // 0 = A
	port *dataplane.Port
	load float64
	seed maphash.Seed // the digest's, shared by both ends

	// generator (the client reader's goroutine)
	rng    *rand.ChaCha8
	next   int     // size of the next frame, drawn ahead
	budget float64 // octets it may send
	frames uint64  // keyed frames its port had sent at the last refill
	seq    uint64
	paused chan struct{} // closed: generate no more
	closed chan struct{}

	// checker (the client writer's goroutine)
	expect uint64 // next sequence number expected from the far end

	st trafficStats
}

// trafficStats are one end's counters; any goroutine may read them.
type trafficStats struct {
	Generated, GeneratedBytes atomic.Uint64 // frames handed to the mapper (the client's reads)
	Received, ReceivedBytes   atomic.Uint64 // good frames from the far end, in order
	Gaps                      atomic.Uint64 // frames missing before one that came (sequence gaps)
	Corrupted                 atomic.Uint64 // digest or header mismatch
	OutOfOrder                atomic.Uint64 // a sequence number at or behind one already seen
	First                     atomic.Int64  // unix ns of the first frame generated
	Last                      atomic.Int64  // unix ns of the last frame generated
}

// Frame layout: destination, source, EtherType (IEEE 802 local
// experimental 0x88B5), sequence number, digest, random payload.
const (
	trafficType  = 0x88B5
	trafficHead  = 14 + 8 + 8
	trafficMin   = client.MinFrame // 60: no padding, so the far end sees what was sent
	trafficMax   = client.DefaultMTU + client.EthHeader
	refillPeriod = time.Millisecond
	// maxBudget bounds a burst after a stall: 256 KB, well inside the
	// mapper's ring.
	maxBudget = 256 << 10
)

func newTraffic(end int, port *dataplane.Port, load float64, seed maphash.Seed) *traffic {
	var key [32]byte
	key[0] = byte(end + 1)
	t := &traffic{end: end, port: port, load: load, seed: seed, rng: rand.NewChaCha8(key),
		paused: make(chan struct{}), closed: make(chan struct{})}
	t.next = t.size()
	return t
}

// size draws a frame size, uniform in 60..1514 octets.
func (t *traffic) size() int {
	return trafficMin + int(t.rng.Uint64()%uint64(trafficMax-trafficMin+1))
}

// pause stops the generator for good; the checker goes on.
func (t *traffic) pause() { close(t.paused) }

// Read generates the next frame into p once the budget allows it.
func (t *traffic) Read(p []byte) (int, error) {
	for t.budget < float64(t.next) {
		select {
		case <-t.closed:
			return 0, os.ErrClosed
		case <-t.paused:
			<-t.closed
			return 0, os.ErrClosed
		default:
		}
		if !t.refill() {
			select {
			case <-t.closed:
			case <-time.After(refillPeriod):
			}
		}
	}
	n := t.next
	t.next = t.size()
	t.budget -= float64(n)
	t.fill(p[:n])
	now := time.Now().UnixNano()
	if t.st.Generated.Add(1) == 1 {
		t.st.First.Store(now)
	}
	t.st.GeneratedBytes.Add(uint64(n))
	t.st.Last.Store(now)
	return n, nil
}

// refill adds the budget of the keyed frames the port sent since the last
// refill; false when there were none.
func (t *traffic) refill() bool {
	s := t.port.Stats()
	keyed := s.TXFrames - s.TXNullFrames
	d := keyed - t.frames
	t.frames = keyed
	if d == 0 {
		return false
	}
	t.budget = min(t.budget+float64(d)*client.PayloadLen*t.load, maxBudget)
	return true
}

// fill writes a frame: header, sequence number, random payload, digest.
func (t *traffic) fill(f []byte) {
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, byte(2 - t.end)})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, byte(1 + t.end)})
	binary.BigEndian.PutUint16(f[12:], trafficType)
	binary.BigEndian.PutUint64(f[14:], t.seq)
	t.seq++
	body := f[trafficHead:]
	for len(body) >= 8 {
		binary.LittleEndian.PutUint64(body, t.rng.Uint64())
		body = body[8:]
	}
	if len(body) > 0 {
		var last [8]byte
		binary.LittleEndian.PutUint64(last[:], t.rng.Uint64())
		copy(body, last[:])
	}
	binary.BigEndian.PutUint64(f[22:], t.digest(f))
}

// digest covers the sequence number, the length and the payload. It is
// maphash, a fast keyed hash, not a cryptographic one: the demo checks
// the link against damage, not against an attacker (the frame tags do
// that), and it must cost little next to the frame path.
func (t *traffic) digest(f []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.Write(f[14:22])
	h.Write(f[trafficHead:])
	return h.Sum64()
}

// Write checks a frame from the far end.
func (t *traffic) Write(f []byte) (int, error) {
	if len(f) < trafficHead || binary.BigEndian.Uint16(f[12:]) != trafficType ||
		binary.BigEndian.Uint64(f[22:]) != t.digest(f) {
		t.st.Corrupted.Add(1)
		return len(f), nil
	}
	seq := binary.BigEndian.Uint64(f[14:])
	switch {
	case seq < t.expect:
		t.st.OutOfOrder.Add(1)
		return len(f), nil
	case seq > t.expect:
		t.st.Gaps.Add(seq - t.expect)
	}
	t.expect = seq + 1
	t.st.Received.Add(1)
	t.st.ReceivedBytes.Add(uint64(len(f)))
	return len(f), nil
}

// Close ends a Read in progress (Serve closes the device when it stops).
func (t *traffic) Close() error {
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	return nil
}

// drain waits (bounded) for the client frames still on their way once the
// generators have stopped: until every frame sent is delivered, or nothing
// more arrives for a while (the rest is lost).
func drain(p *pair.Pair, gens [2]*traffic) {
	deadline := time.Now().Add(3 * time.Second)
	var last [2]uint64
	still := time.Now()
	for time.Now().Before(deadline) && time.Since(still) < 300*time.Millisecond {
		all := true
		for d := range gens {
			got := gens[1-d].st.Received.Load()
			if got != last[d] {
				last[d], still = got, time.Now()
			}
			all = all && got >= p.Mappers[d].Stats().InPackets.Load()
		}
		if all {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// summariseClient adds up the client traffic of both directions.
func summariseClient(p *pair.Pair, gens [2]*traffic, load float64) *ClientSummary {
	cs := &ClientSummary{Load: load, Explained: true}
	for d := range gens {
		g, r := gens[d], gens[1-d] // the sender, the checker at the far end
		ms, mr := p.Mappers[d].Stats(), p.Mappers[1-d].Stats()
		x := &cs.Directions[d]
		x.Name = [2]string{"A->B", "B->A"}[d]
		x.Sent, x.SentBytes = ms.InPackets.Load(), ms.InBytes.Load()
		x.Delivered, x.DeliveredBytes = r.st.Received.Load(), r.st.ReceivedBytes.Load()
		if x.Sent > x.Delivered {
			x.Lost = x.Sent - x.Delivered
		}
		x.Corrupted, x.OutOfOrder = r.st.Corrupted.Load(), r.st.OutOfOrder.Load()
		// The generator makes only well-formed frames that the MTU allows;
		// the mapper's MTU and malformed counters also count what its own
		// receiver dropped (the other direction).
		x.DroppedSender = ms.DropCapacity.Load()
		if span := time.Duration(g.st.Last.Load() - g.st.First.Load()); span > 0 {
			x.GoodputMbps = float64(x.DeliveredBytes) * 8 / span.Seconds() / 1e6
		}
		x.OTNFramesLost = mr.LostFrames.Load() + mr.LateFrames.Load() + mr.Restarts.Load()
		x.OTNFramesDamaged = mr.DamagedFrames.Load()
		x.DroppedQueue = mr.DropQueue.Load()
		x.DroppedReceiver = mr.DropDelineation.Load() + mr.DropPFCS.Load() + mr.DropFCS.Load() + mr.DropMalformed.Load() +
			mr.DropMTU.Load() + x.DroppedQueue + mr.DropClient.Load()
		cs.Lost += x.Lost
		cs.Corrupted += x.Corrupted + x.OutOfOrder
		if x.Lost > x.DroppedReceiver && x.OTNFramesLost+x.OTNFramesDamaged == 0 {
			cs.Explained = false
		}
		// The first key of each direction comes before any client frame
		// (the generators wait for keyed frames): switches after it.
		cs.KeySwitches += max(int(p.Ports[d].Stats().TXKeySwitches)-1, 0)
	}
	cs.Line = cs.verdict()
	var tail uint64
	for _, x := range cs.Directions {
		tail += x.DroppedSender
	}
	if tail > 0 {
		cs.Line += fmt.Sprintf(" (and %d tail-dropped at the sender: the link was full)", tail)
	}
	return cs
}

// verdict is the summary's one line about the client traffic.
func (cs *ClientSummary) verdict() string {
	var otn, queue uint64
	for _, x := range cs.Directions {
		otn += x.OTNFramesLost + x.OTNFramesDamaged
		queue += min(x.DroppedQueue, x.Lost)
	}
	switch {
	case cs.Lost == 0 && cs.Corrupted == 0:
		return fmt.Sprintf("0 frames lost or corrupted across %d key switches", cs.KeySwitches)
	case cs.Corrupted > 0:
		return fmt.Sprintf("%d frames lost, %d CORRUPTED OR REORDERED across %d key switches", cs.Lost, cs.Corrupted, cs.KeySwitches)
	case !cs.Explained:
		return fmt.Sprintf("%d frames LOST without a damaged frame to explain them, 0 corrupted, across %d key switches", cs.Lost, cs.KeySwitches)
	}
	line := cs.Lost - queue
	var why []string
	if line > 0 {
		why = append(why, fmt.Sprintf("%d with the %d OTN frames the fibre damaged beyond the FEC or lost (dropped, never delivered damaged)", line, otn))
	}
	if queue > 0 {
		why = append(why, fmt.Sprintf("%d dropped at the receiving client, which fell behind (its ring full)", queue))
	}
	return fmt.Sprintf("%d frames lost: %s; 0 corrupted, across %d key switches", cs.Lost, strings.Join(why, ", "), cs.KeySwitches)
}

// liveVerdict is the progress line's: losses seen so far (gaps in the
// sequence; frames still on their way are not lost).
func liveVerdict(p *pair.Pair, gens [2]*traffic) string {
	var lost, bad uint64
	sw := 0
	for d := range gens {
		lost += gens[d].st.Gaps.Load()
		bad += gens[d].st.Corrupted.Load() + gens[d].st.OutOfOrder.Load()
		sw += max(int(p.Ports[d].Stats().TXKeySwitches)-1, 0)
	}
	if bad > 0 {
		return fmt.Sprintf("%d lost, %d CORRUPTED across %d switches", lost, bad, sw)
	}
	return fmt.Sprintf("%d lost or corrupted across %d switches", lost, sw)
}
