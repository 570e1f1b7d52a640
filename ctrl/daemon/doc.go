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
// When a keyring pool ([keyring], or one or more [[keyring]] tables) or
// [sync] is enabled it also opens the controller store (ctrl/keymgmt/kstore, one
// migration list for every package in it; each pool in its own buckets),
// one keyring per consumer pool (ctrl/keymgmt/keyring: keys published through the
// daemon's shm writer or the pool's own map, seeds from the link
// controller of the pool's port, bindings carried to the peer as control
// message 0x08 naming the pool; pools may share a port and its link) and
// the key syncer (ctrl/keymgmt/keysync, the node's SM2 key as envelope key); see
// keymgmt.go. API calls on a keyring take the pool ("" is the only pool;
// with several, an error names them).
//
// With [mpc] enabled it also runs threshold custody (mpc.go): the cluster
// and operator endpoints, and the daemon's own exports (mpc_export.go):
// the seeds of every pool, or one pool's keyring state, encrypted to the
// cluster key, on request and every [mpc] backup_period (seeds).
//
// # Supervision
//
// Every worker (one per port: line + pipelines + controller; the API server;
// the metrics server; one keyring worker per pool and the sync pusher when
// enabled; the mpc endpoints and timers; the watchdog) runs under a
// supervisor that restarts
// it after an error or a panic, with exponential backoff (0.5 s doubling to
// 30 s, reset after a minute of good running), and counts the restarts
// (metric otkd_worker_restarts_total). A restarted port comes back on the
// null cipher and handshakes again with its peer; the keys it published
// stay in the store. The supervisor is otkd's own rather than
// github.com/thejerf/suture/v4: each worker backs off on its own and
// exponentially, the watchdog reads each worker's state, and shutdown is
// ordered by the daemon (supervise.go says why in detail).
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
// With Type=notify (github.com/coreos/go-systemd/v22) the daemon sends
// READY=1 once the API socket listens and every port worker has started,
// RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 on shutdown,
// and WATCHDOG=1 at half the WatchdogSec period only while it is healthy:
// no port stuck (its TX has sent no frame for 1000 frame periods, at least
// 3 s) and no worker failing (5 short runs in a row); see notify.go.
package daemon
