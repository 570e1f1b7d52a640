package api

import (
	"context"
	"errors"
)

// Backend is what the daemon itself provides to the API: the node, its
// ports and its key store. Each feature of the daemon (keyring, key sync,
// custody) adds its own routes with its own backend (ServerOptions.Routes,
// Router). Its methods are called
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
