package client

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
)

// Device is a client interface: one Ethernet MAC frame, without FCS, per
// Read and per Write. A TAP interface (package tap) is one. Read blocks
// until a frame comes; Close makes a blocked Read return an error.
type Device interface {
	io.ReadWriteCloser
}

// Serve moves frames between dev and the Mapper until ctx ends or dev fails,
// then closes dev and returns (nil when ctx ended). It runs the client
// reader (dev → TX ring, one frame per Read straight into its slot, every
// frame dev has per wake-up) and the client writer (RX ring → dev). A write
// the client refuses is counted (DropClient), not an error.
func (m *Mapper) Serve(ctx context.Context, dev Device) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs <- m.readLoop(dev) }()
	go func() { defer wg.Done(); errs <- m.writeLoop(ctx.Done(), dev) }()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	cancel()
	dev.Close()
	wg.Wait()
	if ctx.Err() != nil && first == nil {
		return nil
	}
	return first
}

// readLoop is the client reader: it reads frames into the TX ring until
// dev fails or is closed.
func (m *Mapper) readLoop(dev Device) error {
	for {
		n, err := dev.Read(m.ReadBuffer())
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		m.CommitRead(n)
	}
}

// writeLoop is the client writer: it writes every checked frame of the RX
// ring to dev, sleeping while the ring is empty, until done closes or dev
// is closed.
func (m *Mapper) writeLoop(done <-chan struct{}, dev Device) error {
	for m.WaitOut(done) {
		for fr := m.NextOut(); fr != nil; fr = m.NextOut() {
			_, err := dev.Write(fr)
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			m.ReleaseOut(err == nil)
		}
	}
	return nil
}
