//go:build race

package framer

import (
	"runtime"
	"unsafe"
)

// raceRead and raceWrite announce to the race detector memory that only
// assembly touches.
func raceRead(b []byte) { runtime.RaceReadRange(unsafe.Pointer(unsafe.SliceData(b)), len(b)) }

func raceWrite(b []byte) { runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(b)), len(b)) }
