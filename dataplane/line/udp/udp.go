package udp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otkd/otkd/dataplane/line/pace"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// ErrClosed is returned by Send and Recv once the line is closed. It wraps
// net.ErrClosed.
var ErrClosed = fmt.Errorf("udp line closed: %w", net.ErrClosed)

// ErrConfig is wrapped by every error of an invalid Config.
var ErrConfig = errors.New("udp line: invalid config")

// DefaultSocketBuffer is the socket buffer size asked for when
// Config.ReadBuffer or Config.WriteBuffer is 0: about 500 frames.
const DefaultSocketBuffer = 8 << 20

// Config configures a UDP line. Zero fields take the documented defaults;
// Peer is required.
type Config struct {
	// Local is the address to bind. The zero value binds the unspecified
	// address of Peer's family on an ephemeral port. Local and Peer must be
	// of the same family (IPv4-mapped IPv6 counts as IPv4). FromConn
	// ignores it.
	Local netip.AddrPort
	// Peer is where frames are sent, and the only source whose datagrams
	// are accepted.
	Peer netip.AddrPort
	// Profile is the channel model the receiver applies (package doc):
	// levels and FibreSigma for the soft samples, Loss and Burst; Latency
	// and Reorder are ignored. Default noise.DefaultProfile().
	Profile noise.Profile
	// Seed seeds the receiver's simulated fibre noise (a simulation, not a
	// secret). 0 draws a seed at random; set it to reproduce a run.
	Seed uint64
	// BitErrors applies the fibre's bit errors at the profile's BER to the
	// bytes without soft samples, as simfiber's Config.BitErrors does.
	BitErrors bool
	// FrameRate paces Send, in frames per second; 0 sends as fast as the
	// caller calls. OTU2 line rate is 82 025 frames/s.
	FrameRate float64
	// Batch is the number of frames per system call: Send queues frames
	// and sends up to Batch of them with one sendmmsg(2), Recv receives up
	// to Batch datagrams with one recvmmsg(2) and hands them out one by
	// one. 0 or 1: one sendto(2) and one recvfrom(2) per frame, nothing
	// queued. At most MaxBatch.
	Batch int
	// MaxDelay bounds how long a frame may wait in the send batch before
	// it is sent (checked at every Send; see Flush). Default
	// DefaultMaxDelay; only used with Batch > 1.
	MaxDelay time.Duration
	// ReadBuffer and WriteBuffer are the socket buffer sizes asked for,
	// default DefaultSocketBuffer each. The kernel may grant less (on Linux
	// net.core.rmem_max and wmem_max cap them); that is not an error.
	ReadBuffer, WriteBuffer int
}

func (c *Config) fill() error {
	if !c.Peer.IsValid() || c.Peer.Port() == 0 || c.Peer.Addr().IsUnspecified() {
		return fmt.Errorf("%w: Peer %v must be an address and a non-zero port", ErrConfig, c.Peer)
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
	if c.ReadBuffer < 0 || c.WriteBuffer < 0 {
		return fmt.Errorf("%w: ReadBuffer %d and WriteBuffer %d must be ≥ 0", ErrConfig, c.ReadBuffer, c.WriteBuffer)
	}
	if c.Batch < 0 || c.Batch > MaxBatch {
		return fmt.Errorf("%w: Batch %d must be 0…%d", ErrConfig, c.Batch, MaxBatch)
	}
	if c.MaxDelay < 0 {
		return fmt.Errorf("%w: MaxDelay %v must be ≥ 0", ErrConfig, c.MaxDelay)
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultSocketBuffer
	}
	if c.WriteBuffer == 0 {
		c.WriteBuffer = DefaultSocketBuffer
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return nil
}

// Stats are a line's counters, each loaded atomically (the set is not taken
// at one instant). Stats of a line are safe to read while it runs.
type Stats struct {
	Sent       uint64 // datagrams handed to the kernel
	SendErrors uint64 // frames the network refused (not sent)
	PacedWaits uint64 // waits of the pacer
	SendCalls  uint64 // send system calls (sendto or sendmmsg)
	Received   uint64 // frames delivered by Recv
	Foreign    uint64 // datagrams dropped: not from Peer
	Malformed  uint64 // datagrams dropped: not framer.FrameLen bytes
	SimLost    uint64 // frames dropped by the simulated channel (Profile.Loss)
	RecvErrors uint64 // transient receive errors skipped
	RecvCalls  uint64 // receive system calls that returned (recvfrom or recvmmsg)
	// LastSendErrno is the errno of the latest send error, 0 if none or
	// when it carried none.
	LastSendErrno syscall.Errno
}

// counters are kept apart per side so that the TX and RX goroutines do not
// write to one cache line.
type counters struct {
	sent, sendErrors, pacedWaits, lastSendErrno, sendCalls       atomic.Uint64
	_                                                            [64]byte
	received, foreign, malformed, simLost, recvErrors, recvCalls atomic.Uint64
}

// Line is one end of a UDP link. It is created by Dial or FromConn.
type Line struct {
	conn  *net.UDPConn
	local netip.AddrPort
	peer  netip.AddrPort // as passed to WriteToUDPAddrPort
	match netip.AddrPort // Peer unmapped and without zone, for the source check
	done  chan struct{}
	once  sync.Once
	st    counters

	// Send side (the TX goroutine)
	pace pace.Pacer
	tx   *txBatch // nil: one datagram per call

	// Recv side (the RX goroutine)
	ch   *noise.Channel
	prof noise.Profile
	thr  noise.Sample
	bit  bool
	rx   *rxBatch                  // nil: one datagram per call
	buf  [framer.FrameLen + 1]byte // one more byte tells an oversized datagram
}

// Dial binds cfg.Local and returns a line sending to cfg.Peer.
func Dial(cfg Config) (*Line, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	peer := cfg.Peer.Addr().Unmap()
	local := cfg.Local
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		if peer.Is6() {
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		}
	}
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	if local.Addr().Is4() != peer.Is4() {
		return nil, fmt.Errorf("%w: Local %v and Peer %v are of different address families", ErrConfig, cfg.Local, cfg.Peer)
	}
	network := "udp6"
	if peer.Is4() {
		network = "udp4"
	}
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(local))
	if err != nil {
		return nil, fmt.Errorf("udp line: bind %v: %w", local, err)
	}
	return newLine(conn, cfg)
}

