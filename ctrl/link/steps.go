package link

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/keys/kdf"
)

// dispatch handles one control message from the peer.
func (c *Controller) dispatch(m []byte, now time.Time) error {
	if len(m) == 0 {
		return fmt.Errorf("%w: empty message", ErrProtocol)
	}
	body := m[1:]
	switch m[0] {
	case kindToResponder:
		msg, err := negotiation.Unmarshal(body)
		if err != nil {
			return err
		}
		if s, ok := msg.(*negotiation.Sift); ok && !c.resp.Ready(s) {
			c.heldSift, c.heldSince = s, now
			return nil
		}
		return c.toResponder(msg, now)
	case kindToInitiator:
		msg, err := negotiation.Unmarshal(body)
		if err != nil {
			return err
		}
		out, res, err := c.init.Handle(msg)
		if err != nil {
			return err
		}
		if out != nil {
			c.sendMsg(kindToResponder, out)
		}
		if res != nil {
			c.ownSeed(res, now)
		}
		return nil
	case kindActivate:
		return c.onActivate(body, now)
	case kindAck, kindNack:
		return c.onAck(m[0] == kindAck, body, now)
	case kindKeyring:
		if len(body) == 0 || len(body) > MaxKeyringMsg {
			return fmt.Errorf("%w: keyring message of %d bytes", ErrProtocol, len(body))
		}
		c.cfg.Sink.Keyring(body)
		return nil
	}
	return fmt.Errorf("%w: unknown message kind %#x", ErrProtocol, m[0])
}

func (c *Controller) sendMsg(kind byte, msg negotiation.Message) {
	b, err := msg.MarshalBinary()
	if err != nil {
		c.log.Error("post-processing message does not encode", "err", err)
		return
	}
	c.send(kind, b)
}

func (c *Controller) toResponder(msg negotiation.Message, now time.Time) error {
	out, res, err := c.resp.Handle(msg)
	if err != nil {
		return err
	}
	if out != nil {
		c.sendMsg(kindToInitiator, out)
	}
	if res != nil {
		c.peerSeed(res, now)
	}
	return nil
}

// negotiate opens blocks and releases a held Sift.
func (c *Controller) negotiate(now time.Time) {
	if c.heldSift != nil && (c.resp.Ready(c.heldSift) || now.Sub(c.heldSince) > c.cfg.SiftHold) {
		s := c.heldSift
		c.heldSift = nil
		if err := c.toResponder(s, now); err != nil {
			c.log.Warn("sift rejected", "err", err)
		}
	}
	if c.hsKeys == nil {
		return
	}
	msg, err := c.init.Next()
	if err != nil {
		c.log.Error("post-processing", "err", err)
		return
	}
	if msg != nil {
		c.sendMsg(kindToResponder, msg)
	}
}

// announce queues this end's next TX key, derived with KDF index idx (0
// for a seed's first key), and announces it when its turn comes
// (announceNext).
func (c *Controller) announce(key *keys.Key, idx uint32) {
	last := c.txEpoch
	if n := len(c.pending); n > 0 {
		last = c.pending[n-1].epoch
	}
	c.pending = append(c.pending, &pendingTX{epoch: keys.NextEpoch(last), key: *key, fp: key.Fingerprint(), idx: idx})
	c.announceNext()
}

// announceNext sends ACTIVATE for the oldest queued key once the TX has
// taken the previous one. One key at a time: the receiver holds only the
// current and the previous epoch, so it must not install epoch e+2 while
// frames of epoch e may still come.
func (c *Controller) announceNext() {
	if len(c.pending) == 0 || c.pending[0].announced || c.port.SwitchPending() {
		return
	}
	// The receiver installs the announced key at once and then holds it
	// and the current one only: frames of the epoch before the current one
	// must be out of flight by then. Keys come in bursts (an attempt makes
	// several seeds at once), so wait until the TX has sealed a margin of
	// frames under its current key.
	if c.port.TXEpoch() != keys.NullEpoch {
		if n, _ := c.port.TXKeyState(); n < c.cfg.ActivationMargin {
			return
		}
	}
	p := c.pending[0]
	p.announced, p.sent = true, time.Now()
	p.at = c.port.TXCount() + c.cfg.ActivationMargin
	var b [activateLen]byte
	b[0], b[1] = byte(c.dir), p.epoch
	binary.BigEndian.PutUint32(b[2:], p.at)
	binary.BigEndian.PutUint32(b[6:], p.idx)
	copy(b[10:], p.fp[:])
	c.send(kindActivate, b[:])
}

// activateLen is the size of an ACTIVATE body.
const activateLen = 18

// ownSeed: this end's initiator made a seed of its direction. Its first
// session key is announced; the seed is kept for Rotate.
func (c *Controller) ownSeed(res *negotiation.Result, now time.Time) {
	c.emitSeed(res, true, now)
	c.lastSeed.Zero()
	c.lastSeed, c.haveSeed, c.lastIndex = res.Seed, true, 0
	res.Seed.Zero()
	c.announceSeedKey()
}

// announceSeedKey announces the key of the kept seed at the current index.
func (c *Controller) announceSeedKey() {
	key, err := kdf.SessionKey(&c.lastSeed, c.dir, uint64(c.lastIndex))
	if err != nil {
		c.log.Error("session key", "err", err)
		return
	}
	c.announce(&key, c.lastIndex)
	key.Zero()
}

// peerSeed: this end's responder made a seed of the peer's direction; the
// peer will announce its key.
func (c *Controller) peerSeed(res *negotiation.Result, now time.Time) {
	c.emitSeed(res, false, now)
	c.rxSeeds = append(c.rxSeeds, res.Seed)
	res.Seed.Zero()
	if len(c.rxSeeds) > 4 {
		c.rxSeeds[0].Zero()
		c.rxSeeds = c.rxSeeds[1:]
	}
}

