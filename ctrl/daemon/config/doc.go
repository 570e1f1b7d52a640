// Package config reads otkd's configuration file, the FILE of
// `otkd run --config FILE`.
//
// The file is TOML. Load reads it, fills in the defaults below, resolves
// relative paths against the file's directory and validates everything; a
// key the schema does not know is an error, as is a value of the wrong type.
// Every error names the file, the field (ports count from 0: "port[1].peer"
// is the second [[port]] table) and the reason, as a *FieldError; several are
// joined with errors.Join. Load only reads the file: it creates no file,
// socket or shared memory and does not open the key files, so the daemon
// can exit non-zero before touching anything. CheckFiles is the separate
// next step that stats the files the configuration names.
//
// examples/otkd-a.toml and examples/otkd-b.toml are the two ends of one link,
// written for one machine (127.0.0.1, different ports and paths).
//
// # Schema
//
// Keys without a default are required.
//
//	[node]
//	name         this node's name: 1..64 of [A-Za-z0-9._-], starting and
//	             ending with a letter or digit. Its SM2 user id in the
//	             handshake is "otkd:<name>".
//	private_key  path of its SM2 private key, PEM PKCS#8, unencrypted, mode
//	             0600 or 0400.
//
//	[[port]]     one table per port (one end of one link); at least one.
//	name             unique name, 1..32 of [a-z0-9-] ("--" and a leading or
//	                 trailing '-' are refused); used in logs, metrics, otkctl.
//	id               unique integer 0..65535: the port number of this port's
//	                 keys in the shared-memory store (what plugins look up).
//	role             "A" or "B". The other end of the link has the other
//	                 role; A sends direction 0 (A→B), B direction 1.
//	line             "udp" (default): one frame per datagram between local
//	                 and peer; "xdp": raw Ethernet over an AF_XDP socket on
//	                 interface (docs/lines.md). The simulated fibre
//	                 ("simfiber") joins two ends inside one process; it is
//	                 otkd demo's and the tests' line and is refused here. A
//	                 key of the other line is an error.
//	local            (udp) ip:port this port binds, e.g. "127.0.0.1:7400"; a literal
//	                 IP (0.0.0.0 or [::] bind every address) and a non-zero
//	                 port. Unique among the ports.
//	peer             (udp) ip:port of the other end, e.g. "127.0.0.1:7401"; a
//	                 unicast IP of local's family, not equal to local. Only
//	                 datagrams from it are accepted.
//	peer_name        the other end's [node] name (its user id is
//	                 "otkd:<peer_name>"); must differ from node.name.
//	peer_public_key  path of the other end's pinned SM2 public key, PEM PKIX,
//	                 not writable by group or others.
//	frame_rate       frames per second sent (TX pacing). Default 10000; 0
//	                 sends unpaced (as fast as the pipeline goes). OTU2 line
//	                 rate is 82025.
//	seed_timeout     a Go duration ≥ 1s: a port that made no seed in either
//	                 direction for this long is not healthy (otkctl status,
//	                 metrics, one log line). Default "5m".
//	client           the port's client, whose Ethernet frames the port
//	                 carries in its frames' payload (docs/client.md):
//	                 "tap:NAME", the TAP interface NAME (1..15 octets, no
//	                 '/', ':', '%' or white space), created when it does not
//	                 exist (it then lives as long as otkd) or attached when
//	                 it does; otkd brings it up and sets its MTU, the
//	                 operator gives it its addresses. Unique among the ports.
//	                 Default "" (no client: the frames carry a test pattern).
//	client_mtu       the client interface's MTU, 68..9600. Default 1500.
//	batch            (udp) frames per sendmmsg/recvmmsg system call, 0…64;
//	                 0 or 1 (default): one sendto/recvfrom per frame.
//	max_delay        (udp, batch > 1) the longest a frame waits in the send
//	                 batch, a Go duration in (0, 1s]. Default "200us".
//	interface        (xdp) the point-to-point Ethernet interface to the peer,
//	                 one port per interface; required.
//	queue            (xdp) its receive queue, 0…63. Default 0.
//	peer_mac         (xdp) the peer's unicast Ethernet address; required.
//	xdp_mode         (xdp) "auto" (default: zero-copy where the driver can,
//	                 else copy), "copy" or "zero-copy".
//	xdp_attach       (xdp) "auto" (default: in the driver, else generic),
//	                 "driver" or "generic".
//	workers          frame workers per direction, 1…64 (dataplane.Config.
//	                 Workers); 0 (default): half the CPUs the port may use
//	                 (its cpus, else the process's CPUs shared among the
//	                 ports), at least 1, at most 8.
//	cpus             CPUs the port's pipeline threads are pinned to, each
//	                 one this process may run on, listed once: the TX on
//	                 those at even positions, the RX on those at odd ones.
//	                 Default none (not pinned).
//
//	[noise]      the noise profile (noise.Profile); defaults from
//	             noise.DefaultProfile(). Both ends of a link should agree.
//	level0           soft level of bit 0. Default -1.
//	level1           soft level of bit 1, > level0. Default 1.
//	fibre_sigma      σ of the fibre noise the UDP receiver simulates, ≥ 0.
//	                 Default 0.3.
//	local_sigma_min  lower bound of the secret local noise σ, drawn per round
//	                 uniformly in [min, max]; > 0. Default 0.3.
//	local_sigma_max  upper bound, ≥ local_sigma_min. Default 0.8.
//	loss             probability that the simulated channel drops a frame, in
//	                 [0, 1). Default 0 (for tests of a lossy line).
//	burst            probability per frame of an error burst, in [0, 1].
//	                 Default 0.
//	burst_len        length of a burst in bytes, 1..65536 when burst > 0.
//	                 Default 32.
//
//	[negotiation]  the post-processing parameters (negotiation.Params) of
//	             both directions of every port; defaults from
//	             negotiation.DefaultParams(). Both ends of a link must use
//	             equal values: the responder rejects a seed whose bound does
//	             not hold with its own copy. The negotiation arrays are m = 496
//	             bits per round, fixed by the frame format.
//	n                counts per block, 512..16384. Default 4400.
//	alpha            guard band: counts within mean ± alpha·std are dropped;
//	                 0..3. Default 0.5.
//	epsilon          privacy-amplification distance from uniform, in
//	                 (0, 2^-64]. Default 2^-64 = 5.421010862427522e-20.
//	entropy_per_bit  min-entropy credited per kept bit, in (0, 1]. Default 0.5.
//	initial_qber     disagreement assumed before the first block, in
//	                 (0, 0.25]. Default 0.01.
//	target_failure   decoding failure probability aimed at per block, in
//	                 (0, 1). Default 0.001.
//	max_blocks       blocks accumulated in one seed attempt before it is
//	                 abandoned, 1..64. Default 16.
//	activation_margin  frames between the announcement of a key switch and
//	                 the frame where both ends switch, 1..1048576. Default 256.
//
//	[shm]        the shared-memory key store plugins read.
//	path             file of the store. Default "/dev/shm/otkd".
//	group            group owning it (name or gid) so that plugins in it can
//	                 read it; mode 0640. Default "" (the daemon's group).
//	slots            key slots, 1..65536. Default 1024.
//
//	[store]      the persistent key store.
//	path             bbolt file of the sealed keys. Default
//	                 "/var/lib/otkd/keys.db".
//	kek_file         key-encryption key (16 raw bytes or 32 hex digits), mode
//	                 exactly 0600. Default "/etc/otkd/kek".
//
//	[controller] the key-management services' store (ctrl/keymgmt/kstore).
//	store            bbolt file of the keyrings, key sync and custody, or
//	                 "etcd": the etcd cluster of [controller.etcd], shared
//	                 by the fleet's otkd (docs/cluster.md). Default
//	                 "/var/lib/otkd/controller.db".
//
//	[controller.etcd]  with store = "etcd" only (ctrl/cluster.Config).
//	endpoints        the members' client URLs: https, or http on a loopback
//	                 address only. Required.
//	ca_file, cert_file, key_file  the roots of the members' certificates,
//	                 this node's client certificate and key (mode 0600 or
//	                 0400); all three with https endpoints, none without.
//	prefix           where otkd's keys live: "/…/", the same on every otkd of
//	                 one fleet. Default "/otkd/".
//	dial_timeout, request_timeout  Go durations, 100ms..5m. Default "5s".
//	lease_ttl        the node's lease, whole seconds 2s..10m. Default "10s".
//	max_txn_ops      the members' --max-txn-ops, 16 or more. Default 128.
//
//	[keyring], [[keyring]], [sync], [mpc]  the key-management services'
//	             sections. Each feature owns its keys, defaults, rules and
//	             file checks and documents them in its package:
//	             ctrl/keymgmt/keyring/keyringsvc (consumer pools,
//	             docs/keyring.md), ctrl/keymgmt/keysync/keysyncsvc (key
//	             sync, docs/keysync.md), ctrl/keymgmt/mpc/mpcsvc (threshold
//	             custody, docs/mpc.md). Config holds them as Keyrings, Sync
//	             and MPC. All are off by default.
//
//	[api]        the management API (HTTP/JSON on a unix socket, mode 0660).
//	socket           path of the socket, at most 107 bytes. Default
//	                 "/run/otkd/otkd.sock".
//	group            group owning the socket. Default "" (the daemon's group).
//
//	[metrics]
//	listen           ip:port of the Prometheus text endpoint, e.g.
//	                 "127.0.0.1:9464". Default "" (off).
//
//	[log]
//	level            "debug", "info", "warn" or "error". Default "info".
//	format           "text" or "json". Default "text".
//	summary          how often each port logs one INFO line on what it did
//	                 since the last: seeds, key switches, frames, rejects,
//	                 disagreement, health (each seed and key has its own
//	                 line at "debug"). A duration of at least 1s, or "0" for
//	                 none. Default "1m".
//
// The paths node.private_key, port.peer_public_key, shm.path, store.path,
// store.kek_file, api.socket, controller.store and the paths of the
// key-management sections may be relative: they are relative to the
// directory of the configuration file. No two of them may name the same file.
//
// # Reload
//
// On SIGHUP the daemon loads the file again and calls ReloadableDiff: only
// log.level, log.format, log.summary and metrics.listen (see Reloadable) change in a
// running daemon; its ports and their clients keep running. A change to any
// other field is refused with an error naming it, and the daemon keeps its
// running configuration: ports, clients, keys, paths and sockets are bound
// at start, and the noise and negotiation
// parameters must change on both ends of a link at once, which a restart of
// both does.
package config
