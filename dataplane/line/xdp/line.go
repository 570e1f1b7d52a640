package xdp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/dataplane/line/pace"
	"github.com/otkd/otkd/dataplane/line/xdp/xsk"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// ErrClosed is returned by Send and Recv once the line is closed. It wraps
// net.ErrClosed.
var ErrClosed = fmt.Errorf("xdp line closed: %w", net.ErrClosed)

// ErrConfig is wrapped by every error of an invalid Config.
var ErrConfig = errors.New("xdp line: invalid config")

// ErrUnsupported is wrapped when the kernel or the driver cannot do what
// the line needs (no eBPF, no AF_XDP, no zero-copy where it was required).
var ErrUnsupported = errors.New("xdp line: not supported here")

// ErrSetup is wrapped by the other failures of Open: a missing privilege
// (the error names the capability), an interface already running another
// XDP program, a queue the interface does not have.
var ErrSetup = errors.New("xdp line: setup failed")

// Mode and AttachMode values, re-exported for configuration.
const (
	ModeAuto     = xsk.ModeAuto
	ModeCopy     = xsk.ModeCopy
	ModeZeroCopy = xsk.ModeZeroCopy
)

// Config configures an AF_XDP line. Zero fields take the documented
// defaults; Interface and Peer are required.
type Config struct {
	// Interface is the network interface of the line (a point-to-point
	// Ethernet link to the peer host).
	Interface string
	// Queue is the interface's receive queue the socket binds; default 0.
	// The peer's frames must arrive on it (one queue, or steer them there
	// with the NIC's flow rules).
	Queue int
	// Peer is the peer's Ethernet address: chunks are sent to it, and only
	// chunks from it (and addressed to this interface) are taken.
	Peer net.HardwareAddr
	// Profile, Seed, BitErrors and FrameRate are the UDP line's: the
	// channel model the receiver applies and the sender's pacing (package
	// doc).
	Profile   noise.Profile
	Seed      uint64
	BitErrors bool
	FrameRate float64
	// ChunkSize is the number of frame bytes per chunk; default the
	// interface's MTU less the 16-byte chunk header, at most
	// MaxChunkSize. Both ends may differ: every chunk says where it goes.
	ChunkSize int
	// Mode is the AF_XDP data path: ModeAuto (zero-copy where the driver
	// supports it, else copy), ModeCopy or ModeZeroCopy.
	Mode xsk.Mode
	// Attach is how the steering XDP program is attached; default
	// AttachAuto (driver, else generic).
	Attach AttachMode
	// Frames is the number of 4 KiB UMEM frames, a power of two; half
	// receive, half send. Default 4096 (16 MiB, about 170 wire frames in
	// flight each way).
	Frames int
}

// MaxChunkSize is the largest ChunkSize: a chunk with its headers must fit
// a 4 KiB UMEM frame after the kernel's XDP headroom.
const MaxChunkSize = 4096 - unix.XDP_PACKET_HEADROOM - hdrLen

// minChunkSize keeps a frame within 255 chunks.
const minChunkSize = (framer.FrameLen + maxChunks - 1) / maxChunks

