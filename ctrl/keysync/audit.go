package keysync

import (
	"encoding/json"
	"fmt"
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
// named by id and fingerprint (KeyFingerprint).
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
