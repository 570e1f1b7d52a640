package fec

import (
	"bytes"
	"testing"
)

// FuzzDecodeArea encodes msg (up to 239 bytes, zero padded) into an
// interaction area, applies the errors described by errs as (position,
// value) byte pairs, and decodes. Invariants: no panic; a flagged codeword
// is unchanged; an unflagged result has zero syndromes (by the test's own
// reference) and at most 8 corrections; at most 8 errors always restore
// the original.
func FuzzDecodeArea(f *testing.F) {
	f.Add([]byte("interaction area"), []byte{})
	f.Add([]byte{0xFF}, []byte{0, 1, 254, 0x80})
	f.Fuzz(func(t *testing.T, msg, errs []byte) {
		c := New()
		orig := make([]byte, N)
		copy(orig[:K], msg)
		c.EncodeArea(orig)
		a := append([]byte(nil), orig...)
		for i := 0; i+1 < len(errs); i += 2 {
			a[int(errs[i])%N] ^= errs[i+1]
		}
		nerr := 0
		for i := range a {
			if a[i] != orig[i] {
				nerr++
			}
		}
		received := append([]byte(nil), a...)
		var res Result
		c.DecodeArea(a, &res)
		switch {
		case res.IsFailed(AreaCodeword):
			if !bytes.Equal(a, received) || res.Corrected[AreaCodeword] != 0 || res.UncorrectableCodewords != 1 {
				t.Fatal("flagged codeword changed or miscounted")
			}
			if nerr <= T {
				t.Fatalf("%d errors flagged uncorrectable", nerr)
			}
		default:
			if !refValid(a) {
				t.Fatal("unflagged result has nonzero syndromes")
			}
			if n := int(res.Corrected[AreaCodeword]); n > T || n != res.CorrectedSymbols {
				t.Fatalf("corrected %d / %d", n, res.CorrectedSymbols)
			}
			if nerr <= T && (!bytes.Equal(a, orig) || int(res.Corrected[AreaCodeword]) != nerr) {
				t.Fatalf("%d errors not restored", nerr)
			}
		}
	})
}

// FuzzFrameParity compares the assembly kernel with the pure-Go twin on
// frames filled by repeating the input.
func FuzzFrameParity(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{0xFF, 0x01, 0x80})
	f.Add([]byte("frame"))
	f.Fuzz(func(t *testing.T, seed []byte) {
		if !useGFNI || len(seed) == 0 {
			return
		}
		var rows [Rows][]byte
		for r := range rows {
			rows[r] = make([]byte, RowLen)
			for i := range rows[r] {
				rows[r][i] = seed[(r*RowLen+i)%len(seed)] ^ byte(r*RowLen+i)
			}
		}
		var got, want [Rows][Parity * Interleave]byte
		frameParity(&rows, &got)
		genericFrameParity(&rows, &want)
		if got != want {
			t.Fatal("kernel parity differs from the Go twin")
		}
	})
}
