package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeyringKey describes a consumer's keyring key: ids and validity, never
// the key bytes. Fingerprint is the key's id in the shared-memory store
// (16 hex digits), derived from the key bytes: both ends of a link report
// the same fingerprint for the same key.
type KeyringKey struct {
	Pool        string    `json:"pool"`
	Consumer    uint64    `json:"consumer"`
	Fingerprint string    `json:"fingerprint"`
	ID          uint64    `json:"id"` // the same, as the shm key id
	Ring        int       `json:"ring"`
	Slot        uint32    `json:"slot"`
	Epoch       uint64    `json:"epoch"`   // window index the ring was filled for
	SeedID      string    `json:"seed_id"` // 16 hex digits
	Alg         string    `json:"alg"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidTo     time.Time `json:"valid_to"`
}

// KeyringRing is one ring in KeyringStatus.
type KeyringRing struct {
	Ring        int       `json:"ring"`
	Current     bool      `json:"current"`
	Filled      bool      `json:"filled"`
	Epoch       uint64    `json:"epoch"`
	SeedID      string    `json:"seed_id"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Keys        int       `json:"keys"`
	Free        int       `json:"free"` // unbound keys of this end's half
	Bound       int       `json:"bound"`
	Retired     int       `json:"retired"`
}

// KeyringStatus is the answer of GET /v1/keyring.
type KeyringStatus struct {
	Pool          string        `json:"pool"`
	Port          string        `json:"port"` // the port whose seeds fill the rings
	Shm           string        `json:"shm"`  // the shared-memory map of its keys and bindings
	Side          string        `json:"side"` // "A" (even slots) or "B" (odd slots)
	WindowSeconds float64       `json:"window_seconds"`
	Current       int           `json:"current"`
	Now           time.Time     `json:"now"`
	Rings         []KeyringRing `json:"rings"`
	Connects      uint64        `json:"connects"`
	Disconnects   uint64        `json:"disconnects"`
	Refills       uint64        `json:"refills"`
	Exhausted     uint64        `json:"exhausted"`
	NotReady      uint64        `json:"not_ready"`
	PeerBinds     uint64        `json:"peer_binds"`
	PeerRejected  uint64        `json:"peer_rejected"`
}

// KeyringPools is the answer of GET /v1/keyring/pools.
type KeyringPools struct {
	Pools []string `json:"pools"`
}

// ResolvePool returns the pool name names among pools: name itself if it
// is one of them, the only pool for "". Otherwise the error (ErrNotFound,
// or ErrBadRequest for "" with several pools, ErrUnavailable with none)
// names the pools.
func ResolvePool(name string, pools []string) (string, error) {
	switch {
	case len(pools) == 0:
		return "", fmt.Errorf("%w: no keyring pool: set [keyring] enabled = true (or add [[keyring]] pools) in the configuration", ErrUnavailable)
	case name == "" && len(pools) == 1:
		return pools[0], nil
	case name == "":
		return "", fmt.Errorf("%w: this daemon runs %d keyring pools (%s): name one (otkctl --pool NAME)", ErrBadRequest, len(pools), strings.Join(pools, ", "))
	case slices.Contains(pools, name):
		return name, nil
	}
	return "", fmt.Errorf("%w: no keyring pool %q here; pools: %s", ErrNotFound, name, strings.Join(pools, ", "))
}

// poolParam is the request's ?pool= ("": the only pool).
func poolParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if len(q["pool"]) > 1 {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "pool given %d times", len(q["pool"]))
	}
	v := q.Get("pool")
	if v != "" && !poolNameRE.MatchString(v) {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "pool %q: want 1..32 of [a-z0-9-], not starting or ending with '-'", v)
	}
	return v, nil
}

var poolNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// poolQuery is the query string naming pool ("" for the only pool).
func poolQuery(pool string) string {
	if pool == "" {
		return ""
	}
	return "?pool=" + url.QueryEscape(pool)
}

