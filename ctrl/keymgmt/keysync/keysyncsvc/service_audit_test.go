package keysyncsvc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// TestSyncAudit: the service serves a real Syncer's audit log, maps a bad
// query to ErrBadRequest and answers ErrUnavailable without [sync].
func TestSyncAudit(t *testing.T) {
	var d Service
	if _, err := d.SyncAudit(context.Background(), SyncAuditQuery{}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("no syncer: %v", err)
	}
	self, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kstore.Open(filepath.Join(t.TempDir(), "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := keysync.New(st, keysync.Options{Self: self, Platforms: map[string]keysync.Platform{
		"vpn.example": {URL: "https://127.0.0.1:1/keys", CA: x509.NewCertPool(), Cert: tls.Certificate{Certificate: [][]byte{{1}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d.syncer = s
	for _, id := range []string{"dev1", "dev2"} {
		if err := s.Register(id, "vpn.example"); err != nil {
			t.Fatal(err)
		}
	}
	a, err := d.SyncAudit(context.Background(), SyncAuditQuery{Identity: "dev2"})
	if err != nil || len(a.Events) != 1 || a.Events[0].Kind != keysync.EventRegister || a.Events[0].App != "vpn.example" || a.Truncated {
		t.Fatalf("SyncAudit = %+v, %v", a, err)
	}
	if _, err := d.SyncAudit(context.Background(), SyncAuditQuery{Kind: "nope"}); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("bad kind: %v", err)
	}
}
