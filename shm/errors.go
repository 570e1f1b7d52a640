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
	// ErrChecksum: a key's checksum does not match its fields.
	ErrChecksum = errors.New("shm: key checksum mismatch")
	// ErrClosed: the reader or writer was closed.
	ErrClosed = errors.New("shm: closed")
	// ErrFull: every key slot is in use.
	ErrFull = errors.New("shm: no free key slot")
	// ErrInvalid: a writer call got a malformed argument; the wrapping
	// error says which.
	ErrInvalid = errors.New("shm: invalid argument")
)

// IncompatibleError says which header field of a file is not what layout v1
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

// LockedError reports a second writer. PID is the writer pid recorded in the
// header (0 if unreadable). It unwraps to ErrLocked.
type LockedError struct {
	Path string
	PID  uint64
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("shm: %s is locked by another writer (pid %d in its header)", e.Path, e.PID)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
