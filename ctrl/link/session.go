package link

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/keys/kdf"
)

// The session and the handshake (docs/protocol.md, "Sessions").
//
// A session is what one completed SM2 handshake gives: the first key of each
// direction, the epochs they are sent under (inside the authenticated
// transcript), a link secret and a fresh session channel. The handshake runs
// in the handshake lane of null frames, which anyone can write into, so:
//
//   - Nothing unauthenticated touches the running session. A handshake
//     message is either checked by the handshake package (and then it only
//     advances that handshake) or refused and counted; a refused message
//     never ends a handshake in progress.
//   - A lane message may start or answer a handshake only while this end
//     has no usable session (none yet, or its TX key reached the hard
//     limit) or the peer is dead: no authentic frame from it for DeadAfter.
//     Otherwise it is ignored and counted. The peer's liveness is the RX's
//     count of frames whose tag verified, which nobody without the keys can
//     raise (the replay window keeps old frames out).
//   - Make before break. End A installs B's new RX key as soon as it has
//     checked S_B (the RX keeps the previous epoch, so the old session's
//     frames still open) and keeps its TX on the old session until its RX
//     has opened a frame under that key: proof that B verified the Confirm
//     and switched. End B switches on verifying the Confirm. Each end moves
//     to the new session channel at that moment, the RX at the first frame
//     under the new key (dataplane.ArmChannel).
//   - A's attempts time out (HandshakeTimeout, doubling up to
//     HandshakeTimeoutMax) and start again while the condition holds, so the
//     link recovers by itself once an attacker stops. B keeps one pending
//     responder: a newer valid Hello replaces an unfinished one, never the
//     running session. A keeps its last checked-but-unproven handshake
//     (candidate) until a newer one replaces it, so a proof that arrives
//     late still completes it.

// attempt is a handshake A started.
type attempt struct {
	init     *handshake.Initiator
	deadline time.Time
	replied  bool // a valid Reply came: the keys are the candidate now
}

// candidate is a handshake A completed (S_B checked, Confirm sent) whose
// keys B has not proven to hold yet.
type candidate struct {
	keys *handshake.Keys
	gen  uint64 // install generation of B's new key in A's RX
	ch   *ichan.Chan
}

// responder is B's pending handshake.
type responder struct {
	r        *handshake.Responder
	hello    []byte
	deadline time.Time
}

// hsState is the handshake machinery of either role.
type hsState struct {
	att      *attempt   // A
	cand     *candidate // A
	resp     *responder // B
	attempts int        // A: attempts since the last session (the backoff)
	exhaust  bool       // the TX key is exhausted (as last seen)

	lastAuth  uint64    // RX authentic frames, as last seen
	lastAlive time.Time // when they last increased

	deferred   []byte    // B: the last Hello ignored while A was alive
	deferredAt time.Time // when it came
	laneMsg    []byte    // this end's current lane message (nil: none)
	laneBuf    [lane.MaxMsg]byte

	health string // the last health state logged
}

// start sets the lane for a fresh controller: B says it has no session, A
// starts its first handshake at the first step.
func (c *Controller) start(now time.Time) {
	c.mu.Lock()
	c.stats.Started = now
	c.mu.Unlock()
	c.hs.health = "starting"
	if c.port.Role() == dataplane.RoleB {
		c.setLane(lane.KindBeacon, nil)
	}
}

// liveness notes when authentic frames from the peer last arrived.
func (c *Controller) liveness(now time.Time) {
	if n := c.port.RXAuthenticated(); n != c.hs.lastAuth {
		c.hs.lastAuth, c.hs.lastAlive = n, now
	}
	_, c.hs.exhaust = c.port.TXKeyState()
}

// peerDead: no authentic frame from the peer for DeadAfter.
func (c *Controller) peerDead(now time.Time) bool {
	return c.hs.lastAlive.IsZero() || now.Sub(c.hs.lastAlive) > c.cfg.DeadAfter
}