// FromConn returns a line over conn, an already bound UDP socket, sending
// to cfg.Peer (cfg.Local is ignored). The line owns conn from then on: Close
// closes it. On error conn is left open.
func FromConn(conn *net.UDPConn, cfg Config) (*Line, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	return newLine(conn, cfg)
}

func newLine(conn *net.UDPConn, cfg Config) (*Line, error) {
	ch, err := noise.NewChannel(cfg.Profile, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("%w: Profile: %w", ErrConfig, err)
	}
	// Best effort: the kernel caps the sizes silently; an error here only
	// means the default size stays.
	_ = conn.SetReadBuffer(cfg.ReadBuffer)
	_ = conn.SetWriteBuffer(cfg.WriteBuffer)
	l := &Line{
		conn: conn,
		peer: cfg.Peer,
		done: make(chan struct{}),
		ch:   ch,
		prof: cfg.Profile,
		thr:  cfg.Profile.Threshold(),
		bit:  cfg.BitErrors,
	}
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		l.local = ua.AddrPort()
		if ua.IP.To4() != nil { // an AF_INET socket takes plain IPv4 only
			l.peer = netip.AddrPortFrom(cfg.Peer.Addr().Unmap(), cfg.Peer.Port())
		}
	}
	l.match = canonical(cfg.Peer)
	l.pace.Init(cfg.FrameRate)
	if cfg.Batch > 1 {
		if err := l.newBatches(&cfg); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// canonical strips what may differ between two spellings of one source:
// the IPv4-mapped prefix and the zone.
func canonical(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
}

// LocalAddr returns the address the line is bound to (with the port the
// kernel chose).
func (l *Line) LocalAddr() netip.AddrPort { return l.local }

// Peer returns the peer's address.
func (l *Line) Peer() netip.AddrPort { return l.peer }

// String names the line.
func (l *Line) String() string { return "udp line " + l.local.String() + "→" + l.peer.String() }

// Stats returns a snapshot of the line's counters.
func (l *Line) Stats() Stats {
	s := &l.st
	return Stats{
		Sent: s.sent.Load(), SendErrors: s.sendErrors.Load(), PacedWaits: s.pacedWaits.Load(),
		Received: s.received.Load(), Foreign: s.foreign.Load(), Malformed: s.malformed.Load(),
		SimLost: s.simLost.Load(), RecvErrors: s.recvErrors.Load(),
		SendCalls: s.sendCalls.Load(), RecvCalls: s.recvCalls.Load(),
		LastSendErrno: syscall.Errno(s.lastSendErrno.Load()),
	}
}

// Close closes the socket; a blocked Send or Recv returns ErrClosed. Close
// is idempotent: later calls return nil.
func (l *Line) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.conn.Close()
	})
	return err
}

func (l *Line) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}
