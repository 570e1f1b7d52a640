// Package daemon is `otkd run`: wiring and lifecycle. It builds the
// configured ports (ctrl/daemon/port: line, dataplane pipelines, link
// controller, client) and the key-management services (ctrl/service:
// keyringsvc, keysyncsvc, mpcsvc), opens the shared-memory key store with
// its encrypted on-disk store, serves the management API (its own routes:
// status, links, keys, negotiate, rotate, store verify; each service adds
// its own) and the metrics endpoint, and keeps everything running.
//
// # Start-up
//
// New does everything that can fail because of the configuration or the
// host before anything is created: the configuration is validated (the
// caller loads it), file modes are checked, the SM2 identity and the pinned
// peer keys are read, and each enabled service checks what it names
// (Service.Check: a keyring schedule's plan, say). Start then opens the
// store (bbolt, SM4-GCM under the KEK), creates or attaches the shm file
// (exclusive flock: a second daemon on the same file fails with a clear
// error), opens the ports' clients and starts the services with a
// service.Host: the daemon's map, the controller store (ctrl/keymgmt/kstore,
// opened by the first service that asks, one migration list for every
// package in it), the KEK file, the node's identity and the ports (a
// service subscribes a link.Sink to a port's controller and sends on its
// keyring channel). Run listens on the API socket and starts the workers.
//
// # Supervision
//
// Every worker (one per port: line + pipelines + controller, and its
// client; the API server; the metrics server; each service's workers: one
// per keyring pool, the sync pusher, the mpc endpoints and timers) runs
// under a supervisor that restarts it after an error or a panic, with exponential backoff (0.5 s doubling to
// 30 s, reset after a minute of good running), and counts the restarts
// (metric otkd_worker_restarts_total). A restarted port comes back on the
// null cipher and handshakes again with its peer; the keys it published
// stay in the store. The supervisor is otkd's own rather than
// github.com/thejerf/suture/v4: each worker backs off on its own and
// exponentially, the watchdog reads each worker's state, and shutdown is
// ordered by the daemon (supervise.go says why in detail).
//
// # Metrics and logs
//
// [metrics] listen serves /metrics through
// github.com/prometheus/client_golang: the Go runtime's and the process's
// collectors, and one collector per writer of otkd's families (each port,
// the daemon, each service; service.Metrics), which reads its counters at
// scrape time. The daemon's own families say what it is
// (otkd_build_info), how its shm map looks to a plugin (generation, writer
// alive, heartbeat, an active key per port and direction) and how often
// the supervisor restarted each worker; docs/metrics.md lists them all.
// At INFO each port logs one summary line every [log] summary (default a
// minute): seeds, key switches, frames, rejects, disagreement, health; a
// line per seed and per key is DEBUG.
//
// # Signals
//
// SIGTERM or SIGINT: each port finishes an in-flight key switch (at most
// one second), the workers stop, the store and the shm file are closed (the
// file stays for plugins: they see ErrWriterGone). SIGHUP reloads the
// configuration file: the log level, format and summary interval and the
// metrics address change at once; any other change is refused with a log line naming the
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