// open reports whether an unauthenticated lane message may start or answer
// a handshake now: no usable session, or a dead peer.
func (c *Controller) open(now time.Time) bool {
	return c.ch == nil || c.hs.exhaust || c.peerDead(now)
}

// setLane makes kind‖body this end's lane message (kind 0: none).
func (c *Controller) setLane(kind byte, body []byte) {
	var m []byte
	if kind != 0 {
		m = append([]byte{kind}, body...)
	}
	if bytes.Equal(m, c.hs.laneMsg) {
		return
	}
	c.hs.laneMsg = m
	if err := c.port.SetLane(m); err != nil {
		c.log.Error("handshake lane message refused", "err", err)
	}
}

// maxLanePerStep bounds the lane messages handled per step: a flood of
// forged Hellos costs at most this many SM2 operations per Tick. The rest
// wait in the port's lane queue, whose overflow the RX drops (the peer
// repeats its current message).
const maxLanePerStep = 2

// readLane handles the peer's lane messages.
func (c *Controller) readLane(now time.Time) {
	for range maxLanePerStep {
		n, ok := c.port.LaneRecv(c.hs.laneBuf[:])
		if !ok {
			return
		}
		if err := c.onLane(c.hs.laneBuf[:n], now); err != nil {
			c.count(&c.stats.HandshakeRejected)
			c.log.Debug("handshake lane message refused", "err", err)
		}
	}
}

func (c *Controller) count(f *int) {
	c.mu.Lock()
	*f++
	c.mu.Unlock()
}

// onLane handles one lane message; an error means it was refused and
// changed nothing.
func (c *Controller) onLane(m []byte, now time.Time) error {
	if len(m) == 0 {
		return fmt.Errorf("%w: empty lane message", ErrProtocol)
	}
	body := m[1:]
	switch {
	case m[0] == lane.KindBeacon && c.port.Role() == dataplane.RoleA:
		if len(body) != 0 {
			return fmt.Errorf("%w: beacon with a body", ErrProtocol)
		}
		if !c.open(now) {
			c.count(&c.stats.LaneIgnored) // a live session: a forged or stale beacon
			return nil
		}
		c.hs.attempts = 0 // B is back: try now, not after the backoff
		if c.hs.att == nil || c.hs.att.replied {
			c.startAttempt(now)
		}
		return nil
	case m[0] == lane.KindHandshake && c.port.Role() == dataplane.RoleA:
		return c.onReply(body, now)
	case m[0] == lane.KindHandshake:
		t, err := handshake.PeekType(body)
		if err != nil {
			return err
		}
		switch t {
		case handshake.MsgHello:
			return c.onHello(body, now)
		case handshake.MsgConfirm:
			return c.onConfirm(body, now)
		}
		return fmt.Errorf("%w: %v sent to end B", ErrProtocol, t)
	}
	return fmt.Errorf("%w: lane message kind %#x to end %v", ErrProtocol, m[0], c.port.Role())
}

// handshake runs the timers of either role and keeps the lane message.
func (c *Controller) handshake(now time.Time) {
	if c.port.Role() == dataplane.RoleA {
		c.handshakeA(now)
	} else {
		c.handshakeB(now)
	}
	c.health(now)
}

// handshakeA: proof of a candidate, attempt timeouts, new attempts.
func (c *Controller) handshakeA(now time.Time) {
	hs := &c.hs
	if hs.cand != nil && c.port.RXOpened(hs.cand.gen) {
		c.sessionA(now)
	}
	if a := hs.att; a != nil {
		switch {
		case now.After(a.deadline):
			hs.att = nil
			hs.attempts++
			c.log.Info("handshake attempt timed out", "attempt", hs.attempts, "replied", a.replied)
		case !a.replied && !c.open(now):
			// The peer came back to life under the running session: the
			// attempt is not needed.
			hs.att, hs.attempts = nil, 0
			c.setLane(0, nil)
		}
	}
	if hs.att == nil && c.open(now) {
		c.startAttempt(now)
	}
	if hs.att == nil && hs.cand == nil {
		c.setLane(0, nil)
	}
}

