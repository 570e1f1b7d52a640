// Package linktest joins two link controllers through an in-memory pair of
// ports (link.Port), so that the controller's slow path (handshake lane,
// session channel, key activation, rotation, limits) can be tested alone:
// no frames are built, sealed or corrected and no noise is added. The test
// feeds each end's round counts itself (Port.Feed) and moves frames with
// Pair.Step (or Pair.Run).
//
// A frame here is what the real port's frame carries for the controller:
// its COUNT, its epoch and key, and either its session-channel area (a
// keyed frame, filled by the sender's TX channel through ichan.AreaWriter
// exactly as the real TX does) or its handshake-lane message (a null frame:
// the TX has no key, or every LaneEvery-th frame while a lane message is
// set). The receiving port opens a keyed frame only under a key it holds
// for that epoch with the same bytes (the real one checks a tag), counts it
// as authentic, proves the key opened (RXOpened), adopts an armed channel at
// its first frame and feeds the channel the area's TLVs; it delivers a lane
// message once, unless it is the one it delivered last (dataplane/lane). A
// key switch takes effect at the scheduled COUNT, and a key is dropped
// (exhausted) after the hard limit, as dataplane.Port documents.
package linktest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// Config configures a Pair; zero fields take the real port's defaults.
type Config struct {
	// Channel configures both ends' session channels.
	Channel ichan.Config
	// SoftLimit and HardLimit bound the frames one key seals.
	SoftLimit, HardLimit uint32
	// LaneEvery: while a lane message is set, every LaneEvery-th frame of
	// a keyed TX is a null frame for it. Default 8.
	LaneEvery int
	// Counts is the depth of each port's count ring. Default 1 << 16.
	Counts int
}

// Errors of the ports, as dataplane.Port's.
var (
	ErrBusy  = errors.New("linktest: a switch is already pending")
	ErrEpoch = errors.New("linktest: the null epoch takes no key")
	ErrLane  = errors.New("linktest: lane message too long")
)

// Pair is ends A (0) and B (1) of a link. Its ports' methods and Step are
// safe for concurrent use.
type Pair struct {
	Ports [2]*Port
	mu    sync.Mutex // one Step at a time
}

// NewPair returns two joined ports.
func NewPair(cfg Config) *Pair {
	if cfg.SoftLimit == 0 {
		cfg.SoftLimit = dataplane.DefaultSoftLimit
	}
	if cfg.HardLimit == 0 {
		cfg.HardLimit = dataplane.DefaultHardLimit
	}
	if cfg.LaneEvery == 0 {
		cfg.LaneEvery = 8
	}
	if cfg.Counts == 0 {
		cfg.Counts = 1 << 16
	}
	if cfg.Channel.MaxMessage == 0 {
		cfg.Channel.MaxMessage = dataplane.DefaultMaxMessage
	}
	p := &Pair{}
	for i := range p.Ports {
		ch := ichan.New(cfg.Channel)
		p.Ports[i] = &Port{cfg: cfg, role: dataplane.Role(i), cnt: ring.New[dataplane.Count](cfg.Counts), txCh: ch, rxCh: ch}
	}
	return p
}

// Step moves one frame from A to B and one from B to A.
func (p *Pair) Step() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Ports[1].receive(p.Ports[0].send())
	p.Ports[0].receive(p.Ports[1].send())
}

// Run steps every period until ctx ends.
func (p *Pair) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Step()
		}
	}
}

// Port is one end's stand-in for a dataplane port (link.Port).
type Port struct {
	cfg  Config
	role dataplane.Role
	cnt  *ring.SPSC[dataplane.Count]

	mu sync.Mutex
	// TX
	frames    uint64 // frames sent, null ones included (the lane's clock)
	count     uint32 // COUNT of the next frame
	last      uint32 // COUNT of the last frame sent
	epoch     keys.Epoch
	key       keys.Key
	sealed    uint32
	exhausted bool
	sw        *keySwitch
	txCh      *ichan.Chan
	lane      []byte
	// RX
	keys     [2]rxKey // current, previous
	gen      uint64
	opened   map[uint64]bool
	auth     uint64
	rxCh     *ichan.Chan
	chFrom   uint64
	armed    *armed
	laneIn   [][]byte
	laneLast []byte
	rejected uint64
}

