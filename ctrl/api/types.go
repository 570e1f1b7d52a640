package api

import (
	"fmt"
	"math"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/shm"
)

// Status is the answer of GET /v1/status: who the daemon is and a one-line
// summary of each port.
type Status struct {
	Node          string        `json:"node"`
	Version       string        `json:"version"`
	PID           int           `json:"pid"`
	StartedAt     time.Time     `json:"started_at"`
	UptimeSeconds float64       `json:"uptime_seconds"`
	Health        string        `json:"health"` // "ok", "degraded", "starting", "stopping"
	ShmPath       string        `json:"shm_path"`
	StorePath     string        `json:"store_path"`
	Generation    uint64        `json:"generation"` // the shm store's generation
	Keys          int           `json:"keys"`       // live keys in the shm store
	Ports         []PortSummary `json:"ports"`
}

// PortSummary is one port in Status.
type PortSummary struct {
	Name      string `json:"name"`
	ID        uint16 `json:"id"`   // the port number keys carry in the shm store
	Role      string `json:"role"` // "A" or "B"
	Handshake string `json:"handshake"`
	Health    string `json:"health"`   // "ok" or why the link is not healthy
	TXEpoch   uint8  `json:"tx_epoch"` // the frame's 8-bit epoch: it wraps at 256
	RXEpoch   int    `json:"rx_epoch"` // -1 before the first key
	// KeySwitches counts the TX switches to a new session key since the
	// daemon started: the counter the epoch byte wraps from.
	KeySwitches int       `json:"key_switches"`
	SeedsOwn    int       `json:"seeds_own"`
	SeedsPeer   int       `json:"seeds_peer"`
	LastSwitch  time.Time `json:"last_switch,omitzero"`
}

// Link is one port in GET /v1/links: its line, its peer and its counters.
// Counters count since the daemon started.
type Link struct {
	Name      string `json:"name"`
	ID        uint16 `json:"id"`
	Role      string `json:"role"`      // "A" or "B"
	Line      string `json:"line"`      // line type and address, e.g. "udp 192.0.2.7:7400"
	Peer      string `json:"peer"`      // the peer's identity
	Handshake string `json:"handshake"` // "pending", "done" or the error

	TXEpoch uint8 `json:"tx_epoch"` // the frame's 8-bit epoch: it wraps at 256 (KeySwitches is the full count)
	RXEpoch int   `json:"rx_epoch"` // -1 before the first key

	FramesTX         uint64 `json:"frames_tx"`
	FramesRX         uint64 `json:"frames_rx"`
	FramesRejected   uint64 `json:"frames_rejected"` // alignment lost, unknown epoch, tag, replay
	FramesForged     uint64 `json:"frames_forged"`   // of those: the frame tag did not verify
	FramesReplayed   uint64 `json:"frames_replayed"` // of those: replayed, duplicated or too old
	FECCorrected     uint64 `json:"fec_corrected"`   // symbols
	FECUncorrectable uint64 `json:"fec_uncorrectable"`
	BIPErrors        uint64 `json:"bip_errors"`

	RoundsOwn     int    `json:"rounds_own"`  // counts of this end's direction
	RoundsPeer    int    `json:"rounds_peer"` // counts of the peer's direction
	RoundsDropped uint64 `json:"rounds_dropped"`

	SeedsOwn  int `json:"seeds_own"`
	SeedsPeer int `json:"seeds_peer"`
	// Failures counts post-processing attempts that ended without a seed
	// (decoding or verification failed, or the entropy bound was not met).
	Failures    int `json:"failures"`
	KeySwitches int `json:"key_switches"` // TX switches to a new session key

	// Disagreement is the measured pre-reconciliation bit disagreement of
	// each direction (0..1).
	DisagreementOwn  float64 `json:"disagreement_own"`
	DisagreementPeer float64 `json:"disagreement_peer"`

	// PostprocessingOwn and PostprocessingPeer are each direction's
	// measured reconciliation and privacy-amplification figures.
	PostprocessingOwn  Postprocessing `json:"postprocessing_own"`
	PostprocessingPeer Postprocessing `json:"postprocessing_peer"`

	LastSeed   time.Time `json:"last_seed,omitzero"`
	LastSwitch time.Time `json:"last_switch,omitzero"`

	// Client is the port's client (client = "tap:NAME"); absent for a port
	// without one. Its counters live as long as the daemon, across restarts
	// of the port.
	Client *ClientCounters `json:"client,omitempty"`
}

