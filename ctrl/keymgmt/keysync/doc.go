// Package keysync syncs keys from a vendor's key file to the application
// platforms of the devices that use them.
//
// # Flow
//
//	vendor key file ──Import──▶ keys (sealed at rest)
//	Register(identity, app) ──▶ subscribers
//	device: Request(identity, key id, app) ──▶ binding + outbox entry   (one transaction)
//	RunPusher ──mutual TLS 1.3 POST──▶ platform of app ──2xx──▶ binding delivered, entry gone
//
// Every import, registration, binding and push attempt appends an Event to
// the audit log in the same transaction as the change it records. Keys are
// named there by id and fingerprint (keys.FingerprintOf, the name otkd gives every key), never by their bytes.
//
// # Guarantees
//
// Import is all or nothing: a malformed file (ErrMalformed), a file for
// another node (ErrWrongRecipient), a damaged or forged envelope
// (ErrEnvelope) or a key id already imported (ErrDuplicateKey) stores
// nothing. A key is bound at most once; a repeated request from the same
// identity for the same application returns the first binding and queues
// nothing. An outbox entry is written with its binding and removed only
// after the platform answered 2xx, so a platform that is down, a restart or
// a crash loses nothing; every attempt carries the same idempotency key
// (IdempotencyHeader), so a platform that deduplicates applies it once even
// when an answer was lost and the push is repeated.
//
// # Transport
//
// Pushes use crypto/tls, TLS 1.3 only, with a client certificate per
// platform. The Go standard library has no SM2 cipher suites (TLCP, GB/T
// 38636); a platform that requires TLCP needs a TLCP-capable proxy between
// otkd and the platform.
//
// # Storage
//
// State lives in the controller store (ctrl/keymgmt/kstore), in buckets named
// keysync.*; keysync.meta holds the version of their layout. Requests go
// through kstore's Batch, so many devices asking at once share one fsync.
//
// The format of the key file, the push and the buckets is described in
// docs/keysync.md.
package keysync
