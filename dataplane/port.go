package dataplane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
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
	ErrNoChan  = errors.New("dataplane: a session switch needs a channel")
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

// PayloadSink takes the OPU payload of every frame the RX accepted (opened,
// authenticated, not a replay), in arrival order, on the RX goroutine. It
// must not allocate or block. Deliver gets keyed frames and null frames
// (epoch 0: the frame carries no payload, but its COUNT belongs to the
// sequence); Lost tells it that the frame it would have got next is
// damaged (a row codeword the FEC could not correct). Frames the RX refused
// reach it as a gap in COUNT.
type PayloadSink interface {
	Deliver(f *framer.Frame, count uint32, epoch uint8)
	Lost()
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
	// Sink takes the payload of each accepted frame (a client mapper);
	// nil: none. A Payload that is a TestPattern is checked by the RX
	// itself (Stats.PayloadErrors).
	Sink PayloadSink
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
	// LaneEvery: while a handshake-lane message is set (SetLane) and the TX
	// has a key, every LaneEvery-th frame is sent as a null frame carrying
	// the lane, so that a peer without the key can read it. Default 8.
	LaneEvery int
	// FirstCount is the COUNT of the port's first frame; COUNT then grows
	// by one per frame sent, keyed or null, and runs on across keys (it
	// wraps at 2^32, which the limits below make harmless). Default 0;
	// tests start near 2^32 to cross the wrap.
	FirstCount uint32
	// SoftLimit is the number of frames sealed under one key after which
	// the controller rotates to a fresh key (TXKeyState tells it); default
	// DefaultSoftLimit. HardLimit is the number of frames a key never
	// exceeds: a key that has sealed HardLimit frames is dropped and the TX
	// falls back to null frames (no payload, no rounds) until a new key
	// comes; default DefaultHardLimit. 0 < SoftLimit ≤ HardLimit ≤ MaxKeyFrames.
	// Tests set them low; an operator has no reason to.
	SoftLimit, HardLimit uint32
	// Sealed, when set, is called on the TX goroutine for every frame
	// sealed under a key, with the key, epoch and COUNT (tests record the
	// (key, COUNT) pairs with it). It must not block or allocate. With
	// frame workers it is called by the builder, in COUNT order, when the
	// frame is handed to its worker.
	Sealed func(key *keys.Key, epoch uint8, count uint32)
	// Workers is W, the number of goroutines that seal the TX's frames and
	// the number that open the RX's (workers.go); 0 means 1, at most
	// MaxWorkers. W = 1 is one TX and one RX goroutine doing everything.
	// W > 1 adds a sequential stage before and after W workers per
	// direction, keeps PipelineDepth(W) frames in flight per direction and
	// gives the same wire bytes, keys, rounds and frame order as W = 1.
	Workers int
	// CPUs, when not empty, pins the port's pipeline goroutines, each to
	// one of these CPUs (each on a locked OS thread): the TX's on the CPUs
	// at even positions of the list, the RX's on those at odd positions
	// (all on the one CPU of a one-element list); a side's sequential
	// stages on its first CPU, its worker i on its CPU i+1, cyclically.
	// Every CPU must be one this process may run on, and listed once.
	CPUs []int

	// tests: deterministic randomness (TX arrays, RX local noise) and a
	// hook that delays workers.
	seed        *[32]byte
	workerDelay func(n uint64)
}

// Limits of the frames one key seals. A key's frames span fewer than
// MaxKeyFrames = 2^31 consecutive COUNTs, so under one key a COUNT never
// repeats (it would take 2^32) and every comparison of two COUNTs of one key
// in serial-number arithmetic (the receiver's replay window) is exact.
// Defaults: rotate after 2^30 frames (3.6 h at the OTU2 rate), stop at
// 2^31 − 2^24 (7.0 h).
const (
	MaxKeyFrames     uint32 = 1 << 31
	DefaultSoftLimit uint32 = 1 << 30
	DefaultHardLimit uint32 = 1<<31 - 1<<24
)

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
	if c.LaneEvery == 0 {
		c.LaneEvery = 8
	}
	if c.LaneEvery < 1 {
		return fmt.Errorf("dataplane: Config.LaneEvery %d must be ≥ 1", c.LaneEvery)
	}
	if c.SoftLimit == 0 {
		c.SoftLimit = DefaultSoftLimit
	}
	if c.HardLimit == 0 {
		c.HardLimit = DefaultHardLimit
	}
	if !(c.SoftLimit <= c.HardLimit && c.HardLimit <= MaxKeyFrames) {
		return fmt.Errorf("dataplane: Config.SoftLimit %d, HardLimit %d: want 0 < SoftLimit ≤ HardLimit ≤ %d",
			c.SoftLimit, c.HardLimit, MaxKeyFrames)
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		return fmt.Errorf("dataplane: Config.Workers %d must be 1…%d", c.Workers, MaxWorkers)
	}
	if err := checkCPUs(c.CPUs); err != nil {
		return fmt.Errorf("dataplane: Config.CPUs %v: %w", c.CPUs, err)
	}
	c.CPUs = append([]int(nil), c.CPUs...)
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

