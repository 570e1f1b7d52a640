package keysyncsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
)

// GET /v1/sync/audit: the key-sync audit log (docs/keysync.md, "Audit
// log"). Query parameters, all optional:
//
//	since, until  RFC 3339 times: events at or after since, before until
//	kind          import, register, bind, push, push-failed
//	identity, app, key
//	limit         the newest N matching events, 1..10000 (default 100)
//
// The answer lists events oldest first, ids and fingerprints only: the log
// never holds key bytes.

// SyncEvent is one audit event of key sync, as the log stores it.
type SyncEvent = keysync.Event

// SyncAuditQuery selects audit events; zero fields select everything.
type SyncAuditQuery = keysync.AuditQuery

// SyncAudit is the answer of GET /v1/sync/audit.
type SyncAudit struct {
	Events []SyncEvent `json:"events"`
	// Truncated: older matching events were left out (raise limit or
	// narrow since).
	Truncated bool `json:"truncated"`
}

// MaxAuditLimit bounds SyncAuditQuery.Limit.
const MaxAuditLimit = keysync.MaxAuditLimit

// AuditBackend is implemented by backends that keep a key-sync audit log.
// A backend without it answers GET /v1/sync/audit with 503.
type AuditBackend interface {
	// SyncAudit returns the newest q.Limit matching events, oldest first.
	// A malformed query (unknown kind, …) wraps api.ErrBadRequest.
	SyncAudit(ctx context.Context, q SyncAuditQuery) (SyncAudit, error)
}

var auditParams = map[string]bool{"since": true, "until": true, "kind": true, "identity": true, "app": true, "key": true, "limit": true}

// parseAuditQuery reads the query parameters; unknown or repeated ones are
// errors, so a typo never silently widens the selection.
func parseAuditQuery(v url.Values) (SyncAuditQuery, error) {
	var q SyncAuditQuery
	for name, vals := range v {
		if !auditParams[name] {
			return q, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "unknown query parameter %q (want since, until, kind, identity, app, key, limit)", name)
		}
		if len(vals) != 1 {
			return q, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "query parameter %q given %d times", name, len(vals))
		}
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "%s %q: want an RFC 3339 time", p.name, s)
			}
			*p.t = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxAuditLimit {
			return q, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "limit %q: want an integer 1..%d", s, MaxAuditLimit)
		}
		q.Limit = n
	}
	q.Kind, q.Identity, q.App, q.KeyID = v.Get("kind"), v.Get("identity"), v.Get("app"), v.Get("key")
	return q, nil
}

func (h handlers) syncAudit(ctx context.Context, r *http.Request) (int, any, error) {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	ab, ok := h.b.(AuditBackend)
	if !ok {
		return 0, nil, fmt.Errorf("%w: this daemon keeps no key-sync audit log", api.ErrUnavailable)
	}
	a, err := ab.SyncAudit(ctx, q)
	if a.Events == nil {
		a.Events = []SyncEvent{}
	}
	return http.StatusOK, a, err
}

// SyncAudit calls GET /v1/sync/audit.
func (c *Client) SyncAudit(ctx context.Context, q SyncAuditQuery) (SyncAudit, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	for name, s := range map[string]string{"kind": q.Kind, "identity": q.Identity, "app": q.App, "key": q.KeyID} {
		if s != "" {
			v.Set(name, s)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	p := "/v1/sync/audit"
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	var out SyncAudit
	err := c.c.Do(ctx, http.MethodGet, p, &out)
	return out, err
}
