// Package keyringsvc is the keyring as a service of otkd run: the consumer
// pools of ctrl/keymgmt/keyring, with their configuration section, their
// API routes and client, and their metrics. The daemon only composes it
// (ctrl/service): New from the file's tables, Start with the daemon's map,
// controller store, KEK and ports, one worker per pool, Routes, WriteMetrics
// and Stop. docs/keyring.md is the operator's document.
//
// # Keys
//
// [keyring] is one consumer pool of time-windowed keyrings; [[keyring]],
// one table per pool, for several pools (one per security plugin, say):
// the same keys, but enabled defaults to true and pool is required. Both
// ends of the link must agree.
//
//	enabled          default false ([keyring]) or true ([[keyring]]).
//	port             name of the [[port]] whose seeds fill the rings;
//	                 required when enabled. Pools may share a port.
//	pool             pool name: 1..32 of [a-z0-9-], not starting or ending
//	                 with '-', unique. Default "default" in [keyring];
//	                 required in [[keyring]]. Names the pool's store
//	                 buckets, so a [keyring] table (pool "default") and a
//	                 [[keyring]] table with pool = "default" share data.
//	shm_path         the pool's shared-memory map; default [shm] path. No
//	                 two enabled pools may share one.
//	shm_slots        slots of the pool's own map; default [shm] slots.
//	rings            R, 2..64. Default 2.
//	window           W, a Go duration of at least 1s. Default "1h" unless
//	                 schedule is given; not both.
//	schedule         file of expected sessions ("start end", RFC 3339) from
//	                 which W is computed (W = longest session / (R − 1));
//	                 the daemon's file check reads it.
//	keys_per_ring    K, both ends' halves, 2..65536. Default 64.
//
// Every map must hold every key that can be published in it at once
// (docs/shm.md, "Capacity"); Validate checks it with the rest of the file
// (service.Env), PlanOf again for a schedule.
//
// # What it runs
//
// Per pool a keyring on the controller store (buckets keyring/<pool>/),
// published in the daemon's map or the pool's own, filled from the A→B
// seeds of its port's link (the port's link.Sink), its binding changes
// carried to the peer as control message 0x08 naming the pool, and a worker
// that applies the peer's messages, resends what waits for an ack and
// refills the rings (service.go, sync.go). Consumer ids are those of the
// pool's map.
//
// # API
//
// The routes are in api.go (and sync_api.go); Client calls them; Backend is
// what they call (the Service, or a fake in tests). Metrics: metrics.go.
package keyringsvc
