package fec

import (
	"bytes"
	"math/rand/v2"
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

// FuzzDecodeRows applies errors given as (row, offset high, offset low,
// value) byte quadruples to an encoded frame and checks every row
// codeword: flagged ones unchanged, unflagged ones valid, and those with
// at most 8 errors restored.
func FuzzDecodeRows(f *testing.F) {
	f.Add(uint64(1), []byte{})
	f.Add(uint64(2), []byte{0, 0, 0, 0x55, 3, 0x0F, 0xEF, 0x01})
	f.Add(uint64(3), bytes.Repeat([]byte{1, 0x0E, 0xF0, 0x77}, 9))
	f.Fuzz(func(t *testing.T, seed uint64, errs []byte) {
		c := New()
		orig, _ := encodedFrame(t, c, rand.New(rand.NewPCG(seed, seed)))
		rows := cloneFrame(orig)
		for i := 0; i+3 < len(errs); i += 4 {
			off := (int(errs[i+1])<<8 | int(errs[i+2])) % RowLen
			rows[errs[i]%Rows][off] ^= errs[i+3]
		}
		received := cloneFrame(rows)
		var res Result
		c.DecodeRows(rows, &res)
		for k := range RowCodewords {
			got, want, rcv := codeword(rows, k), codeword(orig, k), codeword(received, k)
			nerr := 0
			for i := range want {
				if rcv[i] != want[i] {
					nerr++
				}
			}
			switch {
			case res.IsFailed(k):
				if !bytes.Equal(got, rcv) || nerr <= T {
					t.Fatalf("codeword %d (%d errors) flagged; changed: %v", k, nerr, !bytes.Equal(got, rcv))
				}
			case nerr <= T:
				if !bytes.Equal(got, want) || int(res.Corrected[k]) != nerr {
					t.Fatalf("codeword %d: %d errors not restored", k, nerr)
				}
			case !refValid(got):
				t.Fatalf("codeword %d unflagged with nonzero syndromes", k)
			}
		}
	})
}
