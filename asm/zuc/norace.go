//go:build !race

package zuc

import "unsafe"

func raceWrite(unsafe.Pointer, int) {}
