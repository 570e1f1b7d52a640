package fec

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Code and frame geometry.
const (
	N             = 255                   // codeword length in symbols
	K             = 239                   // information symbols per codeword
	Parity        = N - K                 // parity symbols per codeword (16)
	T             = Parity / 2            // correctable symbol errors per codeword (8)
	RowLen        = 4080                  // bytes per frame row
	Rows          = 4                     // rows per frame
	Interleave    = 16                    // codewords interleaved in one row
	RowCodewords  = Rows * Interleave     // 64 row codewords per frame
	Codewords     = RowCodewords + 1      // row codewords plus the interaction area
	AreaCodeword  = RowCodewords          // Result index of the interaction area
	frameLen      = Rows * RowLen         // bytes of the four rows (16320)
	parityOff     = K * Interleave        // first parity byte in a row
	areaParityOff = K                     // first parity byte of the area
	failedWords   = (Codewords + 63) / 64 // words of Result.Failed
)

// Result reports the decoding of one frame. Codeword k = row·16 + j for
// the row FEC (j = (column−1) mod 16), k = 64 for the interaction area.
// The zero value is ready; DecodeRows and DecodeArea add into it, so call
// Reset between frames.
type Result struct {
	Corrected              [Codewords]uint8    // symbols corrected per codeword (0..8)
	Failed                 [failedWords]uint64 // bit k%64 of word k/64: codeword k uncorrectable
	CorrectedSymbols       int                 // sum of Corrected
	UncorrectableCodewords int                 // number of bits set in Failed
}

// Reset clears r.
func (r *Result) Reset() { *r = Result{} }

// IsFailed reports whether codeword k (0 ≤ k < Codewords) was flagged
// uncorrectable.
func (r *Result) IsFailed(k int) bool { return r.Failed[k/64]&(1<<(k%64)) != 0 }

func (r *Result) corrected(k, n int) {
	r.Corrected[k] = uint8(min(int(r.Corrected[k])+n, 255))
	r.CorrectedSymbols += n
}

func (r *Result) failed(k int) {
	if !r.IsFailed(k) {
		r.Failed[k/64] |= 1 << (k % 64)
		r.UncorrectableCodewords++
	}
}

// Codec encodes and decodes the G.709 FEC of frames. It holds the scratch
// space of one frame, so a Codec is NOT safe for concurrent use: give each
// pipeline its own. After New, no method allocates.
type Codec struct {
	par     [Rows][Parity * Interleave]byte // recomputed parity, row layout
	syn64   [Parity][RowCodewords]byte      // syn64[j][k]: syndrome j of row codeword k
	dec     decoder
	syn     [Parity]byte
	areaPar [Parity]byte
	dummy   Result
}

// New returns a Codec.
func New() *Codec { return &Codec{} }

func checkRows(rows *[Rows][]byte) {
	for r, row := range rows {
		if len(row) != RowLen {
			panic(fmt.Sprintf("fec: row %d has %d bytes, want %d", r, len(row), RowLen))
		}
	}
}

func checkArea(a []byte) {
	if len(a) != N {
		panic(fmt.Sprintf("fec: interaction area has %d bytes, want %d", len(a), N))
	}
}

// EncodeRows writes the parity columns 3825–4080 of each row from its
// information columns 1–3824. Each row must be RowLen bytes long; any
// other length is a programming error and panics (before any write).
func (c *Codec) EncodeRows(rows *[Rows][]byte) {
	checkRows(rows)
	frameParity(rows, &c.par)
	for r, row := range rows {
		copy(row[parityOff:], c.par[r][:])
	}
}

// checkSyndromes is how many syndromes the clean-frame check computes:
// S_0..S_7. A nonzero error pattern of at most 8 symbols (all the decoder
// can correct) always has one of them nonzero, because the code with the
// eight roots α^0..α^7 has minimum distance 9.
const checkSyndromes = 8

// CheckRows is the clean-frame fast path: it reports whether the first
// eight syndromes of every row codeword are zero, half the work of
// recomputing the parity. false means some codeword needs DecodeRows.
// true means no codeword holds an error pattern the decoder could correct;
// a pattern of 9 or more symbols whose first eight syndromes vanish (for
// random errors a chance of 2^-64) also passes, where DecodeRows would
// flag it uncorrectable or miscorrect it, and is left as received. It
// panics on wrong row lengths like EncodeRows.
func (c *Codec) CheckRows(rows *[Rows][]byte) bool {
	checkRows(rows)
	return frameCheck(rows, &c.par)
}

// genericFrameCheck is the pure-Go twin of the check kernel: it
// recomputes the parity into par and takes S_0..S_7 of each codeword whose
// parity differs from the parity difference, which has the received
// word's syndromes.
func genericFrameCheck(rows *[Rows][]byte, par *[Rows][Parity * Interleave]byte) bool {
	genericFrameParity(rows, par)
	var s [Parity]byte
	for r, row := range rows {
		d := parityDiff(row[parityOff:], &par[r])
		if d == [2]uint64{} {
			continue
		}
		for j := range Interleave {
			for p := range Parity {
				s[p] = par[r][p*Interleave+j]
			}
			diffSyndromes(&s)
			for q := range checkSyndromes {
				if s[q] != 0 {
					return false
				}
			}
		}
	}
	return true
}

