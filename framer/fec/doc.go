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
//   - Decoding first recomputes the parity and compares (the clean path:
//     no syndromes). Only a codeword whose parity differs is decoded:
//     syndromes S_0..S_15 (taken from the parity difference, which has the
//     same syndromes as the received word), Berlekamp–Massey, Chien search,
//     Forney. A correction is applied only if the locator has as many
//     distinct roots as its degree (≤ 8), every error value is nonzero and
//     the error pattern reproduces all 16 syndromes, i.e. the corrected
//     codeword has zero syndromes. Otherwise the codeword is flagged in
//     Result.Failed and left exactly as received: the decoder never writes
//     a codeword it could not make valid.
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
// above must not treat "not flagged" as "correct" (the interaction area's
// messages carry their own integrity checks).
//
// # Speed
//
// The encoder and the parity check are a table-driven division by g(x)
// that consumes 4 symbols per step (slicing by 4, as in CRCs), run over
// the 16 interleaved codewords of each row in place. klauspost/reedsolomon
// with the G.709 parity matrix was measured as the alternative (see the
// Klauspost benchmarks): with one 64-byte shard per symbol position (all
// 64 codewords of a frame in one Encode call) it is about 2.4 times slower
// and allocates twice per call; on zero-copy 16-byte shards it is about
// 15 times slower. The tests use it as an independent cross-check of the
// parity matrix and of the field.
package fec