func (c *Controller) emitSeed(res *negotiation.Result, own bool, now time.Time) {
	d := c.dir
	if !own {
		d ^= 1
	}
	c.mu.Lock()
	if own {
		c.stats.SeedsOwn++
		c.stats.LastSeedOwn = now
	} else {
		c.stats.SeedsPeer++
		c.stats.LastSeedPeer = now
	}
	c.stats.LastSeed = now
	c.mu.Unlock()
	c.cfg.Sink.Seed(SeedEvent{Direction: d, Initiator: own, Seed: &res.Seed, Fingerprint: res.Seed.Fingerprint().String(), Result: *res, At: now})
}

// onActivate: the peer announces its next TX key. Find it (the handshake's
// or one of the recent responder seeds), check the fingerprint, install it
// in the RX and acknowledge.
func (c *Controller) onActivate(b []byte, now time.Time) error {
	if len(b) != activateLen {
		return fmt.Errorf("%w: ACTIVATE is %d bytes, want %d", ErrProtocol, len(b), activateLen)
	}
	d, epoch := keys.Direction(b[0]), b[1]
	idx := binary.BigEndian.Uint32(b[6:])
	var fp keys.Fingerprint
	copy(fp[:], b[10:])
	reply := [10]byte{b[0], epoch}
	copy(reply[2:], fp[:])
	if d != c.dir^1 || epoch == keys.NullEpoch {
		return fmt.Errorf("%w: ACTIVATE for direction %d epoch %d", ErrProtocol, d, epoch)
	}
	key, ok := c.findRXKey(d, idx, fp)
	if !ok {
		c.send(kindNack, reply[:])
		return fmt.Errorf("%w: ACTIVATE epoch %d: no key with fingerprint %s here", ErrProtocol, epoch, fp)
	}
	defer clear(key[:])
	if err := c.port.InstallRX(epoch, &key); err != nil {
		return fmt.Errorf("install RX epoch %d: %w", epoch, err)
	}
	c.mu.Lock()
	c.stats.RXInstalls++
	c.mu.Unlock()
	c.cfg.Sink.Key(KeyEvent{Direction: d, Epoch: epoch, Key: &key, Fingerprint: fp.String(), At: now})
	c.send(kindAck, reply[:])
	return nil
}

// findRXKey derives the candidate keys of direction d at KDF index idx
// (each recent responder seed's, and the session's link-secret key) and
// returns the one whose fingerprint is fp.
func (c *Controller) findRXKey(d keys.Direction, idx uint32, fp keys.Fingerprint) (keys.Key, bool) {
	if c.hsKeys != nil && idx > 0 {
		if k, err := kdf.LinkKey(&c.hsKeys.LinkSecret, d, idx); err == nil {
			if k.Fingerprint() == fp {
				return k, true
			}
			k.Zero()
		}
	}
	for i := len(c.rxSeeds) - 1; i >= 0; i-- {
		k, err := kdf.SessionKey(&c.rxSeeds[i], d, uint64(idx))
		if err != nil {
			continue
		}
		if k.Fingerprint() == fp {
			return k, true
		}
		k.Zero()
	}
	return keys.Key{}, false
}

// onAck: the peer installed (ACK) or could not find (NACK) an announced key.
func (c *Controller) onAck(ack bool, b []byte, now time.Time) error {
	if len(b) != 10 {
		return fmt.Errorf("%w: ACK is %d bytes, want 10", ErrProtocol, len(b))
	}
	epoch := b[1]
	for i, p := range c.pending {
		if !p.announced || p.epoch != epoch || string(p.fp[:]) != string(b[2:]) {
			continue
		}
		if ack {
			p.acked = true
			return nil
		}
		c.log.Warn("peer has no key for an announced epoch; dropped", "epoch", epoch)
		clear(p.key[:])
		c.pending = append(c.pending[:i], c.pending[i+1:]...)
		c.mu.Lock()
		c.stats.Nacks++
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("%w: ACK for epoch %d that was not announced", ErrProtocol, epoch)
}

// switchTX hands the oldest acknowledged key to the TX.
func (c *Controller) switchTX(now time.Time) {
	if len(c.pending) == 0 || !c.pending[0].acked || c.port.SwitchPending() {
		return
	}
	p := c.pending[0]
	at := p.at
	if cur := c.port.TXCount(); int32(at-cur) <= 0 {
		at = cur + 1
	}
	if err := c.port.ScheduleTX(p.epoch, &p.key, at); err != nil {
		return
	}
	c.txEpoch = p.epoch
	c.mu.Lock()
	c.stats.TXSwitches++
	c.stats.TXEpoch = p.epoch
	c.stats.LastSwitch = now
	c.mu.Unlock()
	c.cfg.Sink.Key(KeyEvent{Direction: c.dir, Epoch: p.epoch, TX: true, Key: &p.key, Fingerprint: p.fp.String(), At: now})
	clear(p.key[:])
	c.pending = c.pending[1:]
}

// publish copies the machines' counters into Stats.
func (c *Controller) publish(time.Time) {
	c.mu.Lock()
	c.stats.Initiator = c.init.Stats()
	c.stats.Responder = c.resp.Stats()
	c.mu.Unlock()
}

func (c *Controller) wipe() {
	c.lastSeed.Zero()
	for _, p := range c.pending {
		clear(p.key[:])
	}
	for i := range c.rxSeeds {
		c.rxSeeds[i].Zero()
	}
	if c.hsKeys != nil {
		c.hsKeys.Zero()
	}
	c.dropCandidate()
}
