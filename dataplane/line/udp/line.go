package udp

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// Positions of the soft samples (tests): data1 then data2 of the
// negotiation area.
const (
	data1Off = framer.Data1Off
	data2Off = framer.Data2Off
	halfBits = framer.DataLen * 8 // 992 samples per data field
)

// Send transmits frame (framer.FrameLen bytes) as one datagram to the peer,
// after the pacer's wait when Config.FrameRate > 0. Network errors are
// counted and reported as nil (package doc); a wrong length is an error, a
// closed line ErrClosed. The frame is the caller's again when Send returns.
func (l *Line) Send(frame []byte) error {
	if len(frame) != framer.FrameLen {
		return &framer.LengthError{What: "frame", Got: len(frame), Want: framer.FrameLen}
	}
	if l.closed() {
		return ErrClosed
	}
	if l.pace.period > 0 {
		waited, ok := l.pace.wait(l.done)
		if waited {
			l.st.pacedWaits.Add(1)
		}
		if !ok {
			return ErrClosed
		}
	}
	_, err := l.conn.WriteToUDPAddrPort(frame, l.peer)
	if err == nil {
		l.st.sent.Add(1)
		return nil
	}
	if errors.Is(err, net.ErrClosed) || l.closed() {
		return ErrClosed
	}
	l.st.sendErrors.Add(1)
	var errno syscall.Errno
	if errors.As(err, &errno) {
		l.st.lastSendErrno.Store(uint64(errno))
	}
	return nil
}

// Recv waits for the next frame from the peer and copies it into frame
// (framer.FrameLen bytes), with the hard decisions of the channel model at
// the negotiation bits, and their soft samples into soft
// (noise.SamplesPerFrame). Datagrams from other sources, of the wrong length
// or lost by the simulated channel are counted and skipped. It returns
// ErrClosed once the line is closed.
func (l *Line) Recv(frame []byte, soft []noise.Sample) error {
	if len(frame) != framer.FrameLen {
		return &framer.LengthError{What: "receive buffer", Got: len(frame), Want: framer.FrameLen}
	}
	if len(soft) != noise.SamplesPerFrame {
		return &framer.LengthError{What: "soft-sample buffer", Got: len(soft), Want: noise.SamplesPerFrame}
	}
	for {
		if l.closed() {
			return ErrClosed
		}
		ok, err := l.read()
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		copy(frame, l.buf[:framer.FrameLen])
		l.model(frame, soft)
		l.st.received.Add(1)
		return nil
	}
}

// read reads one datagram into l.buf and reports whether it is a frame to
// deliver; the others are counted.
func (l *Line) read() (bool, error) {
	n, src, err := l.conn.ReadFromUDPAddrPort(l.buf[:])
	switch {
	case err == nil:
	case errors.Is(err, net.ErrClosed) || l.closed():
		return false, ErrClosed
	case errors.Is(err, syscall.EMSGSIZE): // where the system reports truncation
		l.st.malformed.Add(1)
		return false, nil
	case transient(err):
		l.st.recvErrors.Add(1)
		return false, nil
	default:
		return false, fmt.Errorf("udp line: receive: %w", err)
	}
	switch {
	case canonical(src) != l.match:
		l.st.foreign.Add(1)
	case n != framer.FrameLen:
		l.st.malformed.Add(1)
	case l.ch.Lose():
		l.st.simLost.Add(1)
	default:
		return true, nil
	}
	return false, nil
}

// transient reports errors a receive may meet on a healthy socket: ICMP
// errors reported late, interrupted calls, memory pressure.
func transient(err error) bool {
	for _, e := range [...]syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
		syscall.EINTR, syscall.EAGAIN, syscall.ENOBUFS, syscall.ENOMEM,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// model applies the channel model to a received frame (package channel):
// soft samples of the negotiation bits from the received hard bits, then the
// fibre, in the order simfiber draws it, so the two lines agree under one
// seed.
func (l *Line) model(frame []byte, soft []noise.Sample) {
	channel.Modulate(frame, soft, &l.prof)
	channel.Impair(l.ch, frame, soft, l.thr, l.bit)
}
