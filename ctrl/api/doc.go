// Package api is otkd's management API: HTTP/JSON over a unix socket,
// served by the daemon and used by otkctl.
//
// # Boundary
//
// The daemon implements Backend, its own routes; Server turns it into
// HTTP handlers; Client speaks the same protocol from the other side and
// itself implements Backend, so a tool written against Backend works
// in-process and remotely. Each feature of the daemon (the keyring, key
// sync, custody: ctrl/keymgmt/*/…svc) owns its routes, types and client
// and mounts them through a Router (ServerOptions.Routes); it answers with
// the same errors (Errorf and the sentinels below) and reads the same
// shared parameters (PoolParam, RequestBody).
// Neither side logs key bytes or puts them on the wire: key records travel as
// KeyInfo, which has metadata and an SM3 fingerprint only.
//
// # Routes
//
//	GET  /v1/status                 Status
//	GET  /v1/links                  {"links": [Link, ...]}
//	GET  /v1/keys                   {"keys": [KeyInfo, ...]}
//	POST /v1/ports/{name}/negotiate force a new seed on port name now    → 202 ActionResult
//	POST /v1/ports/{name}/rotate    switch port name to its next key now → 202 ActionResult
//	POST /v1/store/verify           StoreReport (200 whether or not it found problems)
//
// A POST body is optional; when present it must be the JSON object {} (no
// operation takes parameters yet) and at most ServerOptions.MaxBodyBytes.
//
// # Errors
//
// Every failure is a JSON object {"error": "...", "code": "..."} (ErrorBody)
// with one of these codes:
//
//	400 bad_request         a malformed port name
//	400 malformed_body      the body is not the JSON object {}
//	403 forbidden           a write from a uid not in ServerOptions.WriteUIDs, or with no peer credentials
//	404 not_found           no such route
//	404 unknown_port        the backend has no such port (ErrUnknownPort)
//	405 method_not_allowed  the route exists under another method (the Allow header names it)
//	409 conflict            the backend cannot do it in its present state (ErrConflict)
//	413 body_too_large      the body exceeds the limit
//	503 unavailable         the backend is starting or stopping (ErrUnavailable)
//	504 timeout             the backend did not answer within ServerOptions.Timeout
//	500 internal            anything else
//
// Client returns these as *APIError, which unwraps to the matching sentinel
// (ErrUnknownPort, ErrForbidden, ...) so that callers can use errors.Is. A
// socket nobody listens on gives an error that unwraps to ErrUnreachable.
//
// # Access control
//
// Listen creates the socket with mode 0660 and an optional group: whoever
// can connect may read. Writes (every POST) also need the peer's uid, read
// with SO_PEERCRED when the connection is accepted, to be in
// ServerOptions.WriteUIDs (default: the daemon's own uid and root).
package api