// startAttempt begins a new handshake as A; the attempt's timeout doubles
// with each attempt since the last session.
func (c *Controller) startAttempt(now time.Time) {
	i, hello, err := handshake.NewInitiator(c.cfg.Self, c.cfg.Peer, c.nextTXEpoch(), c.cfg.Rand)
	if err != nil {
		c.log.Error("handshake", "err", err)
		return
	}
	timeout := c.cfg.HandshakeTimeout << min(c.hs.attempts, 16)
	timeout = min(timeout, c.cfg.HandshakeTimeoutMax)
	c.hs.att = &attempt{init: i, deadline: now.Add(timeout)}
	c.setLane(lane.KindHandshake, hello)
	c.mu.Lock()
	c.stats.HandshakeAttempts++
	c.stats.Handshake = fmt.Sprintf("pending (attempt %d, timeout %v)", c.stats.HandshakeAttempts, timeout)
	if c.ch != nil {
		c.stats.Handshake = "done"
	}
	c.mu.Unlock()
}

// onReply: A checks B's Reply; a valid one makes the candidate session.
func (c *Controller) onReply(body []byte, now time.Time) error {
	a := c.hs.att
	if a == nil || a.replied {
		return fmt.Errorf("%w: handshake message with no attempt waiting for a Reply", ErrProtocol)
	}
	confirm, done, err := a.init.Handle(body)
	if err != nil {
		return err // the attempt keeps waiting
	}
	if !done {
		return fmt.Errorf("%w: Reply did not complete the handshake", ErrProtocol)
	}
	hk, err := a.init.Result()
	if err != nil {
		return err
	}
	key := hk.BA
	gen, err := c.port.InstallRXGen(hk.EpochBA, &key)
	clear(key[:])
	if err != nil {
		hk.Zero()
		return fmt.Errorf("install the new RX key: %w", err)
	}
	ch := c.port.NewChan()
	c.port.ArmChannel(ch, gen)
	c.dropCandidate()
	c.hs.cand = &candidate{keys: hk, gen: gen, ch: ch}
	a.replied = true
	c.setLane(lane.KindHandshake, confirm)
	c.log.Info("handshake: B authenticated, waiting for its first frame under the new key", "epoch", hk.EpochBA)
	return nil
}

func (c *Controller) dropCandidate() {
	if c.hs.cand != nil {
		c.hs.cand.keys.Zero()
		c.hs.cand = nil
	}
}

// sessionA: B proved it holds the candidate's keys; A's TX follows.
func (c *Controller) sessionA(now time.Time) {
	cand := c.hs.cand
	c.hs.cand, c.hs.att = nil, nil
	c.newSession(cand.keys, cand.ch, now)
}

// handshakeB: the pending responder's timeout and the lane message.
func (c *Controller) handshakeB(now time.Time) {
	hs := &c.hs
	if r := hs.resp; r != nil && now.After(r.deadline) {
		hs.resp = nil
		c.log.Info("handshake: pending responder timed out")
	}
	if hs.deferred != nil && hs.resp == nil && c.open(now) {
		h := hs.deferred
		hs.deferred = nil
		if now.Sub(hs.deferredAt) < c.cfg.HandshakeTimeoutMax {
			if err := c.onHello(h, now); err != nil {
				c.count(&c.stats.HandshakeRejected)
			}
		}
	}
	switch {
	case hs.resp != nil: // the Reply is the lane message
	case c.ch == nil || hs.exhaust:
		c.setLane(lane.KindBeacon, nil)
	default:
		c.setLane(0, nil)
	}
}

