package dataplane

import (
	"encoding/binary"

	"github.com/otkd/otkd/framer"
)

// Payload geometry: OPU payload columns 17-3824 of each row.
const (
	payFirst = 16 // 0-based column of the first payload byte
	payLen   = framer.InfoCols - payFirst
)

// TestPattern is the default payload: a fixed byte pattern with the frame's
// COUNT in the first four payload bytes of each row, so the receiver can
// check every frame it opens (Stats.PayloadErrors). The zero value is ready.
type TestPattern struct{}

// Fill writes the pattern.
func (TestPattern) Fill(f *framer.Frame, count uint32) {
	for r := range framer.Rows {
		row := f.Row(r)[payFirst:framer.InfoCols]
		binary.BigEndian.PutUint32(row, count)
		row[4], row[payLen-1] = byte(r), 0xA5
	}
}

// checkPattern reports whether an opened frame carries the test pattern of
// count.
func checkPattern(f *framer.Frame, count uint32) bool {
	for r := range framer.Rows {
		row := f.Row(r)[payFirst:framer.InfoCols]
		if binary.BigEndian.Uint32(row) != count || row[4] != byte(r) || row[payLen-1] != 0xA5 {
			return false
		}
	}
	return true
}
