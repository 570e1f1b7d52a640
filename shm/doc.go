// Package shm is otkd's shared-memory key store: one file (normally under
// /dev/shm) that the daemon writes and security plugins, in Go or C, read
// without locks. docs/shm.md documents the file byte by byte and how a
// plugin reads it; include/otkd_shm.h is the single-header C reader.
//
// # Roles
//
// One Writer per file, in the daemon: Create takes an exclusive flock on a
// lock file beside the map (path + ".lock", mode 0600, which readers cannot
// open) and an OFD write lock on bytes 0..7 of the map (liveness), and holds
// both for the writer's whole life (a second writer gets a *LockedError
// naming the pid that holds the lock file). Any number of Readers, in any
// processes: Open maps the file read-only. Plugins import this package only;
// the encrypted on-disk store is the separate package shm/store (bbolt,
// SM4-GCM), which the daemon passes to Create as a Persister.
//
// # Contracts
//
//   - Reads never block, never allocate and never return a half-written or
//     damaged key. ActiveKey, KeyByID, Bound, Slot, Status and Config fill a
//     caller-owned struct from a consistent copy, copied with 64-bit atomic
//     loads, or return an error after a bounded number of tries (ErrBusy).
//     Every key record is checked before it is returned (length 1..64,
//     crc64); one that fails is treated like a torn copy and, if it keeps
//     failing, the read ends in ErrChecksum with the caller's key zeroed.
//     There is no lock and no wait in a read, only retries.
//   - Every region is a seqcount latch: two copies, each with its own 64-bit
//     sequence, written one after the other (odd while being written). A
//     reader uses whichever copy is stable, so a writer that dies in the
//     middle of an update (SIGKILL) leaves the last complete value readable.
//   - A lookup that fails (not found, or no stable copy) probes the writer:
//     F_OFD_GETLK on the reader's own descriptor asks whether anyone holds
//     the writer's liveness lock (the kernel drops it when the writer dies);
//     it never takes a lock, so no reader can keep a writer from starting.
//     If none, the error is ErrWriterGone, at once, with no timeout
//     involved. Successful reads do not probe: they return the last complete
//     key, which stays valid after the writer's death.
//   - Create never follows a symbolic link at the path and publishes only
//     into a file it made or that is its own: a file of another uid, a link
//     or a directory others can replace files in is refused
//     (*UntrustedError); its own file with another group or mode, extra
//     links, a reader's lock on it, another layout, slot count or
//     generation than the store's is replaced by a new file renamed over it
//     (the old one zeroed, never truncated: that would SIGBUS readers), and
//     why is logged. Readers of a replaced file see no keys and
//     ErrWriterGone on their next failed lookup, and should Open again. The
//     map's space is allocated up front (*NoSpaceError when there is none).
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
