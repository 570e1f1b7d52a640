//go:build !race

package race

import "unsafe"

// Enabled reports whether the binary was built with -race.
const Enabled = false

// ReadRange announces to the race detector that b was read: a no-op
// without -race.
func ReadRange(b []byte) {}

// WriteRange announces to the race detector that b was written: a no-op
// without -race.
func WriteRange(b []byte) {}

// ReadPtr announces that the n bytes at p were read: a no-op without -race.
func ReadPtr(unsafe.Pointer, int) {}

// WritePtr announces that the n bytes at p were written: a no-op without
// -race.
func WritePtr(unsafe.Pointer, int) {}
