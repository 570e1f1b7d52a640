package keysync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
)

func TestKeyFileRoundTrip(t *testing.T) {
	self, _ := sm2.GenerateKey(rand.Reader)
	recs := testRecords(3)
	recs[2].Key = bytes.Repeat([]byte{7}, MaxKeyLen)
	file, err := BuildKeyFile(rand.Reader, &self.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i := range got {
		if got[i].ID != recs[i].ID || !bytes.Equal(got[i].Key, recs[i].Key) {
			t.Errorf("record %d differs", i)
		}
	}
}

// TestImportRejects: every bad key file fails with its error and leaves the
// store as it was.
func TestImportRejects(t *testing.T) {
	f := newFixture(t)
	other, _ := sm2.GenerateKey(rand.Reader)
	recs := testRecords(2)
	good, err := BuildKeyFile(rand.Reader, &f.self.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(off int) []byte {
		b := slices.Clone(good)
		b[off] ^= 1
		return b
	}
	forOther, _ := BuildKeyFile(rand.Reader, &other.PublicKey, recs)
	dupIDs, _ := BuildKeyFile(rand.Reader, &f.self.PublicKey, []Record{recs[0], recs[0]})
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", good[:headerLen+tagLen-1], ErrMalformed},
		{"magic", flip(0), ErrMalformed},
		{"version", flip(4), ErrMalformed},
		{"wrapped length", flip(38), ErrMalformed},
		{"other recipient", forOther, ErrWrongRecipient},
		{"fingerprint", flip(5), ErrWrongRecipient},
		{"wrapped key", flip(39 + 70), ErrEnvelope},
		{"C1 point", flip(39 + 10), ErrEnvelope},
		{"nonce", flip(39 + sm2CTLen), ErrEnvelope},
		{"records", flip(headerLen), ErrEnvelope},
		{"tag", flip(len(good) - 1), ErrEnvelope},
		{"cut tag", good[:len(good)-1], ErrEnvelope},
		{"duplicate ids", dupIDs, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := f.s.Import(tc.file)
			if !errors.Is(err, tc.want) || n != 0 {
				t.Fatalf("Import = %d, %v; want %v", n, err, tc.want)
			}
		})
	}
	if ev := f.audit(); len(ev) != 0 {
		t.Fatalf("audit after rejected imports: %+v", ev)
	}
	f.importKeys(recs)
	// The same keys again: all rejected, the first import untouched.
	if _, err := f.s.Import(good); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("re-import: %v, want ErrDuplicateKey", err)
	}
	if ev := f.audit(); len(ev) != 1 || ev[0].Kind != EventImport || ev[0].Count != 2 {
		t.Fatalf("audit = %+v, want one import of 2", ev)
	}
}

// TestImportAllOrNothing: a file with one id already stored stores none of
// its other keys.
func TestImportAllOrNothing(t *testing.T) {
	f := newFixture(t)
	recs := testRecords(3)
	f.importKeys(recs[:1])
	file, _ := BuildKeyFile(rand.Reader, &f.self.PublicKey, []Record{recs[1], recs[0], recs[2]})
	if _, err := f.s.Import(file); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("Import = %v, want ErrDuplicateKey", err)
	}
	if err := f.s.Register("dev-1", app); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Request("dev-1", recs[1].ID, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("key of the rejected file: %v, want ErrUnknownKey", err)
	}
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		identity, app string
		want          error
	}{
		{"imsi:460001234567890", app, nil},
		{"imsi:460001234567890", app, nil}, // twice is fine
		{"", app, ErrBadIdentity},
		{"has space", app, ErrBadIdentity},
		{string(bytes.Repeat([]byte{'x'}, 129)), app, ErrBadIdentity},
		{"caf\xc3\xa9", app, ErrBadIdentity},
		{"dev", "", ErrBadApp},
		{"dev", "VPN", ErrBadApp},
		{"dev", "-vpn", ErrBadApp},
		{"dev", "vpn_x", ErrBadApp},
		{"dev", "other.example", ErrUnknownApp},
	}
	for _, tc := range tests {
		if err := f.s.Register(tc.identity, tc.app); !errors.Is(err, tc.want) {
			t.Errorf("Register(%q, %q) = %v, want %v", tc.identity, tc.app, err, tc.want)
		}
	}
	if ev := f.audit(); len(ev) != 1 || ev[0].Kind != EventRegister {
		t.Fatalf("audit = %+v, want one register", ev)
	}
}

