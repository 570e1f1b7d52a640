package keysync

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// IdempotencyHeader carries the DeliveryID of a push. A platform that has
// already accepted a DeliveryID must answer 2xx again without applying it
// twice; that turns the outbox's at-least-once delivery into exactly once.
const IdempotencyHeader = "Idempotency-Key"

// PushBody is the JSON body of a push: the identity, the key id and the key,
// nothing else.
type PushBody struct {
	Identity string `json:"identity"`
	KeyID    string `json:"key_id"`
	Key      []byte `json:"key"` // base64 in JSON
}

// RunPusher loops delivering the outbox until ctx is done: it pushes every
// entry that is due, then sleeps until the next one is due, a new binding
// arrives (from this Syncer, or from any process when the store is a
// kstore.Watcher) or Options.Poll passes; every Options.PruneEvery it
// prunes the audit log (PruneAudit). It returns ctx.Err(). Run one per
// Syncer; on a store shared by several Syncers, run one at a time across
// them (the daemons elect it): a second pusher is safe (each delivery's
// outcome is recorded once, the platform dedupes by delivery id) but posts
// twice.
func (s *Syncer) RunPusher(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	var changed <-chan struct{}
	if w, ok := s.st.(kstore.Watcher); ok {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		changed = w.Watch(wctx, []byte(bOutbox))
	}
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-changed:
		case <-t.C:
		}
		if now := s.opt.Clock(); s.opt.AuditRetention > 0 && now.Sub(pruned) >= s.opt.PruneEvery {
			if err := s.PruneAudit(); err != nil {
				s.opt.Log.Warn("keysync: pruning the audit log", "err", err)
			} else {
				pruned = now
			}
		}
		_, next, err := s.pushDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.opt.Log.Warn("keysync: outbox", "err", err)
		}
		wait := s.opt.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(s.opt.Clock()), 0))
		}
		t.Reset(wait)
	}
}

// PushDue makes one attempt for every outbox entry that is due and returns
// the number the platforms accepted. Failed entries are rescheduled with
// exponential backoff; they stay in the outbox until accepted.
func (s *Syncer) PushDue(ctx context.Context) (int, error) {
	n, _, err := s.pushDue(ctx)
	return n, err
}

// pushDue attempts the due entries, oldest first; it returns how many were
// delivered and when the earliest remaining entry is due (zero when none
// remains). Once a platform is unreachable in a pass, its other entries
// wait for the next pass instead of each costing a connection timeout; an
// HTTP error answer concerns one entry only and does not hold the others.
func (s *Syncer) pushDue(ctx context.Context) (int, time.Time, error) {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	all, err := s.Outbox()
	if err != nil {
		return 0, time.Time{}, err
	}
	var next time.Time
	down := map[string]time.Time{} // app → when its failed entry is due again
	n := 0
	for _, p := range all {
		if ctx.Err() != nil {
			return n, next, ctx.Err()
		}
		if at, ok := down[p.App]; ok {
			next = earliest(next, at)
			continue
		}
		if p.NextAt.After(s.opt.Clock()) {
			next = earliest(next, p.NextAt)
			continue
		}
		at, unreachable, err := s.attempt(ctx, p)
		switch {
		case err != nil:
			return n, next, err
		case at.IsZero():
			n++
		case unreachable:
			down[p.App] = at
			fallthrough
		default:
			next = earliest(next, at)
		}
	}
	return n, next, nil
}

// errUnreachable marks a push that got no HTTP answer (connection, TLS,
// timeout).
type errUnreachable struct{ error }

