package bench_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/dataplane/line/xdp"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
)

// OTU4 frame rate: 111.809 973 Gbit/s ÷ 130 560 bits per frame.
const otu4FrameRate = 856388.0

// BenchmarkPort runs one otkd port (dataplane.Port, role A, keyed both
// ways, rounds and test payload on) full duplex over a real line, against
// a cheap far end in the same process: a replayer that sends pre-sealed
// frames of a real B-side TX to the port's RX (two sets of 1024 frames
// under two keys, re-installed in turn so that the replay window takes
// them again; flow-controlled so that the line does not drop), and that
// never reads what the port's TX sends it (the kernel drops it). The TX
// is unpaced. With two CPUs or more, the port's TX threads are pinned to
// the first CPU and its RX threads to the second (Config.CPUs); the
// replayer and the benchmark float. b.N is frames per direction.
//
// Per sub-benchmark (line type and W):
//
//	tx-xline, rx-xline        frames/s of wall time ÷ 82 025, per direction
//	tx-us/frame, rx-us/frame  CPU time of the direction's threads per frame
//	                          (/proc/self/task/TID/schedstat): what it costs
//	                          whatever the other tenants of the machine do
//	tx-cyc/frame, rx-cyc/frame  the same in cycles, at the clock measured
//	                          on the pinned CPUs around the run
//	tx-core-xline, rx-core-xline  12.19 µs ÷ us/frame: how many OTU2
//	                          directions one such core carries
//	otu4-cores                (tx + rx cycles per frame) × 856 388 ÷ clock:
//	                          the cores a full-duplex OTU4 port needs at
//	                          this cost per frame
//	tx-seq-us, rx-seq-us      (W > 1) the busiest sequential stage per
//	                          frame (builder or sender; receiver or
//	                          sequencer): the bound on how far workers scale
//	far-us/frame              the replayer's CPU per frame (on loopback it
//	                          also carries the kernel's delivery to the port)
//
// Sub-benchmarks over veth (UDP through IP fragments at MTU 1500, AF_XDP
// in copy mode) need root and skip without it.
func BenchmarkPort(b *testing.B) {
	type lineCase struct {
		name string
		root bool
		open func(b *testing.B) (port, far dataplane.Line)
	}
	cases := []lineCase{
		{"udp-lo/batch=1", false, func(b *testing.B) (dataplane.Line, dataplane.Line) { return udpLoopback(b, 1) }},
		{"udp-lo/batch=16", false, func(b *testing.B) (dataplane.Line, dataplane.Line) { return udpLoopback(b, 16) }},
		{"udp-veth/batch=16", true, func(b *testing.B) (dataplane.Line, dataplane.Line) { return udpVeth(b, 16) }},
		{"xdp-veth", true, xdpVeth},
	}
	// The UDP and AF_XDP lines' receivers apply the channel model (soft
	// samples of the negotiation bits, the simulated fibre noise): its
	// share of rx-us/frame, measured alone on the RX's CPU.
	b.Run("model-only", func(b *testing.B) {
		cpus, _ := dataplane.AllowedCPUs()
		if len(cpus) >= 2 {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			var set unix.CPUSet
			set.Set(cpus[1])
			unix.SchedSetaffinity(0, &set)
		}
		prof := noise.DefaultProfile()
		ch, err := noise.NewChannel(prof, 1)
		if err != nil {
			b.Fatal(err)
		}
		frame, soft := make([]byte, framer.FrameLen), make([]noise.Sample, noise.SamplesPerFrame)
		thr := prof.Threshold()
		t0 := threadCPU()
		for b.Loop() {
			channel.Modulate(frame, soft, &prof)
			channel.Impair(ch, frame, soft, thr, false)
		}
		b.ReportMetric(float64(threadCPU()-t0)/1e3/float64(b.N), "us/frame")
	})
	sets, testKeys := preSealed(b)
	for _, lc := range cases {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/W=%d", lc.name, w), func(b *testing.B) {
				if lc.root && os.Geteuid() != 0 {
					b.Skip("needs root (network namespaces, veth)")
				}
				port, far := lc.open(b)
				runPort(b, port, far, w, sets, testKeys)
			})
		}
	}
}

