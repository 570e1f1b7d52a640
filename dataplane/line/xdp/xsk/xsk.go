// Package xsk is a small AF_XDP socket for otkd's XDP line: one socket
// bound to one queue of one interface, with its own UMEM (a private,
// page-aligned mapping cut into equal frames) and the four rings the kernel
// shares with it: fill and completion (UMEM frames handed to the kernel for
// receiving, and given back after transmitting), RX and TX (descriptors of
// received packets and of packets to send).
//
// No Go AF_XDP library was available to otkd, and the part it needs is
// small: this package is that part, written on golang.org/x/sys/unix, and
// nothing else in otkd makes AF_XDP system calls.
//
// # Contract
//
// Open registers the UMEM, sizes and maps the rings and binds the socket
// with XDP_USE_NEED_WAKEUP, in zero-copy mode when the driver supports it
// (ModeAuto tries it first), else in copy mode. A bound socket receives only
// what an XDP program redirects to it through an XSKMAP (package xdp loads
// that program).
//
// Each ring has one producer and one consumer in user space: the fill ring
// and RX ring belong to the receiving goroutine (Fill, Receive, WakeFill),
// the TX ring and completion ring to the sending goroutine (Transmit,
// Complete, Kick). The two goroutines may differ; nothing here locks or
// allocates once Open returns. Close unmaps everything: the caller must make
// sure no goroutine still uses the socket or a slice of its UMEM.
//
// # Privileges
//
// An AF_XDP socket needs CAP_NET_RAW; registering the UMEM pins its pages
// (RLIMIT_MEMLOCK, unless CAP_IPC_LOCK). Errors name the step and the errno
// (ErrUnsupported when the kernel lacks AF_XDP).
package xsk

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is wrapped when the kernel has no AF_XDP sockets, or the
// driver refuses the mode asked for.
var ErrUnsupported = errors.New("xsk: not supported")

// ErrConfig is wrapped by every error of an invalid Config.
var ErrConfig = errors.New("xsk: invalid config")

// Mode is the data path asked for.
type Mode int

