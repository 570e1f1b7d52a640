// Package batchline names the optional batch interface of a line: a line
// that moves several frames per system call (the batched UDP line, the
// AF_XDP line) offers SendBatch and RecvBatch beside the one-frame calls of
// dataplane.Line, so that a caller holding several frames at once (frame
// workers that seal a batch in parallel) hands them over in one call
// instead of letting the line queue them one by one.
//
// The one-frame calls stay the contract every line keeps; a line's batch
// calls give exactly what the same sequence of one-frame calls would give,
// frames in the same order, with the same counting and the same channel
// model.
package batchline

import (
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/noise"
)

// Line is a dataplane.Line that also moves frames in batches. SendBatch is
// called by the sending goroutine only and RecvBatch by the receiving one,
// like Send and Recv (and not concurrently with them).
type Line interface {
	dataplane.Line
	// SendBatch transmits frames (each framer.FrameLen bytes) in order and
	// returns once all of them have been handed to the medium; the slices
	// are the caller's again then. Errors are those of Send.
	SendBatch(frames [][]byte) error
	// RecvBatch waits for the next frame and returns it in frames[0] and
	// soft[0]; it also returns, without waiting, the frames the line
	// already holds, up to len(frames). It returns the number of frames
	// delivered (≥ 1 when the error is nil).
	RecvBatch(frames [][]byte, soft [][]noise.Sample) (int, error)
}
