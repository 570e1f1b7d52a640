package keysync

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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
	Seq        uint64    `json:"seq"`
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
// records, so the log and the state never disagree.
func (s *Syncer) audit(tx txn, e Event) error {
	seq, err := tx.NextSeq(bAudit)
	if err != nil {
		return err
	}
	e.Seq = seq
	return putJSON(tx, bAudit, fmt.Sprintf("%016x", seq), e)
}

// Audit returns the events at or after since, in order.
func (s *Syncer) Audit(since time.Time) ([]Event, error) {
	var out []Event
	err := s.view(func(tx txn) error {
		return tx.ForEach(bAudit, func(_ string, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if !e.Time.Before(since) {
				out = append(out, e)
			}
			return nil
		})
	})
	return out, err
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
	err = s.view(func(tx txn) error {
		return tx.ForEach(bAudit, func(k string, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("keysync: audit record %s: %w", k, err)
			}
			if !q.match(&e) {
				return nil
			}
			if len(events) == limit {
				events, truncated = append(events[:0], events[1:]...), true
			}
			events = append(events, e)
			return nil
		})
	})
	if err != nil {
		return nil, false, err
	}
	return events, truncated, nil
}
