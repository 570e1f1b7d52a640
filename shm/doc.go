// Package shm is otkd's shared-memory key store: one file (normally under
// /dev/shm) that the daemon writes and security plugins, in Go or C, read
// without locks. docs/shm.md documents the file byte by byte and how a
// plugin reads it; include/otkd_shm.h is the single-header C reader.
//
// # Roles
//
// One Writer per file, in the daemon: Create takes an exclusive flock on
// the file and holds it for the writer's whole life (a second writer gets a
// *LockedError naming the pid in the header). Any number of Readers, in any
// processes: Open maps the file read-only. Plugins import this package only;
// the encrypted on-disk store is the separate package shm/store (bbolt,
// SM4-GCM), which the daemon passes to Create as a Persister.
//
// # Contracts
//
//   - Reads never block, never allocate and never return a half-written key.
//     ActiveKey, KeyByID, Bound, Slot, Status and Config fill a caller-owned
//     struct from a consistent copy, copied with 64-bit atomic loads, or
//     return an error after a bounded number of tries (ErrBusy). There is no
//     lock and no wait in a read, only retries.
//   - Every region is a seqcount latch: two copies, each with its own 64-bit
//     sequence, written one after the other (odd while being written). A
//     reader uses whichever copy is stable, so a writer that dies in the
//     middle of an update (SIGKILL) leaves the last complete value readable.
//   - A lookup that fails (not found, or no stable copy) probes the writer:
//     a non-blocking shared flock on the reader's own descriptor succeeds
//     only if no process holds the writer's exclusive lock (the kernel drops
//     it when the writer dies). Then the error is ErrWriterGone, at once,
//     with no timeout involved. Successful reads do not probe: they return
//     the last complete key, which stays valid after the writer's death.
//   - Create validates an existing file (magic, version, header checksum,
//     every size and offset, slot count, generation against the store) and
//     replaces an incompatible one by renaming a new file over it, logging
//     why; it never truncates a mapped file (that would SIGBUS readers).
//     Readers of a replaced file see ErrWriterGone on their next failed
//     lookup and should Open again.
//   - On every start the writer bumps the generation and rewrites every slot
//     and the index from the Persister. A copy whose sequence a dead writer
//     left odd is rewritten in full before its sequence turns even.
//   - Retire deletes the key from the Persister, unlinks it from the index
//     and zeroises both copies of its slot. Key bytes never appear in errors
//     or logs: Key prints a fingerprint (first 8 bytes of SM3) instead, in
//     String, GoString, Format and LogValue. The writer mlocks the map and
//     both sides exclude it from core dumps where the kernel allows.
//   - Writer methods are safe for concurrent use; Reader methods too, except
//     Close.
//
// # Testing and the race detector
//
// The race detector does not see memory mapped from a file, so it can say
// nothing about the map. Torn-read safety is shown instead by cross-process
// stress tests: reader processes (the test binary re-executed) and a C
// reader built with gcc check a per-key checksum (crc64) and a per-key byte
// pattern on every read while the writer churns keys flat out. The seqlock
// logic itself also runs on ordinary heap memory, laid out like the file,
// with writer and readers as goroutines, so that `go test -race` checks it.
package shm
