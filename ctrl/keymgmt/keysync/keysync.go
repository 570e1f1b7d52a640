package keysync

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
)

// Bucket names in the Store.
const (
	bMeta     = "keysync.meta"
	bKeys     = "keysync.keys"
	bSubs     = "keysync.subs"
	bBindings = "keysync.bindings"
	bOutbox   = "keysync.outbox"
	bAudit    = "keysync.audit"

	// schemaVersion is the layout of the buckets: 2 keys the audit log by
	// time (1 by a sequence number; New migrates such a store).
	schemaVersion = "2"
)

// Platform is where the keys bound for one application are pushed.
type Platform struct {
	URL  string          // https URL that receives a POST per binding
	CA   *x509.CertPool  // roots that verify the platform's server certificate
	Cert tls.Certificate // this node's client certificate and key
}

// Options configures a Syncer. Self is required; every other field has a
// default.
type Options struct {
	// Self is this node's SM2 key: key files are enveloped to its public
	// key, and the keys are sealed at rest under a key derived from it.
	Self *sm2.PrivateKey
	// Platforms maps an application id to its platform. Register refuses
	// applications not listed here.
	Platforms map[string]Platform
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Log receives one line per delivery and per failed attempt (never key
	// bytes). Default: discard.
	Log *slog.Logger
	// RetryBase is the delay after the first failed push; it doubles with
	// every further failure up to RetryMax. Defaults 1 s and 5 min.
	RetryBase, RetryMax time.Duration
	// PushTimeout bounds one push (connect, TLS, request, response).
	// Default 10 s.
	PushTimeout time.Duration
	// Poll is the longest RunPusher sleeps between looks at the outbox.
	// Default 1 s. On a store that other processes write (etcd), the
	// pusher also wakes on every change of the outbox.
	Poll time.Duration
	// AuditRetention is how long audit events are kept: older ones are
	// pruned by PruneAudit. 0 keeps them for good.
	AuditRetention time.Duration
	// PruneEvery is how often RunPusher prunes the audit log (with
	// AuditRetention). Default 1 min.
	PruneEvery time.Duration
}

// Binding ties a subscriber identity and an application to one key.
type Binding struct {
	Identity   string
	App        string
	KeyID      string
	KeyFP      string    // fingerprint of the key (keys.FingerprintOf)
	DeliveryID string    // idempotency key of the push
	Bound      time.Time // when the binding was made
	Delivered  time.Time // when the platform accepted it; zero while pending
}

// Pending is one push waiting in the outbox.
type Pending struct {
	DeliveryID string
	Identity   string
	App        string
	KeyID      string
	KeyFP      string
	Created    time.Time
	Attempts   int       // failed attempts so far
	NextAt     time.Time // not tried before this time
	LastError  string    // of the last failed attempt
}

// Syncer imports vendor key files, registers subscribers, binds keys to
// them and pushes the bindings to application platforms. Its methods are
// safe for concurrent use.
type Syncer struct {
	st      kstore.Store
	opt     Options
	seal    *atRest
	clients map[string]*http.Client
	wake    chan struct{}
	pushMu  sync.Mutex // one PushDue at a time
	tag     uint32     // random: this Syncer's events' keys differ from every other's
	nEvents atomic.Uint64
}

// New returns a Syncer over st, which stays the caller's to close. It
// checks the options and the version of keysync's buckets in st (writing
// it on a fresh store).
func New(st kstore.Store, opt Options) (*Syncer, error) {
	if opt.Self == nil {
		return nil, errors.New("keysync: Options.Self is required")
	}
	opt = withDefaults(opt)
	opt.Platforms = maps.Clone(opt.Platforms)
	s := &Syncer{st: st, opt: opt, seal: newAtRest(opt.Self), clients: map[string]*http.Client{}, wake: make(chan struct{}, 1), tag: mrand.Uint32()}
	for app, p := range opt.Platforms {
		c, err := newClient(app, p, opt.PushTimeout)
		if err != nil {
			return nil, err
		}
		s.clients[app] = c
	}
	err := s.update(func(tx txn) error {
		switch v := string(tx.Get(bMeta, "schema")); v {
		case "":
			return tx.Put(bMeta, "schema", []byte(schemaVersion))
		case schemaVersion:
			return nil
		case "1":
			if err := migrateAudit(tx); err != nil {
				return fmt.Errorf("keysync: migrating the audit log to schema 2: %w", err)
			}
			return tx.Put(bMeta, "schema", []byte(schemaVersion))
		default:
			return fmt.Errorf("keysync: store schema %q, this build knows %q", v, schemaVersion)
		}
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// migrateAudit rekeys a schema-1 audit log (keys: the sequence number) by
// time; each event keeps its number as Seq, and gets an ID made of its
// time, tag 0 and its number.
func migrateAudit(tx txn) error {
	var old []string
	var events []Event
	err := tx.ForEach(bAudit, func(k string, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("record %s: %w", k, err)
		}
		old, events = append(old, k), append(events, e)
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range events {
		e.ID = auditKey(e.Time, 0, e.Seq)
		if err := tx.Delete(bAudit, old[i]); err != nil {
			return err
		}
		if err := putJSON(tx, bAudit, e.ID, e); err != nil {
			return err
		}
	}
	return nil
}

func withDefaults(o Options) Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.PushTimeout <= 0 {
		o.PushTimeout = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Minute
	}
	return o
}

func newClient(app string, p Platform, timeout time.Duration) (*http.Client, error) {
	if err := CheckApp(app); err != nil {
		return nil, err
	}
	u, err := url.Parse(p.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("keysync: platform %s: URL %q is not an https URL", app, p.URL)
	}
	if p.CA == nil || len(p.Cert.Certificate) == 0 {
		return nil, fmt.Errorf("keysync: platform %s: CA pool and client certificate are required", app)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			RootCAs:      p.CA,
			Certificates: []tls.Certificate{p.Cert},
		},
		ForceAttemptHTTP2: true,
		IdleConnTimeout:   time.Minute,
	}
	// A redirect would resend the key elsewhere: a 3xx is a failed push.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirect}, nil
}

// Close drops the idle platform connections. The store stays open: it
// belongs to the caller.
func (s *Syncer) Close() {
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
}

// keyRec is a key at rest: sealed under the node's at-rest key.
type keyRec struct {
	Sealed   []byte    `json:"sealed"`
	FP       string    `json:"fp"`
	Imported time.Time `json:"imported"`
}

// Import decrypts a vendor key file enveloped to this node and stores its
// keys, all or none. It fails with ErrMalformed, ErrWrongRecipient,
// ErrEnvelope or ErrDuplicateKey (a key id already imported) and then
// stores nothing. It returns the number of keys imported.
func (s *Syncer) Import(file []byte) (int, error) {
	env, err := ParseKeyFile(file)
	if err != nil {
		return 0, err
	}
	recs, err := env.Open(s.opt.Self)
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, r := range recs {
			clear(r.Key)
		}
	}()
	now := s.opt.Clock().UTC()
	fileFP := sm3.Sum(file)
	err = s.update(func(tx txn) error {
		for _, r := range recs {
			if tx.Get(bKeys, r.ID) != nil {
				return fmt.Errorf("%w: %q", ErrDuplicateKey, r.ID)
			}
			sealed, err := s.seal.seal(r.ID, r.Key)
			if err != nil {
				return err
			}
			if err := putJSON(tx, bKeys, r.ID, keyRec{Sealed: sealed, FP: keys.FingerprintOf(r.Key).String(), Imported: now}); err != nil {
				return err
			}
		}
		return s.audit(tx, Event{Time: now, Kind: EventImport, Count: len(recs), FileFP: hex.EncodeToString(fileFP[:16])})
	})
	if errors.Is(err, kstore.ErrTxnTooLarge) {
		return 0, fmt.Errorf("%w: %d keys do not fit one transaction of this store (%w); split the file", ErrTooLarge, len(recs), err)
	}
	if err != nil {
		return 0, err
	}
	return len(recs), nil
}

// Register records that identity subscribes to the application app, whose
// platform must be configured. Registering twice is not an error.
func (s *Syncer) Register(identity, app string) error {
	if err := CheckIdentity(identity); err != nil {
		return err
	}
	if err := CheckApp(app); err != nil {
		return err
	}
	if _, ok := s.opt.Platforms[app]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownApp, app)
	}
	return s.update(func(tx txn) error {
		apps, err := subscriber(tx, identity)
		if err != nil {
			return err
		}
		if slices.Contains(apps, app) {
			return nil
		}
		apps = append(apps, app)
		slices.Sort(apps)
		if err := putJSON(tx, bSubs, identity, apps); err != nil {
			return err
		}
		return s.audit(tx, Event{Time: s.opt.Clock().UTC(), Kind: EventRegister, Identity: identity, App: app})
	})
}

