package keysync

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
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

// TestAuditSchema1: a store whose audit log is keyed by sequence (schema
// 1) is rekeyed by time when New opens it; the events keep their numbers
// and queries by time find them.
func TestAuditSchema1(t *testing.T) {
	f := newFixture(t)
	f.close()
	st := openStore(t, f.path)
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	err := st.Update(func(k kstore.Tx) error {
		tx := txn{k}
		if err := tx.Put(bMeta, "schema", []byte("1")); err != nil {
			return err
		}
		for i, kind := range []string{EventImport, EventRegister, EventBind} {
			e := Event{Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Hour), Kind: kind, Identity: "dev1"}
			if err := putJSON(tx, bAudit, fmt.Sprintf("%016x", e.Seq), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer st.Close()
	ev, _, err := s.QueryAudit(AuditQuery{Since: t0.Add(time.Hour)})
	if err != nil || len(ev) != 2 || ev[0].Seq != 2 || ev[0].Kind != EventRegister || ev[1].Seq != 3 || ev[0].ID == "" {
		t.Fatalf("after the migration, since %v: %+v, %v", t0.Add(time.Hour), ev, err)
	}
	if err := s.Register("dev2", app); err != nil { // written in the new layout, after the old events
		t.Fatal(err)
	}
	all, err := s.Audit(time.Time{})
	if err != nil || len(all) != 4 || all[3].Identity != "dev2" || all[3].Seq != 0 {
		t.Fatalf("log after a new event: %+v, %v", all, err)
	}
	var schema string
	st.View(func(k kstore.Tx) error { schema = string(k.Get([]byte(bMeta), []byte("schema"))); return nil })
	if schema != schemaVersion {
		t.Fatalf("schema %q after the migration", schema)
	}
}

// TestPruneAudit: events older than the retention go, one range delete;
// newer ones and a query by time stay right.
func TestPruneAudit(t *testing.T) {
	f := newFixture(t)
	f.close()
	opt := f.options()
	opt.AuditRetention = 2 * time.Hour
	st := openStore(t, f.path)
	defer st.Close()
	s, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 { // 05:00 … 09:00
		if err := s.Register(fmt.Sprintf("dev%d", i), app); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Hour)
	}
	// 10:00 now: 08:00 and later stay.
	if err := s.PruneAudit(); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Audit(time.Time{})
	if err != nil || len(ev) != 2 || ev[0].Identity != "dev3" || ev[1].Identity != "dev4" {
		t.Fatalf("after pruning: %+v, %v", ev, err)
	}
	opt.AuditRetention = 0
	s2, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(24 * time.Hour)
	if err := s2.PruneAudit(); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s2.Audit(time.Time{}); len(ev) != 2 {
		t.Fatalf("retention 0 pruned: %d events left", len(ev))
	}
}