func (c *Config) fill(mtu int) error {
	if c.Interface == "" {
		return fmt.Errorf("%w: Interface is required", ErrConfig)
	}
	if len(c.Peer) != 6 {
		return fmt.Errorf("%w: Peer %q must be a 6-byte Ethernet address", ErrConfig, c.Peer)
	}
	if c.Peer[0]&1 != 0 {
		return fmt.Errorf("%w: Peer %v is a group address; the line is point to point", ErrConfig, c.Peer)
	}
	if c.Queue < 0 || c.Queue >= xdpMaxQueues {
		return fmt.Errorf("%w: Queue %d must be 0…%d", ErrConfig, c.Queue, xdpMaxQueues-1)
	}
	if c.Profile == (noise.Profile{}) {
		c.Profile = noise.DefaultProfile()
	}
	if err := c.Profile.Validate(); err != nil {
		return fmt.Errorf("%w: Profile: %w", ErrConfig, err)
	}
	if math.IsNaN(c.FrameRate) || math.IsInf(c.FrameRate, 0) || c.FrameRate < 0 {
		return fmt.Errorf("%w: FrameRate %v must be finite and ≥ 0", ErrConfig, c.FrameRate)
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = min(mtu-chunkHdr, MaxChunkSize)
	}
	if c.ChunkSize < minChunkSize || c.ChunkSize > MaxChunkSize || c.ChunkSize+chunkHdr > mtu {
		return fmt.Errorf("%w: ChunkSize %d must be %d…%d and fit the MTU %d with its 16-byte header", ErrConfig, c.ChunkSize, minChunkSize, MaxChunkSize, mtu)
	}
	if c.Frames == 0 {
		c.Frames = 4096
	}
	if c.Frames < 64 || c.Frames&(c.Frames-1) != 0 {
		return fmt.Errorf("%w: Frames %d must be a power of two ≥ 64", ErrConfig, c.Frames)
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return nil
}

// Stats are a line's counters, each loaded atomically.
type Stats struct {
	Sent       uint64 // frames handed to the kernel
	SentChunks uint64 // their chunks
	PacedWaits uint64 // waits of the pacer
	TXWaits    uint64 // waits for sent UMEM frames to come back
	Received   uint64 // frames delivered by Recv
	RXWaits    uint64 // waits for packets
	Foreign    uint64 // chunks dropped: not from Peer or not to this interface
	Malformed  uint64 // packets dropped: not a well-formed chunk
	Incomplete uint64 // frames dropped: part of their chunks seen, not all in order
	Missed     uint64 // frames of which no chunk arrived (sequence gaps)
	Stray      uint64 // chunks dropped: out of order, or of a dropped or old frame
	DupChunks  uint64 // chunks skipped as the repeat of the chunk just taken
	Stale      uint64 // whole frames dropped: not newer than one delivered
	Resync     uint64 // sequence jumps too far to count as missed frames (a restarted peer)
	SimLost    uint64 // frames dropped by the simulated channel (Profile.Loss)
	// The kernel's counters of the socket.
	KernelRXDropped, KernelRXRingFull, KernelFillEmpty, KernelTXInvalid uint64
}

type counters struct {
	sent, sentChunks, pacedWaits, txWaits          atomic.Uint64
	_                                              [64]byte
	received, rxWaits, foreign, malformed, simLost atomic.Uint64
}

// Line is one end of an AF_XDP line. It is created by Open.
type Line struct {
	name    string
	ifindex int
	local   [6]byte
	peer    [6]byte
	sock    *xsk.Socket
	steer   *steering
	zc      bool
	evfd    int
	done    chan struct{}
	closed  atomic.Bool
	active  atomic.Int32
	once    sync.Once
	st      counters

	// Send side
	pace   pace.Pacer
	seq    uint32
	chunk  int // frame bytes per chunk
	count  int // chunks per frame
	free   []uint64
	descs  []unix.XDPDesc
	comp   []uint64
	txPoll [2]unix.PollFd

	// Recv side
	rx     []unix.XDPDesc
	rxN    int
	rxNext int
	back   []uint64 // received UMEM frames to put back on the fill ring
	re     reassembler
	c      chunk
	rxPoll [2]unix.PollFd
	ch     *noise.Channel
	prof   noise.Profile
	thr    noise.Sample
	bit    bool
}

// Open attaches the steering program to cfg.Interface, opens the AF_XDP
// socket on cfg.Queue and returns the line. It must run in the network
// namespace of the interface. Errors wrap ErrConfig, ErrUnsupported or
// ErrSetup and name the step and the cause.
func Open(cfg Config) (_ *Line, err error) {
	ifc, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		if cfg.Interface == "" {
			return nil, fmt.Errorf("%w: Interface is required", ErrConfig)
		}
		return nil, fmt.Errorf("%w: interface %q: %w", ErrConfig, cfg.Interface, err)
	}
	if err := cfg.fill(ifc.MTU); err != nil {
		return nil, err
	}
	if len(ifc.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%w: interface %q has no Ethernet address", ErrConfig, cfg.Interface)
	}
	ch, err := noise.NewChannel(cfg.Profile, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("%w: Profile: %w", ErrConfig, err)
	}
	l := &Line{
		name: cfg.Interface, ifindex: ifc.Index, done: make(chan struct{}), evfd: -1,
		chunk: cfg.ChunkSize, count: (framer.FrameLen + cfg.ChunkSize - 1) / cfg.ChunkSize,
		ch: ch, prof: cfg.Profile, thr: cfg.Profile.Threshold(), bit: cfg.BitErrors,
		seq: rand.Uint32(),
	}
	copy(l.local[:], ifc.HardwareAddr)
	copy(l.peer[:], cfg.Peer)
	defer func() {
		if err != nil {
			l.release()
		}
	}()
	if l.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("%w: eventfd: %w", ErrSetup, err)
	}
	if l.steer, err = loadSteering(ifc.Index, cfg.Attach); err != nil {
		return nil, fmt.Errorf("xdp line %s: %w", cfg.Interface, err)
	}
	l.sock, err = xsk.Open(xsk.Config{Ifindex: ifc.Index, Queue: cfg.Queue, Frames: cfg.Frames, FrameSize: 4096, Mode: cfg.Mode})
	if err != nil {
		if errors.Is(err, xsk.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %s: %w", ErrUnsupported, cfg.Interface, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrSetup, cfg.Interface, err)
	}
	l.zc = l.sock.ZeroCopy()
	if err = l.steer.register(cfg.Queue, l.sock.FD()); err != nil {
		return nil, err
	}
	l.setupRings()
	l.pace.Init(cfg.FrameRate)
	return l, nil
}