// ClientCounters are a port's client counters (docs/client.md, "What is
// dropped and counted"). Octets are client octets: the Ethernet frame
// without FCS.
type ClientCounters struct {
	Interface string `json:"interface"` // as configured, e.g. "tap:otkd0"
	MTU       int    `json:"mtu"`
	// Created: otkd created the interface (it goes away when otkd stops);
	// false: otkd attached to an interface that existed.
	Created bool `json:"created"`

	InPackets  uint64 `json:"in_packets"` // from the client, queued for the line
	InBytes    uint64 `json:"in_bytes"`
	OutPackets uint64 `json:"out_packets"` // delivered to the client
	OutBytes   uint64 `json:"out_bytes"`

	Drops ClientDrops `json:"drops"`

	// FramesLost and FramesLate are OTN frames missing from, or behind,
	// the COUNT sequence of the frames received; FramesDamaged are frames
	// received with a payload row the FEC could not correct; PeerRestarts counts
	// sequences that started again; PayloadMismatch counts frames whose
	// payload type was not GFP. Each breaks the GFP stream.
	FramesLost      uint64 `json:"frames_lost"`
	FramesDamaged   uint64 `json:"frames_damaged"` // received with a payload the FEC could not correct
	FramesLate      uint64 `json:"frames_late"`
	PeerRestarts    uint64 `json:"peer_restarts"`
	PayloadMismatch uint64 `json:"payload_mismatch"`

	// GFPSyncs and GFPResyncs count entries into and losses of GFP frame
	// delineation (SYNC); GFPCorrected counts core headers with one bit
	// error corrected.
	GFPSyncs     uint64 `json:"gfp_syncs"`
	GFPResyncs   uint64 `json:"gfp_resyncs"`
	GFPCorrected uint64 `json:"gfp_corrected"`
}

// ClientDrops are client frames dropped, by reason.
type ClientDrops struct {
	Capacity    uint64 `json:"capacity"`    // from the client: the link was full (tail drop) or carries no payload yet
	MTU         uint64 `json:"mtu"`         // longer than the MTU allows, from the client or the line
	Malformed   uint64 `json:"malformed"`   // too short, or a GFP payload header that does not check or is not Ethernet
	FCS         uint64 `json:"fcs"`         // Ethernet FCS mismatch
	PFCS        uint64 `json:"pfcs"`        // GFP pFCS mismatch
	Delineation uint64 `json:"delineation"` // cut short by a break of the GFP stream (lost or damaged frames)
	Queue       uint64 `json:"queue"`       // to the client: its writer fell behind
	Refused     uint64 `json:"refused"`     // to the client: the interface refused the write (down)
}

// Total returns the sum of the drops.
func (d ClientDrops) Total() uint64 {
	return d.Capacity + d.MTU + d.Malformed + d.FCS + d.PFCS + d.Delineation + d.Queue + d.Refused
}

