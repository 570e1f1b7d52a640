package keysync

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestQueryAudit: the filters and the limit select the newest matching
// events, oldest first, and bad queries are ErrAuditQuery.
func TestQueryAudit(t *testing.T) {
	f := newFixture(t)
	recs := testRecords(3)
	f.importKeys(recs) // 05:00 import
	f.clock.Add(time.Minute)
	if err := f.s.Register("dev1", app); err != nil { // 05:01 register
		t.Fatal(err)
	}
	for i, r := range recs { // 05:02, 05:03, 05:04 bind
		f.clock.Add(time.Minute)
		id := "dev1"
		if i == 2 {
			id = "dev2"
			if err := f.s.Register(id, app); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.s.Request(id, r.ID, app); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	kinds := func(ev []Event) string {
		var s []string
		for _, e := range ev {
			s = append(s, e.Kind+":"+e.KeyID+":"+e.Identity)
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name  string
		q     AuditQuery
		want  string
		trunc bool
	}{
		{"all", AuditQuery{}, "import:: register::dev1 bind:key-a:dev1 bind:key-b:dev1 register::dev2 bind:key-c:dev2", false},
		{"kind", AuditQuery{Kind: EventBind}, "bind:key-a:dev1 bind:key-b:dev1 bind:key-c:dev2", false},
		{"limit keeps newest", AuditQuery{Kind: EventBind, Limit: 2}, "bind:key-b:dev1 bind:key-c:dev2", true},
		{"since", AuditQuery{Since: start.Add(3 * time.Minute)}, "bind:key-b:dev1 register::dev2 bind:key-c:dev2", false},
		{"until", AuditQuery{Until: start.Add(2 * time.Minute)}, "import:: register::dev1", false},
		{"identity", AuditQuery{Identity: "dev2"}, "register::dev2 bind:key-c:dev2", false},
		{"key", AuditQuery{KeyID: "key-a"}, "bind:key-a:dev1", false},
		{"app", AuditQuery{App: "other.example"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, trunc, err := f.s.QueryAudit(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(ev); got != tc.want || trunc != tc.trunc {
				t.Fatalf("got %q truncated=%v, want %q truncated=%v", got, trunc, tc.want, tc.trunc)
			}
		})
	}
	for _, q := range []AuditQuery{{Limit: -1}, {Limit: MaxAuditLimit + 1}, {Kind: "delete"},
		{Since: start, Until: start}} {
		if _, _, err := f.s.QueryAudit(q); !errors.Is(err, ErrAuditQuery) {
			t.Errorf("QueryAudit(%+v) = %v, want ErrAuditQuery", q, err)
		}
	}
	// No key bytes in any event.
	ev, _, err := f.s.QueryAudit(AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		s := strings.ToLower(kinds([]Event{e}) + e.KeyFP + e.FileFP + e.Detail)
		for _, r := range recs {
			if strings.Contains(s, hex.EncodeToString(r.Key)) {
				t.Fatalf("event %+v shows key bytes", e)
			}
		}
	}
}