const (
	// ModeAuto binds in zero-copy mode when the driver supports it, else
	// in copy mode.
	ModeAuto Mode = iota
	// ModeCopy always copies packets between the driver and the UMEM.
	ModeCopy
	// ModeZeroCopy requires zero-copy: Open fails where the driver cannot.
	ModeZeroCopy
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeCopy:
		return "copy"
	case ModeZeroCopy:
		return "zero-copy"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config configures a socket. Zero fields take the documented defaults.
type Config struct {
	Ifindex int // the interface; required
	Queue   int // the interface's queue; default 0
	// Frames is the number of UMEM frames, a power of two; default 4096.
	Frames int
	// FrameSize is the size of a UMEM frame, 2048 or 4096 (a page);
	// default 4096.
	FrameSize int
	// RingSize is the number of descriptors of each ring, a power of two;
	// default Frames/2.
	RingSize int
	Mode     Mode
}

func (c *Config) fill() error {
	if c.Ifindex <= 0 {
		return fmt.Errorf("%w: interface index %d", ErrConfig, c.Ifindex)
	}
	if c.Queue < 0 {
		return fmt.Errorf("%w: queue %d", ErrConfig, c.Queue)
	}
	if c.Frames == 0 {
		c.Frames = 4096
	}
	if c.FrameSize == 0 {
		c.FrameSize = 4096
	}
	if c.RingSize == 0 {
		c.RingSize = c.Frames / 2
	}
	pow2 := func(n int) bool { return n > 0 && n&(n-1) == 0 }
	if !pow2(c.Frames) || c.Frames > 1<<20 {
		return fmt.Errorf("%w: Frames %d must be a power of two ≤ 2^20", ErrConfig, c.Frames)
	}
	if c.FrameSize != 2048 && c.FrameSize != 4096 {
		return fmt.Errorf("%w: FrameSize %d must be 2048 or 4096", ErrConfig, c.FrameSize)
	}
	if !pow2(c.RingSize) || c.RingSize > c.Frames {
		return fmt.Errorf("%w: RingSize %d must be a power of two ≤ Frames", ErrConfig, c.RingSize)
	}
	if c.Mode < ModeAuto || c.Mode > ModeZeroCopy {
		return fmt.Errorf("%w: Mode %d", ErrConfig, c.Mode)
	}
	return nil
}

// ring is one of the four shared rings: a producer index, a consumer index
// and a flags word in the mapping, and the entries after them. local is this
// side's index (the producer's for fill and TX, the consumer's for RX and
// completion); the other side's index is read atomically from the mapping.
type ring struct {
	mem      []byte
	producer *atomic.Uint32
	consumer *atomic.Uint32
	flags    *atomic.Uint32
	entries  unsafe.Pointer
	mask     uint32
	local    uint32
}

// free is the number of entries a producer may write.
func (r *ring) free() uint32 { return r.mask + 1 - (r.local - r.consumer.Load()) }

// ready is the number of entries a consumer may read.
func (r *ring) ready() uint32 { return r.producer.Load() - r.local }

func (r *ring) desc(i uint32) *unix.XDPDesc {
	return (*unix.XDPDesc)(unsafe.Add(r.entries, uintptr(i&r.mask)*unsafe.Sizeof(unix.XDPDesc{})))
}

func (r *ring) addr(i uint32) *uint64 {
	return (*uint64)(unsafe.Add(r.entries, uintptr(i&r.mask)*8))
}

func (r *ring) needWakeup() bool { return r.flags.Load()&unix.XDP_RING_NEED_WAKEUP != 0 }

// Socket is a bound AF_XDP socket with its UMEM and rings.
type Socket struct {
	fd                  int
	umem                []byte
	frameSize           uint64
	fill, comp, rx, tx  ring
	zeroCopy            bool
	ifindex, queue      int
	rxDescs, txFrames   int
	closed              atomic.Bool
	kickErrs, wakeCalls atomic.Uint64
}

// Open creates, sets up and binds a socket (package doc).
func Open(cfg Config) (_ *Socket, err error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("%w: AF_XDP socket: the kernel has no AF_XDP (CONFIG_XDP_SOCKETS): %w", ErrUnsupported, err)
		}
		return nil, fmt.Errorf("xsk: AF_XDP socket (needs CAP_NET_RAW): %w", err)
	}
	s := &Socket{fd: fd, frameSize: uint64(cfg.FrameSize), ifindex: cfg.Ifindex, queue: cfg.Queue}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	s.umem, err = unix.Mmap(-1, 0, cfg.Frames*cfg.FrameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("xsk: UMEM of %d bytes: %w", cfg.Frames*cfg.FrameSize, err)
	}
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&s.umem[0]))), Len: uint64(len(s.umem)), Size: uint32(cfg.FrameSize)}
	if err := setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return nil, fmt.Errorf("xsk: register UMEM (pins %d bytes: RLIMIT_MEMLOCK or CAP_IPC_LOCK): %w", len(s.umem), err)
	}
	for _, o := range [...]int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, o, cfg.RingSize); err != nil {
			return nil, fmt.Errorf("xsk: ring size %d (option %d): %w", cfg.RingSize, o, err)
		}
	}
	var off unix.XDPMmapOffsets
	if err := getsockopt(fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return nil, fmt.Errorf("xsk: ring offsets: %w", err)
	}
	n := uint32(cfg.RingSize)
	for _, m := range []struct {
		r     *ring
		off   unix.XDPRingOffset
		pgoff int64
		entry uintptr
	}{
		{&s.fill, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, 8},
		{&s.comp, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, 8},
		{&s.rx, off.Rx, unix.XDP_PGOFF_RX_RING, unsafe.Sizeof(unix.XDPDesc{})},
		{&s.tx, off.Tx, unix.XDP_PGOFF_TX_RING, unsafe.Sizeof(unix.XDPDesc{})},
	} {
		if err := mapRing(fd, m.r, m.off, m.pgoff, n, m.entry); err != nil {
			return nil, err
		}
	}
	if err := s.bind(cfg.Mode); err != nil {
		return nil, err
	}
	// Half the UMEM receives, the other half transmits.
	s.rxDescs = cfg.Frames / 2
	s.txFrames = cfg.Frames - s.rxDescs
	return s, nil
}

