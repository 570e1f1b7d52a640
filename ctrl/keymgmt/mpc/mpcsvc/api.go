package mpcsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/otkd/otkd/ctrl/api"
)

// The custody routes (docs/mpc.md, "Commands"):
//
//	GET  /v1/mpc                      MPCStatus
//	POST /v1/mpc/init, /v1/mpc/refresh MPCRound (the daemon refuses both here: operator requests)
//	GET  /v1/mpc/peers                {"peers": [MPCPeerState, ...]}
//	GET  /v1/mpc/backups              {"backups": [MPCBackup, ...]}
//	POST /v1/mpc/backups?label=       MPCBackup: the body encrypted to the cluster key and stored
//	POST /v1/mpc/export?what=&pool=&label=  MPCBackup: the daemon's own seeds or keyring state
//	GET  /v1/mpc/backups/{id}         MPCBackup with its ciphertext
//	POST /v1/mpc/backups/{id}/delete  MPCBackupResult (an operator request)
//
// A daemon without [mpc] answers them 503 naming it.

// MPCBackend is what the custody routes call: the Service of a running
// daemon, or a fake. Its methods must be safe for concurrent use and their
// errors must never hold key material.
type MPCBackend interface {
	// MPCStatus describes this node's part in the custody cluster.
	MPCStatus(ctx context.Context) (MPCStatus, error)
	// MPCInit coordinates the key generation of the cluster (every node
	// must be up); ErrConflict when this node already holds a share.
	MPCInit(ctx context.Context) (MPCRound, error)
	// MPCRefresh coordinates a proactive refresh (every node must be up);
	// ErrConflict before key generation.
	MPCRefresh(ctx context.Context) (MPCRound, error)
	// MPCBackup encrypts data to the cluster key, stores the ciphertext and
	// describes it (without the ciphertext).
	MPCBackup(ctx context.Context, label string, data []byte) (MPCBackup, error)
	// MPCExport backs up what the daemon itself holds: what is "seeds"
	// (the seeds of every keyring pool) or "keyring" (the state of the
	// keyring of pool; "" names the only pool, as ResolvePool), encoded as
	// an export (Export, docs/mpc.md), encrypted and stored like
	// MPCBackup; label "" names it after what, the node (and the pool when
	// there are several). A seeds export takes no pool (ErrBadRequest).
	// ErrConflict when there is nothing of that kind to export.
	MPCExport(ctx context.Context, what, pool, label string) (MPCBackup, error)
	// MPCBackups lists the stored backups, oldest first, without their
	// ciphertexts.
	MPCBackups(ctx context.Context) ([]MPCBackup, error)
	// MPCBackupGet returns one backup with its ciphertext; ErrNotFound for
	// an unknown id.
	MPCBackupGet(ctx context.Context, id string) (MPCBackup, error)
	// MPCBackupDelete removes a stored backup (copies of its ciphertext
	// elsewhere stay recoverable); ErrNotFound for an unknown id.
	MPCBackupDelete(ctx context.Context, id string) error
	// MPCPeers asks every node of the cluster for its epoch and cluster key.
	MPCPeers(ctx context.Context) ([]MPCPeerState, error)
}

// MPCPeerState is one node in GET /v1/mpc/peers: what it answered on its
// cluster endpoint.
type MPCPeerState struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Reachable  bool   `json:"reachable"`
	Epoch      uint64 `json:"epoch"`                 // 0: no key yet (or unreachable)
	ClusterKey string `json:"cluster_key,omitempty"` // fingerprint
	Error      string `json:"error,omitempty"`       // why it did not answer
}

// MPCStatus is the answer of GET /v1/mpc. Keys appear as fingerprints only:
// the first 8 bytes of SM3 over the key's encoding, in hex.
type MPCStatus struct {
	Index     int    `json:"index"`
	Threshold int    `json:"threshold"`
	Nodes     int    `json:"nodes"`
	Epoch     uint64 `json:"epoch"` // 0 before key generation
	// ClusterKey is the fingerprint of the cluster's SM2 public key ("" before
	// key generation); equal on every node of the cluster.
	ClusterKey           string    `json:"cluster_key,omitempty"`
	NodeKey              string    `json:"node_key"` // fingerprint of this node's SM2 key
	Listen               string    `json:"listen"`
	OperatorListen       string    `json:"operator_listen,omitempty"`
	RefreshPeriodSeconds float64   `json:"refresh_period_seconds"` // 0: no timer on this node
	LastRound            time.Time `json:"last_round,omitzero"`    // last round this node coordinated
	LastRoundError       string    `json:"last_round_error,omitempty"`
	Backups              int       `json:"backups"`
	Peers                []MPCPeer `json:"peers"`
}

// MPCPeer is one node of the cluster in MPCStatus.
type MPCPeer struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Address string `json:"address"`
	NodeKey string `json:"node_key"` // fingerprint of its SM2 key
	Self    bool   `json:"self,omitempty"`
}

