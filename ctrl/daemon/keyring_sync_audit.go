package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
)

var _ api.AuditBackend = (*Daemon)(nil)

// SyncAudit implements api.AuditBackend: the key-sync audit log, filtered.
func (d *Daemon) SyncAudit(ctx context.Context, q api.SyncAuditQuery) (api.SyncAudit, error) {
	if d.km.syncer == nil {
		return api.SyncAudit{}, errNoSync
	}
	return syncAudit(d.km.syncer, q)
}

// syncAudit queries s and converts its events; the events hold ids and
// fingerprints only.
func syncAudit(s *keysync.Syncer, q api.SyncAuditQuery) (api.SyncAudit, error) {
	ev, trunc, err := s.QueryAudit(keysync.AuditQuery{Since: q.Since, Until: q.Until, Kind: q.Kind,
		Identity: q.Identity, App: q.App, KeyID: q.KeyID, Limit: q.Limit})
	if errors.Is(err, keysync.ErrAuditQuery) {
		return api.SyncAudit{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	if err != nil {
		return api.SyncAudit{}, err
	}
	out := api.SyncAudit{Events: make([]api.SyncEvent, 0, len(ev)), Truncated: trunc}
	for _, e := range ev {
		out.Events = append(out.Events, api.SyncEvent{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Identity: e.Identity,
			App: e.App, KeyID: e.KeyID, KeyFP: e.KeyFP, DeliveryID: e.DeliveryID, Count: e.Count, FileFP: e.FileFP,
			Attempt: e.Attempt, Detail: e.Detail})
	}
	return out, nil
}
