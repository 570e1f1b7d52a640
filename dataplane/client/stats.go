package client

import (
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/client/gfp"
)

// Stats are a Mapper's counters, atomics that any goroutine may read.
// Octets are client octets: the MAC frame without FCS, before padding.
type Stats struct {
	// InPackets, InBytes: frames taken from the client and queued for the
	// line.
	InPackets, InBytes atomic.Uint64
	// OutPackets, OutBytes: frames delivered to the client.
	OutPackets, OutBytes atomic.Uint64

	// DropCapacity: client frames tail-dropped because the TX ring was full
	// (the client sends more than the link carries, or the link carries no
	// payload yet).
	DropCapacity atomic.Uint64
	// DropMTU: frames longer than the MTU allows, from the client or from
	// the line.
	DropMTU atomic.Uint64
	// DropMalformed: client frames shorter than an Ethernet header; from the
	// line, frames shorter than 64 octets with FCS or whose GFP payload
	// header does not check or is not frame-mapped Ethernet.
	DropMalformed atomic.Uint64
	// DropFCS, DropPFCS: frames from the line whose Ethernet FCS, or GFP
	// pFCS, does not check.
	DropFCS, DropPFCS atomic.Uint64
	// DropDelineation: frames from the line cut short by a break of the GFP
	// stream (lost, rejected or late OTN frames, a core header that did not
	// check).
	DropDelineation atomic.Uint64
	// DropQueue: frames from the line dropped because the RX ring was full
	// (the client writer fell behind).
	DropQueue atomic.Uint64
	// DropClient: frames the client refused (a write that failed, e.g. the
	// interface is down).
	DropClient atomic.Uint64

	// LostFrames: OTN frames missing from the COUNT sequence of the frames
	// delivered (lost or rejected), those reported damaged not included. LateFrames: frames that came with a COUNT
	// at or behind the last one (reordered, repeated), not used.
	// Restarts: the COUNT sequence started again (a restarted peer).
	LostFrames, LateFrames, Restarts atomic.Uint64
	// DamagedFrames: OTN frames the RX frame loop received damaged beyond
	// the FEC (Lost); their payload is not used.
	DamagedFrames atomic.Uint64
	// PayloadMismatch: frames ignored because their multiframe's PSI did not
	// announce GFP (payload type 0x05).
	PayloadMismatch atomic.Uint64

	// GFP: the delineation's counters (Resyncs: losses of SYNC).
	GFP gfp.Stats
}
