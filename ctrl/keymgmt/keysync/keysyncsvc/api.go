package keysyncsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/otkd/otkd/ctrl/api"
)

// Key sync's routes (docs/keysync.md):
//
//	POST /v1/sync/import    SyncImport: a vendor key file (raw bytes, at most MaxKeyFileBytes)
//	POST /v1/sync/register  SyncRegister: register a subscriber for an application
//	POST /v1/sync/request   SyncBinding: a device's request, bound and queued for its platform
//	GET  /v1/sync/outbox    {"outbox": [SyncPending, ...]}: the pushes not yet accepted
//	GET  /v1/sync/audit     SyncAudit: the audit log (audit.go)
//
// A malformed, foreign or tampered key file is 400 bad_request, a known key
// id 409 conflict, an unregistered identity 404; a daemon without [sync]
// answers 503 unavailable naming it.

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

// MaxKeyFileBytes bounds the body of POST /v1/sync/import (a key file is
// at most 16 MiB, docs/keysync.md).
const MaxKeyFileBytes = 16 << 20

// Backend is what the key-sync routes call: the Service of a running
// daemon, or a fake. Errors must never hold key material.
type Backend interface {
	// SyncImport imports a vendor key file, all keys or none; a
	// malformed, foreign or tampered file is api.ErrBadRequest, a known
	// key id api.ErrConflict.
	SyncImport(ctx context.Context, file []byte) (int, error)
	// SyncRegister registers identity for app.
	SyncRegister(ctx context.Context, identity, app string) error
	// SyncRequest binds key keyID to identity (and app) and queues its
	// push.
	SyncRequest(ctx context.Context, identity, keyID, app string) (SyncBinding, error)
	// SyncOutbox lists the pushes not yet accepted, oldest first.
	SyncOutbox(ctx context.Context) ([]SyncPending, error)
}

// errNoSync: a daemon without [sync].
var errNoSync = fmt.Errorf("%w: no key sync: set [sync] enabled = true in the configuration", api.ErrUnavailable)

// Routes adds key sync's routes to r, served by b; a nil b answers 503.
// b may also be an AuditBackend.
func Routes(r *api.Router, b Backend) {
	h := handlers{b}
	r.RouteBody("/v1/sync/import", MaxKeyFileBytes, h.syncImport)
	r.RouteBody("/v1/sync/register", 0, h.syncRegister)
	r.RouteBody("/v1/sync/request", 0, h.syncRequest)
	r.Route("/v1/sync/outbox", http.MethodGet, h.syncOutbox)
	r.Route("/v1/sync/audit", http.MethodGet, h.syncAudit)
}

type handlers struct{ b Backend }

func (h handlers) syncImport(ctx context.Context, _ *http.Request) (int, any, error) {
	if h.b == nil {
		return 0, nil, errNoSync
	}
	file := api.RequestBody(ctx)
	if len(file) == 0 {
		return 0, nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "empty key file")
	}
	n, err := h.b.SyncImport(ctx, file)
	return http.StatusOK, SyncImport{Imported: n}, err
}

func (h handlers) syncRegister(ctx context.Context, _ *http.Request) (int, any, error) {
	var req SyncRegister
	if err := api.DecodeBody(ctx, &req); err != nil {
		return 0, nil, err
	}
	if h.b == nil {
		return 0, nil, errNoSync
	}
	if err := h.b.SyncRegister(ctx, req.Identity, req.App); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, req, nil
}

func (h handlers) syncRequest(ctx context.Context, _ *http.Request) (int, any, error) {
	var req SyncRequest
	if err := api.DecodeBody(ctx, &req); err != nil {
		return 0, nil, err
	}
	if h.b == nil {
		return 0, nil, errNoSync
	}
	b, err := h.b.SyncRequest(ctx, req.Identity, req.KeyID, req.App)
	return http.StatusOK, b, err
}

// outboxBody is the envelope of GET /v1/sync/outbox.
type outboxBody struct {
	Outbox []SyncPending `json:"outbox"`
}

func (h handlers) syncOutbox(ctx context.Context, _ *http.Request) (int, any, error) {
	if h.b == nil {
		return 0, nil, errNoSync
	}
	p, err := h.b.SyncOutbox(ctx)
	if p == nil {
		p = []SyncPending{}
	}
	return http.StatusOK, outboxBody{Outbox: p}, err
}

// Client calls the key-sync routes of a daemon.
type Client struct{ c *api.Client }

// NewClient returns a client on c's connection.
func NewClient(c *api.Client) *Client { return &Client{c} }

var _ Backend = (*Client)(nil)

// SyncImport calls POST /v1/sync/import with a key file.
func (c *Client) SyncImport(ctx context.Context, file []byte) (int, error) {
	var r SyncImport
	err := c.c.DoBody(ctx, "/v1/sync/import", "application/octet-stream", file, &r)
	return r.Imported, err
}

// SyncRegister calls POST /v1/sync/register.
func (c *Client) SyncRegister(ctx context.Context, identity, app string) error {
	b, _ := json.Marshal(SyncRegister{Identity: identity, App: app})
	return c.c.DoBody(ctx, "/v1/sync/register", "application/json", b, &SyncRegister{})
}

// SyncRequest calls POST /v1/sync/request.
func (c *Client) SyncRequest(ctx context.Context, identity, keyID, app string) (SyncBinding, error) {
	var out SyncBinding
	b, _ := json.Marshal(SyncRequest{Identity: identity, KeyID: keyID, App: app})
	err := c.c.DoBody(ctx, "/v1/sync/request", "application/json", b, &out)
	return out, err
}

// SyncOutbox calls GET /v1/sync/outbox.
func (c *Client) SyncOutbox(ctx context.Context) ([]SyncPending, error) {
	var out outboxBody
	err := c.c.Do(ctx, http.MethodGet, "/v1/sync/outbox", &out)
	return out.Outbox, err
}