// DecodeRows corrects the four rows in place. Codewords whose parity
// matches are left alone; each other codeword is corrected if it holds at
// most 8 symbol errors that decode consistently, and otherwise flagged in
// r and left exactly as received. Counts are added into r (nil r is
// allowed). It panics on wrong row lengths like EncodeRows.
//
// The syndromes of all 64 codewords come from their parity differences in
// one pass (a kernel on amd64); only the codewords that differ are then
// decoded one by one.
func (c *Codec) DecodeRows(rows *[Rows][]byte, r *Result) {
	checkRows(rows)
	if r == nil {
		r = &c.dummy
	}
	frameParity(rows, &c.par)
	var dirty uint64 // bit k: row codeword k differs
	for ri, row := range rows {
		d := parityDiff(row[parityOff:], &c.par[ri])
		for w, b := range d {
			for j := range 8 {
				if byte(b>>(8*j)) != 0 {
					dirty |= 1 << (ri*Interleave + 8*w + j)
				}
			}
		}
	}
	if dirty == 0 {
		return
	}
	frameSyndromes(&c.par, &c.syn64)
	for dirty != 0 {
		k := bits.TrailingZeros64(dirty)
		dirty &= dirty - 1
		c.fixRow(rows[k/Interleave], k, r)
	}
}

// parityDiff turns par into the difference between the received parity
// columns got and the recomputed par, and returns the OR of its 16-byte
// symbol lines: byte j of that is nonzero iff codeword j differs.
func parityDiff(got []byte, par *[Parity * Interleave]byte) (dirty [2]uint64) {
	got = got[:Parity*Interleave]
	for off := 0; off < len(par); off += 8 {
		w := binary.LittleEndian.Uint64(got[off:]) ^ binary.LittleEndian.Uint64(par[off:])
		binary.LittleEndian.PutUint64(par[off:], w)
		dirty[off/8%2] |= w
	}
	return dirty
}

// fixRow decodes row codeword k, whose syndromes are in c.syn64.
func (c *Codec) fixRow(row []byte, k int, r *Result) {
	for j := range Parity {
		c.syn[j] = c.syn64[j][k]
	}
	n, ok := c.dec.solve(&c.syn)
	if !ok {
		r.failed(k)
		return
	}
	j := k % Interleave
	for i := range n {
		row[(N-1-c.dec.pos[i])*Interleave+j] ^= c.dec.val[i]
	}
	r.corrected(k, n)
}

// diffSyndromes turns the parity difference d (received − recomputed,
// highest degree first) in s into the syndromes
// S_j = Σ_p d_p·α^(j(15−p)), as independent lookups α^(log d_p + j(15−p))
// in gfExpZ (a zero d_p gets a log that lands in its zero half). The
// received word is a valid codeword plus the pattern (0…0, d), so its
// syndromes are those of d: 16×16 terms instead of 255×16.
func diffSyndromes(s *[Parity]byte) {
	var lg [Parity]int
	for p, v := range s {
		lg[p] = logZ(v)
	}
	for j := range Parity {
		var v byte
		for p, l := range lg {
			v ^= gfExpZ[(l+j*(Parity-1-p))&(len(gfExpZ)-1)]
		}
		s[j] = v
	}
}

// genericFrameSyndromes is the pure-Go twin of the syndrome kernel: from
// the parity differences of the four rows (row layout: difference p of
// codeword j at diff[r][16p+j]) it writes syndrome j of row codeword
// k = 16r+j' to out[j][k].
func genericFrameSyndromes(diff *[Rows][Parity * Interleave]byte, out *[Parity][RowCodewords]byte) {
	var s [Parity]byte
	for r := range Rows {
		for j := range Interleave {
			for p := range Parity {
				s[p] = diff[r][p*Interleave+j]
			}
			diffSyndromes(&s)
			for q := range Parity {
				out[q][r*Interleave+j] = s[q]
			}
		}
	}
}

// EncodeArea writes the 16 parity bytes a[239:255] of the interaction area
// from a[0:239] (one plain, non-interleaved RS(255,239) codeword, a[0] the
// highest-degree symbol). len(a) must be N; any other length panics.
func (c *Codec) EncodeArea(a []byte) {
	checkArea(a)
	areaParity(a, &c.areaPar)
	copy(a[areaParityOff:], c.areaPar[:])
}

// DecodeArea corrects the interaction area in place, with the same rules
// as DecodeRows, and counts into r at k = 64 (nil r is allowed). len(a)
// must be N; any other length panics.
func (c *Codec) DecodeArea(a []byte, r *Result) {
	checkArea(a)
	if r == nil {
		r = &c.dummy
	}
	areaParity(a, &c.areaPar)
	var dirty byte
	for p := range Parity {
		c.syn[p] = c.areaPar[p] ^ a[areaParityOff+p]
		dirty |= c.syn[p]
	}
	if dirty == 0 {
		return
	}
	diffSyndromes(&c.syn)
	n, ok := c.dec.solve(&c.syn)
	if !ok {
		r.failed(AreaCodeword)
		return
	}
	for i := range n {
		a[N-1-c.dec.pos[i]] ^= c.dec.val[i]
	}
	r.corrected(AreaCodeword, n)
}

// CheckArea reports whether the interaction area is a valid codeword.
func (c *Codec) CheckArea(a []byte) bool {
	checkArea(a)
	areaParity(a, &c.areaPar)
	return string(c.areaPar[:]) == string(a[areaParityOff:])
}

// Kernel names the engine of the row FEC in use: "avx512-gfni" or
// "generic" (no AVX-512 GFNI, -tags noasm, or OTKD_NOASM=fec).
func Kernel() string {
	if useGFNI {
		return "avx512-gfni"
	}
	return "generic"
}
