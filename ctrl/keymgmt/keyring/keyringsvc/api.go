package keyringsvc

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/otkd/otkd/ctrl/api"
)

// The keyring's routes (docs/keyring.md): every one acts on one consumer
// pool, named by ?pool= ("" for the only pool of a daemon with one):
//
//	GET  /v1/keyring                           Status of the pool
//	GET  /v1/keyring/pools                     Pools
//	GET  /v1/keyring/consumers/{id}            Key: consumer id's key
//	POST /v1/keyring/consumers/{id}/connect    Key: bind consumer id to a key of the current ring
//	POST /v1/keyring/consumers/{id}/disconnect ConsumerResult: release its key
//	POST /v1/keyring/rings/{ring}/refill       RingResult: refill the ring now
//	GET  /v1/keyring/sync                      Sync: the sync with the other end (sync_api.go)
//
// An unknown consumer is 404 not_found, an exhausted or unfilled ring 409
// conflict, a bad pool name or consumer id 400 bad_request; a daemon
// without pools answers 503 unavailable naming [keyring].

// KeyringKey describes a consumer's keyring key: ids and validity, never
// the key bytes. Fingerprint is the key's id in the shared-memory store
// (16 hex digits), derived from the key bytes: both ends of a link report
// the same fingerprint for the same key.
type KeyringKey struct {
	Pool        string    `json:"pool"`
	Consumer    uint64    `json:"consumer,string"` // 64-bit ids are JSON strings (docs/keyring.md)
	Fingerprint string    `json:"fingerprint"`
	ID          uint64    `json:"id,string"` // the same, as the shm key id
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

// ConsumerResult is the answer of POST /v1/keyring/consumers/{id}/disconnect.
type ConsumerResult struct {
	Consumer uint64 `json:"consumer,string"`
	Action   string `json:"action"`
	Status   string `json:"status"`
}

// RingResult is the answer of POST /v1/keyring/rings/{ring}/refill.
type RingResult struct {
	Ring   int    `json:"ring"`
	Action string `json:"action"`
	Status string `json:"status"`
}

// Backend is what the keyring routes call: the Service of a running
// daemon, or a fake. The methods act on one consumer pool, named by pool;
// "" names the only pool of a daemon with one (api.ResolvePool). An
// unknown pool is api.ErrNotFound, "" with several pools
// api.ErrBadRequest, both naming the pools; without pools
// api.ErrUnavailable. Errors must never hold key material.
type Backend interface {
	// KeyringPools lists the pools, in configuration order.
	KeyringPools(ctx context.Context) ([]string, error)
	// KeyringStatus describes a pool.
	KeyringStatus(ctx context.Context, pool string) (KeyringStatus, error)
	// KeyringConnect binds consumer to a key of the pool's current ring
	// (its existing key if it holds one). api.ErrConflict when the ring is
	// exhausted or not filled. A consumer id names one consumer per pool.
	KeyringConnect(ctx context.Context, pool string, consumer uint64) (KeyringKey, error)
	// KeyringDisconnect releases consumer's key (retired, never reused).
	// api.ErrNotFound for a consumer that holds none.
	KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error
	// KeyringLookup returns consumer's key; api.ErrNotFound if it holds
	// none.
	KeyringLookup(ctx context.Context, pool string, consumer uint64) (KeyringKey, error)
	// KeyringRefill refills ring now (api.ErrConflict while it has
	// bindings or is in use in its window).
	KeyringRefill(ctx context.Context, pool string, ring int) error
}

// errNoKeyring: a daemon without pools.
var errNoKeyring = fmt.Errorf("%w: no keyring: set [keyring] enabled = true (or add [[keyring]] pools) in the configuration", api.ErrUnavailable)

// Routes adds the keyring's routes to r, served by b; a nil b (a daemon
// without pools) answers 503. b may also be a SyncBackend.
func Routes(r *api.Router, b Backend) {
	h := handlers{b}
	r.Route("/v1/keyring", http.MethodGet, h.status)
	r.Route("/v1/keyring/pools", http.MethodGet, h.pools)
	r.Route("/v1/keyring/consumers/{id}", http.MethodGet, h.consumerOp(Backend.KeyringLookup))
	r.Route("/v1/keyring/consumers/{id}/connect", http.MethodPost, h.consumerOp(Backend.KeyringConnect))
	r.Route("/v1/keyring/consumers/{id}/disconnect", http.MethodPost, h.disconnect)
	r.Route("/v1/keyring/rings/{ring}/refill", http.MethodPost, h.refill)
	r.Route("/v1/keyring/sync", http.MethodGet, h.sync)
}

type handlers struct{ b Backend }

func (h handlers) pools(ctx context.Context, _ *http.Request) (int, any, error) {
	if h.b == nil {
		return 0, nil, errNoKeyring
	}
	ps, err := h.b.KeyringPools(ctx)
	if ps == nil {
		ps = []string{}
	}
	return http.StatusOK, KeyringPools{Pools: ps}, err
}

func (h handlers) status(ctx context.Context, r *http.Request) (int, any, error) {
	pool, err := api.PoolParam(r)
	if err != nil {
		return 0, nil, err
	}
	if h.b == nil {
		return 0, nil, errNoKeyring
	}
	st, err := h.b.KeyringStatus(ctx, pool)
	if st.Rings == nil {
		st.Rings = []KeyringRing{}
	}
	return http.StatusOK, st, err
}

func consumerID(r *http.Request) (uint64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "consumer id %q: want a decimal integer 1..2^64-1", v)
	}
	return id, nil
}

