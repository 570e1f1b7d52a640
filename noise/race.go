//go:build race

package noise

import (
	"runtime"
	"unsafe"
)

const raceEnabled = true

// raceRead and raceWrite announce to the race detector memory that only assembly
// touches.
func raceRead(p unsafe.Pointer, n int)  { runtime.RaceReadRange(p, n) }
func raceWrite(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