// SyncImport is the answer of POST /v1/sync/import.
type SyncImport struct {
	Imported int `json:"imported"`
}

// SyncRegister is the body and the answer of POST /v1/sync/register.
type SyncRegister struct {
	Identity string `json:"identity"`
	App      string `json:"app"`
}

// SyncRequest is the body of POST /v1/sync/request: a device's sync
// request. App may be empty when the identity holds one application.
type SyncRequest struct {
	Identity string `json:"identity"`
	KeyID    string `json:"key_id"`
	App      string `json:"app,omitempty"`
}

// SyncBinding is the answer of POST /v1/sync/request: the binding, with
// the key's fingerprint, never its bytes.
type SyncBinding struct {
	Identity       string    `json:"identity"`
	App            string    `json:"app"`
	KeyID          string    `json:"key_id"`
	KeyFingerprint string    `json:"key_fingerprint"`
	DeliveryID     string    `json:"delivery_id"`
	Bound          time.Time `json:"bound"`
	Delivered      time.Time `json:"delivered,omitzero"` // zero while the push is pending
}

// SyncPending is one push waiting in the outbox (GET /v1/sync/outbox).
type SyncPending struct {
	DeliveryID     string    `json:"delivery_id"`
	Identity       string    `json:"identity"`
	App            string    `json:"app"`
	KeyID          string    `json:"key_id"`
	KeyFingerprint string    `json:"key_fingerprint"`
	Created        time.Time `json:"created"`
	Attempts       int       `json:"attempts"`
	NextAt         time.Time `json:"next_at"`
	LastError      string    `json:"last_error,omitempty"`
}

// ConsumerResult is the answer of POST /v1/keyring/consumers/{id}/disconnect.
type ConsumerResult struct {
	Consumer uint64 `json:"consumer"`
	Action   string `json:"action"`
	Status   string `json:"status"`
}

// RingResult is the answer of POST /v1/keyring/rings/{ring}/refill.
type RingResult struct {
	Ring   int    `json:"ring"`
	Action string `json:"action"`
	Status string `json:"status"`
}

// MaxKeyFileBytes bounds the body of POST /v1/sync/import (a key file is
// at most 16 MiB, docs/keysync.md).
const MaxKeyFileBytes = 16 << 20

// keymgmtRoutes adds the keyring and key-sync routes.
func (s *Server) keymgmtRoutes() {
	s.mux.Handle("/v1/keyring", s.route(http.MethodGet, s.keyringStatus))
	s.mux.Handle("/v1/keyring/pools", s.route(http.MethodGet, s.keyringPools))
	s.mux.Handle("/v1/keyring/consumers/{id}", s.route(http.MethodGet, s.consumerOp(Backend.KeyringLookup)))
	s.mux.Handle("/v1/keyring/consumers/{id}/connect", s.route(http.MethodPost, s.consumerOp(Backend.KeyringConnect)))
	s.mux.Handle("/v1/keyring/consumers/{id}/disconnect", s.route(http.MethodPost, s.disconnect))
	s.mux.Handle("/v1/keyring/rings/{ring}/refill", s.route(http.MethodPost, s.refill))
	s.mux.Handle("/v1/sync/import", s.routeBody(MaxKeyFileBytes, s.syncImport))
	s.mux.Handle("/v1/sync/register", s.routeBody(0, s.syncRegister))
	s.mux.Handle("/v1/sync/request", s.routeBody(0, s.syncRequest))
	s.mux.Handle("/v1/sync/outbox", s.route(http.MethodGet, s.syncOutbox))
}

func (s *Server) keyringPools(ctx context.Context, _ *http.Request) (int, any, error) {
	ps, err := s.b.KeyringPools(ctx)
	if ps == nil {
		ps = []string{}
	}
	return http.StatusOK, KeyringPools{Pools: ps}, err
}