// SetClientCounters fills c's counters from a mapper's stats; the identity
// fields (Interface, MTU, Created) are the caller's.
func (c *ClientCounters) SetClientCounters(s *client.Stats) {
	c.InPackets, c.InBytes = s.InPackets.Load(), s.InBytes.Load()
	c.OutPackets, c.OutBytes = s.OutPackets.Load(), s.OutBytes.Load()
	c.Drops = ClientDrops{
		Capacity: s.DropCapacity.Load(), MTU: s.DropMTU.Load(), Malformed: s.DropMalformed.Load(),
		FCS: s.DropFCS.Load(), PFCS: s.DropPFCS.Load(), Delineation: s.DropDelineation.Load(),
		Queue: s.DropQueue.Load(), Refused: s.DropClient.Load(),
	}
	c.FramesLost, c.FramesLate, c.FramesDamaged = s.LostFrames.Load(), s.LateFrames.Load(), s.DamagedFrames.Load()
	c.PeerRestarts, c.PayloadMismatch = s.Restarts.Load(), s.PayloadMismatch.Load()
	c.GFPSyncs, c.GFPResyncs, c.GFPCorrected = s.GFP.Syncs.Load(), s.GFP.Resyncs.Load(), s.GFP.Corrected.Load()
}

// Postprocessing are one direction's post-processing figures
// (docs/postprocessing.md); each is 0 until it can be computed.
type Postprocessing struct {
	// Efficiency is f = reconciliation bits published ÷ (kept bits ·
	// h(disagreement)): 1 is the Slepian-Wolf limit.
	Efficiency    float64 `json:"efficiency"`
	RoundsPerSeed float64 `json:"rounds_per_seed"`
	StepsPerBlock float64 `json:"steps_per_block"` // syndrome round trips per block
	// PerSeed are the leftover-hash bound's terms per seed, in bits.
	PerSeed BoundTerms `json:"per_seed"`
}

// BoundTerms are the leftover-hash bound's terms per seed, in bits:
// Credited = Reconciliation + Tag + Amplification + Seed + Slack.
type BoundTerms struct {
	Credited       float64 `json:"credited"`       // min-entropy credited to the reconciled bits
	Reconciliation float64 `json:"reconciliation"` // syndrome and reply bits published
	Tag            float64 `json:"tag"`            // verification tag
	Amplification  float64 `json:"amplification"`  // 2·log2(1/ε)
	Seed           float64 `json:"seed"`           // the seed's 256 bits
	Slack          float64 `json:"slack"`          // credited, not extracted
}

// PostprocessingOf summarises a direction's negotiation counters.
func PostprocessingOf(s negotiation.Stats) Postprocessing {
	f := s.Efficiency()
	if math.IsInf(f, 0) || math.IsNaN(f) {
		f = 0
	}
	t := s.PerSeed()
	return Postprocessing{
		Efficiency: f, RoundsPerSeed: s.RoundsPerSeed(), StepsPerBlock: s.StepsPerBlock(),
		PerSeed: BoundTerms{Credited: t.Credited, Reconciliation: t.Reconciliation, Tag: t.Tag,
			Amplification: t.Amplification, Seed: t.Output, Slack: t.Slack},
	}
}

// SetCounters fills l's counters from a port's data-plane snapshot and its
// controller's stats; the identity fields (Name, ID, Role, Line, Peer) are
// the caller's.
func (l *Link) SetCounters(p dataplane.Snapshot, c link.Stats) {
	l.Handshake = c.Handshake
	l.TXEpoch, l.RXEpoch = p.TXEpoch, p.RXEpoch
	l.FramesTX, l.FramesRX = p.TXFrames, p.RXFrames
	l.FramesRejected = p.RXLostFAS + p.RXUnknownEpoch + p.RXAuthFailed + p.RXReplayed + p.RXTooOld
	l.FramesForged, l.FramesReplayed = p.RXAuthFailed, p.RXReplayed+p.RXTooOld
	l.FECCorrected, l.FECUncorrectable, l.BIPErrors = p.FECCorrected, p.FECUncorrected, p.BIPErrors
	l.RoundsOwn, l.RoundsPeer, l.RoundsDropped = c.Initiator.Rounds, c.Responder.Rounds, p.RoundsDropped
	l.SeedsOwn, l.SeedsPeer = c.SeedsOwn, c.SeedsPeer
	l.Failures = c.Initiator.DecodeFailures + c.Initiator.VerifyFailures + c.Initiator.Abandoned +
		c.Responder.DecodeFailures + c.Responder.VerifyFailures + c.Responder.Abandoned
	l.KeySwitches = c.TXSwitches
	l.DisagreementOwn, l.DisagreementPeer = c.Initiator.Disagreement(), c.Responder.Disagreement()
	l.PostprocessingOwn, l.PostprocessingPeer = PostprocessingOf(c.Initiator), PostprocessingOf(c.Responder)
	l.LastSeed, l.LastSwitch = c.LastSeed, c.LastSwitch
}

