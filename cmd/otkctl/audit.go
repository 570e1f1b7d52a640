package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

// syncAuditCmd is `otkctl sync audit`: the key-sync audit log, filtered.
// Events name keys by id and fingerprint; the log holds no key bytes.
func syncAuditCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "sync audit"
	d := addDaemonFlags(fs)
	since := fs.String("since", "", "events at or after this time: RFC 3339, or a duration back from now (90m, 24h)")
	until := fs.String("until", "", "events before this time: RFC 3339, or a duration back from now")
	var q keysyncsvc.SyncAuditQuery
	fs.StringVar(&q.Kind, "kind", "", "only events of this kind (import, register, bind, push, push-failed)")
	fs.StringVar(&q.Identity, "identity", "", "only events of this subscriber identity")
	fs.StringVar(&q.App, "app", "", "only events of this application")
	fs.StringVar(&q.KeyID, "key", "", "only events of this key id")
	fs.IntVar(&q.Limit, "limit", 100, fmt.Sprintf("the newest N matching events (1..%d)", keysyncsvc.MaxAuditLimit))
	return func([]string) error {
		if q.Limit < 1 || q.Limit > keysyncsvc.MaxAuditLimit {
			return usagef("%s: --limit %d: want 1..%d", name, q.Limit, keysyncsvc.MaxAuditLimit)
		}
		now := time.Now()
		var err error
		if q.Since, err = parseWhen(*since, now); err != nil {
			return usagef("%s: --since: %v", name, err)
		}
		if q.Until, err = parseWhen(*until, now); err != nil {
			return usagef("%s: --until: %v", name, err)
		}
		var a keysyncsvc.SyncAudit
		if err := d.call(name, func(ctx context.Context, c *api.Client) (err error) {
			a, err = keysyncsvc.NewClient(c).SyncAudit(ctx, q)
			return err
		}); err != nil {
			return err
		}
		if *d.json {
			if a.Events == nil {
				a.Events = []keysyncsvc.SyncEvent{}
			}
			return writeJSON(std.out, a)
		}
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIME\tKIND\tIDENTITY\tAPP\tKEY ID\tKEY FP\tDETAIL")
		for _, e := range a.Events {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, when(e.Time), e.Kind, dash(e.Identity), dash(e.App),
				dash(e.KeyID), dash(e.KeyFP), auditDetail(e))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if a.Truncated {
			_, err = fmt.Fprintf(std.out, "(older events left out: raise --limit or narrow --since)\n")
		}
		return err
	}
}

// parseWhen reads an RFC 3339 time or a duration back from now; "" is the
// zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration", s)
	}
	return now.Add(-d), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditDetail is the last column: what the kind carries besides ids.
func auditDetail(e keysyncsvc.SyncEvent) string {
	switch {
	case e.Kind == "import":
		return fmt.Sprintf("%d keys, file %s", e.Count, e.FileFP)
	case e.Kind == "push-failed":
		return fmt.Sprintf("delivery %s attempt %d: %s", e.DeliveryID, e.Attempt, e.Detail)
	case e.DeliveryID != "":
		return "delivery " + e.DeliveryID
	}
	return "-"
}