// MPCRound is the answer of POST /v1/mpc/init and /v1/mpc/refresh.
type MPCRound struct {
	Kind       string `json:"kind"` // "keygen" or "refresh"
	Epoch      uint64 `json:"epoch"`
	ClusterKey string `json:"cluster_key"`
	Qualified  []int  `json:"qualified"`           // dealers whose dealings count
	CaughtUp   []int  `json:"caught_up,omitempty"` // nodes handed a missed commit first
}

// MPCBackup describes a stored backup. Fingerprint is that of the
// plaintext (first 8 bytes of SM3 over a label and the plaintext, in hex):
// it lets an operator check a recovered secret without printing it.
// Ciphertext (base64 in JSON) is set only by GET /v1/mpc/backups/{id}; it
// is the SM2 ciphertext to the cluster key, safe to copy anywhere.
type MPCBackup struct {
	ID          string    `json:"id"`
	Label       string    `json:"label,omitempty"`
	Created     time.Time `json:"created"`
	Epoch       uint64    `json:"epoch"` // the cluster's epoch when it was made
	Size        int       `json:"size"`  // plaintext bytes
	Fingerprint string    `json:"fingerprint"`
	Ciphertext  []byte    `json:"ciphertext,omitempty"`
}

// MaxMPCBackupBytes bounds a backup's plaintext: its ciphertext (97 bytes
// more) must fit the 64 KiB the recovery endpoint accepts.
const MaxMPCBackupBytes = 64<<10 - 97

// MaxMPCLabel bounds a backup label.
const MaxMPCLabel = 64

var (
	mpcLabelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	mpcIDRE    = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// CheckMPCLabel checks a backup label: "" or up to 64 of [A-Za-z0-9._-],
// starting with a letter or digit.
func CheckMPCLabel(l string) error {
	if l != "" && (len(l) > MaxMPCLabel || !mpcLabelRE.MatchString(l)) {
		return fmt.Errorf("%w: label %q: want up to %d of [A-Za-z0-9._-], starting with a letter or digit", api.ErrBadRequest, l, MaxMPCLabel)
	}
	return nil
}

var errNoMPC = fmt.Errorf("%w: this otkd runs no threshold custody: set [mpc] enabled = true in the configuration", api.ErrUnavailable)

// Routes adds the custody routes to r, served by b; a nil b (no [mpc])
// answers 503.
func Routes(r *api.Router, b MPCBackend) {
	s := handlers{b}
	r.Route("/v1/mpc", http.MethodGet, s.mpcOp(func(ctx context.Context, b MPCBackend, _ *http.Request) (any, error) {
		st, err := b.MPCStatus(ctx)
		if st.Peers == nil {
			st.Peers = []MPCPeer{}
		}
		return st, err
	}))
	r.Route("/v1/mpc/init", http.MethodPost, s.mpcOp(func(ctx context.Context, b MPCBackend, _ *http.Request) (any, error) {
		return b.MPCInit(ctx)
	}))
	r.Route("/v1/mpc/refresh", http.MethodPost, s.mpcOp(func(ctx context.Context, b MPCBackend, _ *http.Request) (any, error) {
		return b.MPCRefresh(ctx)
	}))
	r.Route("/v1/mpc/peers", http.MethodGet, s.mpcOp(func(ctx context.Context, b MPCBackend, _ *http.Request) (any, error) {
		l, err := b.MPCPeers(ctx)
		if l == nil {
			l = []MPCPeerState{}
		}
		return mpcPeersBody{Peers: l}, err
	}))
	r.Route("GET /v1/mpc/backups", http.MethodGet, s.mpcOp(func(ctx context.Context, b MPCBackend, _ *http.Request) (any, error) {
		l, err := b.MPCBackups(ctx)
		if l == nil {
			l = []MPCBackup{}
		}
		return mpcBackupsBody{Backups: l}, err
	}))
	r.RouteBody("POST /v1/mpc/backups", MaxMPCBackupBytes, s.mpcOp(func(ctx context.Context, b MPCBackend, r *http.Request) (any, error) {
		label := r.URL.Query().Get("label")
		if err := CheckMPCLabel(label); err != nil {
			return nil, err
		}
		data := api.RequestBody(ctx)
		if len(data) == 0 {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "empty backup")
		}
		return b.MPCBackup(ctx, label, data)
	}))
	r.Route("/v1/mpc/export", http.MethodPost, s.mpcOp(func(ctx context.Context, b MPCBackend, r *http.Request) (any, error) {
		what, label := r.URL.Query().Get("what"), r.URL.Query().Get("label")
		if what != "seeds" && what != "keyring" {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "export %q: want what=seeds or what=keyring", what)
		}
		if err := CheckMPCLabel(label); err != nil {
			return nil, err
		}
		pool, err := api.PoolParam(r)
		if err != nil {
			return nil, err
		}
		if what == "seeds" && pool != "" {
			return nil, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "export seeds: pool %q given, but a seeds export holds the seeds of every pool (pool= is for what=keyring)", pool)
		}
		return b.MPCExport(ctx, what, pool, label)
	}))
	r.Route("/v1/mpc/backups/{id}", http.MethodGet, s.mpcOp(func(ctx context.Context, b MPCBackend, r *http.Request) (any, error) {
		id, err := backupID(r)
		if err != nil {
			return nil, err
		}
		return b.MPCBackupGet(ctx, id)
	}))
	r.Route("/v1/mpc/backups/{id}/delete", http.MethodPost, s.mpcOp(func(ctx context.Context, b MPCBackend, r *http.Request) (any, error) {
		id, err := backupID(r)
		if err != nil {
			return nil, err
		}
		if err := b.MPCBackupDelete(ctx, id); err != nil {
			return nil, err
		}
		return MPCBackupResult{ID: id, Action: "delete", Status: "done"}, nil
	}))
}

