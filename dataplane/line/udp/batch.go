package udp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/framer"
)

// MaxBatch is the largest Config.Batch: 64 frames is 1 MiB of buffers per
// direction and already amortises a system call over more than a
// millisecond of OTU2 frames.
const MaxBatch = 64

// DefaultMaxDelay is Config.MaxDelay's default: about 16 frame periods at
// OTU2 line rate.
const DefaultMaxDelay = 200 * time.Microsecond

// The batches are written on golang.org/x/sys/unix rather than on the batch
// API of golang.org/x/net/ipv4 (PacketConn.ReadBatch/WriteBatch): that API
// hands every message's source back as a freshly allocated net.Addr and
// builds its system-call closure per call, which breaks the line's rule of
// no allocation per frame. Here the message headers, the address buffers
// and the closures given to syscall.RawConn are made once, at Dial; the
// socket stays in Go's poller, so a batch call that would block waits in
// the poller and Close wakes it (ErrClosed) exactly as on the
// one-datagram path.

// txBatch is the send side's queue: frames copied into slots until a
// sendmmsg(2) sends them all.
type txBatch struct {
	raw    syscall.RawConn
	slots  []byte // len(hdr) slots of framer.FrameLen bytes
	iov    []unix.Iovec
	hdr    []unix.Mmsghdr
	name   [unsafe.Sizeof(unix.RawSockaddrInet6{})]byte // the peer, as the socket's family spells it
	n      int                                          // frames queued
	first  time.Duration                                // when the oldest queued frame was queued (since epoch)
	epoch  time.Time
	delay  time.Duration
	sendFn func(fd uintptr) bool
	// the call's arguments and results, for sendFn
	off, k int
	errno  syscall.Errno
}

// rxBatch is the receive side's buffer: one recvmmsg(2) fills up to
// len(hdr) slots, which Recv hands out one by one.
type rxBatch struct {
	raw    syscall.RawConn
	slots  []byte // len(hdr) slots of framer.FrameLen+1 bytes (one more byte tells an oversized datagram)
	iov    []unix.Iovec
	hdr    []unix.Mmsghdr
	names  []unix.RawSockaddrInet6 // the sources; large enough for either family
	n      int                     // messages of the last call
	next   int                     // the next one to hand out
	recvFn func(fd uintptr) bool
	errno  syscall.Errno
}

const rxSlot = framer.FrameLen + 1

// newBatches sets up the batch queues of l for cfg.Batch frames per call.
func (l *Line) newBatches(cfg *Config) error {
	raw, err := l.conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("udp line: raw socket: %w", err)
	}
	family, err := socketFamily(raw)
	if err != nil {
		return err
	}
	n := cfg.Batch
	t := &txBatch{
		raw: raw, slots: make([]byte, n*framer.FrameLen),
		iov: make([]unix.Iovec, n), hdr: make([]unix.Mmsghdr, n),
		epoch: time.Now(), delay: cfg.MaxDelay,
	}
	namelen := encodeSockaddr(t.name[:], family, cfg.Peer)
	for i := range t.hdr {
		t.iov[i].Base = &t.slots[i*framer.FrameLen]
		t.iov[i].SetLen(framer.FrameLen)
		h := &t.hdr[i].Hdr
		h.Name, h.Namelen = &t.name[0], namelen
		h.Iov = &t.iov[i]
		h.SetIovlen(1)
	}
	t.sendFn = t.send
	r := &rxBatch{
		raw: raw, slots: make([]byte, n*rxSlot),
		iov: make([]unix.Iovec, n), hdr: make([]unix.Mmsghdr, n), names: make([]unix.RawSockaddrInet6, n),
	}
	for i := range r.hdr {
		r.iov[i].Base = &r.slots[i*rxSlot]
		r.iov[i].SetLen(rxSlot)
		h := &r.hdr[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iov[i]
		h.SetIovlen(1)
	}
	r.recvFn = r.recv
	l.tx, l.rx = t, r
	return nil
}

// socketFamily returns AF_INET or AF_INET6.
func socketFamily(raw syscall.RawConn) (int, error) {
	var family int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		family, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return 0, fmt.Errorf("udp line: socket family: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("udp line: socket family: %w", serr)
	}
	return family, nil
}

// encodeSockaddr writes peer as a sockaddr of family into b and returns its
// length. An IPv4 peer on an AF_INET6 socket becomes IPv4-mapped; an IPv6
// peer on an AF_INET socket is written as AF_INET6, which the kernel refuses
// on every send (counted as send errors, as on the one-datagram path).
func encodeSockaddr(b []byte, family int, peer netip.AddrPort) uint32 {
	clear(b)
	a := peer.Addr()
	if family == unix.AF_INET && a.Unmap().Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b[0]))
		sa.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], peer.Port())
		sa.Addr = a.Unmap().As4()
		return uint32(unsafe.Sizeof(*sa))
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&b[0]))
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], peer.Port())
	sa.Addr = a.As16()
	return uint32(unsafe.Sizeof(*sa))
}

