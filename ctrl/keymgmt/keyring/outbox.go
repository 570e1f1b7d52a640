package keyring

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// Reliable sync (docs/keyring.md, "Delivery"):
//
//	change + outbox entry   one store transaction (connect, disconnect,
//	                        refill at end A, tie-break release at end B)
//	pump                    hands entries to OnSync in seq order, one
//	                        goroutine at a time (sendMu)
//	peer's ack              deletes the entries up to its seq
//	Resend / ResendStale    hands every unacknowledged entry again (after a
//	                        new session, or when acks stall)
//
// The receiving end keeps, per sender stream, the highest seq it handled
// (sync record "in"), drops what it already handled (and acks it again),
// and refuses to skip a gap.

// Store records of the sync state, in bucket keyring/<pool>/sync:
//
//	"out" 1 | own stream:8 | acked:8   (acked: the peer acknowledged up to it)
//	"in"  1 | peer stream:8 | last:8   (last: the peer's seq handled here)
//
// and the outbox, in bucket keyring/<pool>/outbox: seq:8 → the encoded
// SyncMsg (it holds no key bytes).
var (
	syncOutKey = []byte("out")
	syncInKey  = []byte("in")
)

const cursorRecLen = 1 + 8 + 8

func encodeCursor(stream, seq uint64) []byte {
	b := []byte{recVersion}
	b = binary.BigEndian.AppendUint64(b, stream)
	return binary.BigEndian.AppendUint64(b, seq)
}

func decodeCursor(v []byte) (stream, seq uint64, err error) {
	if len(v) != cursorRecLen || v[0] != recVersion {
		return 0, 0, corrupt("sync cursor record")
	}
	return binary.BigEndian.Uint64(v[1:]), binary.BigEndian.Uint64(v[9:]), nil
}

