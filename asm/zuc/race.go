//go:build race

package zuc

import (
	"runtime"
	"unsafe"
)

// raceWrite announces to the race detector memory that only assembly
// writes.
func raceWrite(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