// TestRequestRejects: bad sync requests fail with their error and bind or
// queue nothing.
func TestRequestRejects(t *testing.T) {
	f := newFixture(t)
	recs := testRecords(2)
	f.importKeys(recs)
	if err := f.s.Register("dev-1", app); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Register("dev-2", app); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Request("dev-2", recs[1].ID, app); err != nil {
		t.Fatal(err)
	}
	before := len(f.audit())
	tests := []struct {
		name, identity, keyID, app string
		want                       error
	}{
		{"unknown identity", "dev-9", recs[0].ID, "", ErrNotRegistered},
		{"malformed identity", "dev 1", recs[0].ID, "", ErrBadIdentity},
		{"malformed key id", "dev-1", "key/0", "", ErrBadKeyID},
		{"malformed app", "dev-1", recs[0].ID, "Vpn", ErrBadApp},
		{"not registered for app", "dev-1", recs[0].ID, "mail.example", ErrNotRegistered},
		{"unknown key", "dev-1", "key-zz", "", ErrUnknownKey},
		{"bound to another", "dev-1", recs[1].ID, "", ErrKeyBound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := f.s.Request(tc.identity, tc.keyID, tc.app); !errors.Is(err, tc.want) || b != (Binding{}) {
				t.Fatalf("Request = %+v, %v; want %v", b, err, tc.want)
			}
		})
	}
	if n := len(f.audit()); n != before {
		t.Errorf("audit grew by %d", n-before)
	}
	if ob := f.outbox(); len(ob) != 1 {
		t.Errorf("outbox holds %d, want 1", len(ob))
	}
	if _, ok, _ := f.s.Lookup(recs[0].ID); ok {
		t.Errorf("%s bound by a rejected request", recs[0].ID)
	}
}

func TestAppRequired(t *testing.T) {
	f := newFixture(t)
	f.close()
	opt := f.options()
	opt.Platforms["mail.example"] = opt.Platforms[app]
	st := openStore(t, f.path)
	s, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.s = s
	f.importKeys(testRecords(1))
	s.Register("dev-1", app)
	s.Register("dev-1", "mail.example")
	if _, err := s.Request("dev-1", "key-a", ""); !errors.Is(err, ErrAppRequired) {
		t.Fatalf("Request without app = %v, want ErrAppRequired", err)
	}
	b, err := s.Request("dev-1", "key-a", "mail.example")
	if err != nil || b.App != "mail.example" {
		t.Fatalf("Request = %+v, %v", b, err)
	}
}