func backupID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !mpcIDRE.MatchString(id) {
		return "", api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "backup id %q: want 16 hex digits", id)
	}
	return id, nil
}

// MPCBackupResult is the answer of POST /v1/mpc/backups/{id}/delete.
type MPCBackupResult struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Status string `json:"status"`
}

type handlers struct{ b MPCBackend }

// mpcOp adapts an MPC call to an api.Op: 503 when the daemon has no MPC
// (an api.ErrForbidden answers 403, as on every route).
func (s handlers) mpcOp(fn func(context.Context, MPCBackend, *http.Request) (any, error)) api.Op {
	return func(ctx context.Context, r *http.Request) (int, any, error) {
		if s.b == nil {
			return 0, nil, errNoMPC
		}
		out, err := fn(ctx, s.b, r)
		return http.StatusOK, out, err
	}
}

// mpcPeersBody is the envelope of GET /v1/mpc/peers.
type mpcPeersBody struct {
	Peers []MPCPeerState `json:"peers"`
}

// MPCPeers calls GET /v1/mpc/peers.
func (c *Client) MPCPeers(ctx context.Context) ([]MPCPeerState, error) {
	var b mpcPeersBody
	err := c.c.Do(ctx, http.MethodGet, "/v1/mpc/peers", &b)
	return b.Peers, err
}

// mpcBackupsBody is the envelope of GET /v1/mpc/backups.
type mpcBackupsBody struct {
	Backups []MPCBackup `json:"backups"`
}

// Client calls the custody routes of a daemon.
type Client struct{ c *api.Client }

// NewClient returns a client on c's connection.
func NewClient(c *api.Client) *Client { return &Client{c} }

var _ MPCBackend = (*Client)(nil)

// MPCStatus calls GET /v1/mpc.
func (c *Client) MPCStatus(ctx context.Context) (MPCStatus, error) {
	var s MPCStatus
	err := c.c.Do(ctx, http.MethodGet, "/v1/mpc", &s)
	return s, err
}

// MPCInit calls POST /v1/mpc/init.
func (c *Client) MPCInit(ctx context.Context) (MPCRound, error) {
	var r MPCRound
	err := c.c.Do(ctx, http.MethodPost, "/v1/mpc/init", &r)
	return r, err
}

// MPCRefresh calls POST /v1/mpc/refresh.
func (c *Client) MPCRefresh(ctx context.Context) (MPCRound, error) {
	var r MPCRound
	err := c.c.Do(ctx, http.MethodPost, "/v1/mpc/refresh", &r)
	return r, err
}

// MPCBackup calls POST /v1/mpc/backups with data as the body.
func (c *Client) MPCBackup(ctx context.Context, label string, data []byte) (MPCBackup, error) {
	var b MPCBackup
	err := c.c.DoBody(ctx, "/v1/mpc/backups?label="+url.QueryEscape(label), "application/octet-stream", data, &b)
	return b, err
}

// MPCExport calls POST /v1/mpc/export (pool "" sends no pool=).
func (c *Client) MPCExport(ctx context.Context, what, pool, label string) (MPCBackup, error) {
	var b MPCBackup
	q := url.Values{"what": {what}, "label": {label}}
	if pool != "" {
		q.Set("pool", pool)
	}
	err := c.c.Do(ctx, http.MethodPost, "/v1/mpc/export?"+q.Encode(), &b)
	return b, err
}

// MPCBackups calls GET /v1/mpc/backups.
func (c *Client) MPCBackups(ctx context.Context) ([]MPCBackup, error) {
	var b mpcBackupsBody
	err := c.c.Do(ctx, http.MethodGet, "/v1/mpc/backups", &b)
	return b.Backups, err
}

// MPCBackupDelete calls POST /v1/mpc/backups/{id}/delete.
func (c *Client) MPCBackupDelete(ctx context.Context, id string) error {
	return c.c.Do(ctx, http.MethodPost, "/v1/mpc/backups/"+url.PathEscape(id)+"/delete", &MPCBackupResult{})
}

// MPCBackupGet calls GET /v1/mpc/backups/{id}.
func (c *Client) MPCBackupGet(ctx context.Context, id string) (MPCBackup, error) {
	var b MPCBackup
	err := c.c.Do(ctx, http.MethodGet, "/v1/mpc/backups/"+url.PathEscape(id), &b)
	return b, err
}
