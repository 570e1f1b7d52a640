//go:build !race

package fec

func raceRead([]byte) {}

func raceWrite([][Parity * Interleave]byte) {}

func raceWriteBytes([]byte) {}