// onHello: B answers a Hello when the gate is open; a valid new Hello
// replaces the pending responder.
func (c *Controller) onHello(body []byte, now time.Time) error {
	hs := &c.hs
	if r := hs.resp; r != nil && bytes.Equal(body, r.hello) {
		return nil // the lane repeats it; the Reply is already out
	}
	if !c.open(now) {
		hs.deferred, hs.deferredAt = bytes.Clone(body), now
		c.count(&c.stats.LaneIgnored)
		return nil
	}
	r, err := handshake.NewResponder(c.cfg.Self, c.cfg.Peer, c.nextTXEpoch(), c.cfg.Rand)
	if err != nil {
		return err
	}
	reply, _, err := r.Handle(body)
	if err != nil {
		return err // the pending responder, if any, stays
	}
	if hs.resp != nil {
		c.count(&c.stats.ResponderReplaced)
	}
	hs.resp = &responder{r: r, hello: bytes.Clone(body), deadline: now.Add(c.cfg.HandshakeTimeoutMax)}
	c.setLane(lane.KindHandshake, reply)
	return nil
}

// onConfirm: B checks the Confirm of its pending responder; a valid one
// starts the new session at once.
func (c *Controller) onConfirm(body []byte, now time.Time) error {
	r := c.hs.resp
	if r == nil {
		return fmt.Errorf("%w: Confirm with no pending responder", ErrProtocol)
	}
	_, done, err := r.r.Handle(body)
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("%w: Confirm did not complete the handshake", ErrProtocol)
	}
	hk, err := r.r.Result()
	if err != nil {
		return err
	}
	c.hs.resp = nil
	key := hk.AB
	gen, err := c.port.InstallRXGen(hk.EpochAB, &key)
	clear(key[:])
	if err != nil {
		hk.Zero()
		return fmt.Errorf("install the new RX key: %w", err)
	}
	ch := c.port.NewChan()
	c.port.ArmChannel(ch, gen)
	c.newSession(hk, ch, now)
	return nil
}

// newSession makes keys the session: the TX switches to this end's first
// key and the session channel at its next frame; the old session's pending
// switches, seeds, post-processing state and messages are dropped and its
// keys zeroised.
func (c *Controller) newSession(hk *handshake.Keys, ch *ichan.Chan, now time.Time) {
	fp := hk.Fingerprint()
	txEpoch, rxEpoch := hk.EpochAB, hk.EpochBA
	txKey, rxKey := hk.AB, hk.BA
	if c.dir == keys.BtoA {
		txEpoch, rxEpoch, txKey, rxKey = rxEpoch, txEpoch, rxKey, txKey
	}
	defer clear(txKey[:])
	defer clear(rxKey[:])
	if err := c.port.SwitchSession(txEpoch, &txKey, ch); err != nil {
		c.log.Error("session switch", "err", err)
		hk.Zero()
		return
	}
	c.resetSessionState()
	clear(hk.AB[:])
	clear(hk.BA[:])
	c.hsKeys, c.ch, c.txEpoch = hk, ch, txEpoch
	c.hs.attempts, c.hs.deferred = 0, nil
	c.hs.lastAlive = now // a grace period for the peer's first frames
	c.setLane(0, nil)
	c.mu.Lock()
	c.stats.Handshake = "done"
	c.stats.Sessions++
	c.stats.TXSwitches++
	c.stats.RXInstalls++
	c.stats.TXEpoch = txEpoch
	c.stats.LastSwitch = now
	c.mu.Unlock()
	c.log.Info("new session", "keys", fp, "tx_epoch", txEpoch, "rx_epoch", rxEpoch)
	c.cfg.Sink.Key(KeyEvent{Direction: c.dir ^ 1, Epoch: rxEpoch, Key: &rxKey, Fingerprint: rxKey.Fingerprint().String(), At: now})
	c.cfg.Sink.Key(KeyEvent{Direction: c.dir, Epoch: txEpoch, TX: true, Key: &txKey, Fingerprint: txKey.Fingerprint().String(), At: now})
	c.cfg.Sink.Session()
}

