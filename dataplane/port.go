package dataplane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// Role says which end of the link a port is. End A sends DIRECTION 0 (A→B)
// and starts the handshake; end B sends DIRECTION 1.
type Role uint8

// The two roles.
const (
	RoleA Role = 0
	RoleB Role = 1
)

func (r Role) String() string {
	if r == RoleA {
		return "A"
	}
	return "B"
}

// Errors of the port API.
var (
	ErrBusy    = errors.New("dataplane: a key switch is already scheduled")
	ErrEpoch   = errors.New("dataplane: epoch 0 is the null cipher and takes no key")
	ErrRunning = errors.New("dataplane: port already running")
)

// Count is the error count of one round, handed to the controller. Own is
// true for rounds this end started (E1: this end is the direction's
// initiator) and false for the peer's rounds (E2: this end responds).
type Count struct {
	Round uint32
	Value uint16
	Own   bool
}

// PayloadSource fills the OPU payload (columns 17-3824 of the four rows) of
// a frame before it is sealed. It runs on the TX goroutine and must not
// allocate.
type PayloadSource interface {
	Fill(f *framer.Frame, count uint32)
}

// Config configures a port. Zero fields take the documented defaults.
type Config struct {
	Role Role
	Line Line
	// Profile gives the levels and the range of the local noise σ. Default
	// noise.DefaultProfile().
	Profile noise.Profile
	// Payload fills each frame's payload; default TestPattern.
	Payload PayloadSource
	// Framer selects the ZUC engine and the scrambler.
	Framer framer.Options
	// Channel configures the interaction channel; MaxMessage defaults to
	// DefaultMaxMessage.
	Channel ichan.Config
	// Window is the number of rounds each end keeps state for while their
	// partner messages are in flight; a power of two, default 1024.
	Window int
	// CountQueue is the depth of the ring of counts to the controller;
	// default 16384. A full queue drops counts (Stats.CountsDropped).
	CountQueue int
}

func (c *Config) fill() error {
	if c.Line == nil {
		return errors.New("dataplane: Config.Line is nil")
	}
	if c.Role > RoleB {
		return fmt.Errorf("dataplane: Config.Role %d is neither A (0) nor B (1)", c.Role)
	}
	if c.Profile == (noise.Profile{}) {
		c.Profile = noise.DefaultProfile()
	}
	if err := c.Profile.Validate(); err != nil {
		return fmt.Errorf("dataplane: Config.Profile: %w", err)
	}
	if c.Payload == nil {
		c.Payload = &TestPattern{}
	}
	if c.Window == 0 {
		c.Window = 1024
	}
	if c.Window < 16 || c.Window&(c.Window-1) != 0 {
		return fmt.Errorf("dataplane: Config.Window %d must be a power of two ≥ 16", c.Window)
	}
	if c.CountQueue == 0 {
		c.CountQueue = 16384
	}
	if c.Channel.MaxMessage == 0 {
		// A Sift over a block whose rounds spread wide (loss) carries a
		// bitmap of up to 8 KiB; leave room.
		c.Channel.MaxMessage = DefaultMaxMessage
	}
	return nil
}

// DefaultMaxMessage is the largest control message a port's interaction
// channel carries by default: the post-processing's largest message (a Sift
// over a block spread across 65 535 round ids) with room to spare.
const DefaultMaxMessage = 16384

// keySwitch is a scheduled TX key change.
type keySwitch struct {
	epoch uint8
	key   framer.Key
	at    uint32
}

// rxKey is a key handed to the RX.
type rxKey struct {
	epoch uint8
	key   framer.Key
}

// Port is one end of one link: a TX and an RX pipeline over a Line. Its
// controller methods (ScheduleTX, InstallRX, Counts, Chan, Stats) are meant
// for one controller goroutine; the pipelines run inside Run.
type Port struct {
	cfg  Config
	dir  uint8 // DIRECTION of the frames this port sends
	ch   *ichan.Chan
	tx   *txState
	rx   *rxState
	st   Stats
	cnt  *ring.SPSC[Count]
	sw   atomic.Pointer[keySwitch]
	keys *ring.SPSC[rxKey]

	// rings between the pipelines
	ownQ   *ring.SPSC[ownRound]  // TX → RX: own rounds sent
	ansQ   *ring.SPSC[answered]  // TX → RX: peer rounds answered (XB1)
	toAnsQ *ring.SPSC[toAnswer]  // RX → TX: peer rounds to answer
	finQ   *ring.SPSC[finalItem] // RX → TX: C1 to send

	running atomic.Bool
	txCount atomic.Uint32
	txEpoch atomic.Uint32
}

