//go:build race

package race

import (
	"runtime"
	"unsafe"
)

// Enabled reports whether the binary was built with -race.
const Enabled = true

// ReadRange announces to the race detector that b was read (by assembly,
// which the detector does not see).
func ReadRange(b []byte) { runtime.RaceReadRange(unsafe.Pointer(unsafe.SliceData(b)), len(b)) }

// WriteRange announces to the race detector that b was written.
func WriteRange(b []byte) { runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(b)), len(b)) }

// ReadPtr announces that the n bytes at p were read.
func ReadPtr(p unsafe.Pointer, n int) { runtime.RaceReadRange(p, n) }

// WritePtr announces that the n bytes at p were written.
func WritePtr(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
