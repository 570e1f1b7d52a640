// Package mpcsvc is threshold custody as a service of otkd run: this
// node's part in the cluster of ctrl/keymgmt/mpc, with its configuration
// section, its API routes and client, its metrics, the operator endpoint
// and the daemon's own backups (exports of the keyring pools' seeds and
// state, whose format is format.go). The daemon only composes it
// (ctrl/service), handing it the keyring service as Keyrings.
// docs/mpc.md is the operator's document.
//
// # Keys
//
// [mpc] (Config): enabled, index, threshold, listen, operator_listen,
// cert_file, key_file, ca_file, operator_ca_file, refresh_period,
// backup_period, and the [[mpc.peer]] (name, address, public_key) and
// [[mpc.operator]] (name, totp_secret_file) tables; Config's fields say
// each key's rules and default. Off by default.
//
// # What it runs
//
// The node restored from the controller store (bucket "mpc"; backups in
// "mpc-backups"), the cluster endpoint (rounds and partial decryptions),
// the operator endpoint (recovery and the operator requests, two factors:
// operator.go), node 1's refresh timer and the backup timer (one loop,
// custody.every), each a supervised worker (service.go).
package mpcsvc