// The far end's frames: B's TX under two keys, epochs 1 and 2.
const setLen = 1024

var errEnough = errors.New("bench: enough frames")

// captureLine keeps the first frames a TX sends.
type captureLine struct {
	frames [][]byte
	closed chan struct{}
	once   sync.Once
}

func (l *captureLine) Send(f []byte) error {
	if len(l.frames) == setLen {
		return errEnough
	}
	l.frames = append(l.frames, append([]byte(nil), f...))
	return nil
}
func (l *captureLine) Recv([]byte, []noise.Sample) error { <-l.closed; return net.ErrClosed }
func (l *captureLine) Close() error                      { l.once.Do(func() { close(l.closed) }); return nil }

// preSealed makes the replayer's two sets: what a B port's TX sends (own
// rounds, test payload) under key 1 (epoch 1) and key 2 (epoch 2), each
// from COUNT 0.
func preSealed(b *testing.B) (sets [2][][]byte, testKeys [2]keys.Key) {
	testKeys = [2]keys.Key{{0xB1, 1}, {0xB2, 2}}
	for i := range sets {
		l := &captureLine{closed: make(chan struct{})}
		p, err := dataplane.NewPort(dataplane.Config{Role: dataplane.RoleB, Line: l})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.ScheduleTX(uint8(i+1), &testKeys[i], 0); err != nil {
			b.Fatal(err)
		}
		if err := p.Run(context.Background()); !errors.Is(err, errEnough) {
			b.Fatalf("pre-sealing: %v", err)
		}
		sets[i] = l.frames
	}
	return sets, testKeys
}