// TestDownThenUp: the platform is down at first; the push stays in the
// outbox with backoff and is delivered exactly once when it comes up. A
// repeated sync request returns the same binding and pushes nothing more.
func TestDownThenUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.importKeys(testRecords(1))
	f.s.Register("dev-1", app)
	b, err := f.s.Request("dev-1", "key-a", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, wantNext := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if n, err := f.s.PushDue(ctx); n != 0 || err != nil {
			t.Fatalf("PushDue with platform down = %d, %v", n, err)
		}
		ob := f.outbox()
		if len(ob) != 1 || ob[0].Attempts != i+1 || !ob[0].NextAt.Equal(f.clock.Now().Add(wantNext)) || ob[0].LastError == "" {
			t.Fatalf("outbox after %d failures: %+v", i+1, ob)
		}
		// Not due yet: nothing is attempted.
		if n, _ := f.s.PushDue(ctx); n != 0 || f.outbox()[0].Attempts != i+1 {
			t.Fatal("attempted before due")
		}
		f.clock.Add(wantNext)
	}
	f.plat.start()
	if n, err := f.s.PushDue(ctx); n != 1 || err != nil {
		t.Fatalf("PushDue with platform up = %d, %v", n, err)
	}
	if ob := f.outbox(); len(ob) != 0 {
		t.Fatalf("outbox after delivery: %+v", ob)
	}
	again, err := f.s.Request("dev-1", "key-a", app)
	if err != nil {
		t.Fatal(err)
	}
	if again.DeliveryID != b.DeliveryID || again.Bound != b.Bound || again.Delivered.IsZero() {
		t.Fatalf("repeated request = %+v, first %+v", again, b)
	}
	f.clock.Add(time.Hour)
	if n, _ := f.s.PushDue(ctx); n != 0 || f.plat.deliveries() != 1 || f.plat.requests != 1 {
		t.Fatalf("deliveries %d, requests %d; want 1, 1", f.plat.deliveries(), f.plat.requests)
	}
	kinds := []string{}
	for _, e := range f.audit() {
		kinds = append(kinds, e.Kind)
	}
	want := []string{EventImport, EventRegister, EventBind, EventPushFail, EventPushFail, EventPushFail, EventPush}
	if !slices.Equal(kinds, want) {
		t.Fatalf("audit kinds %v, want %v", kinds, want)
	}
}

// TestLostAnswer: the platform applies a push but its answer is lost; the
// retry carries the same idempotency key and the platform applies it once.
func TestLostAnswer(t *testing.T) {
	f := newFixture(t)
	f.plat.lose = 1
	f.plat.start()
	f.importKeys(testRecords(1))
	f.s.Register("dev-1", app)
	f.s.Request("dev-1", "key-a", "")
	ctx := context.Background()
	if n, _ := f.s.PushDue(ctx); n != 0 {
		t.Fatal("delivered despite a 500")
	}
	f.clock.Add(time.Second)
	if n, _ := f.s.PushDue(ctx); n != 1 {
		t.Fatal("retry not delivered")
	}
	if f.plat.requests != 2 || f.plat.deliveries() != 1 {
		t.Fatalf("requests %d deliveries %d; want 2, 1", f.plat.requests, f.plat.deliveries())
	}
}

// TestRestart: the outbox survives a restart (store closed and reopened)
// and is delivered afterwards.
func TestRestart(t *testing.T) {
	f := newFixture(t)
	recs := testRecords(2)
	f.importKeys(recs)
	f.s.Register("dev-1", app)
	for _, r := range recs {
		if _, err := f.s.Request("dev-1", r.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.s.PushDue(context.Background()) // platform down: one failure each
	f.close()

	f.open()
	ob := f.outbox()
	if len(ob) != 2 || ob[0].Attempts != 1 {
		t.Fatalf("outbox after restart: %+v", ob)
	}
	f.plat.start()
	f.clock.Add(time.Second)
	if n, err := f.s.PushDue(context.Background()); n != 2 || err != nil {
		t.Fatalf("PushDue = %d, %v", n, err)
	}
	for _, r := range recs {
		var body PushBody
		json.Unmarshal(f.plat.got[deliveryID("dev-1", app, r.ID)], &body)
		if !bytes.Equal(body.Key, r.Key) {
			t.Errorf("%s: platform got a different key after restart", r.ID)
		}
	}
	if f.plat.deliveries() != 2 {
		t.Fatalf("deliveries %d, want 2", f.plat.deliveries())
	}
}

// TestNoKeyLeaks: a push carries exactly identity, key id and key; neither
// the audit log nor the store file holds key bytes.
func TestNoKeyLeaks(t *testing.T) {
	f := newFixture(t)
	f.plat.start()
	recs := testRecords(3)
	f.importKeys(recs)
	f.s.Register("imsi:460001234567890", app)
	for _, r := range recs {
		f.s.Request("imsi:460001234567890", r.ID, "")
	}
	f.s.PushDue(context.Background())
	if len(f.plat.bad) != 0 {
		t.Fatalf("platform saw: %v", f.plat.bad)
	}
	for _, r := range recs {
		raw := f.plat.got[deliveryID("imsi:460001234567890", app, r.ID)]
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"identity": "imsi:460001234567890", "key_id": r.ID, "key": base64.StdEncoding.EncodeToString(r.Key)}
		if len(m) != len(want) {
			t.Fatalf("push body %s has fields beyond identity, key_id, key", raw)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("push body field %s = %v, want %v", k, m[k], v)
			}
		}
	}
	auditJSON, _ := json.Marshal(f.audit())
	f.close()
	file, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, form := range [][]byte{r.Key, []byte(hex.EncodeToString(r.Key)), []byte(base64.StdEncoding.EncodeToString(r.Key))} {
			if bytes.Contains(auditJSON, form) {
				t.Errorf("audit holds key %s", r.ID)
			}
			if bytes.Contains(file, form) {
				t.Errorf("store file holds key %s in clear", r.ID)
			}
		}
		if !bytes.Contains(auditJSON, []byte(keys.FingerprintOf(r.Key).String())) {
			t.Errorf("audit lacks the fingerprint of %s", r.ID)
		}
	}
}

