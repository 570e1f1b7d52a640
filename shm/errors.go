package shm

import (
	"errors"
	"fmt"
)

// Errors returned by readers and the writer. Read paths return these
// sentinels unwrapped (no allocation); compare with errors.Is.
var (
	// ErrNotFound: no key matches the lookup (and the writer is alive).
	ErrNotFound = errors.New("shm: key not found")
	// ErrWriterGone: a lookup failed and no writer holds the file's lock:
	// the daemon died or the file was replaced. Reopen after a restart.
	ErrWriterGone = errors.New("shm: writer gone")
	// ErrBusy: the bounded retries found no consistent copy while the writer
	// is alive (it is updating faster than this reader copies). Retry later.
	ErrBusy = errors.New("shm: busy, no consistent copy after bounded retries")
	// ErrIncompatible: the file is not a layout this package reads; the
	// wrapping *IncompatibleError names the field.
	ErrIncompatible = errors.New("shm: incompatible file")
	// ErrLocked: another writer holds the file; see *LockedError.
	ErrLocked = errors.New("shm: file locked by another writer")
	// ErrChecksum: a key record failed its check (length out of range or
	// checksum mismatch) in every try: the map is damaged. Readers never
	// return such a record.
	ErrChecksum = errors.New("shm: key record damaged (bad length or checksum)")
	// ErrUntrusted: the writer refuses a file or directory it must not
	// publish keys in (another user's file, a link, an unsafe directory);
	// the wrapping *UntrustedError says which and what to do.
	ErrUntrusted = errors.New("shm: untrusted file")
	// ErrClosed: the reader or writer was closed.
	ErrClosed = errors.New("shm: closed")
	// ErrFull: every key slot is in use.
	ErrFull = errors.New("shm: no free key slot")
	// ErrInvalid: a writer call got a malformed argument; the wrapping
	// error says which.
	ErrInvalid = errors.New("shm: invalid argument")
)

// IncompatibleError says which header field of a file is not what layout v2
// expects. It unwraps to ErrIncompatible.
type IncompatibleError struct {
	Field string // e.g. "magic", "layout version", "file size"
	Got   string
	Want  string
}

func incompatible(field, got, want string) error {
	return &IncompatibleError{Field: field, Got: got, Want: want}
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("shm: incompatible file: %s is %s, want %s", e.Field, e.Got, e.Want)
}

// Unwrap returns ErrIncompatible.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

// LockedError reports a second writer: the writers' lock file (the map's
// path + ".lock") is held. PID is the process that holds it, as the kernel
// reports it in /proc/locks; 0 if this process cannot see it. It unwraps to
// ErrLocked.
type LockedError struct {
	Path string // the lock file
	PID  uint64
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("shm: %s is held by another writer (its pid is not visible to this process)", e.Path)
	}
	return fmt.Sprintf("shm: %s is held by another writer, pid %d", e.Path, e.PID)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