func mapRing(fd int, r *ring, off unix.XDPRingOffset, pgoff int64, n uint32, entry uintptr) error {
	size := int(off.Desc) + int(n)*int(entry)
	mem, err := unix.Mmap(fd, pgoff, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("xsk: map ring at %#x: %w", pgoff, err)
	}
	base := unsafe.Pointer(&mem[0])
	r.mem = mem
	r.producer = (*atomic.Uint32)(unsafe.Add(base, off.Producer))
	r.consumer = (*atomic.Uint32)(unsafe.Add(base, off.Consumer))
	r.flags = (*atomic.Uint32)(unsafe.Add(base, off.Flags))
	r.entries = unsafe.Add(base, off.Desc)
	r.mask = n - 1
	return nil
}

// bind binds the socket to its queue, in zero-copy mode first when asked.
func (s *Socket) bind(mode Mode) error {
	try := func(flags uint16) error {
		return unix.Bind(s.fd, &unix.SockaddrXDP{Flags: unix.XDP_USE_NEED_WAKEUP | flags, Ifindex: uint32(s.ifindex), QueueID: uint32(s.queue)})
	}
	var zcErr error
	if mode != ModeCopy {
		zcErr = try(unix.XDP_ZEROCOPY)
		if zcErr == nil {
			s.zeroCopy = true
			return nil
		}
		if mode == ModeZeroCopy {
			return fmt.Errorf("%w: bind to interface %d queue %d in zero-copy mode (the driver must support AF_XDP zero-copy): %w", ErrUnsupported, s.ifindex, s.queue, zcErr)
		}
	}
	if err := try(unix.XDP_COPY); err != nil {
		hint := ""
		switch {
		case errors.Is(err, unix.EINVAL):
			hint = " (no such queue on the interface?)"
		case errors.Is(err, unix.EBUSY):
			hint = " (another AF_XDP socket holds that queue)"
		case errors.Is(err, unix.ENODEV):
			hint = " (no such interface)"
		}
		return fmt.Errorf("xsk: bind to interface %d queue %d in copy mode%s: %w", s.ifindex, s.queue, hint, err)
	}
	return nil
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	l := uint32(n)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// FD is the socket's descriptor (for the XSKMAP and for poll).
func (s *Socket) FD() int { return s.fd }

// ZeroCopy reports whether the socket is bound in zero-copy mode.
func (s *Socket) ZeroCopy() bool { return s.zeroCopy }

// FrameSize is the size of a UMEM frame.
func (s *Socket) FrameSize() int { return int(s.frameSize) }

// RXFrames returns the addresses of the UMEM frames meant for receiving
// (the first half) and TXFrames those for sending (the second half): the
// caller puts the former on the fill ring and keeps the latter as its send
// pool.
func (s *Socket) RXFrames() (first uint64, n int) { return 0, s.rxDescs }

// TXFrames: see RXFrames.
func (s *Socket) TXFrames() (first uint64, n int) {
	return uint64(s.rxDescs) * s.frameSize, s.txFrames
}

// Frame returns n bytes of the UMEM at addr (a descriptor's address); nil
// when they are not inside the UMEM.
func (s *Socket) Frame(addr uint64, n int) []byte {
	if n < 0 || addr > uint64(len(s.umem)) || uint64(n) > uint64(len(s.umem))-addr {
		return nil
	}
	return s.umem[addr : addr+uint64(n) : addr+uint64(n)]
}

// FrameBase is the start of the UMEM frame that holds addr.
func (s *Socket) FrameBase(addr uint64) uint64 { return addr &^ (s.frameSize - 1) }

// Fill puts UMEM frames on the fill ring for the kernel to receive into,
// as many of addrs as there is room for, and returns that number.
func (s *Socket) Fill(addrs []uint64) int {
	r := &s.fill
	n := min(uint32(len(addrs)), r.free())
	for i := range n {
		*r.addr(r.local + i) = addrs[i]
	}
	r.local += n
	r.producer.Store(r.local)
	return int(n)
}

// Receive takes up to len(descs) received packets off the RX ring. Their
// UMEM frames are the caller's until it puts them back with Fill.
func (s *Socket) Receive(descs []unix.XDPDesc) int {
	r := &s.rx
	n := min(uint32(len(descs)), r.ready())
	for i := range n {
		descs[i] = *r.desc(r.local + i)
	}
	r.local += n
	r.consumer.Store(r.local)
	return int(n)
}

// Transmit puts up to len(descs) packets on the TX ring and returns how
// many; their UMEM frames come back through Complete once sent. Kick tells
// the kernel.
func (s *Socket) Transmit(descs []unix.XDPDesc) int {
	r := &s.tx
	n := min(uint32(len(descs)), r.free())
	for i := range n {
		*r.desc(r.local + i) = descs[i]
	}
	r.local += n
	r.producer.Store(r.local)
	return int(n)
}

// Complete takes up to len(addrs) addresses of sent frames off the
// completion ring.
func (s *Socket) Complete(addrs []uint64) int {
	r := &s.comp
	n := min(uint32(len(addrs)), r.ready())
	for i := range n {
		addrs[i] = *r.addr(r.local + i)
	}
	r.local += n
	r.consumer.Store(r.local)
	return int(n)
}

// Kick wakes the kernel's transmit path when the TX ring asks for it
// (need-wakeup); in copy mode the packets are sent during the call. Errors
// that only mean "try again" are counted, not returned.
func (s *Socket) Kick() error {
	if !s.tx.needWakeup() {
		return nil
	}
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0:
		return nil
	case unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
		s.kickErrs.Add(1)
		return nil
	}
	if s.closed.Load() {
		return unix.EBADF
	}
	return fmt.Errorf("xsk: transmit wake-up: %w", e)
}

