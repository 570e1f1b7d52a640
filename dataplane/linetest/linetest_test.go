package linetest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/linetest"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

var (
	_ dataplane.Line = (*linetest.Capture)(nil)
	_ dataplane.Line = (*linetest.Feed)(nil)
	_ dataplane.Line = (*linetest.Discard)(nil)
	_ dataplane.Line = (*linetest.End)(nil)
)

func frame(b byte) []byte { return bytes.Repeat([]byte{b}, framer.FrameLen) }

// TestFakeLines: Capture records up to its size then refuses, Feed
// delivers its frames in order with the samples of their negotiation
// bits and then blocks until Close, Discard drops until Close; every
// blocked call ends with ErrClosed.
func TestFakeLines(t *testing.T) {
	c := linetest.NewCapture(2)
	for i, want := range []error{nil, nil, linetest.ErrEnough} {
		if err := c.Send(frame(byte(i))); !errors.Is(err, want) {
			t.Fatalf("capture send %d: %v, want %v", i, err, want)
		}
	}
	if c.N != 2 || c.Frames[1][0] != 1 {
		t.Fatalf("captured %d frames", c.N)
	}
	prof := noise.DefaultProfile()
	f := linetest.NewFeed([][]byte{frame(0xff), frame(0)}, prof)
	var seen []int
	f.Before = func(i int) { seen = append(seen, i) }
	buf := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	for i, b := range []byte{0xff, 0} {
		if err := f.Recv(buf, soft); err != nil || buf[0] != b {
			t.Fatalf("feed frame %d: %v, byte %x", i, err, buf[0])
		}
		if want := prof.Level0; b == 0xff {
			if soft[0] != prof.Level1 {
				t.Fatalf("frame %d: sample %v, want level1", i, soft[0])
			}
		} else if soft[0] != want {
			t.Fatalf("frame %d: sample %v, want level0", i, soft[0])
		}
	}
	done := make(chan error, 1)
	go func() { done <- f.Recv(buf, soft) }()
	<-f.Done
	f.Close()
	if err := <-done; !errors.Is(err, linetest.ErrClosed) || len(seen) != 2 {
		t.Fatalf("after the last frame: %v, before %v", err, seen)
	}
	d := linetest.NewDiscard()
	if err := d.Send(frame(1)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := d.Send(frame(1)); !errors.Is(err, linetest.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := d.Recv(buf, soft); !errors.Is(err, linetest.ErrClosed) {
		t.Fatalf("recv after close: %v", err)
	}
}