// NewPort builds a port. It validates cfg and preallocates every buffer the
// pipelines use.
func NewPort(cfg Config) (*Port, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if err := cfg.Channel.Check(); err != nil {
		return nil, fmt.Errorf("dataplane: Config.Channel: %w", err)
	}
	p := &Port{
		cfg:    cfg,
		dir:    uint8(cfg.Role),
		ch:     ichan.New(cfg.Channel),
		cnt:    ring.New[Count](cfg.CountQueue),
		keys:   ring.New[rxKey](8),
		ownQ:   ring.New[ownRound](cfg.Window / 2),
		ansQ:   ring.New[answered](cfg.Window / 2),
		toAnsQ: ring.New[toAnswer](64),
		finQ:   ring.New[finalItem](64),
	}
	var err error
	if p.tx, err = newTX(p); err != nil {
		return nil, err
	}
	if p.rx, err = newRX(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Role returns the port's role.
func (p *Port) Role() Role { return p.cfg.Role }

// Chan returns the interaction channel: the controller's reliable messages
// to the peer.
func (p *Port) Chan() *ichan.Chan { return p.ch }

// Counts returns the ring of round counts; the controller is its only
// consumer.
func (p *Port) Counts() *ring.SPSC[Count] { return p.cnt }

// TXCount returns the COUNT of the last frame sent.
func (p *Port) TXCount() uint32 { return p.txCount.Load() }

// TXEpoch returns the epoch the TX encrypts with now.
func (p *Port) TXEpoch() uint8 { return uint8(p.txEpoch.Load()) }

// ScheduleTX makes the TX switch to key as epoch at the first frame whose
// COUNT is at or after at (modulo 2^32, within 2^31). The key is copied; the
// caller zeroises its own copy. Only one switch may be pending: ErrBusy.
func (p *Port) ScheduleTX(epoch uint8, key *framer.Key, at uint32) error {
	if epoch == framer.NullEpoch {
		return ErrEpoch
	}
	ks := &keySwitch{epoch: epoch, key: *key, at: at}
	if !p.sw.CompareAndSwap(nil, ks) {
		clear(ks.key[:])
		return ErrBusy
	}
	return nil
}

// ResetTX makes the TX fall back to the null cipher at its next frame (no
// rounds, no payload, only the interaction channel): what a controller
// does when the peer restarted and must handshake again. ErrBusy while a
// scheduled switch is still pending; retry later.
func (p *Port) ResetTX() error {
	if !p.sw.CompareAndSwap(nil, &keySwitch{epoch: framer.NullEpoch}) {
		return ErrBusy
	}
	return nil
}

// SwitchPending reports whether a scheduled TX switch has not happened yet.
func (p *Port) SwitchPending() bool { return p.sw.Load() != nil }

// InstallRX hands the RX the key of epoch for the peer's frames; the RX
// installs it before it opens its next frame (the previous current epoch
// stays valid). It fails only when eight installs are already queued.
func (p *Port) InstallRX(epoch uint8, key *framer.Key) error {
	if epoch == framer.NullEpoch {
		return ErrEpoch
	}
	s := p.keys.Slot()
	if s == nil {
		return ErrBusy
	}
	s.epoch, s.key = epoch, *key
	p.keys.Commit()
	return nil
}

// Run runs the TX and RX pipelines until ctx is done or the line fails, then
// closes the line and returns the first error (nil after ctx ended). A port
// runs once.
func (p *Port) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	stop := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); errs <- p.tx.loop(stop) }()
	go func() { defer wg.Done(); errs <- p.rx.loop(stop) }()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	close(stop)
	p.cfg.Line.Close()
	wg.Wait()
	p.tx.wipe()
	p.rx.wipe()
	if ctx.Err() != nil {
		return nil
	}
	return first
}