// KeyInfo describes one key of the store: metadata and a fingerprint, never
// the key bytes. Its 64-bit ids (the key's, the consumer's) are JSON
// strings of decimal digits: a JSON parser that reads numbers as float64
// (JavaScript, jq) would round them above 2^53. Epoch is the frame's 8-bit
// epoch, which wraps at 256 (the shm store holds no wider counter).
type KeyInfo struct {
	ID        uint64    `json:"id,string"`
	Port      string    `json:"port,omitempty"` // the port's name; empty when read from a bare shm file
	PortID    uint16    `json:"port_id"`
	Direction string    `json:"direction"` // "AB" (A to B) or "BA" (B to A)
	Epoch     uint8     `json:"epoch"`
	State     string    `json:"state"` // "pending", "active", "superseded"
	Alg       string    `json:"alg"`
	Len       int       `json:"len"` // key length in bytes
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
	Consumer  uint64    `json:"consumer,omitempty,string"` // bound consumer, 0 = none
	// Fingerprint is shm.Key.Fingerprint in hex: the first 8 bytes of SM3
	// over the key bytes, what a plugin computes from the key it reads.
	Fingerprint string `json:"fingerprint"`
}

// KeyInfoFromShm describes k (port names the port k.Port is, or is empty).
// The daemon and `otkctl keys --shm` both describe keys through it, so the
// two views print the same fields and fingerprints.
func KeyInfoFromShm(k *shm.Key, port string) KeyInfo {
	ki := KeyInfo{
		ID: k.ID, Port: port, PortID: k.Port, Direction: DirName(k.Dir), Epoch: k.Epoch,
		State: k.State.String(), Alg: k.Alg.String(), Len: int(k.Len), Consumer: k.Consumer,
		Fingerprint: k.Fingerprint().String(),
	}
	if k.ValidFrom != 0 {
		ki.ValidFrom = time.Unix(0, k.ValidFrom).UTC()
	}
	if k.ValidTo != 0 {
		ki.ValidTo = time.Unix(0, k.ValidTo).UTC()
	}
	return ki
}

// DirName names a direction as KeyInfo does: "AB" or "BA".
func DirName(d shm.Dir) string {
	switch d {
	case shm.DirAtoB:
		return "AB"
	case shm.DirBtoA:
		return "BA"
	}
	return fmt.Sprintf("dir(%d)", uint8(d))
}

// StoreReport is the answer of POST /v1/store/verify: whether every key of
// the persisted store decrypts and matches the shm store.
type StoreReport struct {
	OK        bool   `json:"ok"` // no problem found
	StorePath string `json:"store_path"`
	ShmPath   string `json:"shm_path"`
	Persisted int    `json:"persisted"` // keys in the persisted store
	Published int    `json:"published"` // live keys in the shm store
	Matched   int    `json:"matched"`   // persisted keys identical in shm
	// Problems names every key that failed, one entry per key and reason.
	Problems []StoreProblem `json:"problems"`
}

// StoreProblem is one failed check of a StoreReport.
type StoreProblem struct {
	ID      uint64 `json:"id,string"` // the key's id (a string, as KeyInfo's), "0" for problems of the store as a whole
	Problem string `json:"problem"`   // e.g. "does not decrypt", "missing from shm", "differs from shm"
}

// ActionResult is the answer of the write operations on a port.
type ActionResult struct {
	Port   string `json:"port"`
	Action string `json:"action"` // "negotiate" or "rotate"
	Status string `json:"status"` // "accepted"
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}