// poolConsumer is the request's pool and consumer id.
func poolConsumer(r *http.Request) (string, uint64, error) {
	pool, err := api.PoolParam(r)
	if err != nil {
		return "", 0, err
	}
	id, err := consumerID(r)
	return pool, id, err
}

func (h handlers) consumerOp(fn func(Backend, context.Context, string, uint64) (KeyringKey, error)) api.Op {
	return func(ctx context.Context, r *http.Request) (int, any, error) {
		pool, id, err := poolConsumer(r)
		if err != nil {
			return 0, nil, err
		}
		if h.b == nil {
			return 0, nil, errNoKeyring
		}
		k, err := fn(h.b, ctx, pool, id)
		return http.StatusOK, k, err
	}
}

func (h handlers) disconnect(ctx context.Context, r *http.Request) (int, any, error) {
	pool, id, err := poolConsumer(r)
	if err != nil {
		return 0, nil, err
	}
	if h.b == nil {
		return 0, nil, errNoKeyring
	}
	if err := h.b.KeyringDisconnect(ctx, pool, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ConsumerResult{Consumer: id, Action: "disconnect", Status: "done"}, nil
}

func (h handlers) refill(ctx context.Context, r *http.Request) (int, any, error) {
	pool, err := api.PoolParam(r)
	if err != nil {
		return 0, nil, err
	}
	v := r.PathValue("ring")
	ring, err := strconv.Atoi(v)
	if err != nil || ring < 0 || ring > 255 {
		return 0, nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "ring %q: want an integer 0..255", v)
	}
	if h.b == nil {
		return 0, nil, errNoKeyring
	}
	if err := h.b.KeyringRefill(ctx, pool, ring); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RingResult{Ring: ring, Action: "refill", Status: "done"}, nil
}

// Client calls the keyring's routes of a daemon.
type Client struct{ c *api.Client }

// NewClient returns a client on c's connection.
func NewClient(c *api.Client) *Client { return &Client{c} }

var _ Backend = (*Client)(nil)

// KeyringPools calls GET /v1/keyring/pools.
func (c *Client) KeyringPools(ctx context.Context) ([]string, error) {
	var out KeyringPools
	err := c.c.Do(ctx, http.MethodGet, "/v1/keyring/pools", &out)
	return out.Pools, err
}

// KeyringStatus calls GET /v1/keyring?pool=.
func (c *Client) KeyringStatus(ctx context.Context, pool string) (KeyringStatus, error) {
	var s KeyringStatus
	err := c.c.Do(ctx, http.MethodGet, "/v1/keyring"+api.PoolQuery(pool), &s)
	return s, err
}

// KeyringLookup calls GET /v1/keyring/consumers/{id}?pool=.
func (c *Client) KeyringLookup(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	var k KeyringKey
	err := c.c.Do(ctx, http.MethodGet, fmt.Sprintf("/v1/keyring/consumers/%d%s", consumer, api.PoolQuery(pool)), &k)
	return k, err
}

// KeyringConnect calls POST /v1/keyring/consumers/{id}/connect?pool=.
func (c *Client) KeyringConnect(ctx context.Context, pool string, consumer uint64) (KeyringKey, error) {
	var k KeyringKey
	err := c.c.Do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/consumers/%d/connect%s", consumer, api.PoolQuery(pool)), &k)
	return k, err
}

// KeyringDisconnect calls POST /v1/keyring/consumers/{id}/disconnect?pool=.
func (c *Client) KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error {
	return c.c.Do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/consumers/%d/disconnect%s", consumer, api.PoolQuery(pool)), &ConsumerResult{})
}

// KeyringRefill calls POST /v1/keyring/rings/{ring}/refill?pool=.
func (c *Client) KeyringRefill(ctx context.Context, pool string, ring int) error {
	return c.c.Do(ctx, http.MethodPost, fmt.Sprintf("/v1/keyring/rings/%d/refill%s", ring, api.PoolQuery(pool)), &RingResult{})
}
