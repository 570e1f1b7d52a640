package link

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/internal/keys"
)

// Kinds of control messages (the first byte of every interaction-channel
// message). 0x01 (handshake) and 0x07 (RESTART) of wire format v1 are gone:
// the handshake and the "no session" beacon travel in the handshake lane
// of null frames (package dataplane/lane), never in the session channel.
const (
	kindToResponder = 0x02 // post-processing: initiator → responder
	kindToInitiator = 0x03 // post-processing: responder → initiator
	kindActivate    = 0x04 // {dir u8, epoch u8, at u32, idx u32, fp [8]}
	kindAck         = 0x05 // {dir u8, epoch u8, fp [8]}
	kindNack        = 0x06 // {dir u8, epoch u8, fp [8]}: no such key here
	kindKeyring     = 0x08 // a keyring sync message (ctrl/keymgmt/keyring.SyncMsg), opaque here
)

// MaxKeyringMsg bounds the body of a keyring message (SendKeyring).
const MaxKeyringMsg = 256

// ErrProtocol reports a control message that breaks the protocol.
var ErrProtocol = errors.New("link: protocol error")

// Config configures a Controller.
type Config struct {
	// Port is the port the controller steers (*dataplane.Port in otkd).
	Port Port
	Self handshake.Identity
	Peer handshake.Peer
	// Params are the post-processing parameters of both directions; zero
	// means negotiation.DefaultParams(). Both ends must agree.
	Params negotiation.Params
	// ActivationMargin is how many frames ahead of the sender's COUNT a key
	// switch is announced. Default 256.
	ActivationMargin uint32
	// SiftHold bounds how long a Sift waits for the rounds it names to be
	// counted here. Default 200 ms.
	SiftHold time.Duration
	// Tick is the controller's polling period. Default 1 ms.
	Tick time.Duration
	// HandshakeTimeout bounds end A's first handshake attempt; each next
	// attempt waits twice as long, up to HandshakeTimeoutMax. Defaults 1 s
	// and 8 s. End B drops a pending responder after HandshakeTimeoutMax.
	HandshakeTimeout, HandshakeTimeoutMax time.Duration
	// DeadAfter: the peer is dead when no authentic frame came from it for
	// this long (then, and only then or without a session, a handshake may
	// replace the running session). Default 1 s.
	DeadAfter time.Duration
	// SeedTimeout: a link that made no seed in either direction for this
	// long is reported (Health, Stats.Health, a log line). Default 5 min.
	SeedTimeout time.Duration
	Log         *slog.Logger
	// Rand is the randomness of the handshake and the initiator; default
	// crypto/rand.
	Rand io.Reader

	// Sink receives the controller's events (seeds, keys, counts, the
	// peer's keyring messages, new sessions); nil drops them.
	Sink Sink
}

// Defaults of Config.
const (
	DefaultHandshakeTimeout    = time.Second
	DefaultHandshakeTimeoutMax = 8 * time.Second
	DefaultDeadAfter           = time.Second
	DefaultSeedTimeout         = 5 * time.Minute
)

// SeedEvent reports a seed.
type SeedEvent struct {
	Direction   keys.Direction
	Initiator   bool // this end owns the direction's rounds
	Seed        *keys.Seed
	Fingerprint string
	Result      negotiation.Result
	At          time.Time
}

// KeyEvent reports a session key taking effect at this end.
type KeyEvent struct {
	Direction   keys.Direction
	Epoch       uint8
	TX          bool // this end sends with it (else: receives)
	Key         *keys.Key
	Fingerprint string
	At          time.Time
}

// Stats are the controller's counters.
type Stats struct {
	Handshake     string // "done" while a session runs, else "pending …"
	Health        string // "ok", or the reasons the link is not healthy (Health)
	Initiator     negotiation.Stats
	Responder     negotiation.Stats
	SeedsOwn      int // seeds of this end's direction
	SeedsPeer     int // seeds of the peer's direction
	TXEpoch       uint8
	TXSwitches    int
	RXInstalls    int
	Nacks         int
	ProtocolError int
	Sessions      int  // handshakes completed (sessions started)
	PeerAlive     bool // an authentic frame came within DeadAfter
	TXExhausted   bool // the TX key reached the hard COUNT limit; no key now
	// Handshake lane and handshake: attempts A started, handshake messages
	// refused (forged, stale, malformed: dropped, nothing changed), lane
	// messages ignored because a live session runs (a beacon or Hello
	// while the peer is alive), responders replaced by a newer Hello.
	HandshakeAttempts, HandshakeRejected, LaneIgnored, ResponderReplaced int
	Rotations                                                            int // keys rotated at the soft COUNT limit
	LastSeed, LastSeedOwn, LastSeedPeer                                  time.Time
	LastSwitch, LastAuthentic                                            time.Time
	Started                                                              time.Time
}

