// Package linetest holds fake lines (dataplane.Line) for tests of the
// frame path, beside the Line interface they stand in for: Capture records
// what a TX sends, Feed hands an RX a fixed sequence of wire frames with
// clean soft samples, Discard swallows everything. None of them touches a
// network; their Recv (or Send) blocks until Close where the real line
// would wait for the medium. The simulated fibre (dataplane/line/simfiber)
// is the fake of a whole link.
//
// The package does not import dataplane (its internal tests use it), so
// the conformance to dataplane.Line is checked in this package's tests.
package linetest

import (
	"errors"
	"sync"

	"github.com/otkd/otkd/dataplane/line/channel"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// Errors of the fake lines.
var (
	// ErrClosed: the line was closed.
	ErrClosed = errors.New("linetest: line closed")
	// ErrEnough: a Capture holds as many frames as it was made for.
	ErrEnough = errors.New("linetest: enough frames")
)

// closer is the Close of every fake line: a channel closed once.
type closer struct {
	once   sync.Once
	closed chan struct{}
}

func newCloser() closer { return closer{closed: make(chan struct{})} }

// Close stops the line: pending and later blocking calls return ErrClosed.
func (c *closer) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *closer) wait() error {
	<-c.closed
	return ErrClosed
}

// Capture records the first n frames a TX sends, then refuses more with
// ErrEnough. Its receiving side has nothing (Recv waits for Close).
// Frames and N may be read once the sender has stopped.
type Capture struct {
	closer
	Frames [][]byte // the frames recorded, each framer.FrameLen bytes
	N      int      // how many of Frames are filled
}

// NewCapture returns a line that records up to n frames.
func NewCapture(n int) *Capture {
	l := &Capture{closer: newCloser(), Frames: make([][]byte, n)}
	for i := range l.Frames {
		l.Frames[i] = make([]byte, framer.FrameLen)
	}
	return l
}

// Send records frame.
func (l *Capture) Send(frame []byte) error {
	if l.N == len(l.Frames) {
		return ErrEnough
	}
	copy(l.Frames[l.N], frame)
	l.N++
	return nil
}

// Recv waits for Close.
func (l *Capture) Recv([]byte, []noise.Sample) error { return l.wait() }

// Feed hands an RX a fixed sequence of wire frames with the clean soft
// samples of their negotiation bits (a fibre without noise: the RX's own
// local noise still flips some), calling Before(i), when set, just before
// it delivers frame i; then it closes Done and waits for Close. Its
// sending side blocks until Close.
type Feed struct {
	closer
	frames  [][]byte
	prof    noise.Profile
	i       int
	Before  func(i int)
	Done    chan struct{} // closed when the last frame was taken
	endOnce sync.Once
}

// NewFeed returns a line that delivers frames with the levels of prof.
func NewFeed(frames [][]byte, prof noise.Profile) *Feed {
	return &Feed{closer: newCloser(), frames: frames, prof: prof, Done: make(chan struct{})}
}

// Send waits for Close.
func (l *Feed) Send([]byte) error { return l.wait() }

// Recv delivers the next frame and its clean samples.
func (l *Feed) Recv(frame []byte, soft []noise.Sample) error {
	if l.i == len(l.frames) {
		l.endOnce.Do(func() { close(l.Done) })
		return l.wait()
	}
	if l.Before != nil {
		l.Before(l.i)
	}
	copy(frame, l.frames[l.i])
	channel.Modulate(frame, soft, &l.prof)
	l.i++
	return nil
}

// Discard takes every frame and drops it; its receiving side has nothing.
// Send fails with ErrClosed after Close.
type Discard struct{ closer }

// NewDiscard returns a line that drops what it is sent.
func NewDiscard() *Discard { return &Discard{newCloser()} }

// Send drops frame.
func (l *Discard) Send([]byte) error {
	select {
	case <-l.closed:
		return ErrClosed
	default:
		return nil
	}
}

// Recv waits for Close.
func (l *Discard) Recv([]byte, []noise.Sample) error { return l.wait() }

// Pipe returns the two ends of an in-memory line with clean samples (no
// noise, no loss): each direction is a ring of depth preallocated frames,
// so nothing allocates per frame, and Send waits while the ring is full.
// Closing either end closes both directions.
func Pipe(depth int, prof noise.Profile) (a, b *End) {
	ab, ba := newDirection(depth, prof), newDirection(depth, prof)
	return &End{tx: ab, rx: ba}, &End{tx: ba, rx: ab}
}

// End is one end of a Pipe.
type End struct{ tx, rx *direction }

// direction is one direction of a Pipe: frames waiting (idx) and free
// buffers (free).
type direction struct {
	closer
	bufs [][]byte
	idx  chan int
	free chan int
	prof noise.Profile
}

func newDirection(depth int, prof noise.Profile) *direction {
	d := &direction{closer: newCloser(), idx: make(chan int, depth), free: make(chan int, depth), prof: prof}
	for i := range depth {
		d.bufs = append(d.bufs, make([]byte, framer.FrameLen))
		d.free <- i
	}
	return d
}

// Send queues frame for the other end.
func (e *End) Send(frame []byte) error {
	select {
	case i := <-e.tx.free:
		copy(e.tx.bufs[i], frame)
		e.tx.idx <- i
		return nil
	case <-e.tx.closed:
		return ErrClosed
	}
}

// Recv takes the next frame from the other end, with clean samples.
func (e *End) Recv(frame []byte, soft []noise.Sample) error {
	select {
	case i := <-e.rx.idx:
		copy(frame, e.rx.bufs[i])
		e.rx.free <- i
		channel.Modulate(frame, soft, &e.rx.prof)
		return nil
	case <-e.rx.closed:
		return ErrClosed
	}
}

// Close closes both directions.
func (e *End) Close() error {
	e.tx.Close()
	e.rx.Close()
	return nil
}