// WakeFill wakes the driver's receive path when the fill ring asks for it
// (need-wakeup, zero-copy drivers).
func (s *Socket) WakeFill() {
	if !s.fill.needWakeup() {
		return
	}
	s.wakeCalls.Add(1)
	unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
}

// Stats is the kernel's view of the socket plus the wake-up calls made.
type Stats struct {
	unix.XDPStatistics
	KickRetries uint64 // transmit wake-ups the kernel asked to retry
	FillWakeups uint64 // receive wake-ups made
}

// Stats reads the socket's statistics.
func (s *Socket) Stats() (Stats, error) {
	var st Stats
	if err := getsockopt(s.fd, unix.XDP_STATISTICS, unsafe.Pointer(&st.XDPStatistics), unsafe.Sizeof(st.XDPStatistics)); err != nil {
		return st, fmt.Errorf("xsk: statistics: %w", err)
	}
	st.KickRetries, st.FillWakeups = s.kickErrs.Load(), s.wakeCalls.Load()
	return st, nil
}

// Close closes the socket and unmaps its rings and UMEM. It is
// idempotent.
func (s *Socket) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.release()
}

func (s *Socket) release() error {
	err := unix.Close(s.fd)
	for _, r := range []*ring{&s.fill, &s.comp, &s.rx, &s.tx} {
		if r.mem != nil {
			unix.Munmap(r.mem)
			r.mem = nil
		}
	}
	if s.umem != nil {
		unix.Munmap(s.umem)
		s.umem = nil
	}
	return err
}
