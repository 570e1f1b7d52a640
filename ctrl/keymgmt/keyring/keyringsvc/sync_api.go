package keyringsvc

import (
	"context"
	"fmt"
	"net/http"

	"github.com/otkd/otkd/ctrl/api"
)

// GET /v1/keyring/sync: the keyring's sync with the other end of the link
// (docs/keyring.md, "Delivery"): what waits for the peer's ack and what
// the peer's messages did here. Ids and counters only, never key bytes.

// KeyringSync is the answer of GET /v1/keyring/sync.
type KeyringSync struct {
	Pool string `json:"pool"`
	Side string `json:"side"` // "A" or "B"
	// Stream is this end's sync stream (hex), Acked the highest of its
	// messages the peer acknowledged, Pending how many wait for an ack.
	Stream  string `json:"stream"`
	Acked   uint64 `json:"acked"`
	Pending int    `json:"pending"`
	// PeerStream is the peer's stream (hex, "" before its first message)
	// and PeerHandled the highest of its messages handled here.
	PeerStream  string `json:"peer_stream"`
	PeerHandled uint64 `json:"peer_handled"`
	// Counters since the daemon started.
	PeerBinds      uint64 `json:"peer_binds"`
	PeerRejected   uint64 `json:"peer_rejected"`
	PeerDuplicates uint64 `json:"peer_duplicates"`
	PeerFills      uint64 `json:"peer_fills"`
	TieBreaks      uint64 `json:"tie_breaks"`
	Resent         uint64 `json:"resent"`
}

// KeyringSyncBackend is implemented by backends that run a keyring with a
// peer. A backend without it answers GET /v1/keyring/sync with 503.
type KeyringSyncBackend interface {
	KeyringSync(ctx context.Context, pool string) (KeyringSync, error)
}

func (h handlers) sync(ctx context.Context, r *http.Request) (int, any, error) {
	kb, ok := h.b.(KeyringSyncBackend)
	if !ok {
		return 0, nil, fmt.Errorf("%w: this daemon runs no keyring sync", api.ErrUnavailable)
	}
	pool, err := api.PoolParam(r)
	if err != nil {
		return 0, nil, err
	}
	ks, err := kb.KeyringSync(ctx, pool)
	return http.StatusOK, ks, err
}

// KeyringSync calls GET /v1/keyring/sync?pool=.
func (c *Client) KeyringSync(ctx context.Context, pool string) (KeyringSync, error) {
	var out KeyringSync
	err := c.c.Do(ctx, http.MethodGet, "/v1/keyring/sync"+api.PoolQuery(pool), &out)
	return out, err
}
