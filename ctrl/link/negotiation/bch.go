package negotiation

// Reconciliation code: shortened binary primitive BCH codes over GF(2^10)
// used as one-way syndrome (Slepian-Wolf) codes. A block of K kept bits is
// cut into ceil(K/1023) chunks of balanced length n ≤ 1023; for each chunk
// the initiator publishes the odd power sums S_1, S_3, …, S_{2t-1} of its
// bits (S_j = Σ_{i: bit i set} α^{i·j}), 10 bits each: m·t bits per chunk,
// exactly the syndrome of the t-error-correcting BCH code of length 1023
// shortened to n. The responder adds its own power sums, which leaves the
// power sums of the disagreement pattern, and decodes them with
// Berlekamp-Massey and a Chien search restricted to the n chunk positions.
// A pattern of at most t disagreements is always corrected; a larger one is
// either detected (locator degree > t or fewer roots than its degree) or,
// rarely, miscorrected, which the verification tag then catches.

// The one-shot code's field: GF(2^10) with the primitive polynomial
// x^10 + x^3 + 1 (fieldPolys[10]; field.go's arithmetic, shared with the
// incremental mode). Elements are uint16 < 1024; α = 2.
const (
	gfBits  = 10
	gfOrder = 1<<gfBits - 1 // 1023, the multiplicative order of α
)

// gf10 is that field.
func gf10() *field { return gf(gfBits) }

// maxChunkBits is the length of the unshortened code.
const maxChunkBits = gfOrder

// maxT bounds the correction capability per chunk.
const maxT = 120

// chunkCount returns how many chunks a block of k bits is cut into.
func chunkCount(k int) int { return (k + maxChunkBits - 1) / maxChunkBits }

// chunkBounds returns the start and end of chunk c of a k-bit block.
func chunkBounds(k, c int) (int, int) {
	n := chunkCount(k)
	base, extra := k/n, k%n
	start := c*base + min(c, extra)
	size := base
	if c < extra {
		size++
	}
	return start, start + size
}

// oddSyndromes writes S_1, S_3, …, S_{2t-1} of bits (one bit per byte, 0 or
// 1) into s, which has length t.
func oddSyndromes(s []uint16, bits []byte) { gf10().oddSums(s, bits, 0) }

// bchDecode corrects bits in place given the initiator's odd syndromes
// remote (length t). It returns the number of flipped bits and whether
// decoding succeeded; on failure bits are untouched.
func bchDecode(bits []byte, remote []uint16) (int, bool) {
	t := len(remote)
	if t == 0 {
		return 0, true
	}
	full := make([]uint16, 2*t) // full[j-1] = S_j of the error pattern
	odd := make([]uint16, t)
	oddSyndromes(odd, bits)
	zero := true
	for k := range odd {
		full[2*k] = odd[k] ^ remote[k]
		zero = zero && full[2*k] == 0
	}
	if zero {
		return 0, true
	}
	for j := 2; j <= 2*t; j += 2 { // S_{2j} = S_j^2 over GF(2^m)
		full[j-1] = gf10().mul(full[j/2-1], full[j/2-1])
	}
	loc, ok := gf10().berlekampMassey(full, t)
	if !ok {
		return 0, false
	}
	pos, _ := gf10().roots(loc, len(bits), len(bits))
	if len(pos) != len(loc)-1 {
		return 0, false
	}
	for _, p := range pos {
		bits[p] ^= 1
	}
	return len(pos), true
}
