// Package fec implements the G.709 RS(255,239) forward error correction of
// otkd wire format v1: the row FEC of an OTU2 frame (16 byte-interleaved
// codewords per row) and the FEC of the 255-byte interaction area.
//
// # The code
//
// Symbols are bytes of GF(2^8) with the field polynomial
// x^8+x^4+x^3+x^2+1 (0x11D) and α = 2. The generator is
// g(x) = ∏_{i=0..15}(x − α^i); a codeword is systematic, 239 information
// symbols followed by 16 parity symbols, and its first byte is the
// highest-degree coefficient (x^254). Up to T = 8 symbol errors per
// codeword are corrected.
//
// Row FEC: a frame has Rows = 4 rows of RowLen = 4080 bytes. Column c
// (1-based) of a row belongs to codeword (c−1) mod 16, so in a 0-based row
// slice codeword j holds bytes j, j+16, …, j+16·254, columns 1–3824 (FAS
// included) are information and columns 3825–4080 parity. Codeword
// k = row·16 + j (0..63) in a Result.
//
// Interaction area: one plain RS(255,239) codeword of the same code,
// bytes 0..238 information, 239..254 parity; it is codeword k = 64
// (AreaCodeword) in a Result.
//
// # Contracts
//
//   - A Codec holds scratch space and is not safe for concurrent use; give
//     each pipeline its own. No method allocates (tests assert
//     testing.AllocsPerRun == 0).
//   - Rows must be exactly RowLen bytes and the area exactly N bytes; a
//     wrong length is a programming error and panics before anything is
//     written.
//   - The clean path (CheckRows) computes only S_0..S_7 of each row
//     codeword: every error pattern the decoder could correct (≤ 8
//     symbols) makes one of them nonzero, since the code with the roots
//     α^0..α^7 alone has distance 9. A pattern of ≥ 9 symbols whose first
//     eight syndromes vanish (2^-64 for random errors) passes as clean and
//     stays as received, where the decoder would flag or miscorrect it.
//     DecodeRows recomputes the parity and compares; only a codeword whose
//     parity differs is decoded. Its syndromes S_0..S_15 come from the
//     parity difference, which has the same syndromes as the received word
//     (one pass for all 64 row codewords). A single error is recognised
//     directly (S_j = Y·X^j), two errors are solved directly (Peterson's
//     equations, the roots of the quadratic from a table), anything else
//     goes through Berlekamp–Massey (stopped once the locator would exceed
//     degree 8), a Chien search of all 255 positions at once, and Forney.
//     A correction is applied only if the locator has as many distinct
//     roots as its degree (≤ 8), every error value is nonzero and the error
//     pattern reproduces all 16 syndromes, i.e. the corrected codeword has
//     zero syndromes. Otherwise the codeword is flagged in Result.Failed
//     and left exactly as received: the decoder never writes a codeword it
//     could not make valid.
//   - A Result accumulates: DecodeRows and DecodeArea add to it, so one
//     Result covers a frame; Reset it between frames.
//
// # Miscorrection
//
// With more than 8 errors a codeword is usually flagged, but it can fall
// within distance 8 of another codeword and be "corrected" to it. The
// fraction of words that do is about Σ_{i≤8} C(255,i)·255^i / 256^16 ≈
// 2.1e-5 (close to the rule of thumb 1/8! ≈ 2.5e-5). Measured with
// TestBeyondT (go test -run TestBeyondT -v -args -fec.trials=400000):
// 63 miscorrections in 3 200 000 codewords with 9..16 random symbol
// errors, 1.97e-5. Such a codeword is valid but wrong, so the layers
// above must not treat "not flagged" as "correct" without an integrity
// check of their own.
//
// # Speed
//
// The parity of all 64 row codewords is one pass of an AVX-512 GFNI kernel
// (gfni_amd64.s): symbol i of the four rows fills the four 128-bit lanes
// of one 512-bit register, and each of the 16 parity registers adds
// parityMatrix[p][i]·symbol with GF2P8AFFINEQB (an affine matrix per
// constant, since the multiply instruction works in the AES field 0x11B).
// Encode copies that parity into the rows, and DecodeRows compares it in
// Go to find the codewords to decode. The kernel is bound by its 3 824
// GF2P8AFFINEQB per frame: on the Sapphire Rapids class development
// machine the 512-bit form issues one per cycle (measured), so parity
// costs ≈ 1.7–1.9 µs at ~2.2 GHz whatever else is fused into it.
//
// That bound is why the clean check does not recompute the parity.
// gfniSynCheck reads each row as 64 groups of 64 bytes (four symbol lines
// of its 16 codewords), multiplies each group by the per-lane weights of
// S_1..S_7 (S_0 needs none) and folds the four lanes at the end of the
// row: 7 × 256 = 1 792 GF2P8AFFINEQB, plain loads, no lane inserts, about
// half the parity's work (the pure-Go twin takes S_0..S_7 from the parity
// difference, which has the same syndromes).
//
// Two more kernels serve the decoder. gfniSyndromes turns the sixteen
// parity-difference registers of a frame into its sixteen syndrome
// registers (S_j of codeword 16r+j' in byte 16r+j' of register j): 240
// GF2P8AFFINEQB instead of 16 384 table lookups. gfniChien evaluates a
// locator at all 255 points α^(−e) in four registers per power of x (the
// constant vectors α^(−e·i), times Λ_i through its affine matrix) and
// tests the sums for zero into four 64-bit masks, where the table
// stepping took up to 255×8 lookups. Berlekamp–Massey and Forney stay in
// Go on table rows, without reductions modulo 255.
//
// Without AVX-512 GFNI, or with -tags noasm,
// the pure-Go twin divides by g(x) four symbols per step from tables
// (slicing by 4, as in CRCs), the 16 interleaved codewords of a row side
// by side. Tests run every case on both paths and compare them.
//
// Measured on the 2-core development machine (shared with other jobs, so
// ±30%), per 16 320-byte frame; line rate is 82 025 frames/s (12.2 µs):
//
//	EncodeRows                        ≈ 1.9 µs  (≈ 6.5× line rate)
//	CheckRows (8 syndromes)           ≈ 0.93–1.0 µs (≈ 12×; parity compare: 1.64–1.8 µs)
//	DecodeRows, clean                 ≈ 1.9–2.2 µs (≈ 5.5–6.5×)
//	EncodeRows, Go twin               ≈ 16–20 µs (≈ 0.6–0.75×)
//	DecodeRows, 1 error per codeword  ≈ 6.3 µs best (all 64 codewords corrected;
//	                                  a single error is recognised from its
//	                                  syndromes without Berlekamp–Massey; 17 µs
//	                                  without that, 33–68 µs before the kernels)
//	DecodeRows, 2 errors per codeword ≈ 15 µs best (27 µs through Berlekamp–Massey)
//	DecodeRows, 8 errors per codeword ≈ 63–89 µs (150–267 µs before)
//	EncodeArea                        ≈ 0.35 µs
//
// klauspost/reedsolomon with the G.709 parity matrix (239 data and 16
// parity shards, one shard per symbol position) was measured as the
// alternative: one Encode per frame on 64-byte shards gathered from the
// four rows takes ≈ 40–60 µs and allocates twice per call (v1.14.2, in
// codeSomeShards and putTmpSlice of its chunked code-generation path);
// one call per row on zero-copy 16-byte shards takes ≈ 280–380 µs. It is
// therefore not on the data path; the tests use it as an independent
// check of the parity matrix and of the field (see
// BenchmarkEncodeRowsKlauspost16B and BenchmarkEncodeRowsKlauspost64B).
package fec
