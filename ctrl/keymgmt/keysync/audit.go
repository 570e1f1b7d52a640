package keysync

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// Event kinds of the audit log.
const (
	EventImport   = "import"      // a key file was imported (Count keys, FileFP)
	EventRegister = "register"    // Identity subscribed to App
	EventBind     = "bind"        // KeyID was bound to Identity and App
	EventPush     = "push"        // the platform accepted DeliveryID
	EventPushFail = "push-failed" // an attempt failed (Attempt, Detail)
)

// Event is one entry of the audit log. It never holds key bytes: keys are
// named by id and fingerprint (keys.FingerprintOf, the name otkd gives every key).
type Event struct {
	// ID names the event for good: its record's key, the event's time
	// (16 hex digits of Unix nanoseconds) then the writer's tag and count,
	// so that the log sorts by time and replicas never collide.
	ID string `json:"id"`
	// Seq is the number of an event written by a log of schema 1 (a
	// single-file store's sequence); 0 for later events.
	Seq        uint64    `json:"seq,omitempty"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Identity   string    `json:"identity,omitempty"`
	App        string    `json:"app,omitempty"`
	KeyID      string    `json:"key_id,omitempty"`
	KeyFP      string    `json:"key_fp,omitempty"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	Count      int       `json:"count,omitempty"`   // import: keys in the file
	FileFP     string    `json:"file_fp,omitempty"` // import: SM3 of the file, 16 bytes hex
	Attempt    int       `json:"attempt,omitempty"` // push: 1 for the first attempt
	Detail     string    `json:"detail,omitempty"`  // push-failed: the error
}

// audit appends e to the log in the same transaction as the change it
// records, so the log and the state never disagree. Its key starts with
// its time: a query by time is a range of keys, and pruning by age one
// range delete. No shared counter: replicas append without contending.
func (s *Syncer) audit(tx txn, e Event) error {
	e.ID = auditKey(e.Time, s.tag, s.nEvents.Add(1))
	return putJSON(tx, bAudit, e.ID, e)
}

// auditKey is the key of an event at t, written by the Syncer tagged tag
// as its nth: 16 hex digits of t in Unix nanoseconds (0 before 1970),
// then the tag and n in 8 hex digits each.
func auditKey(t time.Time, tag uint32, n uint64) string {
	return fmt.Sprintf("%s-%08x-%08x", auditTime(t), tag, uint32(n))
}

// auditTime is the key prefix of the events at t.
func auditTime(t time.Time) string {
	ns := t.UnixNano()
	if t.IsZero() || ns < 0 {
		ns = 0
	}
	return fmt.Sprintf("%016x", ns)
}

// timeRange is the range of the keys of the events in [since, until)
// (until zero: up to the end).
func timeRange(since, until time.Time) kstore.Range {
	r := kstore.Range{Start: []byte(auditTime(since))}
	if !until.IsZero() {
		r.End = []byte(auditTime(until))
	}
	return r
}

// Audit returns the events at or after since, in order.
func (s *Syncer) Audit(since time.Time) ([]Event, error) {
	var out []Event
	err := s.view(func(tx txn) error {
		out = out[:0]
		return tx.Scan(bAudit, timeRange(since, time.Time{}), func(k string, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("keysync: audit record %s: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// PruneAudit deletes the events older than Options.AuditRetention (none
// when it is 0), in one range delete. RunPusher calls it every
// Options.PruneEvery.
func (s *Syncer) PruneAudit() error {
	if s.opt.AuditRetention <= 0 {
		return nil
	}
	cut := s.opt.Clock().Add(-s.opt.AuditRetention)
	return s.update(func(tx txn) error {
		return tx.DeleteRange(bAudit, kstore.Range{End: []byte(auditTime(cut))})
	})
}

// AuditQuery selects audit events. The zero value selects the newest
// DefaultAuditLimit events.
type AuditQuery struct {
	Since    time.Time // events at or after; zero: from the start
	Until    time.Time // events before; zero: up to now
	Kind     string    // one of the Event* kinds; "" any
	Identity string    // "" any
	App      string    // "" any
	KeyID    string    // "" any
	// Limit is how many of the newest matching events to return,
	// 1..MaxAuditLimit; 0 means DefaultAuditLimit.
	Limit int
}

// Limits of AuditQuery.Limit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 10000
)

// ErrAuditQuery reports a malformed AuditQuery.
var ErrAuditQuery = errors.New("keysync: bad audit query")

// errEnough stops a scan that found what it needs.
var errEnough = errors.New("enough")

// AuditKinds lists the event kinds, for validation and help texts.
var AuditKinds = []string{EventImport, EventRegister, EventBind, EventPush, EventPushFail}

func (q *AuditQuery) check() error {
	switch {
	case q.Limit < 0 || q.Limit > MaxAuditLimit:
		return fmt.Errorf("%w: limit %d, want 1..%d", ErrAuditQuery, q.Limit, MaxAuditLimit)
	case q.Kind != "" && !slices.Contains(AuditKinds, q.Kind):
		return fmt.Errorf("%w: kind %q, want one of %s", ErrAuditQuery, q.Kind, strings.Join(AuditKinds, ", "))
	case !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since):
		return fmt.Errorf("%w: until %s is not after since %s", ErrAuditQuery, q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	return nil
}

func (q *AuditQuery) match(e *Event) bool {
	return !e.Time.Before(q.Since) && (q.Until.IsZero() || e.Time.Before(q.Until)) &&
		(q.Kind == "" || e.Kind == q.Kind) && (q.Identity == "" || e.Identity == q.Identity) &&
		(q.App == "" || e.App == q.App) && (q.KeyID == "" || e.KeyID == q.KeyID)
}

// QueryAudit returns the newest q.Limit events that match q, oldest first,
// and whether older matching events were left out. Events carry key ids
// and fingerprints only, never key bytes.
func (s *Syncer) QueryAudit(q AuditQuery) (events []Event, truncated bool, err error) {
	if err := q.check(); err != nil {
		return nil, false, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultAuditLimit
	}
	// Newest first over the time range, stopping at the first match
	// beyond the limit: only what the answer needs is read.
	r := timeRange(q.Since, q.Until)
	r.Reverse = true
	err = s.view(func(tx txn) error {
		events, truncated = events[:0], false
		return tx.Scan(bAudit, r, func(k string, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("keysync: audit record %s: %w", k, err)
			}
			if !q.match(&e) {
				return nil
			}
			if len(events) == limit {
				truncated = true
				return errEnough
			}
			events = append(events, e)
			return nil
		})
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	slices.Reverse(events)
	if err != nil {
		return nil, false, err
	}
	return events, truncated, nil
}