// loadSync reads the sync state, making the own stream id on first use.
func (k *Keyring) loadSync() error {
	err := k.st.View(func(tx kstore.Tx) error {
		if v := tx.Get(k.bSync, syncOutKey); v != nil {
			s, a, err := decodeCursor(v)
			if err != nil {
				return err
			}
			k.stream, k.acked = s, a
		}
		if v := tx.Get(k.bSync, syncInKey); v != nil {
			s, l, err := decodeCursor(v)
			if err != nil {
				return err
			}
			k.inStream, k.inLast = s, l
		}
		return tx.ForEach(k.bOut, func(key, v []byte) error {
			if len(key) != 8 {
				return corrupt("outbox key %x", key)
			}
			m, err := unmarshalStored(v, k.cfg.Pool)
			if err != nil || m.Seq != binary.BigEndian.Uint64(key) {
				return corrupt("outbox entry %x", key)
			}
			k.out = append(k.out, m)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for i, m := range k.out {
		if m.Stream != k.stream || m.Seq != k.acked+uint64(i)+1 {
			return corrupt("outbox entry %d (stream %016x, acked %d)", m.Seq, m.Stream, k.acked)
		}
	}
	k.sent = k.acked
	if k.stream != 0 {
		return nil
	}
	var b [8]byte
	for binary.BigEndian.Uint64(b[:]) == 0 {
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("keyring: sync stream id: %w", err)
		}
	}
	k.stream = binary.BigEndian.Uint64(b[:])
	return k.st.Update(func(tx kstore.Tx) error { return tx.Put(k.bSync, syncOutKey, encodeCursor(k.stream, 0)) })
}

// enqueue numbers m and stores it in the outbox within tx. It does nothing
// (and returns false) when the keyring has no peer (OnSync nil).
func (k *Keyring) enqueue(tx kstore.Tx, m *SyncMsg) (bool, error) {
	if k.cfg.OnSync == nil {
		return false, nil
	}
	seq, err := tx.NextSeq(k.bOut)
	if err != nil {
		return false, err
	}
	m.Stream, m.Seq = k.stream, seq
	return true, tx.Put(k.bOut, binary.BigEndian.AppendUint64(nil, seq), m.marshalStored())
}

// addOut puts a committed outbox entry in memory, in seq order; caller
// holds mu.
func (k *Keyring) addOut(m SyncMsg) {
	if len(k.out) == 0 {
		k.outTouched = k.nowFunc()
	}
	i := len(k.out)
	for i > 0 && k.out[i-1].Seq > m.Seq {
		i--
	}
	k.out = append(k.out, SyncMsg{})
	copy(k.out[i+1:], k.out[i:])
	k.out[i] = m
}

// pump hands the entries after the last one sent to OnSync, in seq order;
// it stops at a gap (an entry committed by another goroutine that has not
// reached memory yet: that goroutine pumps next).
func (k *Keyring) pump() int {
	if k.cfg.OnSync == nil {
		return 0
	}
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	return k.pumpLocked()
}

// pumpLocked is pump; caller holds sendMu.
func (k *Keyring) pumpLocked() int {
	n := 0
	for {
		k.mu.Lock()
		var m SyncMsg
		ok := false
		for _, e := range k.out {
			if e.Seq == k.sent+1 {
				m, ok = e, true
				break
			}
		}
		m.Acked, m.Pool = k.acked, k.cfg.Pool
		k.mu.Unlock()
		if !ok {
			return n
		}
		k.cfg.OnSync(m)
		n++
		k.mu.Lock()
		k.sent = max(k.sent, m.Seq) // an ack may have moved it past m meanwhile
		k.mu.Unlock()
	}
}

// Resend hands every message the peer has not acknowledged to OnSync
// again, in order, and returns how many. Call it when a new session with
// the peer starts: messages sent in the old one may be lost. The peer
// drops those it already handled.
func (k *Keyring) Resend() int {
	if k.cfg.OnSync == nil {
		return 0
	}
	k.sendMu.Lock()
	k.mu.Lock()
	k.sent = k.acked
	k.outTouched = k.nowFunc()
	k.mu.Unlock()
	n := k.pumpLocked()
	k.sendMu.Unlock()
	k.mu.Lock()
	k.stats.SyncResent += uint64(n)
	k.mu.Unlock()
	return n
}

// ResendStale calls Resend when messages wait for an ack and none came
// (nor a resend happened) for after. The daemon calls it periodically, so
// a message lost with a session the daemon did not notice still arrives.
func (k *Keyring) ResendStale(after time.Duration) int {
	k.mu.Lock()
	stale := len(k.out) > 0 && k.nowFunc().Sub(k.outTouched) >= after
	k.mu.Unlock()
	if !stale {
		return 0
	}
	return k.Resend()
}

// SyncPending is how many messages wait for the peer's acknowledgement.
func (k *Keyring) SyncPending() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.out)
}

// onAck removes the acknowledged messages from the outbox.
func (k *Keyring) onAck(m SyncMsg) error {
	k.mu.Lock()
	stream, acked := k.stream, k.acked
	top := acked
	if len(k.out) > 0 {
		top = k.out[len(k.out)-1].Seq
	}
	k.mu.Unlock()
	switch {
	case m.Stream != stream:
		return fmt.Errorf("%w: %s: this end's stream is %016x", ErrPeer, m, stream)
	case m.Seq <= acked:
		return nil // an ack again (the peer saw a resent message)
	case m.Seq > top:
		return fmt.Errorf("%w: %s: this end sent up to %d", ErrPeer, m, top)
	}
	err := k.st.Batch(func(tx kstore.Tx) error {
		for s := acked + 1; s <= m.Seq; s++ {
			if err := tx.Delete(k.bOut, binary.BigEndian.AppendUint64(nil, s)); err != nil {
				return err
			}
		}
		return tx.Put(k.bSync, syncOutKey, encodeCursor(stream, m.Seq))
	})
	if err != nil {
		return fmt.Errorf("keyring: persisting ack %d: %w", m.Seq, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if m.Seq <= k.acked { // a concurrent ack got there first
		return nil
	}
	k.acked = m.Seq
	k.sent = max(k.sent, m.Seq)
	i := 0
	for i < len(k.out) && k.out[i].Seq <= m.Seq {
		i++
	}
	k.out = append(k.out[:0], k.out[i:]...)
	k.outTouched = k.nowFunc()
	return nil
}

// permanent reports whether a failure to apply a peer message is final:
// it is acknowledged (and counted) rather than retried.
func permanent(err error) bool {
	return errors.Is(err, ErrPeer) || errors.Is(err, ErrSyncMsg) || errors.Is(err, ErrNotBound) || errors.Is(err, ErrConsumer)
}

// ErrSyncOrder: a peer message skips one not yet received (a gap in its
// stream). It is not applied nor acknowledged; the peer's resend fills the
// gap.
var ErrSyncOrder = errors.New("keyring: sync message out of order")

// ApplySync handles a peer's sync message: an ack clears this end's
// outbox; any other message is applied once, in order of its stream (see
// SyncMsg), and acknowledged through OnSync. A message that this end
// refuses for good (ErrPeer: other fill, slot used, key id this end does
// not derive, …) is acknowledged too, counted in Stats.PeerRejected and
// returned; one that fails for now (ErrBusy, a store error, a seed not
// here yet) is neither, so the peer's resend retries it. A message handled
// before is acknowledged again and returns nil.
func (k *Keyring) ApplySync(m SyncMsg) error {
	if err := m.check(); err != nil {
		return err
	}
	if m.Pool != k.cfg.Pool {
		return fmt.Errorf("%w: %s: pool %q, this keyring is pool %q", ErrSyncMsg, m, m.Pool, k.cfg.Pool)
	}
	if m.Op == OpAck {
		return k.onAck(m)
	}
	k.recvMu.Lock()
	defer k.recvMu.Unlock()
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return ErrClosed
	}
	inStream, inLast := k.inStream, k.inLast
	if m.Stream == inStream && m.Seq <= inLast {
		k.stats.PeerDuplicates++
		k.mu.Unlock()
		k.ack(inStream, inLast)
		return nil
	}
	k.mu.Unlock()
	// The next message is the one after the last handled here, or, for a
	// stream new here (or one whose acknowledged part went beyond what this
	// store remembers), the first the sender has not had acknowledged.
	next := m.Acked + 1
	if m.Stream == inStream {
		next = max(next, inLast+1)
	}
	if m.Seq != next {
		return fmt.Errorf("%w: %s: expected seq %d", ErrSyncOrder, m, next)
	}
	err := k.apply(m)
	if err != nil && !permanent(err) {
		return err
	}
	if err != nil {
		k.mu.Lock()
		k.stats.PeerRejected++
		k.mu.Unlock()
	}
	if perr := k.st.Batch(func(tx kstore.Tx) error { return tx.Put(k.bSync, syncInKey, encodeCursor(m.Stream, m.Seq)) }); perr != nil {
		return errors.Join(err, fmt.Errorf("keyring: persisting sync cursor: %w", perr))
	}
	k.mu.Lock()
	k.inStream, k.inLast = m.Stream, m.Seq
	k.mu.Unlock()
	k.ack(m.Stream, m.Seq)
	return err
}

// ack sends the acknowledgement, between the pump's messages (OnSync is
// called one call at a time).
func (k *Keyring) ack(stream, seq uint64) {
	if k.cfg.OnSync != nil {
		k.sendMu.Lock()
		defer k.sendMu.Unlock()
		k.cfg.OnSync(SyncMsg{Pool: k.cfg.Pool, Op: OpAck, Stream: stream, Seq: seq})
	}
}

func (k *Keyring) apply(m SyncMsg) error {
	switch m.Op {
	case OpBind:
		return k.applyBind(m)
	case OpUnbind:
		return k.applyUnbind(m)
	case OpRelease:
		return k.applyRelease(m)
	case OpFill:
		return k.applyFill(m)
	}
	return fmt.Errorf("%w: %s", ErrSyncMsg, m)
}

// SyncState describes the sync streams of this end, without key bytes.
type SyncState struct {
	Stream      uint64 // this end's stream
	Acked       uint64 // the peer acknowledged up to this seq
	Pending     int    // messages waiting for the peer's ack
	PeerStream  uint64 // the peer's stream (0: none seen)
	PeerHandled uint64 // its seq handled here up to
}

// SyncState reports the sync streams.
func (k *Keyring) SyncState() SyncState {
	k.mu.Lock()
	defer k.mu.Unlock()
	return SyncState{Stream: k.stream, Acked: k.acked, Pending: len(k.out), PeerStream: k.inStream, PeerHandled: k.inLast}
}