// setupRings hands the receive half of the UMEM to the kernel and keeps the
// send half as the free list.
func (l *Line) setupRings() {
	fs := uint64(l.sock.FrameSize())
	first, n := l.sock.RXFrames()
	fill := make([]uint64, n)
	for i := range fill {
		fill[i] = first + uint64(i)*fs
	}
	l.sock.Fill(fill)
	first, n = l.sock.TXFrames()
	l.free = make([]uint64, n, n)
	for i := range l.free {
		l.free[i] = first + uint64(i)*fs
	}
	l.descs = make([]unix.XDPDesc, l.count)
	l.comp = make([]uint64, n)
	l.rx = make([]unix.XDPDesc, 64)
	l.back = make([]uint64, 0, len(l.rx))
	fd := int32(l.sock.FD())
	l.txPoll = [2]unix.PollFd{{Fd: fd, Events: unix.POLLOUT}, {Fd: int32(l.evfd), Events: unix.POLLIN}}
	l.rxPoll = [2]unix.PollFd{{Fd: fd, Events: unix.POLLIN}, {Fd: int32(l.evfd), Events: unix.POLLIN}}
}

// enter marks a Send or Recv in progress; false once the line is closed.
// Close waits for the calls in progress before it unmaps the UMEM.
func (l *Line) enter() bool {
	l.active.Add(1)
	if l.closed.Load() {
		l.active.Add(-1)
		return false
	}
	return true
}

func (l *Line) exit() { l.active.Add(-1) }