type keySwitch struct {
	epoch keys.Epoch
	key   keys.Key
	at    uint32
	now   bool
	ch    *ichan.Chan
}

type rxKey struct {
	epoch keys.Epoch
	key   keys.Key
	gen   uint64
	valid bool
}

type armed struct {
	ch   *ichan.Chan
	from uint64
}

// frame is what one frame carries for the controller.
type frame struct {
	epoch keys.Epoch
	key   keys.Key
	area  []byte // a keyed frame's session-channel TLVs
	lane  []byte // a null frame's lane message (nil: none)
}

var _ link.Port = (*Port)(nil)

// Feed queues round counts for the controller, as the RX does; false when
// the ring is full (the count is lost, as on the real port).
func (p *Port) Feed(c dataplane.Count) bool {
	s := p.cnt.Slot()
	if s == nil {
		return false
	}
	*s = c
	p.cnt.Commit()
	return true
}

// Rejected returns how many keyed frames this port could not open (no key
// of their epoch with their bytes).
func (p *Port) Rejected() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejected
}

// Epochs returns the epoch the TX sends under and the RX's current one.
func (p *Port) Epochs() (tx, rx keys.Epoch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch, p.keys[0].epoch
}

// TXKey returns a copy of the key the TX sends with now and its epoch.
func (p *Port) TXKey() (keys.Epoch, keys.Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch, p.key
}

// RXKeys returns copies of the keys the RX holds: current, then previous.
func (p *Port) RXKeys() [2]keys.Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return [2]keys.Key{p.keys[0].key, p.keys[1].key}
}

func (p *Port) send() frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maybeSwitch()
	if p.epoch != keys.NullEpoch && p.sealed >= p.cfg.HardLimit {
		p.epoch, p.exhausted = keys.NullEpoch, true
		p.key.Zero()
	}
	p.frames++
	p.last = p.count
	p.count++
	if p.epoch == keys.NullEpoch || (p.lane != nil && p.frames%uint64(p.cfg.LaneEvery) == 0) {
		return frame{lane: p.lane}
	}
	var w ichan.AreaWriter
	area := make([]byte, framer.IntMsg-framer.TagLen)
	w.Begin(area)
	p.txCh.FillTX(&w)
	w.Finish()
	p.sealed++
	return frame{epoch: p.epoch, key: p.key, area: area[:w.Len()]}
}

// maybeSwitch takes a pending key switch whose COUNT has come.
func (p *Port) maybeSwitch() {
	sw := p.sw
	if sw == nil || !(sw.now || int32(p.count-sw.at) >= 0) {
		return
	}
	p.epoch, p.key, p.sealed, p.exhausted = sw.epoch, sw.key, 0, false
	if sw.ch != nil {
		p.txCh = sw.ch
	}
	sw.key.Zero()
	p.sw = nil
}

func (p *Port) receive(f frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.area == nil {
		if f.lane != nil && !bytes.Equal(f.lane, p.laneLast) {
			p.laneIn = append(p.laneIn, f.lane)
			p.laneLast = f.lane
		}
		return
	}
	var k *rxKey
	for i := range p.keys {
		if p.keys[i].valid && p.keys[i].epoch == f.epoch && p.keys[i].key == f.key {
			k = &p.keys[i]
		}
	}
	if k == nil {
		p.rejected++
		return
	}
	p.auth++
	p.opened[k.gen] = true
	if p.armed != nil && k.gen == p.armed.from {
		p.rxCh, p.chFrom, p.armed = p.armed.ch, p.armed.from, nil
	}
	if k.gen < p.chFrom {
		return // a straggler of an older session
	}
	var r ichan.AreaReader
	if r.Reset(f.area) != nil {
		return
	}
	for {
		typ, val, ok := r.Next()
		if !ok {
			return
		}
		if ichan.IsChanType(typ) {
			p.rxCh.HandleRX(typ, val)
		}
	}
}

