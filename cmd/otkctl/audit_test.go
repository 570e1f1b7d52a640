package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
)

// auditDaemon serves the fake daemon with a real keysync audit log.
type auditDaemon struct {
	*apitest.Backend
	s *keysync.Syncer
}

func (d auditDaemon) SyncAudit(_ context.Context, q keysyncsvc.SyncAuditQuery) (keysyncsvc.SyncAudit, error) {
	ev, trunc, err := d.s.QueryAudit(q)
	if err != nil {
		return keysyncsvc.SyncAudit{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	return keysyncsvc.SyncAudit{Events: ev, Truncated: trunc}, nil
}

// TestSyncAuditCommand runs otkctl sync audit against a daemon whose audit
// log a real Syncer wrote: filters, JSON, and never key bytes.
func TestSyncAuditCommand(t *testing.T) {
	self, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kstore.Open(filepath.Join(t.TempDir(), "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const app = "vpn.example"
	s, err := keysync.New(st, keysync.Options{Self: self, Platforms: map[string]keysync.Platform{
		app: {URL: "https://127.0.0.1:1/keys", CA: x509.NewCertPool(), Cert: tls.Certificate{Certificate: [][]byte{{1}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := []keysync.Record{{ID: "key-a", Key: make([]byte, 16)}, {ID: "key-b", Key: make([]byte, 16)}}
	for _, r := range recs {
		rand.Read(r.Key)
	}
	file, err := keysync.BuildKeyFile(rand.Reader, &self.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(file); err != nil {
		t.Fatal(err)
	}
	if err := s.Register("dev1", app); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := s.Request("dev1", r.ID, app); err != nil {
			t.Fatal(err)
		}
	}

	sock := filepath.Join(shortDir(t), "otkd.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b := auditDaemon{apitest.New(), s}
	go func() { done <- api.NewServer(b, api.ServerOptions{Routes: apitest.Routes(b)}).Serve(ctx, l) }()
	defer func() { cancel(); <-done }()
	run := func(args ...string) (string, string, int) {
		o, e, code := otkEnv(t, nil, append(append([]string{"sync", "audit"}, args...), "--socket", sock)...)
		return string(o), string(e), code
	}

	out, e, code := run()
	if code != 0 || !strings.Contains(out, "KIND") || strings.Count(out, "bind") != 2 || !strings.Contains(out, "import") {
		t.Fatalf("audit: %d %s %s", code, out, e)
	}
	out, e, code = run("--kind", "bind", "--key", "key-b", "--since", "1h", "--json")
	var a keysyncsvc.SyncAudit
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil || len(a.Events) != 1 || a.Events[0].KeyID != "key-b" ||
		a.Events[0].KeyFP != keys.FingerprintOf(recs[1].Key).String() {
		t.Fatalf("audit --kind bind --key key-b: %d %s %s", code, out, e)
	}
	out, _, code = run("--limit", "1", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil || len(a.Events) != 1 || !a.Truncated || a.Events[0].KeyID != "key-b" {
		t.Fatalf("audit --limit 1: %d %s", code, out)
	}
	out, _, code = run("--since", "2999-01-01T00:00:00Z", "--json")
	if code != 0 || !strings.Contains(out, `"events": []`) {
		t.Fatalf("audit of the future: %d %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--limit", "0"}, exitUsage, "--limit 0"},
		{[]string{"--since", "yesterday"}, exitUsage, "neither an RFC 3339 time"},
		{[]string{"--kind", "delete"}, exitUsage, `kind "delete"`},
	} {
		_, e, code := run(tc.args...)
		if code != tc.code || !strings.Contains(e, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, e, tc.code, tc.msg)
		}
	}
	out, _, _ = run("--json")
	out2, _, _ := run()
	for _, r := range recs {
		if k := hex.EncodeToString(r.Key); strings.Contains(strings.ToLower(out+out2), k) {
			t.Fatalf("audit output shows key bytes of %s", r.ID)
		}
	}
}

func (d auditDaemon) KeyringSync(context.Context, string) (keyringsvc.KeyringSync, error) {
	return keyringsvc.KeyringSync{Pool: "default", Side: "A", Stream: "00000000000000aa", Acked: 4, Pending: 2, TieBreaks: 1}, nil
}

// TestKeyringSyncCommand: otkctl keyring sync prints the sync state, as a
// table or JSON.
func TestKeyringSyncCommand(t *testing.T) {
	sock := filepath.Join(shortDir(t), "otkd.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b := auditDaemon{Backend: apitest.New()}
	go func() { done <- api.NewServer(b, api.ServerOptions{Routes: apitest.Routes(b)}).Serve(ctx, l) }()
	defer func() { cancel(); <-done }()
	o, e, code := otkEnv(t, nil, "keyring", "sync", "--socket", sock)
	flat := strings.Join(strings.Fields(string(o)), " ")
	if code != 0 || !strings.Contains(flat, "waiting for an ack 2") || !strings.Contains(flat, "tie-breaks 1") ||
		!strings.Contains(flat, "peer stream -") {
		t.Fatalf("keyring sync: %d\n%s%s", code, o, e)
	}
	o, _, code = otkEnv(t, nil, "keyring", "sync", "--json", "--socket", sock)
	var ks keyringsvc.KeyringSync
	if code != 0 || json.Unmarshal(o, &ks) != nil || ks.Pending != 2 || ks.Stream != "00000000000000aa" {
		t.Fatalf("keyring sync --json: %d %s", code, o)
	}
	_, e, code = otkEnv(t, nil, "keyring", "sync", "--socket", filepath.Join(shortDir(t), "none.sock"))
	if code == 0 || len(e) == 0 {
		t.Fatalf("no daemon: exit %d", code)
	}
}