func (s *Server) keyringStatus(ctx context.Context, r *http.Request) (int, any, error) {
	pool, err := poolParam(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.b.KeyringStatus(ctx, pool)
	if st.Rings == nil {
		st.Rings = []KeyringRing{}
	}
	return http.StatusOK, st, err
}

func consumerID(r *http.Request) (uint64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, errorf(http.StatusBadRequest, CodeBadRequest, "consumer id %q: want a decimal integer 1..2^64-1", v)
	}
	return id, nil
}

// poolConsumer is the request's pool and consumer id.
func poolConsumer(r *http.Request) (string, uint64, error) {
	pool, err := poolParam(r)
	if err != nil {
		return "", 0, err
	}
	id, err := consumerID(r)
	return pool, id, err
}

func (s *Server) consumerOp(fn func(Backend, context.Context, string, uint64) (KeyringKey, error)) op {
	return func(ctx context.Context, r *http.Request) (int, any, error) {
		pool, id, err := poolConsumer(r)
		if err != nil {
			return 0, nil, err
		}
		k, err := fn(s.b, ctx, pool, id)
		return http.StatusOK, k, err
	}
}

func (s *Server) disconnect(ctx context.Context, r *http.Request) (int, any, error) {
	pool, id, err := poolConsumer(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.b.KeyringDisconnect(ctx, pool, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ConsumerResult{Consumer: id, Action: "disconnect", Status: "done"}, nil
}

func (s *Server) refill(ctx context.Context, r *http.Request) (int, any, error) {
	pool, err := poolParam(r)
	if err != nil {
		return 0, nil, err
	}
	v := r.PathValue("ring")
	ring, err := strconv.Atoi(v)
	if err != nil || ring < 0 || ring > 255 {
		return 0, nil, errorf(http.StatusBadRequest, CodeBadRequest, "ring %q: want an integer 0..255", v)
	}
	if err := s.b.KeyringRefill(ctx, pool, ring); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RingResult{Ring: ring, Action: "refill", Status: "done"}, nil
}

// bodyKey carries a request body read by routeBody to the op.
type bodyKey struct{}

func requestBody(ctx context.Context) []byte {
	b, _ := ctx.Value(bodyKey{}).([]byte)
	return b
}

// routeBody is route for a POST that takes a body: a JSON object
// (limit 0: at most ServerOptions.MaxBodyBytes) or raw bytes up to limit.
func (s *Server) routeBody(limit int64, fn op) http.Handler {
	if limit <= 0 {
		limit = s.maxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"method %s not allowed on %s (allowed: POST)", r.Method, r.URL.Path))
			return
		}
		if err := s.authorize(r); err != nil {
			writeError(w, err)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body exceeds %d bytes", limit))
			} else {
				writeError(w, errorf(http.StatusBadRequest, CodeMalformedBody, "reading the request body: %v", err))
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), bodyKey{}, b), s.timeout)
		defer cancel()
		status, body, err := s.call(ctx, fn, r)
		if err != nil {
			writeError(w, s.backendError(err))
			return
		}
		writeJSON(w, status, body)
	})
}

// decodeBody decodes the JSON object of a routeBody request into v.
func decodeBody(ctx context.Context, v any) error {
	dec := json.NewDecoder(bytes.NewReader(requestBody(ctx)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeMalformedBody, "request body: data after the JSON object")
	}
	return nil
}

func (s *Server) syncImport(ctx context.Context, _ *http.Request) (int, any, error) {
	file := requestBody(ctx)
	if len(file) == 0 {
		return 0, nil, errorf(http.StatusBadRequest, CodeBadRequest, "empty key file")
	}
	n, err := s.b.SyncImport(ctx, file)
	return http.StatusOK, SyncImport{Imported: n}, err
}

func (s *Server) syncRegister(ctx context.Context, _ *http.Request) (int, any, error) {
	var req SyncRegister
	if err := decodeBody(ctx, &req); err != nil {
		return 0, nil, err
	}
	if err := s.b.SyncRegister(ctx, req.Identity, req.App); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, req, nil
}