// resetSessionState forgets the old session: pending keys, seeds, held
// messages, post-processing machines.
func (c *Controller) resetSessionState() {
	for _, p := range c.pending {
		clear(p.key[:])
	}
	c.pending = nil
	for i := range c.rxSeeds {
		c.rxSeeds[i].Zero()
	}
	c.rxSeeds = nil
	if c.hsKeys != nil {
		c.hsKeys.Zero()
		c.hsKeys = nil
	}
	c.heldSift = nil
	c.lastSeed.Zero()
	c.haveSeed, c.lastIndex, c.linkIndex = false, 0, 0
	for _, m := range c.outbox {
		clear(m)
	}
	c.outbox = nil
	c.dropCounts()
	var err error
	if c.init, err = negotiation.NewInitiator(c.cfg.Params, c.cfg.Rand); err != nil {
		c.log.Error("post-processing", "err", err)
	}
	if c.resp, err = negotiation.NewResponder(c.cfg.Params); err != nil {
		c.log.Error("post-processing", "err", err)
	}
}

// nextTXEpoch is the epoch after the newest one this end announced or
// uses, so a new session's first key never lands on an epoch the peer's RX
// holds for a key still in flight.
func (c *Controller) nextTXEpoch() uint8 {
	last := c.txEpoch
	if n := len(c.pending); n > 0 {
		last = c.pending[n-1].epoch
	}
	return keys.NextEpoch(last)
}

// limits rotates the TX key once it has sealed the soft limit's frames,
// and reports a key dropped at the hard limit.
func (c *Controller) limits(now time.Time) {
	count, exhausted := c.port.TXKeyState()
	soft, _ := c.port.Limits()
	if exhausted || c.port.TXEpoch() == keys.NullEpoch || count < soft || len(c.pending) > 0 || c.port.SwitchPending() {
		return
	}
	if c.haveSeed {
		c.lastIndex++
		c.announceSeedKey()
	} else if c.hsKeys != nil {
		c.linkIndex++
		k, err := kdf.LinkKey(&c.hsKeys.LinkSecret, c.dir, c.linkIndex)
		if err != nil {
			c.log.Error("rotation key", "err", err)
			return
		}
		c.announce(&k, c.linkIndex)
		clear(k[:])
	}
	c.count(&c.stats.Rotations)
	c.log.Info("TX key near its frame limit: rotating", "frames", count, "soft_limit", soft)
}

// Health returns "ok" or why the link is not healthy: no session, a
// silent peer, an exhausted TX key, no seed for SeedTimeout.
func (c *Controller) Health() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats.Health
}

// health recomputes the health state and logs each change once.
func (c *Controller) health(now time.Time) {
	var why []string
	if c.ch == nil {
		why = append(why, "no session (handshake pending)")
	} else if c.peerDead(now) {
		why = append(why, fmt.Sprintf("no authentic frame from the peer for %v", now.Sub(c.hs.lastAlive).Round(time.Second)))
	}
	if c.hs.exhaust {
		why = append(why, "TX key reached the hard COUNT limit: sending null frames")
	}
	c.mu.Lock()
	last := c.stats.LastSeed
	started := c.stats.Started
	c.mu.Unlock()
	if last.Before(started) {
		last = started
	}
	if since := now.Sub(last); since > c.cfg.SeedTimeout {
		why = append(why, fmt.Sprintf("no seed for %v (seed_timeout %v)", since.Round(time.Second), c.cfg.SeedTimeout))
	}
	state := "ok"
	if len(why) > 0 {
		state = strings.Join(why, "; ")
	}
	c.mu.Lock()
	c.stats.Health = state
	c.stats.PeerAlive = !c.peerDead(now)
	c.stats.TXExhausted = c.hs.exhaust
	c.stats.LastAuthentic = c.hs.lastAlive
	c.mu.Unlock()
	// Log a change of kind, not each new duration in the text.
	kind := healthKind(why)
	if kind != c.hs.health {
		if kind == "ok" {
			c.log.Info("link healthy")
		} else if c.hs.health != "starting" || kind != "no session" {
			c.log.Warn("link not healthy", "why", state)
		}
		c.hs.health = kind
	}
}

// healthKind drops the durations from the reasons, for change detection.
func healthKind(why []string) string {
	if len(why) == 0 {
		return "ok"
	}
	k := make([]string, len(why))
	for i, w := range why {
		k[i], _, _ = strings.Cut(w, " for ")
		k[i], _, _ = strings.Cut(k[i], " (")
	}
	return strings.Join(k, "; ")
}
