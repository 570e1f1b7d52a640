// Package daemon is `otkd run`: it wires the configured ports (UDP lines,
// dataplane pipelines, link controllers), the shared-memory key store with
// its encrypted on-disk store, the management API and the metrics endpoint,
// and keeps them running.
//
// # Start-up
//
// New does everything that can fail because of the configuration or the
// host before anything is created: the configuration is validated (the
// caller loads it), file modes are checked, the SM2 identity and the pinned
// peer keys are read. Start then opens the store (bbolt, SM4-GCM under the
// KEK), creates or attaches the shm file (exclusive flock: a second daemon
// on the same file fails with a clear error) and listens on the API socket.
// When [keyring] or [sync] is enabled it also opens the controller store
// (ctrl/kstore, one migration list for every package in it), the keyring
// pool (ctrl/keyring: keys published through the shm writer, seeds from
// the configured port's link controller, bindings carried to the peer as
// control message 0x08) and the key syncer (ctrl/keysync, the node's SM2
// key as envelope key); see keymgmt.go.
//
// # Supervision
//
// Every worker (one per port: line + pipelines + controller; the API server;
// the metrics server; the keyring maintenance loop and the sync pusher when
// enabled; the watchdog) runs under a supervisor that restarts
// it after an error or a panic, with exponential backoff (0.5 s doubling to
// 30 s, reset after a minute of good running), and counts the restarts
// (metric otkd_worker_restarts_total). A restarted port comes back on the
// null cipher and handshakes again with its peer; the keys it published
// stay in the store.
//
// # Signals
//
// SIGTERM or SIGINT: each port finishes an in-flight key switch (at most
// one second), the workers stop, the store and the shm file are closed (the
// file stays for plugins: they see ErrWriterGone). SIGHUP reloads the
// configuration file: the log level and format and the metrics address
// change at once; any other change is refused with a log line naming the
// field (it needs a restart).
//
// # systemd
//
// With Type=notify the daemon sends READY=1 once the API socket listens and
// every port worker has started, STOPPING=1 on shutdown, and WATCHDOG=1 at
// half the WatchdogSec period while the supervisor is alive.
package daemon