// Role implements link.Port.
func (p *Port) Role() dataplane.Role { return p.role }

// Counts implements link.Port.
func (p *Port) Counts() *ring.SPSC[dataplane.Count] { return p.cnt }

// Chan implements link.Port: the channel the TX fills now.
func (p *Port) Chan() *ichan.Chan {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.txCh
}

// NewChan implements link.Port.
func (p *Port) NewChan() *ichan.Chan { return ichan.New(p.cfg.Channel) }

// ArmChannel implements link.Port.
func (p *Port) ArmChannel(ch *ichan.Chan, from uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch == nil {
		p.armed = nil
		return
	}
	p.armed = &armed{ch: ch, from: from}
}

// SetLane implements link.Port.
func (p *Port) SetLane(msg []byte) error {
	if len(msg) > 512 {
		return ErrLane
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(msg) == 0 {
		p.lane = nil
		return nil
	}
	p.lane = bytes.Clone(msg)
	return nil
}

// LaneRecv implements link.Port.
func (p *Port) LaneRecv(buf []byte) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.laneIn) == 0 {
		return 0, false
	}
	n := copy(buf, p.laneIn[0])
	p.laneIn = p.laneIn[1:]
	return n, true
}

// TXCount implements link.Port.
func (p *Port) TXCount() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// TXEpoch implements link.Port.
func (p *Port) TXEpoch() keys.Epoch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch
}

// TXKeyState implements link.Port.
func (p *Port) TXKeyState() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sealed, p.exhausted
}

// Limits implements link.Port.
func (p *Port) Limits() (soft, hard uint32) { return p.cfg.SoftLimit, p.cfg.HardLimit }

// ScheduleTX implements link.Port.
func (p *Port) ScheduleTX(epoch keys.Epoch, key *keys.Key, at uint32) error {
	if epoch == keys.NullEpoch {
		return ErrEpoch
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sw != nil {
		return ErrBusy
	}
	p.sw = &keySwitch{epoch: epoch, key: *key, at: at}
	return nil
}

// SwitchSession implements link.Port.
func (p *Port) SwitchSession(epoch keys.Epoch, key *keys.Key, ch *ichan.Chan) error {
	if epoch == keys.NullEpoch || ch == nil {
		return ErrEpoch
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sw != nil {
		p.sw.key.Zero()
	}
	p.sw = &keySwitch{epoch: epoch, key: *key, now: true, ch: ch}
	return nil
}

// SwitchPending implements link.Port.
func (p *Port) SwitchPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sw != nil
}

// InstallRX implements link.Port.
func (p *Port) InstallRX(epoch keys.Epoch, key *keys.Key) error {
	_, err := p.InstallRXGen(epoch, key)
	return err
}

// InstallRXGen implements link.Port: the key becomes the current one, the
// current one the previous.
func (p *Port) InstallRXGen(epoch keys.Epoch, key *keys.Key) (uint64, error) {
	if epoch == keys.NullEpoch {
		return 0, ErrEpoch
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	p.keys[1].key.Zero()
	p.keys[1] = p.keys[0]
	p.keys[0] = rxKey{epoch: epoch, key: *key, gen: p.gen, valid: true}
	if p.opened == nil {
		p.opened = map[uint64]bool{}
	}
	return p.gen, nil
}

// RXOpened implements link.Port.
func (p *Port) RXOpened(gen uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened[gen]
}

// RXAuthenticated implements link.Port.
func (p *Port) RXAuthenticated() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auth
}
