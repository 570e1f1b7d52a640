package dataplane

import "github.com/otkd/otkd/noise"

// Line is the medium a port's frames travel on: the simulated fibre, UDP
// between hosts, later AF_XDP. Send is called by the TX goroutine only and
// Recv by the RX goroutine only.
type Line interface {
	// Send transmits one wire frame of framer.FrameLen bytes. The frame is
	// the caller's again when Send returns. It may wait for room.
	Send(frame []byte) error
	// Recv waits for the next wire frame and copies it into frame
	// (framer.FrameLen bytes), and the soft samples of its 1984 negotiation
	// bits (data1 then data2, MSB first) into soft.
	Recv(frame []byte, soft []noise.Sample) error
	// Close stops the line; pending and later Send and Recv return an error.
	Close() error
}