func subscriber(tx txn, identity string) ([]string, error) {
	var apps []string
	_, err := getJSON(tx, bSubs, identity, &apps)
	return apps, err
}

// Request handles a device's sync request: it binds the key keyID to
// identity and the application app (which may be empty when identity is
// registered for one application only) and queues the push to the
// application's platform. The identity must be well formed and registered,
// the key imported and not bound to anyone else. Repeating a request that
// already succeeded returns the same binding and queues nothing.
func (s *Syncer) Request(identity, keyID, app string) (Binding, error) {
	if err := CheckIdentity(identity); err != nil {
		return Binding{}, err
	}
	if err := CheckKeyID(keyID); err != nil {
		return Binding{}, err
	}
	if app != "" {
		if err := CheckApp(app); err != nil {
			return Binding{}, err
		}
	}
	var b Binding
	err := s.batch(func(tx txn) error { // many devices at once share an fsync
		var err error
		b, err = s.bind(tx, identity, keyID, app)
		return err
	})
	if err != nil {
		return Binding{}, err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return b, nil
}

func (s *Syncer) bind(tx txn, identity, keyID, app string) (Binding, error) {
	app, err := resolveApp(tx, identity, app)
	if err != nil {
		return Binding{}, err
	}
	var k keyRec
	if ok, err := getJSON(tx, bKeys, keyID, &k); err != nil || !ok {
		return Binding{}, cmpErr(err, fmt.Errorf("%w: %q", ErrUnknownKey, keyID))
	}
	var b Binding
	if ok, err := getJSON(tx, bBindings, keyID, &b); err != nil || ok {
		if err == nil && (b.Identity != identity || b.App != app) {
			err = fmt.Errorf("%w: %q is bound to another subscriber", ErrKeyBound, keyID)
		}
		return b, err
	}
	now := s.opt.Clock().UTC()
	b = Binding{Identity: identity, App: app, KeyID: keyID, KeyFP: k.FP, DeliveryID: deliveryID(identity, app, keyID), Bound: now}
	p := Pending{DeliveryID: b.DeliveryID, Identity: identity, App: app, KeyID: keyID, KeyFP: k.FP, Created: now, NextAt: now}
	if err := putJSON(tx, bBindings, keyID, b); err != nil {
		return Binding{}, err
	}
	if err := putJSON(tx, bOutbox, p.DeliveryID, p); err != nil {
		return Binding{}, err
	}
	return b, s.audit(tx, Event{Time: now, Kind: EventBind, Identity: identity, App: app, KeyID: keyID, KeyFP: k.FP, DeliveryID: b.DeliveryID})
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// resolveApp checks that identity is registered for app, or picks its only
// application when app is empty.
func resolveApp(tx txn, identity, app string) (string, error) {
	apps, err := subscriber(tx, identity)
	switch {
	case err != nil:
		return "", err
	case len(apps) == 0:
		return "", fmt.Errorf("%w: %q is not registered", ErrNotRegistered, identity)
	case app == "" && len(apps) > 1:
		return "", fmt.Errorf("%w: %q has %v", ErrAppRequired, identity, apps)
	case app == "":
		return apps[0], nil
	case !slices.Contains(apps, app):
		return "", fmt.Errorf("%w: %q is not registered for %q", ErrNotRegistered, identity, app)
	}
	return app, nil
}

// Lookup returns the binding of keyID, if any.
func (s *Syncer) Lookup(keyID string) (Binding, bool, error) {
	var b Binding
	var ok bool
	err := s.view(func(tx txn) error {
		var err error
		ok, err = getJSON(tx, bBindings, keyID, &b)
		return err
	})
	return b, ok, err
}

// Outbox returns the pushes not yet accepted by their platform, oldest
// first.
func (s *Syncer) Outbox() ([]Pending, error) {
	var out []Pending
	err := s.view(func(tx txn) error {
		out = out[:0]
		return tx.ForEach(bOutbox, func(_ string, v []byte) error {
			var p Pending
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b Pending) int { return a.Created.Compare(b.Created) })
	return out, err
}

// deliveryID is the idempotency key of the push of a binding: a key is
// bound once, so the triple names the delivery for good.
func deliveryID(identity, app, keyID string) string {
	h := sm3.New()
	for _, f := range []string{"otkd keysync delivery v1", identity, app, keyID} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func putJSON(tx txn, bucket, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(bucket, key, b)
}

func getJSON(tx txn, bucket, key string, v any) (bool, error) {
	b := tx.Get(bucket, key)
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("keysync: %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// atRest seals keys in the store with SM4-GCM under a key derived from the
// node's SM2 private key; the key id is the additional data, so a sealed
// key cannot be moved to another id.
type atRest struct{ key [16]byte }

func newAtRest(self *sm2.PrivateKey) *atRest {
	d := make([]byte, 32)
	self.D.FillBytes(d)
	defer clear(d)
	sum := sm3.Sum(append([]byte("otkd keysync at-rest v1\x00"), d...))
	a := &atRest{}
	copy(a.key[:], sum[:16])
	clear(sum[:])
	return a
}

func (a *atRest) seal(id string, key []byte) ([]byte, error) {
	g, err := newGCM(a.key[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceLen, nonceLen+len(key)+tagLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, key, []byte(id)), nil
}

func (a *atRest) open(id string, sealed []byte) ([]byte, error) {
	g, err := newGCM(a.key[:])
	if err != nil {
		return nil, err
	}
	if len(sealed) < nonceLen+tagLen {
		return nil, fmt.Errorf("keysync: sealed key %q truncated", id)
	}
	k, err := g.Open(nil, sealed[:nonceLen], sealed[nonceLen:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("keysync: sealed key %q does not open under this node's key", id)
	}
	return k, nil
}
