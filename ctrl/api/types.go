package api

import (
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/negotiation"
	"github.com/otkd/otkd/dataplane"
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
	Name       string    `json:"name"`
	ID         uint16    `json:"id"`   // the port number keys carry in the shm store
	Role       string    `json:"role"` // "A" or "B"
	Handshake  string    `json:"handshake"`
	Health     string    `json:"health"` // "ok" or why the link is not healthy
	TXEpoch    uint8     `json:"tx_epoch"`
	RXEpoch    int       `json:"rx_epoch"` // -1 before the first key
	SeedsOwn   int       `json:"seeds_own"`
	SeedsPeer  int       `json:"seeds_peer"`
	LastSwitch time.Time `json:"last_switch,omitzero"`
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

	TXEpoch uint8 `json:"tx_epoch"`
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
// the key bytes.
type KeyInfo struct {
	ID        uint64    `json:"id"`
	Port      string    `json:"port,omitempty"` // the port's name; empty when read from a bare shm file
	PortID    uint16    `json:"port_id"`
	Direction string    `json:"direction"` // "AB" (A to B) or "BA" (B to A)
	Epoch     uint8     `json:"epoch"`
	State     string    `json:"state"` // "pending", "active", "superseded"
	Alg       string    `json:"alg"`
	Len       int       `json:"len"` // key length in bytes
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
	Consumer  uint64    `json:"consumer,omitempty"` // bound consumer, 0 = none
	// Fingerprint is shm.Key.Fingerprint in hex: the first 8 bytes of SM3
	// over the key bytes, what a plugin computes from the key it reads.
	Fingerprint string `json:"fingerprint"`
}

// KeyInfoFromShm describes k (port names the port k.Port is, or is empty).
// The daemon and `otkctl keys --shm` both describe keys through it, so the
// two views print the same fields and fingerprints.
func KeyInfoFromShm(k *shm.Key, port string) KeyInfo {
	fp := k.Fingerprint()
	ki := KeyInfo{
		ID: k.ID, Port: port, PortID: k.Port, Direction: DirName(k.Dir), Epoch: k.Epoch,
		State: k.State.String(), Alg: k.Alg.String(), Len: int(k.Len), Consumer: k.Consumer,
		Fingerprint: hex.EncodeToString(fp[:]),
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
	ID      uint64 `json:"id"`      // the key's id, 0 for problems of the store as a whole
	Problem string `json:"problem"` // e.g. "does not decrypt", "missing from shm", "differs from shm"
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