func (e errUnreachable) Unwrap() error { return e.error }

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// attempt pushes p once and records the outcome. It returns when p is due
// again (zero when delivered) and whether the platform was unreachable; an
// error only when the store fails or ctx is done.
func (s *Syncer) attempt(ctx context.Context, p Pending) (time.Time, bool, error) {
	perr := s.push(ctx, p)
	if perr != nil && ctx.Err() != nil {
		return p.NextAt, false, ctx.Err() // stopped, not a platform failure
	}
	now := s.opt.Clock().UTC()
	if perr == nil {
		s.opt.Log.Info("keysync: delivered", "delivery", p.DeliveryID, "app", p.App, "key_id", p.KeyID, "attempt", p.Attempts+1)
		return time.Time{}, false, s.update(func(tx txn) error { return s.delivered(tx, p, now) })
	}
	var unreachable errUnreachable
	isDown := errors.As(perr, &unreachable)
	p.Attempts++
	p.LastError = perr.Error()
	p.NextAt = now.Add(s.backoff(p.Attempts))
	s.opt.Log.Warn("keysync: push failed", "delivery", p.DeliveryID, "app", p.App, "attempt", p.Attempts, "retry_at", p.NextAt, "err", perr)
	return p.NextAt, isDown, s.update(func(tx txn) error {
		// The entry as stored now: another pusher may have delivered it
		// or counted an attempt meanwhile.
		var cur Pending
		if ok, err := getJSON(tx, bOutbox, p.DeliveryID, &cur); err != nil || !ok {
			return err
		}
		cur.Attempts++
		cur.LastError = p.LastError
		cur.NextAt = now.Add(s.backoff(cur.Attempts))
		if err := putJSON(tx, bOutbox, cur.DeliveryID, cur); err != nil {
			return err
		}
		return s.audit(tx, Event{Time: now, Kind: EventPushFail, Identity: cur.Identity, App: cur.App, KeyID: cur.KeyID,
			KeyFP: cur.KeyFP, DeliveryID: cur.DeliveryID, Attempt: cur.Attempts, Detail: cur.LastError})
	})
}

func (s *Syncer) delivered(tx txn, p Pending, now time.Time) error {
	if tx.Get(bOutbox, p.DeliveryID) == nil {
		return nil
	}
	if err := tx.Delete(bOutbox, p.DeliveryID); err != nil {
		return err
	}
	var b Binding
	if ok, err := getJSON(tx, bBindings, p.KeyID, &b); err != nil || !ok {
		return cmpErr(err, fmt.Errorf("keysync: binding of %q vanished", p.KeyID))
	}
	b.Delivered = now
	if err := putJSON(tx, bBindings, p.KeyID, b); err != nil {
		return err
	}
	return s.audit(tx, Event{Time: now, Kind: EventPush, Identity: p.Identity, App: p.App, KeyID: p.KeyID,
		KeyFP: p.KeyFP, DeliveryID: p.DeliveryID, Attempt: p.Attempts + 1})
}

// backoff is RetryBase doubled per failed attempt after the first, capped
// at RetryMax.
func (s *Syncer) backoff(attempts int) time.Duration {
	d := s.opt.RetryBase
	for i := 1; i < attempts && d < s.opt.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.opt.RetryMax)
}

// push POSTs p's (identity, key id, key) to the platform of p.App. Any
// answer but 2xx is a failure.
func (s *Syncer) push(ctx context.Context, p Pending) error {
	c, ok := s.clients[p.App]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownApp, p.App)
	}
	key, err := s.loadKey(p.KeyID)
	if err != nil {
		return err
	}
	defer clear(key)
	body, err := pushBody(p.Identity, p.KeyID, key)
	if err != nil {
		return err
	}
	defer clear(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opt.Platforms[p.App].URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyHeader, p.DeliveryID)
	resp, err := c.Do(req)
	if err != nil {
		return errUnreachable{err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("keysync: platform %s answered %s", p.App, resp.Status)
	}
	return nil
}

// pushBody encodes a PushBody in a buffer of its own, which the caller
// clears: json.Marshal would leave the key's base64 in its pooled buffers.
func pushBody(identity, keyID string, key []byte) ([]byte, error) {
	id, err := json.Marshal(identity)
	if err != nil {
		return nil, err
	}
	kid, err := json.Marshal(keyID)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64+len(id)+len(kid)+base64.StdEncoding.EncodedLen(len(key)))
	b = append(append(append(b, `{"identity":`...), id...), `,"key_id":`...)
	b = append(append(b, kid...), `,"key":"`...)
	b = base64.StdEncoding.AppendEncode(b, key)
	return append(b, `"}`...), nil
}

func (s *Syncer) loadKey(id string) ([]byte, error) {
	var k keyRec
	err := s.view(func(tx txn) error {
		ok, err := getJSON(tx, bKeys, id, &k)
		if err == nil && !ok {
			err = fmt.Errorf("%w: %q", ErrUnknownKey, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.seal.open(id, k.Sealed)
}
