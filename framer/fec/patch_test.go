package fec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestPatchRowIsEncode: a patched row equals the row encoded afresh with
// the changed byte, for every information column of a row (and random
// deltas), on whichever parity kernel runs.
func TestPatchRowIsEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	c := New()
	var rows, want [Rows][]byte
	for r := range Rows {
		rows[r] = make([]byte, RowLen)
		want[r] = make([]byte, RowLen)
		for i := range rows[r][:parityOff] {
			rows[r][i] = byte(rng.Uint32())
		}
	}
	c.EncodeRows(&rows)
	for col := range parityOff {
		r := col % Rows
		delta := byte(rng.Uint32()) | 1
		for k := range Rows {
			copy(want[k], rows[k])
		}
		want[r][col] ^= delta
		c.EncodeRows(&want)
		PatchRow(rows[r], col, delta)
		if !bytes.Equal(rows[r], want[r]) {
			t.Fatalf("column %d, delta %#x: patched row differs from the re-encoded one", col, delta)
		}
	}
	// A zero delta changes nothing.
	before := bytes.Clone(rows[0])
	PatchRow(rows[0], 8, 0)
	if !bytes.Equal(before, rows[0]) {
		t.Fatal("a zero delta changed the row")
	}
}

func TestPatchRowPanics(t *testing.T) {
	for _, tc := range []struct {
		n, col int
	}{{RowLen - 1, 0}, {RowLen, -1}, {RowLen, parityOff}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("row of %d bytes, column %d: no panic", tc.n, tc.col)
				}
			}()
			PatchRow(make([]byte, tc.n), tc.col, 1)
		}()
	}
}