// keySwitch is a scheduled TX key change; with ch set, a session switch
// (the TX also moves to a new interaction channel).
type keySwitch struct {
	epoch uint8
	key   keys.Key
	at    uint32
	now   bool // at the next frame, whatever the COUNT
	ch    *ichan.Chan
}

// rxKey is a key handed to the RX.
type rxKey struct {
	epoch uint8
	key   keys.Key
	gen   uint64
}

// armedChan is a channel the RX adopts at the first authentic frame under
// the key installed as gen from.
type armedChan struct {
	ch   *ichan.Chan
	from uint64
}

// laneSlot is a complete handshake-lane message from the peer.
type laneSlot struct {
	n int
	b [lane.MaxMsg]byte
}

// Port is one end of one link: a TX and an RX pipeline over a Line. Its
// controller methods (ScheduleTX, SwitchSession, InstallRX, ArmChannel,
// SetLane, LaneRecv, Counts, Stats and the accessors) are meant for one
// controller goroutine; the pipelines run inside Run.
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
	gen  atomic.Uint64 // install generations handed out

	laneTX  lane.Sender
	laneQ   *ring.SPSC[laneSlot] // RX → controller: the peer's lane messages
	arm     atomic.Pointer[armedChan]
	txCh    atomic.Pointer[ichan.Chan] // the channel the TX fills now
	exhaust atomic.Bool                // the TX dropped a key at HardLimit

	// rings between the pipelines
	ownQ   *ring.SPSC[ownRound]  // TX → RX: own rounds sent
	ansQ   *ring.SPSC[answered]  // TX → RX: peer rounds answered (XB1)
	toAnsQ *ring.SPSC[toAnswer]  // RX → TX: peer rounds to answer
	finQ   *ring.SPSC[finalItem] // RX → TX: C1 to send

	thMu    sync.Mutex // threads: written as stages start
	threads []Thread

	running   atomic.Bool
	txCount   atomic.Uint32
	keyFrames atomic.Uint32 // frames sealed under the current TX key
	txEpoch   atomic.Uint32
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
		laneQ:  ring.New[laneSlot](8),
	}
	p.txCh.Store(p.ch)
	var err error
	if p.tx, err = newTX(p); err != nil {
		return nil, err
	}
	if p.rx, err = newRX(p); err != nil {
		return nil, err
	}
	if cfg.Workers > 1 {
		if p.tx.par, err = newTXPar(p, p.tx); err != nil {
			return nil, err
		}
		if p.rx.par, err = newRXPar(p, p.rx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Workers returns the number of frame workers per direction (W).
func (p *Port) Workers() int { return p.cfg.Workers }

// Role returns the port's role.
func (p *Port) Role() Role { return p.cfg.Role }

// Chan returns the interaction channel the TX fills now: the port's first
// channel until a session switch (SwitchSession) brings another.
func (p *Port) Chan() *ichan.Chan { return p.txCh.Load() }

// NewChan returns a fresh interaction channel with the port's channel
// configuration, for a new session (SwitchSession, ArmChannel).
func (p *Port) NewChan() *ichan.Chan { return ichan.New(p.cfg.Channel) }

// Counts returns the ring of round counts; the controller is its only
// consumer.
func (p *Port) Counts() *ring.SPSC[Count] { return p.cnt }

// TXCount returns the COUNT of the last frame sent (keyed or null); with
// frame workers, of the last frame built, which is sealed and sent within
// PipelineDepth(W) frames (so a switch scheduled at a COUNT after it is
// taken at exactly that COUNT).
func (p *Port) TXCount() uint32 { return p.txCount.Load() }

// TXEpoch returns the epoch the TX encrypts with now (0: null frames only).
func (p *Port) TXEpoch() uint8 { return uint8(p.txEpoch.Load()) }

// Limits returns the soft and hard limits of the frames one key seals.
func (p *Port) Limits() (soft, hard uint32) {
	return p.cfg.SoftLimit, p.cfg.HardLimit
}

// TXKeyState returns how many frames the current TX key has sealed and
// whether the TX dropped its last key at the hard limit (and has had none
// since).
func (p *Port) TXKeyState() (frames uint32, exhausted bool) {
	return p.keyFrames.Load(), p.exhaust.Load()
}

// ScheduleTX makes the TX switch to key as epoch at the first frame whose
// COUNT is at or after at (modulo 2^32, within 2^31). The key is copied; the
// caller zeroises its own copy. Only one switch may be pending: ErrBusy.
func (p *Port) ScheduleTX(epoch uint8, key *keys.Key, at uint32) error {
	if epoch == keys.NullEpoch {
		return ErrEpoch
	}
	ks := &keySwitch{epoch: epoch, key: *key, at: at}
	if !p.sw.CompareAndSwap(nil, ks) {
		clear(ks.key[:])
		return ErrBusy
	}
	return nil
}

// SwitchSession makes the TX switch, at its next frame, to key as epoch and
// to ch as its interaction channel: a new session. A switch still pending
// from the old session is dropped (its key zeroised). The key is copied.
func (p *Port) SwitchSession(epoch uint8, key *keys.Key, ch *ichan.Chan) error {
	if epoch == keys.NullEpoch {
		return ErrEpoch
	}
	if ch == nil {
		return ErrNoChan
	}
	// The TX takes a pending switch out with a compare-and-swap, so
	// whatever Swap returns here was never taken: it is the controller's.
	if old := p.sw.Swap(&keySwitch{epoch: epoch, key: *key, now: true, ch: ch}); old != nil {
		clear(old.key[:])
	}
	return nil
}

// SwitchPending reports whether a scheduled TX switch has not happened yet.
func (p *Port) SwitchPending() bool { return p.sw.Load() != nil }

// InstallRX hands the RX the key of epoch for the peer's frames; the RX
// installs it before it opens its next frame (the previous current epoch
// stays valid). It fails only when eight installs are already queued.
func (p *Port) InstallRX(epoch uint8, key *keys.Key) error {
	_, err := p.InstallRXGen(epoch, key)
	return err
}

// InstallRXGen is InstallRX that also returns the generation naming this
// install (RXOpened, ArmChannel).
func (p *Port) InstallRXGen(epoch uint8, key *keys.Key) (uint64, error) {
	if epoch == keys.NullEpoch {
		return 0, ErrEpoch
	}
	s := p.keys.Slot()
	if s == nil {
		return 0, ErrBusy
	}
	gen := p.gen.Add(1)
	s.epoch, s.key, s.gen = epoch, *key, gen
	p.keys.Commit()
	return gen, nil
}

// ArmChannel makes the RX feed ch, instead of the channel it feeds now,
// from the first authentic frame opened under the key installed as from;
// from then on only frames under that key or later installs feed it. A
// later call replaces an arming not yet taken; nil disarms.
func (p *Port) ArmChannel(ch *ichan.Chan, from uint64) {
	if ch == nil {
		p.arm.Store(nil)
		return
	}
	p.arm.Store(&armedChan{ch: ch, from: from})
}

// RXOpened reports whether the RX has recently opened an authentic frame
// under the key installed as gen (one of the last four keys that opened
// frames): proof that the peer holds that key.
func (p *Port) RXOpened(gen uint64) bool {
	for i := range p.rx.opened {
		if p.rx.opened[i].Load() == gen {
			return true
		}
	}
	return false
}

// RXAuthenticated returns the number of frames whose tag verified: the
// peer's liveness, as far as the line can prove it.
func (p *Port) RXAuthenticated() uint64 { return p.st.RXAuthFrames.Load() }

// SetLane makes msg (copied; nil or empty: none) this end's current
// handshake-lane message: it is repeated in every null frame until
// replaced. It fails only for a message longer than lane.MaxMsg.
func (p *Port) SetLane(msg []byte) error {
	if len(msg) == 0 {
		p.laneTX.Set(nil)
		return nil
	}
	m, err := lane.NewMsg(msg)
	if err != nil {
		return err
	}
	p.laneTX.Set(m)
	return nil
}

// LaneRecv copies the oldest lane message the peer completed into buf
// (lane.MaxMsg bytes suffice) and returns its length, or false when there
// is none. Messages are delivered once each (lane package doc).
func (p *Port) LaneRecv(buf []byte) (int, bool) {
	s := p.laneQ.Peek()
	if s == nil {
		return 0, false
	}
	n := copy(buf, s.b[:s.n])
	p.laneQ.Release()
	return n, true
}

// LaneStats returns the counters of the lane receiver.
func (p *Port) LaneStats() lane.Stats { return p.rx.lane.Stats() }

// Run runs the TX and RX pipelines until ctx is done or the line fails, then
// closes the line and returns the first error (nil after ctx ended). A port
// runs once.
func (p *Port) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	stages := append(p.txStages(), p.rxStages()...)
	var wg sync.WaitGroup
	errs := make(chan error, len(stages))
	stop := make(chan struct{})
	p.startStages(&wg, stages, errs, stop)
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

// stage is one pipeline goroutine: its name, its CPU (-1: not pinned), its
// loop and the doorbell it waits on (nil for the one-goroutine loops).
type stage struct {
	name string
	cpu  int
	run  func(stop <-chan struct{}) error
	wait *waiter
}

// Thread is one of a running port's pinned pipeline threads (Config.CPUs):
// its stage ("tx" and "rx" with one worker; "tx-builder", "tx-sender",
// "tx-worker-i", "rx-receiver", "rx-sequencer", "rx-worker-i" with W > 1),
// its OS thread id and its CPU, for per-thread accounting
// (/proc/self/task/TID/schedstat).
type Thread struct {
	Stage    string
	TID, CPU int
}

// Threads returns the pinned threads of the running port, those that have
// started so far; none when Config.CPUs is empty (unpinned goroutines move
// between threads).
func (p *Port) Threads() []Thread {
	p.thMu.Lock()
	defer p.thMu.Unlock()
	return append([]Thread(nil), p.threads...)
}

// txStages returns the TX's goroutines: the one loop, or with frame
// workers the builder, the sender and the workers.
func (p *Port) txStages() []stage {
	tx := p.tx.par
	if tx == nil {
		return []stage{{"tx", p.cpuFor(txSide, -1), p.tx.loop, nil}}
	}
	st := []stage{{"tx-builder", p.cpuFor(txSide, -1), tx.builder, tx.front}, {"tx-sender", p.cpuFor(txSide, -1), tx.sender, tx.back}}
	for w := range p.cfg.Workers {
		st = append(st, stage{fmt.Sprintf("tx-worker-%d", w), p.cpuFor(txSide, w), func(stop <-chan struct{}) error { return tx.worker(w, stop) }, tx.workers[w]})
	}
	return st
}

// rxStages returns the RX's goroutines: the one loop, or with frame
// workers the receiver, the sequencer and the workers.
func (p *Port) rxStages() []stage {
	rx := p.rx.par
	if rx == nil {
		return []stage{{"rx", p.cpuFor(rxSide, -1), p.rx.loop, nil}}
	}
	st := []stage{{"rx-receiver", p.cpuFor(rxSide, -1), rx.receiver, rx.front}, {"rx-sequencer", p.cpuFor(rxSide, -1), rx.sequencer, rx.back}}
	for w := range p.cfg.Workers {
		st = append(st, stage{fmt.Sprintf("rx-worker-%d", w), p.cpuFor(rxSide, w), func(stop <-chan struct{}) error { return rx.worker(w, stop) }, rx.workers[w]})
	}
	return st
}

// startStages starts each stage on its own goroutine (pinned to its CPU),
// each sending its result to errs.
func (p *Port) startStages(wg *sync.WaitGroup, stages []stage, errs chan<- error, stop <-chan struct{}) {
	onCPU := map[int]int{}
	for _, s := range stages {
		onCPU[s.cpu]++
	}
	for _, s := range stages {
		if s.cpu >= 0 && s.wait != nil {
			s.wait.pinned(onCPU[s.cpu] > 1)
		}
	}
	for _, s := range stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.cpu >= 0 {
				if err := pinThread(s.cpu); err != nil {
					errs <- err
					return
				}
				p.thMu.Lock()
				p.threads = append(p.threads, Thread{Stage: s.name, TID: unix.Gettid(), CPU: s.cpu})
				p.thMu.Unlock()
			}
			errs <- s.run(stop)
		}()
	}
}
