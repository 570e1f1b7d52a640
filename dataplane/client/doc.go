// Package client carries a port's client signal, Ethernet frames, in the
// OPU2 payload of the port's frames, mapped with frame-mapped GFP (package
// gfp; docs/client.md has the byte map and the policies).
//
// # Pipeline
//
// A Mapper sits between four goroutines and meets them only in two
// lock-free SPSC rings of preallocated slots and atomics:
//
//	client reader ──ReadBuffer/CommitRead──▶ TX ring ──Fill──▶ TX frame loop
//	RX frame loop ──Deliver──▶ RX ring ──NextOut/ReleaseOut──▶ client writer
//
// The client reader reads each frame straight into a TX slot (or, when the
// ring is full, into a scratch buffer: the frame is tail-dropped and
// counted), pads it to 60 octets, appends its Ethernet FCS and computes its
// pFCS. Fill, on the TX frame loop, never waits: it maps what is queued,
// scrambling each octet from the slot into the frame (the one copy), sets
// the payload type in the PSI and pads with GFP idle frames.
//
// Deliver, on the RX frame loop, follows the frames' COUNT: a gap (lost or
// rejected frames), a frame that comes late or a restarted sequence breaks
// the GFP stream there, and the frame in progress is dropped and counted; a
// null-cipher frame carries no payload and the stream runs on across it. It
// delineates and descrambles client frames from the frame into RX slots
// (the one copy). The client writer (NextOut) checks each frame's pFCS and
// Ethernet FCS, off the frame loop, and hands it on without its FCS; a
// frame that fails is dropped and counted, never delivered.
//
// Serve runs the client reader and writer over a Device, normally a TAP
// interface (package tap).
//
// Nothing on these paths allocates or locks after New. The client writer
// sleeps on a one-slot channel when its ring is empty, and the RX frame loop
// wakes it only then.
package client