// pendingTX is a key this end will send with, announced, not yet acked.
type pendingTX struct {
	epoch     uint8
	key       keys.Key
	fp        keys.Fingerprint
	idx       uint32 // KDF index
	at        uint32
	announced bool
	acked     bool
	sent      time.Time
}

// Controller steers one port. Make it with New and run it with Run.
type Controller struct {
	cfg  Config
	port Port
	dir  keys.Direction // the direction this end sends
	log  *slog.Logger

	// The session: its channel (nil: no session yet) and handshake keys
	// (the first keys are zeroised once installed; the link secret stays).
	ch     *ichan.Chan
	hsKeys *handshake.Keys

	hs hsState // the handshake machinery (session.go)

	init *negotiation.Initiator
	resp *negotiation.Responder

	heldSift  *negotiation.Sift
	heldSince time.Time

	txEpoch   uint8
	pending   []*pendingTX
	rxSeeds   []keys.Seed // the responder's recent seeds (newest last)
	outbox    [][]byte
	inbuf     []byte
	mu        sync.Mutex
	stats     Stats
	linkIndex uint32 // KDF index of the newest key derived from the link secret

	lastSeed  keys.Seed // newest own seed, for Rotate
	haveSeed  bool
	lastIndex uint32 // KDF index of the newest key announced from it

	reqs       chan request
	negotiates []chan error // Negotiate requests waiting for the initiator

	extMu  sync.Mutex
	extOut [][]byte // keyring messages queued by SendKeyring, for step
}

// SendKeyring queues a keyring message for the peer (kind 0x08; body is
// copied). Safe from any goroutine; the controller sends it on its next
// step over the reliable interaction channel, which delivers it once and
// in order while the session lasts. The link retries nothing: a message
// queued while the port or the peer restarts is lost here, and the keyring
// above resends it (its outbox keeps every message until the peer's ack;
// Sink.Session says when).
func (c *Controller) SendKeyring(body []byte) error {
	if len(body) == 0 || len(body) > MaxKeyringMsg {
		return fmt.Errorf("link: keyring message of %d bytes, want 1..%d", len(body), MaxKeyringMsg)
	}
	m := make([]byte, 1+len(body))
	m[0] = kindKeyring
	copy(m[1:], body)
	c.extMu.Lock()
	c.extOut = append(c.extOut, m)
	c.extMu.Unlock()
	return nil
}

// takeExternal moves the messages queued by other goroutines to the outbox.
func (c *Controller) takeExternal() {
	c.extMu.Lock()
	ext := c.extOut
	c.extOut = nil
	c.extMu.Unlock()
	c.outbox = append(c.outbox, ext...)
}

// request is an operator's request, served on the controller goroutine.
type request struct {
	rotate bool
	done   chan error
}

// ErrNoSeed is returned by Rotate before the first seed of the direction.
var ErrNoSeed = errors.New("link: no seed yet for this direction (the first one needs a block of rounds: 4400 by default)")

// Negotiate starts a fresh seed attempt at once: the attempt in progress is
// abandoned and the next seed comes from the rounds that follow; it is
// activated like every seed. It returns when the controller has done so.
func (c *Controller) Negotiate(ctx context.Context) error { return c.ask(ctx, false) }

// Rotate switches this end's TX to the next session key now, derived from
// the newest seed with the next KDF index, without waiting for a new seed.
// ErrNoSeed before the first seed.
func (c *Controller) Rotate(ctx context.Context) error { return c.ask(ctx, true) }