// Send cuts frame (framer.FrameLen bytes) into chunks, puts them on the TX
// ring and wakes the kernel, after the pacer's wait when Config.FrameRate >
// 0. It waits while every send frame of the UMEM is in flight. The frame is
// the caller's again when Send returns.
func (l *Line) Send(frame []byte) error {
	if len(frame) != framer.FrameLen {
		return &framer.LengthError{What: "frame", Got: len(frame), Want: framer.FrameLen}
	}
	if !l.enter() {
		return ErrClosed
	}
	defer l.exit()
	if ahead := l.pace.Claim(); ahead >= pace.MaxAhead {
		l.st.pacedWaits.Add(1)
		if !l.pace.Sleep(ahead, l.done) {
			return ErrClosed
		}
	}
	if err := l.reserve(l.count); err != nil {
		return err
	}
	for i := range l.count {
		addr := l.free[len(l.free)-1]
		l.free = l.free[:len(l.free)-1]
		off := i * l.chunk
		n := min(l.chunk, framer.FrameLen-off)
		pkt := l.sock.Frame(addr, l.sock.FrameSize())
		l.descs[i] = unix.XDPDesc{Addr: addr, Len: uint32(putChunk(pkt, l.peer, l.local, l.seq, i, l.count, off, n, frame))}
	}
	l.seq++
	// The TX ring has room: it holds at most the send frames not free.
	if k := l.sock.Transmit(l.descs[:l.count]); k != l.count {
		return fmt.Errorf("xdp line: TX ring took %d of %d chunks", k, l.count)
	}
	if err := l.sock.Kick(); err != nil {
		return l.sockError(err)
	}
	l.st.sent.Add(1)
	l.st.sentChunks.Add(uint64(l.count))
	return nil
}

// reserve makes sure n send frames are free, taking sent ones back from
// the completion ring and waiting for the kernel when there are too few.
func (l *Line) reserve(n int) error {
	for {
		k := l.sock.Complete(l.comp[:cap(l.free)-len(l.free)])
		l.free = append(l.free, l.comp[:k]...)
		if len(l.free) >= n {
			return nil
		}
		if err := l.sock.Kick(); err != nil {
			return l.sockError(err)
		}
		if k := l.sock.Complete(l.comp[:cap(l.free)-len(l.free)]); k > 0 {
			l.free = append(l.free, l.comp[:k]...)
			continue
		}
		l.st.txWaits.Add(1)
		if err := l.poll(l.txPoll[:], 1); err != nil {
			return err
		}
	}
}

// poll waits for the socket or the close event, at most ms milliseconds
// (-1: no limit).
func (l *Line) poll(fds []unix.PollFd, ms int) error {
	_, err := unix.Poll(fds, ms)
	if l.closed.Load() {
		return ErrClosed
	}
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("xdp line: poll: %w", err)
	}
	return nil
}

func (l *Line) sockError(err error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	return err
}

// Recv waits for the next whole frame from the peer and copies it into
// frame (framer.FrameLen bytes), with the hard decisions of the channel
// model at the negotiation bits, and their soft samples into soft
// (noise.SamplesPerFrame). Chunks that do not make a whole frame are
// counted and dropped (package doc). It returns ErrClosed once the line is
// closed.
func (l *Line) Recv(frame []byte, soft []noise.Sample) error {
	if len(frame) != framer.FrameLen {
		return &framer.LengthError{What: "receive buffer", Got: len(frame), Want: framer.FrameLen}
	}
	if len(soft) != noise.SamplesPerFrame {
		return &framer.LengthError{What: "soft-sample buffer", Got: len(soft), Want: noise.SamplesPerFrame}
	}
	if !l.enter() {
		return ErrClosed
	}
	defer l.exit()
	for {
		if l.closed.Load() {
			return ErrClosed
		}
		if l.rxNext == l.rxN {
			if err := l.receive(); err != nil {
				return err
			}
			continue
		}
		if !l.take() {
			continue
		}
		if l.ch.Lose() {
			l.st.simLost.Add(1)
			continue
		}
		copy(frame, l.re.buf[:])
		channel.Modulate(frame, soft, &l.prof)
		channel.Impair(l.ch, frame, soft, l.thr, l.bit)
		l.st.received.Add(1)
		return nil
	}
}

