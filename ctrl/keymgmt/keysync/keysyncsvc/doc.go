// Package keysyncsvc is key sync as a service of otkd run: the syncer of
// ctrl/keymgmt/keysync with its configuration section, its API routes and
// client. The daemon only composes it (ctrl/service). docs/keysync.md is
// the operator's document.
//
// # Keys
//
// [sync] is key sync to application platforms.
//
//	enabled          default false.
//	platforms        inline table: application id = "https://…" URL;
//	                 at least one when enabled.
//	ca_file          PEM roots that verify the platforms; required when
//	                 enabled.
//	cert_file        this node's PEM client certificate; required when
//	                 enabled.
//	key_file         its PEM private key, mode 0600 or 0400; required when
//	                 enabled.
//
// # What it runs
//
// The syncer on the controller store (buckets keysync.*), with the node's
// SM2 key as the envelope key of vendor key files, and its pusher
// (a supervised worker) that delivers bindings to the platforms over
// TLS 1.3 with the client certificate.
//
// # API
//
// api.go (import, register, request, outbox) and audit.go (the audit log,
// whose events are keysync.Event, the log's own records); Client calls
// them; Backend and AuditBackend are what they call.
package keysyncsvc