// runPort is one sub-benchmark: the port over port, the replayer over far.
func runPort(b *testing.B, line, far dataplane.Line, w int, sets [2][][]byte, testKeys [2]keys.Key) {
	cpus, _ := dataplane.AllowedCPUs()
	if len(cpus) > 2 {
		cpus = cpus[:2]
	}
	if len(cpus) < 2 || os.Getenv("OTKD_BENCH_NOPIN") != "" {
		cpus = nil // one CPU: nothing to pin apart, and no per-thread figures
	}
	p, err := dataplane.NewPort(dataplane.Config{Role: dataplane.RoleA, Line: line, Workers: w, CPUs: cpus})
	if err != nil {
		b.Fatal(err)
	}
	txKey := keys.Key{0xA1}
	if err := p.ScheduleTX(1, &txKey, 0); err != nil {
		b.Fatal(err)
	}
	if err := p.InstallRX(1, &testKeys[0]); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()

	processed := func() uint64 {
		s := p.Stats()
		return s.RXFrames + s.RXNullFrames + s.RXLostFAS + s.RXUnknownEpoch + s.RXAuthFailed + s.RXReplayed + s.RXTooOld
	}
	window := uint64(256)
	if _, ok := far.(*xdp.Line); ok {
		window = 64 // the AF_XDP line's UMEM holds about 170 frames a direction
	}
	r := &replayer{p: p, far: far, sets: sets, testKeys: testKeys, processed: processed, window: window}
	r.wg.Add(1)
	go r.run()
	defer r.stop()

	// Warm up: both directions running, the threads up.
	for processed() < 2*setLen || p.Stats().TXFrames < 2*setLen {
		if r.failed() != nil {
			b.Fatal(r.failed())
		}
		time.Sleep(time.Millisecond)
	}
	ghz0 := clockOn(cpus)
	th := p.Threads()
	cpu0 := threadTimes(th)
	far0 := r.cpu()
	tx0, rx0, t0 := p.Stats().TXFrames, processed(), time.Now()
	b.SetBytes(2 * framer.FrameLen)
	b.ResetTimer()
	target := rx0 + uint64(b.N)
	for processed() < target {
		if err := r.failed(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	tx1, rx1, t1 := p.Stats().TXFrames, processed(), time.Now()
	cpu1 := threadTimes(th)
	far1 := r.cpu()
	b.StopTimer()
	ghz := (ghz0 + clockOn(cpus)) / 2
	el := t1.Sub(t0).Seconds()
	txN, rxN := float64(tx1-tx0), float64(rx1-rx0)
	b.ReportMetric(txN/el/otu2FrameRate, "tx-xline")
	b.ReportMetric(rxN/el/otu2FrameRate, "rx-xline")
	b.ReportMetric(float64(far1-far0)/1e3/rxN, "far-us/frame")
	st := p.Stats()
	if st.RXAuthFailed+st.PayloadErrors != 0 {
		b.Fatalf("the port refused or misread authentic frames: %+v", st)
	}
	// Frames the replayer wrote off as lost that came late, across a key
	// change: refused as replays or of an epoch gone. Rare; counted.
	b.ReportMetric(float64(st.RXReplayed+st.RXUnknownEpoch+st.RXTooOld)+float64(r.lost.Load()), "rx-lost+refused")
	if cpus == nil {
		return
	}
	var txNS, rxNS, txSeq, rxSeq float64
	for i, t := range th {
		d := float64(cpu1[i] - cpu0[i])
		switch {
		case strings.HasPrefix(t.Stage, "tx"):
			txNS += d
			if t.Stage == "tx-builder" || t.Stage == "tx-sender" {
				txSeq = max(txSeq, d/txN)
			}
		default:
			rxNS += d
			if t.Stage == "rx-receiver" || t.Stage == "rx-sequencer" {
				rxSeq = max(rxSeq, d/rxN)
			}
		}
	}
	txUS, rxUS := txNS/txN/1e3, rxNS/rxN/1e3
	b.ReportMetric(txUS, "tx-us/frame")
	b.ReportMetric(rxUS, "rx-us/frame")
	b.ReportMetric(txUS*1e3*ghz, "tx-cyc/frame")
	b.ReportMetric(rxUS*1e3*ghz, "rx-cyc/frame")
	b.ReportMetric(1e6/otu2FrameRate/txUS, "tx-core-xline")
	b.ReportMetric(1e6/otu2FrameRate/rxUS, "rx-core-xline")
	b.ReportMetric((txUS+rxUS)*otu4FrameRate/1e6, "otu4-cores")
	b.ReportMetric(ghz, "GHz")
	if w > 1 {
		b.ReportMetric(txSeq/1e3, "tx-seq-us")
		b.ReportMetric(rxSeq/1e3, "rx-seq-us")
	}
}

// replayer sends the pre-sealed sets to the port, flow-controlled: at most
// window frames ahead of what the port's RX has taken. Before each pass it
// waits for the port to take the previous one, then installs the key of
// the pass after it (a new install of an epoch starts a fresh window, so
// the same COUNTs are new again).
type replayer struct {
	p         *dataplane.Port
	far       dataplane.Line
	sets      [2][][]byte
	testKeys  [2]keys.Key
	processed func() uint64
	window    uint64
	quit      atomic.Bool
	err       atomic.Pointer[error]
	tid       atomic.Int64
	wg        sync.WaitGroup
	lost      atomic.Uint64
}

type batchSender interface{ SendBatch(frames [][]byte) error }

func (r *replayer) run() {
	defer r.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r.tid.Store(int64(unix.Gettid()))
	fail := func(err error) { r.err.Store(&err) }
	bs, batched := r.far.(batchSender)
	var sent uint64
	// wait waits until the port has taken all but ahead of the frames
	// sent; frames the line lost (nothing for 0.5 s) are written off.
	wait := func(ahead uint64) bool {
		last, since := r.processed(), time.Now()
		for {
			got := r.processed() + r.lost.Load()
			if got+ahead >= sent {
				return true
			}
			if r.quit.Load() {
				return false
			}
			if n := r.processed(); n != last {
				last, since = n, time.Now()
			} else if time.Since(since) > 500*time.Millisecond {
				r.lost.Add(sent - got - ahead)
				return true
			}
			time.Sleep(20 * time.Microsecond) // not a spin: the port's threads need the cores
		}
	}
	for pass := 0; ; pass++ {
		if !wait(0) {
			return
		}
		// The current key stays previous for this pass's frames; the next
		// pass's key becomes current, with a fresh window.
		next := (pass + 1) % 2
		k := r.testKeys[next]
		if err := r.p.InstallRX(uint8(next+1), &k); err != nil {
			fail(err)
			return
		}
		set := r.sets[pass%2]
		for i := 0; i < len(set); i += 16 {
			if !wait(r.window - 16) {
				return
			}
			chunk := set[i:min(i+16, len(set))]
			var err error
			if batched {
				err = bs.SendBatch(chunk)
			} else {
				for _, f := range chunk {
					if err = r.far.Send(f); err != nil {
						break
					}
				}
			}
			if err != nil {
				if !r.quit.Load() {
					fail(err)
				}
				return
			}
			sent += uint64(len(chunk))
		}
	}
}

func (r *replayer) failed() error {
	if e := r.err.Load(); e != nil {
		return *e
	}
	return nil
}

// cpu is the replayer thread's CPU time in ns.
func (r *replayer) cpu() uint64 {
	t := r.tid.Load()
	if t == 0 {
		return 0
	}
	return schedstat(int(t))
}

func (r *replayer) stop() {
	r.quit.Store(true)
	r.far.Close()
	r.wg.Wait()
}

// threadCPU is the calling thread's time on a CPU in ns.
func threadCPU() uint64 { return schedstat(unix.Gettid()) }

// schedstat is a thread's time on a CPU in ns (/proc/self/task/TID/schedstat).
func schedstat(tid int) uint64 {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseUint(f[0], 10, 64)
	return v
}

func threadTimes(th []dataplane.Thread) []uint64 {
	out := make([]uint64, len(th))
	for i, t := range th {
		out[i] = schedstat(t.TID)
	}
	return out
}

// clockOn measures the clock (GHz) of each CPU with BenchmarkClock's chain
// of 3-cycle multiplies on a thread pinned there, and returns the mean;
// the current thread's clock when cpus is empty.
func clockOn(cpus []int) float64 {
	if len(cpus) == 0 {
		return measureClock()
	}
	var sum float64
	for _, c := range cpus {
		ch := make(chan float64)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			var set unix.CPUSet
			set.Set(c)
			unix.SchedSetaffinity(0, &set)
			ch <- measureClock()
		}()
		sum += <-ch
	}
	return sum / float64(len(cpus))
}

var clockSinkPort uint64

func measureClock() float64 {
	best := 0.0
	for range 5 {
		const muls = 1 << 18
		x := uint64(1)
		t0 := time.Now()
		for range muls {
			x *= 0x9E3779B97F4A7C15
		}
		clockSinkPort += x
		best = max(best, 3*muls/float64(time.Since(t0).Nanoseconds()))
	}
	return best
}

// udpLoopback: the port and the far end on two 127.0.0.1 sockets.
func udpLoopback(b *testing.B, batch int) (port, far dataplane.Line) {
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	var lines [2]*udp.Line
	for i, c := range conns {
		cfg := udp.Config{Peer: conns[1-i].LocalAddr().(*net.UDPAddr).AddrPort(), Seed: uint64(i + 1), Batch: batch}
		if i == 1 {
			cfg.Batch = 16 // the replayer
		}
		l, err := udp.FromConn(c, cfg)
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = l
		b.Cleanup(func() { l.Close() })
	}
	return lines[0], lines[1]
}

// vethNS is two network namespaces joined by a veth pair (the pattern of
// dataplane/line/internal/vethtest, which bench may not import).
type vethNS struct {
	ns, dev [2]string
	mac     [2]net.HardwareAddr
	ip      [2]netip.Addr
}

func newVethNS(b testing.TB) *vethNS {
	var t [3]byte
	crand.Read(t[:])
	tok := hex.EncodeToString(t[:])
	n := &vethNS{
		ns:  [2]string{"otkdb-" + tok + "-a", "otkdb-" + tok + "-b"},
		dev: [2]string{"ba" + tok, "bb" + tok},
		mac: [2]net.HardwareAddr{{0x02, 0x4d, t[0], t[1], t[2], 0x0a}, {0x02, 0x4d, t[0], t[1], t[2], 0x0b}},
		ip:  [2]netip.Addr{netip.MustParseAddr("169.254.79.1"), netip.MustParseAddr("169.254.79.2")},
	}
	ipCmd := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			b.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range n.ns {
		ipCmd("netns", "add", ns)
		b.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd("link", "add", n.dev[0], "netns", n.ns[0], "address", n.mac[0].String(),
		"type", "veth", "peer", "name", n.dev[1], "netns", n.ns[1], "address", n.mac[1].String())
	for i := range 2 {
		ipCmd("-n", n.ns[i], "link", "set", "lo", "up")
		ipCmd("-n", n.ns[i], "addr", "add", n.ip[i].String()+"/24", "dev", n.dev[i])
		ipCmd("-n", n.ns[i], "link", "set", n.dev[i], "up")
		ipCmd("-n", n.ns[i], "neigh", "replace", n.ip[1-i].String(), "lladdr", n.mac[1-i].String(), "dev", n.dev[i], "nud", "permanent")
	}
	return n
}

// in runs f on a thread inside namespace i; what f opens stays there.
func (n *vethNS) in(i int, f func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(self)
	target, err := unix.Open("/var/run/netns/"+n.ns[i], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return err // the thread stays locked and ends with the goroutine
	}
	runtime.UnlockOSThread()
	return ferr
}

// udpVeth: the port in namespace a, the far end in b, UDP over veth (MTU
// 1500: a frame is 12 IP fragments).
func udpVeth(b *testing.B, batch int) (port, far dataplane.Line) {
	n := newVethNS(b)
	var lines [2]*udp.Line
	for i := range 2 {
		cfg := udp.Config{Local: netip.AddrPortFrom(n.ip[i], 4790), Peer: netip.AddrPortFrom(n.ip[1-i], 4790),
			Seed: uint64(i + 1), Batch: batch}
		if i == 1 {
			cfg.Batch = 16
		}
		if err := n.in(i, func() error {
			l, err := udp.Dial(cfg)
			lines[i] = l
			return err
		}); err != nil {
			b.Fatal(err)
		}
		l := lines[i]
		b.Cleanup(func() { l.Close() })
	}
	return lines[0], lines[1]
}

// xdpVeth: the port and the far end on AF_XDP lines over veth (copy mode,
// 12 chunks a frame).
func xdpVeth(b *testing.B) (port, far dataplane.Line) { return xdpVethT(b) }

func xdpVethT(b testing.TB) (port, far dataplane.Line) {
	n := newVethNS(b)
	var lines [2]*xdp.Line
	for i := range 2 {
		cfg := xdp.Config{Interface: n.dev[i], Peer: n.mac[1-i], Seed: uint64(i + 1)}
		if err := n.in(i, func() error {
			l, err := xdp.Open(cfg)
			lines[i] = l
			return err
		}); err != nil {
			b.Skipf("AF_XDP line: %v", err)
		}
		l := lines[i]
		b.Cleanup(func() { l.Close() })
	}
	return lines[0], lines[1]
}