func (s *Server) syncRequest(ctx context.Context, _ *http.Request) (int, any, error) {
	var req SyncRequest
	if err := decodeBody(ctx, &req); err != nil {
		return 0, nil, err
	}
	b, err := s.b.SyncRequest(ctx, req.Identity, req.KeyID, req.App)
	return http.StatusOK, b, err
}

// outboxBody is the envelope of GET /v1/sync/outbox.
type outboxBody struct {
	Outbox []SyncPending `json:"outbox"`
}

func (s *Server) syncOutbox(ctx context.Context, _ *http.Request) (int, any, error) {
	p, err := s.b.SyncOutbox(ctx)
	if p == nil {
		p = []SyncPending{}
	}
	return http.StatusOK, outboxBody{Outbox: p}, err
}

// KeyringPools calls GET /v1/keyring/pools.
func (c *Client) KeyringPools(ctx context.Context) ([]string, error) {
	var out KeyringPools
	err := c.do(ctx, http.MethodGet, "/v1/keyring/pools", &out)
	return out.Pools, err
}

// KeyringStatus calls GET /v1/keyring?pool=.
func (c *Client) KeyringStatus(ctx context.Context, pool string) (KeyringStatus, error) {
	var s KeyringStatus
	err := c.do(ctx, http.MethodGet, "/v1/keyring"+poolQuery(pool), &s)
	return s, err
}

// KeyringLookup calls GET /v1/keyring/consumers/{id}?pool=.
func (c *Client) KeyringLookup(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	var k KeyringKey
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/keyring/consumers/%d%s", consumer, poolQuery(pool)), &k)
	return k, err
}

// KeyringConnect calls POST /v1/keyring/consumers/{id}/connect?pool=.
func (c *Client) KeyringConnect(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	var k KeyringKey
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/consumers/%d/connect%s", consumer, poolQuery(pool)), &k)
	return k, err
}

// KeyringDisconnect calls POST /v1/keyring/consumers/{id}/disconnect?pool=.
func (c *Client) KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/consumers/%d/disconnect%s", consumer, poolQuery(pool)), &ConsumerResult{})
}

// KeyringRefill calls POST /v1/keyring/rings/{ring}/refill?pool=.
func (c *Client) KeyringRefill(ctx context.Context, pool string, ring int) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/rings/%d/refill%s", ring, poolQuery(pool)), &RingResult{})
}

// SyncImport calls POST /v1/sync/import with a key file.
func (c *Client) SyncImport(ctx context.Context, file []byte) (int, error) {
	var r SyncImport
	err := c.doBody(ctx, "/v1/sync/import", "application/octet-stream", file, &r)
	return r.Imported, err
}

// SyncRegister calls POST /v1/sync/register.
func (c *Client) SyncRegister(ctx context.Context, identity, app string) error {
	b, _ := json.Marshal(SyncRegister{Identity: identity, App: app})
	return c.doBody(ctx, "/v1/sync/register", "application/json", b, &SyncRegister{})
}

// SyncRequest calls POST /v1/sync/request.
func (c *Client) SyncRequest(ctx context.Context, identity, keyID, app string) (SyncBinding, error) {
	var out SyncBinding
	b, _ := json.Marshal(SyncRequest{Identity: identity, KeyID: keyID, App: app})
	err := c.doBody(ctx, "/v1/sync/request", "application/json", b, &out)
	return out, err
}

// SyncOutbox calls GET /v1/sync/outbox.
func (c *Client) SyncOutbox(ctx context.Context) ([]SyncPending, error) {
	var out outboxBody
	err := c.do(ctx, http.MethodGet, "/v1/sync/outbox", &out)
	return out.Outbox, err
}

// doBody is do for a POST with a body.
func (c *Client) doBody(ctx context.Context, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://otkd"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	return c.roundTrip(req, out)
}