// decodeSource returns the source of a received message in the canonical
// form of the source check (unmapped, no zone), without allocating.
func decodeSource(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// send is the sendmmsg call of a flush, run by the poller until the socket
// takes at least one message or fails.
func (t *txBatch) send(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&t.hdr[t.off])), uintptr(t.n-t.off), 0, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	t.k, t.errno = int(r), e
	return true
}

// recv is the recvmmsg call of a fill: as many messages as are queued, up
// to the batch, without waiting for more than the first.
func (r *rxBatch) recv(fd uintptr) bool {
	for i := range r.hdr {
		h := &r.hdr[i]
		h.Hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		h.Hdr.Flags = 0
		h.Len = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdr[0])), uintptr(len(r.hdr)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	r.n, r.errno = int(n), e
	if e != 0 {
		r.n = 0
	}
	return true
}

// queue copies frame into the send batch and flushes the batch when it is
// full or its oldest frame has waited Config.MaxDelay.
func (l *Line) queue(frame []byte) error {
	t := l.tx
	now := time.Since(t.epoch)
	if t.n == 0 {
		t.first = now
	}
	copy(t.slots[t.n*framer.FrameLen:(t.n+1)*framer.FrameLen], frame)
	t.n++
	if t.n == len(t.hdr) || now-t.first >= t.delay {
		return l.flush()
	}
	return nil
}

// Flush sends the frames queued by Send at once. Only the goroutine that
// calls Send may call it. Send flushes by itself when the batch is full,
// when its oldest frame has waited Config.MaxDelay, and before the pacer
// sleeps; a caller that stops sending without closing the line calls Flush
// so that its last frames leave.
func (l *Line) Flush() error {
	if l.tx == nil || l.tx.n == 0 {
		return nil
	}
	if l.closed() {
		l.tx.n = 0
		return ErrClosed
	}
	return l.flush()
}

// flush sends the queued frames with as few sendmmsg calls as the kernel
// allows. A message the network refuses is counted as the one-datagram path
// counts it, and the rest of the batch still goes.
func (l *Line) flush() error {
	t := l.tx
	for t.off = 0; t.off < t.n; {
		if err := t.raw.Write(t.sendFn); err != nil {
			t.n = 0
			return l.pollError("send", err)
		}
		l.st.sendCalls.Add(1)
		if t.errno != 0 {
			if l.closed() {
				t.n = 0
				return ErrClosed
			}
			l.st.sendErrors.Add(1)
			l.st.lastSendErrno.Store(uint64(t.errno))
			t.off++ // that frame is lost; the next call sends the rest
			continue
		}
		l.st.sent.Add(uint64(t.k))
		t.off += t.k
	}
	t.n = 0
	return nil
}

// fill waits for at least one datagram and receives up to a batch of them.
func (l *Line) fill() error {
	r := l.rx
	r.n, r.next = 0, 0
	if err := r.raw.Read(r.recvFn); err != nil {
		return l.pollError("receive", err)
	}
	l.st.recvCalls.Add(1)
	switch e := r.errno; {
	case e == 0:
	case l.closed():
		return ErrClosed
	case transient(e):
		l.st.recvErrors.Add(1)
	default:
		return fmt.Errorf("udp line: receive: %w", e)
	}
	return nil
}

// pollError is the error of a wait in the poller: ErrClosed once the line
// is closed, else the poller's error (a deadline set on the socket).
func (l *Line) pollError(op string, err error) error {
	if errors.Is(err, net.ErrClosed) || l.closed() {
		return ErrClosed
	}
	return fmt.Errorf("udp line: %s: %w", op, err)
}

// take hands out the next message of the receive batch: it reports whether
// it is a frame to deliver (then in slot) and counts the others. It must be
// called with r.next < r.n.
func (l *Line) take() (slot []byte, ok bool) {
	r := l.rx
	i := r.next
	r.next++
	h := &r.hdr[i]
	switch {
	case decodeSource(&r.names[i]) != l.match:
		l.st.foreign.Add(1)
	case h.Len != framer.FrameLen || h.Hdr.Flags&unix.MSG_TRUNC != 0:
		l.st.malformed.Add(1)
	case l.ch.Lose():
		l.st.simLost.Add(1)
	default:
		return r.slots[i*rxSlot : i*rxSlot+framer.FrameLen], true
	}
	return nil, false
}
