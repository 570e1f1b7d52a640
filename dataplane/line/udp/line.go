package udp

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/dataplane/line/pace"
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
	if ahead := l.pace.Claim(); ahead >= pace.MaxAhead {
		// Nothing queued waits through a pacer sleep.
		if err := l.Flush(); err != nil {
			return err
		}
		l.st.pacedWaits.Add(1)
		if !l.pace.Sleep(ahead, l.done) {
			return ErrClosed
		}
	}
	if l.tx != nil {
		return l.queue(frame)
	}
	_, err := l.conn.WriteToUDPAddrPort(frame, l.peer)
	l.st.sendCalls.Add(1)
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
	if l.rx != nil {
		return l.recvBatched(frame, soft, true)
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

// recvBatched delivers the next frame of the receive batch, receiving the
// next batch when this one is used up; with block false it returns
// errWouldBlock instead of waiting for a new batch.
func (l *Line) recvBatched(frame []byte, soft []noise.Sample, block bool) error {
	r := l.rx
	for {
		if l.closed() {
			return ErrClosed
		}
		if r.next == r.n {
			if !block {
				return errWouldBlock
			}
			if err := l.fill(); err != nil {
				return err
			}
			continue
		}
		slot, ok := l.take()
		if !ok {
			continue
		}
		copy(frame, slot)
		l.model(frame, soft)
		l.st.received.Add(1)
		return nil
	}
}

// read reads one datagram into l.buf and reports whether it is a frame to
// deliver; the others are counted.
func (l *Line) read() (bool, error) {
	n, src, err := l.conn.ReadFromUDPAddrPort(l.buf[:])
	l.st.recvCalls.Add(1)
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

// errWouldBlock tells RecvBatch that no frame is buffered.
var errWouldBlock = errors.New("udp line: no frame buffered")

// SendBatch sends frames (each framer.FrameLen bytes) in order, as that
// many Send calls followed by Flush: with Config.Batch > 1 they leave in
// sendmmsg calls of up to Batch frames. It implements batchline.Line.
func (l *Line) SendBatch(frames [][]byte) error {
	for _, f := range frames {
		if err := l.Send(f); err != nil {
			return err
		}
	}
	return l.Flush()
}

// RecvBatch waits for at least one frame and delivers up to len(frames):
// frame i and its soft samples into frames[i] and soft[i] (as Recv), the
// first by waiting, the others only while the receive batch holds more. It
// returns the number delivered. It implements batchline.Line.
func (l *Line) RecvBatch(frames [][]byte, soft [][]noise.Sample) (int, error) {
	if len(soft) < len(frames) {
		return 0, &framer.LengthError{What: "soft-sample buffers", Got: len(soft), Want: len(frames)}
	}
	if len(frames) == 0 {
		return 0, nil
	}
	if err := l.Recv(frames[0], soft[0]); err != nil {
		return 0, err
	}
	if l.rx == nil {
		return 1, nil
	}
	n := 1
	for ; n < len(frames); n++ {
		if len(frames[n]) != framer.FrameLen || len(soft[n]) != noise.SamplesPerFrame {
			return n, &framer.LengthError{What: "receive buffer", Got: len(frames[n]), Want: framer.FrameLen}
		}
		if err := l.recvBatched(frames[n], soft[n], false); err != nil {
			if err == errWouldBlock {
				break
			}
			return n, err
		}
	}
	return n, nil
}