// receive puts the UMEM frames of the last batch back on the fill ring and
// takes the next batch off the RX ring, waiting when it is empty.
func (l *Line) receive() error {
	if len(l.back) > 0 {
		k := l.sock.Fill(l.back) // the fill ring has room for every receive frame
		l.back = l.back[:copy(l.back, l.back[k:])]
	}
	l.rxN, l.rxNext = l.sock.Receive(l.rx), 0
	if l.rxN > 0 {
		return nil
	}
	l.sock.WakeFill()
	l.st.rxWaits.Add(1)
	return l.poll(l.rxPoll[:], -1)
}

// take handles the next received packet and reports whether it completed
// a frame (in l.re.buf). The packet's UMEM frame goes back to the kernel
// with the next batch; its bytes are copied before that.
func (l *Line) take() bool {
	d := l.rx[l.rxNext]
	l.rxNext++
	l.back = append(l.back, l.sock.FrameBase(d.Addr))
	pkt := l.sock.Frame(d.Addr, int(d.Len))
	if pkt == nil || !parseChunk(pkt, &l.c) {
		l.st.malformed.Add(1)
		return false
	}
	if l.c.src != l.peer || [6]byte(pkt[0:6]) != l.local {
		l.st.foreign.Add(1)
		return false
	}
	return l.re.add(&l.c)
}

// ZeroCopy reports whether the socket runs in zero-copy mode.
func (l *Line) ZeroCopy() bool { return l.zc }

// AttachMode names how the XDP program is attached: "driver" or "generic".
func (l *Line) AttachMode() string { return l.steer.mode }

// ChunksPerFrame is the number of Ethernet frames one wire frame takes.
func (l *Line) ChunksPerFrame() int { return l.count }

// String names the line.
func (l *Line) String() string {
	mode := "copy"
	if l.zc {
		mode = "zero-copy"
	}
	return fmt.Sprintf("xdp line %s (%s, %s XDP) → %v", l.name, mode, l.steer.mode, net.HardwareAddr(l.peer[:]))
}

// Stats returns a snapshot of the line's counters.
func (l *Line) Stats() Stats {
	s := &l.st
	st := Stats{
		Sent: s.sent.Load(), SentChunks: s.sentChunks.Load(), PacedWaits: s.pacedWaits.Load(), TXWaits: s.txWaits.Load(),
		Received: s.received.Load(), RXWaits: s.rxWaits.Load(), Foreign: s.foreign.Load(), Malformed: s.malformed.Load(),
		SimLost:    s.simLost.Load(),
		Incomplete: l.re.stats.Incomplete.Load(), Missed: l.re.stats.Missed.Load(),
		Stray: l.re.stats.Stray.Load(), DupChunks: l.re.stats.Duplicate.Load(), Stale: l.re.stats.Stale.Load(),
		Resync: l.re.stats.Resync.Load(),
	}
	if l.enter() {
		if ks, err := l.sock.Stats(); err == nil {
			st.KernelRXDropped, st.KernelRXRingFull = ks.Rx_dropped, ks.Rx_ring_full
			st.KernelFillEmpty, st.KernelTXInvalid = ks.Rx_fill_ring_empty_descs, ks.Tx_invalid_descs
		}
		l.exit()
	}
	return st
}

// Close detaches the XDP program and closes the socket. A Send or Recv
// blocked at that moment and every later one return ErrClosed; Close waits
// for them to leave before it unmaps the UMEM. It is idempotent.
func (l *Line) Close() error {
	var err error
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.done)
		var one [8]byte
		one[0] = 1
		unix.Write(l.evfd, one[:])
		for i := 0; l.active.Load() != 0; i++ {
			if i == 10000 { // 10 s: leave the mappings rather than pull them from under a caller
				err = errors.New("xdp line: Close: a Send or Recv did not return; resources left")
				return
			}
			time.Sleep(time.Millisecond)
		}
		err = l.release()
	})
	return err
}

func (l *Line) release() error {
	var err error
	if l.steer != nil {
		l.steer.close()
	}
	if l.sock != nil {
		err = l.sock.Close()
	}
	if l.evfd >= 0 {
		unix.Close(l.evfd)
	}
	return err
}
