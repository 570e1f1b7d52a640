//go:build race

package fec

import (
	"runtime"
	"unsafe"
)

// raceRead and raceWrite announce to the race detector memory that only
// assembly touches.
func raceRead(b []byte) { runtime.RaceReadRange(unsafe.Pointer(unsafe.SliceData(b)), len(b)) }

func raceWrite(rows [][Parity * Interleave]byte) {
	runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(rows)), len(rows)*Parity*Interleave)
}

func raceWriteBytes(b []byte) {
	runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(b)), len(b))
}