// TestConcurrentRequests: many devices ask for the same key at once; exactly
// one gets it.
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	f.importKeys(testRecords(1))
	const n = 16
	for i := range n {
		f.s.Register("dev-"+string(rune('a'+i)), app)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Go(func() {
			_, err := f.s.Request("dev-"+string(rune('a'+i)), "key-a", "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrKeyBound):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || len(f.outbox()) != 1 {
		t.Fatalf("%d requests won, outbox %d; want 1, 1", won, len(f.outbox()))
	}
}

// TestRunPusher: the delivery loop on the real clock keeps retrying while
// the platform is down and delivers once when it comes up.
func TestRunPusher(t *testing.T) {
	f := newFixture(t)
	f.close()
	opt := f.options()
	opt.Clock = nil
	opt.RetryBase, opt.RetryMax, opt.Poll = 5*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
	st := openStore(t, f.path)
	s, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.s = s
	f.importKeys(testRecords(2))
	s.Register("dev-1", app)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.RunPusher(ctx) }()
	s.Request("dev-1", "key-a", "")
	waitFor(t, func() bool { ob, _ := s.Outbox(); return len(ob) == 1 && ob[0].Attempts >= 2 })
	f.plat.start()
	waitFor(t, func() bool { ob, _ := s.Outbox(); return len(ob) == 0 })
	s.Request("dev-1", "key-b", "") // woken at once, no wait for a poll
	waitFor(t, func() bool { return f.plat.deliveries() == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunPusher = %v", err)
	}
	f.plat.mu.Lock()
	defer f.plat.mu.Unlock()
	if f.plat.requests != 2 {
		t.Fatalf("platform got %d requests for 2 bindings", f.plat.requests)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 20 s")
}

func TestBackoff(t *testing.T) {
	s := &Syncer{opt: withDefaults(Options{RetryBase: time.Second, RetryMax: 10 * time.Second})}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := s.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := s.backoff(1000); got != 10*time.Second {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// TestNewChecks: New refuses incomplete or malformed options.
func TestNewChecks(t *testing.T) {
	f := newFixture(t)
	bad := []func(*Options){
		func(o *Options) { o.Self = nil },
		func(o *Options) { o.Platforms = map[string]Platform{"BAD": o.Platforms[app]} },
		func(o *Options) { p := o.Platforms[app]; p.URL = "http://127.0.0.1/"; o.Platforms[app] = p },
		func(o *Options) { p := o.Platforms[app]; p.CA = nil; o.Platforms[app] = p },
	}
	for i, mod := range bad {
		o := f.options()
		mod(&o)
		if _, err := New(f.st, o); err == nil {
			t.Errorf("case %d: New accepted bad options", i)
		}
	}
}

// TestUntrustedPeers: a node whose client certificate the platform does not
// trust, or a platform whose server certificate the node does not trust,
// gets no key through; the push stays queued.
func TestUntrustedPeers(t *testing.T) {
	for _, name := range []string{"client", "server"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.plat.start()
			f.close()
			other := newPKI(t)
			opt := f.options()
			p := opt.Platforms[app]
			if name == "client" {
				p.Cert = other.client
			} else {
				p.CA = other.pool
			}
			opt.Platforms[app] = p
			st := openStore(t, f.path)
			s, err := New(st, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f.s = s
			f.importKeys(testRecords(1))
			s.Register("dev-1", app)
			s.Request("dev-1", "key-a", "")
			if n, _ := s.PushDue(context.Background()); n != 0 || f.plat.deliveries() != 0 {
				t.Fatalf("delivered %d over an untrusted %s", n, name)
			}
			if ob, _ := s.Outbox(); len(ob) != 1 || ob[0].LastError == "" {
				t.Fatalf("outbox %+v", ob)
			}
		})
	}
}

func openStore(t *testing.T, path string) *kstore.DB {
	t.Helper()
	st, err := kstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestOnePassPerPlatform: while a platform is unreachable a pass costs one
// connection attempt, not one per entry; an entry the platform refuses
// does not hold back the others.
func TestOnePassPerPlatform(t *testing.T) {
	f := newFixture(t)
	recs := testRecords(3)
	f.importKeys(recs)
	f.s.Register("dev-1", app)
	for _, r := range recs {
		f.s.Request("dev-1", r.ID, "")
	}
	f.s.PushDue(context.Background())
	tried := 0
	for _, p := range f.outbox() {
		tried += p.Attempts
	}
	if tried != 1 {
		t.Fatalf("%d attempts in one pass against a platform that is down, want 1", tried)
	}
	f.plat.reject = map[string]bool{deliveryID("dev-1", app, recs[0].ID): true}
	f.plat.start()
	f.clock.Add(time.Second)
	if n, _ := f.s.PushDue(context.Background()); n != 2 {
		t.Fatalf("delivered %d, want the 2 the platform accepts", n)
	}
	ob := f.outbox()
	if len(ob) != 1 || ob[0].KeyID != recs[0].ID || ob[0].LastError == "" {
		t.Fatalf("outbox %+v, want only the refused %s", ob, recs[0].ID)
	}
}

// TestPushBody: the hand-made body decodes as PushBody with every field,
// including identities that need JSON escapes.
func TestPushBody(t *testing.T) {
	key := bytes.Repeat([]byte{0xfe, 0x01}, 16)
	for _, id := range []string{"dev-1", `a"b\\c`, "<script>&", "~!@#$%^&*()"} {
		b, err := pushBody(id, "vendor:0001", key)
		if err != nil {
			t.Fatal(err)
		}
		var got PushBody
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%q: %s: %v", id, b, err)
		}
		if got.Identity != id || got.KeyID != "vendor:0001" || !bytes.Equal(got.Key, key) {
			t.Fatalf("%q: decoded %+v", id, got)
		}
	}
}

// TestLayoutMatchesDocs keeps docs/keysync.md's key-file table in step.
func TestLayoutMatchesDocs(t *testing.T) {
	self, _ := sm2.GenerateKey(rand.Reader)
	file, _ := BuildKeyFile(rand.Reader, &self.PublicKey, testRecords(1))
	fp := keys.PublicDigest(&self.PublicKey)
	switch {
	case sm2CTLen != 113 || headerLen != 164:
		t.Fatalf("wrapped key %d B, header %d B; docs say 113 and 164", sm2CTLen, headerLen)
	case string(file[:5]) != "OKSF\x01" || !bytes.Equal(file[5:37], fp[:]) || file[37] != 0 || file[38] != 113 || file[39] != 4:
		t.Fatalf("header % x differs from the documented layout", file[:40])
	case len(file) != 164+4+1+5+1+16+16:
		t.Fatalf("file of one 16-byte key is %d B", len(file))
	}
}
