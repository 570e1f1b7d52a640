// Package xdp is the AF_XDP line: it joins two otkd ports on two hosts
// over a point-to-point Ethernet link, with no IP or UDP in between. Each
// end attaches a small XDP program to its interface that steers otkd's
// Ethernet frames (EtherType 0x88B5, IEEE 802's first local experimental
// EtherType) into an AF_XDP socket on one receive queue; every other packet
// goes on to the kernel unchanged. A *Line implements the dataplane's Line
// contract, like the UDP line.
//
// # Contract
//
// Open (run in the interface's network namespace) loads and attaches the
// program with github.com/cilium/ebpf (written with its asm package, so
// the build needs no C compiler), opens the socket (package xsk) in
// zero-copy mode where the driver supports it and in copy mode otherwise
// (veth), with need-wakeup, and puts it in the program's XSKMAP. Send and
// Recv may run on two different goroutines, each on one at a time; Stats,
// String and Close are safe from any goroutine. Nothing on the Send and
// Recv paths allocates or takes a lock (two atomic adds per call mark it in
// progress for Close).
//
//   - Send cuts the frame into chunks of Config.ChunkSize bytes (default:
//     the MTU less the 16-byte chunk header: 12 chunks at MTU 1500), writes
//     them into free send frames of the UMEM, puts them on the TX ring and
//     wakes the kernel. It waits only while every send frame is in flight.
//     Pacing is the UDP line's (Config.FrameRate; package pace).
//   - Recv takes packets off the RX ring, rebuilds frames and delivers the
//     next whole one, with the soft samples of the channel model.
//   - Close detaches the program, closes the socket and unmaps the UMEM
//     after waiting for the Send or Recv in progress, which it wakes; they
//     and every later call return ErrClosed, which wraps net.ErrClosed.
//
// # Chunks and what faults do to them
//
// The layout of a chunk is in chunk.go and docs/lines.md: destination and
// source MAC, EtherType 0x88B5, magic "OT", version, chunk count, a 32-bit
// frame sequence number (the line's own, +1 per frame, random at start;
// not the frame's COUNT), chunk index, offset and length. The receiver
// takes a chunk only from Config.Peer to its own address and only in order:
// chunk i of frame s right after chunk i-1 of frame s, at the offset where
// that one ended. Hence:
//
//   - a lost chunk: its frame is dropped (Stats.Incomplete); a frame of
//     which nothing arrived is counted from the gap in sequence numbers
//     (Stats.Missed);
//   - a reordered chunk: its frame is dropped (Incomplete), the chunks of
//     that frame that follow are dropped (Stats.Stray);
//   - a duplicated chunk right after itself: skipped (Stats.DupChunks),
//     the frame survives; elsewhere it is a stray chunk;
//   - a whole frame whose sequence number is not newer than one delivered
//     (a repeat, or a frame overtaken on the way): dropped (Stats.Stale);
//   - a packet that is not a well-formed chunk: Stats.Malformed; from
//     another source or to another address: Stats.Foreign.
//
// So a delivered frame is made only of its own chunks, each once, and each
// frame is delivered at most once and in order. The line authenticates
// nothing (a raw Ethernet link is as open to forgery as UDP): the session
// keys do, above it, and whole-frame replay is the anti-replay filter's
// job.
//
// AF_XDP multi-buffer (XDP_USE_SG with an xdp.frags program) would carry a
// frame in one multi-buffer packet instead, but only on links whose MTU
// exceeds 16 830 bytes, which few NICs allow; chunks work on any MTU
// ≥ 82 bytes.
//
// # Channel model
//
// The receiver applies the UDP line's channel model to every rebuilt frame
// (package channel: soft samples from the received bits, the simulated
// fibre's noise, Profile.Loss and Burst, BitErrors), with the same
// Config.Profile, Seed and BitErrors fields; the same seed gives the same
// samples as the UDP line for the same frames.
//
// # Privileges and errors
//
// Open needs CAP_NET_ADMIN (attach XDP), CAP_BPF (or CAP_SYS_ADMIN on
// kernels before 5.8: the map and the program) and CAP_NET_RAW (the
// AF_XDP socket); the UMEM's pages are pinned (RLIMIT_MEMLOCK, or
// CAP_IPC_LOCK). Errors wrap ErrConfig (a bad field or an unknown
// interface), ErrUnsupported (no eBPF or AF_XDP in the kernel, no
// zero-copy where ModeZeroCopy asked for it) or ErrSetup (a missing
// privilege, another XDP program already on the interface: one line per
// interface, a queue the interface does not have), and name the step and
// the errno. The UDP line stays the default; this one is chosen
// explicitly.
package xdp
