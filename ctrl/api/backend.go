package api

import (
	"context"
	"errors"
)

// Backend is what the daemon provides to the API. Its methods are called
// from the server's connection goroutines, concurrently, so they must be
// safe for concurrent use. The context carries the request deadline.
//
// Errors travel to the client as their Error() text, so they must never hold
// key material. An error that wraps ErrUnknownPort, ErrConflict,
// ErrUnavailable, ErrBadRequest or ErrNotFound gets the matching status and
// code (see the package doc).
type Backend interface {
	// Status describes the daemon and summarises its ports.
	Status(ctx context.Context) (Status, error)
	// Links returns every port with its line, peer and counters.
	Links(ctx context.Context) ([]Link, error)
	// Keys describes every live key of the store (see KeyInfoFromShm).
	Keys(ctx context.Context) ([]KeyInfo, error)
	// Negotiate makes port start a new seed now instead of waiting for its
	// schedule.
	Negotiate(ctx context.Context, port string) error
	// Rotate makes port switch to its next session key now.
	Rotate(ctx context.Context, port string) error
	// VerifyStore checks that every persisted key decrypts and matches the
	// shm store. Problems it finds go into the report; the error is for
	// failing to check at all.
	VerifyStore(ctx context.Context) (StoreReport, error)

	// The keyring methods act on one consumer pool, named by pool; ""
	// names the only pool of a daemon with one (ResolvePool). An unknown
	// pool is ErrNotFound, "" with several pools ErrBadRequest, both
	// naming the pools; a daemon without pools answers ErrUnavailable.

	// KeyringPools lists the pools, in configuration order.
	KeyringPools(ctx context.Context) ([]string, error)
	// KeyringStatus describes a pool.
	KeyringStatus(ctx context.Context, pool string) (KeyringStatus, error)
	// KeyringConnect binds consumer to a key of the pool's current ring
	// (its existing key if it holds one). ErrConflict when the ring is
	// exhausted or not filled. A consumer id names one consumer per pool.
	KeyringConnect(ctx context.Context, pool string, consumer uint64) (KeyringKey, error)
	// KeyringDisconnect releases consumer's key (retired, never reused).
	// ErrNotFound for a consumer that holds none.
	KeyringDisconnect(ctx context.Context, pool string, consumer uint64) error
	// KeyringLookup returns consumer's key; ErrNotFound if it holds none.
	KeyringLookup(ctx context.Context, pool string, consumer uint64) (KeyringKey, error)
	// KeyringRefill refills ring now (ErrConflict while it has bindings
	// or is in use in its window).
	KeyringRefill(ctx context.Context, pool string, ring int) error

	// SyncImport imports a vendor key file, all keys or none; a malformed,
	// foreign or tampered file is ErrBadRequest, a known key id
	// ErrConflict.
	SyncImport(ctx context.Context, file []byte) (int, error)
	// SyncRegister registers identity for app.
	SyncRegister(ctx context.Context, identity, app string) error
	// SyncRequest binds key keyID to identity (and app) and queues its push.
	SyncRequest(ctx context.Context, identity, keyID, app string) (SyncBinding, error)
	// SyncOutbox lists the pushes not yet accepted, oldest first.
	SyncOutbox(ctx context.Context) ([]SyncPending, error)
}

// Sentinel errors. A Backend wraps the first three to choose a status; a
// Client returns *APIError values that unwrap to the sentinel of their code.
var (
	ErrUnknownPort = errors.New("unknown port")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("unavailable")
	ErrForbidden   = errors.New("forbidden")
	ErrBadRequest  = errors.New("bad request")
	ErrNotFound    = errors.New("not found")
	ErrTimeout     = errors.New("timeout")
	ErrInternal    = errors.New("internal error")
	// ErrUnreachable: nothing answers on the socket (no daemon, or a stale
	// socket file).
	ErrUnreachable = errors.New("cannot reach otkd")
	// ErrSocketInUse: Listen found a live daemon on the socket path.
	ErrSocketInUse = errors.New("socket in use")
)

// Error codes of ErrorBody.Code.
const (
	CodeBadRequest       = "bad_request"
	CodeMalformedBody    = "malformed_body"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeUnknownPort      = "unknown_port"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnavailable      = "unavailable"
	CodeTimeout          = "timeout"
	CodeInternal         = "internal"
)

// codeSentinel maps a code to the sentinel an *APIError unwraps to.
var codeSentinel = map[string]error{
	CodeBadRequest:       ErrBadRequest,
	CodeMalformedBody:    ErrBadRequest,
	CodeBodyTooLarge:     ErrBadRequest,
	CodeForbidden:        ErrForbidden,
	CodeNotFound:         ErrNotFound,
	CodeMethodNotAllowed: ErrNotFound,
	CodeUnknownPort:      ErrUnknownPort,
	CodeConflict:         ErrConflict,
	CodeUnavailable:      ErrUnavailable,
	CodeTimeout:          ErrTimeout,
	CodeInternal:         ErrInternal,
}

// APIError is an error response as the client sees it.
type APIError struct {
	Status  int    // HTTP status
	Code    string // ErrorBody.Code
	Message string // ErrorBody.Error
}

func (e *APIError) Error() string { return e.Message }

// Unwrap returns the sentinel of e.Code (nil for an unknown code).
func (e *APIError) Unwrap() error { return codeSentinel[e.Code] }