func (c *Controller) ask(ctx context.Context, rotate bool) error {
	r := request{rotate: rotate, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serve handles operator requests and retries waiting ones.
func (c *Controller) serve() {
	for {
		select {
		case r := <-c.reqs:
			if r.rotate {
				r.done <- c.rotate()
			} else {
				c.negotiates = append(c.negotiates, r.done)
			}
			continue
		default:
		}
		break
	}
	if len(c.negotiates) > 0 && c.init.Restart() == nil {
		c.log.Info("operator: new seed attempt started")
		for _, d := range c.negotiates {
			d <- nil
		}
		c.negotiates = nil
	}
}

func (c *Controller) rotate() error {
	if !c.haveSeed {
		return ErrNoSeed
	}
	c.lastIndex++
	c.announceSeedKey()
	c.log.Info("operator: rotation announced", "index", c.lastIndex)
	return nil
}

// New checks cfg and builds a controller.
func New(cfg Config) (*Controller, error) {
	if cfg.Port == nil {
		return nil, errors.New("link: Config.Port is nil")
	}
	if cfg.Params == (negotiation.Params{}) {
		cfg.Params = negotiation.DefaultParams()
	}
	if cfg.ActivationMargin == 0 {
		cfg.ActivationMargin = 256
	}
	if cfg.SiftHold == 0 {
		cfg.SiftHold = 200 * time.Millisecond
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Millisecond
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.HandshakeTimeoutMax == 0 {
		cfg.HandshakeTimeoutMax = DefaultHandshakeTimeoutMax
	}
	cfg.HandshakeTimeoutMax = max(cfg.HandshakeTimeoutMax, cfg.HandshakeTimeout)
	if cfg.DeadAfter == 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.SeedTimeout == 0 {
		cfg.SeedTimeout = DefaultSeedTimeout
	}
	if cfg.HandshakeTimeout < 0 || cfg.DeadAfter < 0 || cfg.SeedTimeout < 0 {
		return nil, errors.New("link: negative timeout in Config")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Sink == nil {
		cfg.Sink = Funcs{}
	}
	c := &Controller{cfg: cfg, port: cfg.Port, dir: keys.Direction(cfg.Port.Role()), log: cfg.Log}
	var err error
	if c.init, err = negotiation.NewInitiator(cfg.Params, cfg.Rand); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if c.resp, err = negotiation.NewResponder(cfg.Params); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	c.inbuf = make([]byte, cfg.Port.Chan().Config().MaxMessage)
	c.reqs = make(chan request, 8)
	c.stats.Handshake = "pending"
	c.stats.Health = "starting"
	return c, nil
}

// Stats returns a copy of the counters; safe from any goroutine.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Run runs the controller until ctx ends. It does not run the port.
func (c *Controller) Run(ctx context.Context) error {
	now := time.Now()
	c.start(now)
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	defer c.wipe()
	for {
		var notify <-chan struct{}
		if c.ch != nil {
			notify = c.ch.Notify()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-notify:
		}
		c.step(time.Now())
	}
}

// step does one round of slow-path work: the handshake lane and the
// handshake first (session.go), then, while a session runs, the session
// channel's messages, the post-processing and the key activations.
func (c *Controller) step(now time.Time) {
	c.liveness(now)
	c.readLane(now)
	c.handshake(now)
	c.takeExternal()
	if c.ch == nil {
		c.dropCounts()
		c.publish(now)
		return
	}
	c.flush()
	c.takeCounts()
	for c.ch != nil {
		n, ok := c.ch.Recv(c.inbuf)
		if !ok {
			break
		}
		if err := c.dispatch(c.inbuf[:n], now); err != nil {
			c.log.Warn("control message rejected", "err", err)
			c.mu.Lock()
			c.stats.ProtocolError++
			c.mu.Unlock()
		}
	}
	c.serve()
	c.negotiate(now)
	c.switchTX(now)
	c.announceNext()
	c.limits(now)
	c.publish(now)
}

// dropCounts discards round counts while there is no session.
func (c *Controller) dropCounts() {
	var cnt dataplane.Count
	for c.port.Counts().Pop(&cnt) {
	}
}

// takeCounts feeds the port's counts to the machines.
func (c *Controller) takeCounts() {
	var cnt dataplane.Count
	for c.port.Counts().Pop(&cnt) {
		c.cfg.Sink.Count(cnt)
		if cnt.Own {
			c.init.Add(cnt.Round, int(cnt.Value)) // a late round is harmless
		} else {
			c.resp.Add(cnt.Round, int(cnt.Value))
		}
	}
}

// send queues a control message for the session channel.
func (c *Controller) send(kind byte, body []byte) {
	m := make([]byte, 1+len(body))
	m[0] = kind
	copy(m[1:], body)
	c.outbox = append(c.outbox, m)
	c.flush()
}

// flush hands queued messages to the session channel while it takes them;
// without a session they wait.
func (c *Controller) flush() {
	for len(c.outbox) > 0 && c.ch != nil {
		if err := c.ch.Send(c.outbox[0]); err != nil {
			if !errors.Is(err, ichan.ErrFull) {
				c.log.Error("control message dropped", "err", err)
				c.outbox = c.outbox[1:]
				continue
			}
			return
		}
		clear(c.outbox[0])
		c.outbox = c.outbox[1:]
	}
}
