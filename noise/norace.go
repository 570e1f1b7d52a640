//go:build !race

package noise

import "unsafe"

const raceEnabled = false

func raceRead(unsafe.Pointer, int)  {}
func raceWrite(unsafe.Pointer, int) {}
