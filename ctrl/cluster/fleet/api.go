package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/otkd/otkd/ctrl/api"
)

// The fleet's route:
//
//	GET /v1/fleet[?stale_after=DURATION]   View: every node and link, stale ones marked
//
// stale_after (a Go duration, 1s..30d) replaces the ports' seed_timeout as
// the threshold; a daemon whose controller store is not etcd answers 503.

// Backend is what the route calls: the Service of a running daemon, or a
// fake.
type Backend interface {
	Fleet(ctx context.Context, staleAfter time.Duration) (View, error)
}

var errNoFleet = fmt.Errorf("%w: no fleet: the fleet lives in etcd, set [controller] store = \"etcd\"", api.ErrUnavailable)

// MaxStaleAfter bounds stale_after.
const MaxStaleAfter = 30 * 24 * time.Hour

// Routes adds the fleet's route to r, served by b.
func Routes(r *api.Router, b Backend) {
	r.Route("/v1/fleet", http.MethodGet, func(ctx context.Context, req *http.Request) (int, any, error) {
		q := req.URL.Query()
		for name, vals := range q {
			if name != "stale_after" || len(vals) != 1 {
				return 0, nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "query parameter %q: want stale_after=DURATION once", name)
			}
		}
		var after time.Duration
		if s := q.Get("stale_after"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < time.Second || d > MaxStaleAfter {
				return 0, nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "stale_after %q: want a Go duration from 1s to %v", s, MaxStaleAfter)
			}
			after = d
		}
		v, err := b.Fleet(ctx, after)
		return http.StatusOK, v, err
	})
}

// Client calls the fleet's route of a daemon.
type Client struct{ c *api.Client }

// NewClient returns a client on c's connection.
func NewClient(c *api.Client) *Client { return &Client{c} }

// Fleet calls GET /v1/fleet; staleAfter 0 keeps the ports' seed timeouts.
func (c *Client) Fleet(ctx context.Context, staleAfter time.Duration) (View, error) {
	p := "/v1/fleet"
	if staleAfter > 0 {
		p += "?" + url.Values{"stale_after": {staleAfter.String()}}.Encode()
	}
	var v View
	err := c.c.Do(ctx, http.MethodGet, p, &v)
	return v, err
}
