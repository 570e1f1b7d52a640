package fec

import "encoding/binary"

// GF(2^8) arithmetic for the G.709 code: field polynomial
// x^8+x^4+x^3+x^2+1 (0x11D), primitive element α = 2.

const fieldPoly = 0x11D

var (
	// gfExp[i] = α^i for 0 ≤ i < 510; doubled so that gfExp[log a + log b]
	// needs no reduction modulo 255.
	gfExp [2 * 255]byte
	// gfExpZ is gfExp followed by zeros: gfExpZ[logZ(a) + e] = a·α^e for
	// any a and 0 ≤ e < 255.
	gfExpZ [1024]byte
	// gfLog[a] = log_α a for a ≠ 0; gfLog[0] is unused.
	gfLog [256]byte
	// gfMulTab[a][b] = a·b, for the decoder (64 KiB, off the clean path).
	gfMulTab [256][256]byte
	// genPoly holds g(x) = ∏_{i=0..15}(x − α^i); genPoly[d] is the
	// coefficient of x^d, genPoly[16] = 1.
	genPoly [Parity + 1]byte
	// lfsrHi, lfsrLo hold, for each feedback byte f, the 16 bytes
	// f·g_15 … f·g_0 packed big-endian into two words: the table form of
	// one step of the division by g(x).
	lfsrHi, lfsrLo [256]uint64
	// sliceTab[m][f] is f·(x^(16+m) mod g(x)) as two big-endian words:
	// the contribution of feedback byte f entering m symbols before the end
	// of a 4- or 8-symbol step of the division (slicing by 4 or 8, as in
	// CRCs).
	sliceTab [8][256][2]uint64
	// parityMatrix[p][i] is parity symbol p of the unit message e_i: the
	// systematic parity matrix (row p, column i = information symbol).
	parityMatrix [Parity][K]byte
)

func init() {
	x := 1
	for i := range 255 {
		gfExp[i] = byte(x)
		gfExp[i+255] = byte(x)
		gfLog[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= fieldPoly
		}
	}
	copy(gfExpZ[:], gfExp[:])
	for a := range 256 {
		for b := range 256 {
			gfMulTab[a][b] = gfMulLog(byte(a), byte(b))
		}
	}
	buildGenerator()
	buildLFSR()
	buildParityMatrix()
	buildSliceTab()
	buildChienPow()
	buildQuadRoot()
	initKernel()
}

// gfMul multiplies in GF(2^8).
func gfMul(a, b byte) byte { return gfMulTab[a][b] }

// gfMulLog multiplies through the log tables.
func gfMulLog(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// logZ is log_α a, or for a = 0 an index into the zero half of gfExpZ.
func logZ(a byte) int {
	if a == 0 {
		return 512
	}
	return int(gfLog[a])
}

// gfDiv divides a by b ≠ 0.
func gfDiv(a, b byte) byte {
	if a == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+255-int(gfLog[b])]
}

// gfPow returns α^e for any e ≥ 0.
func gfPow(e int) byte { return gfExp[e%255] }

// buildGenerator multiplies out g(x) = ∏(x − α^i), i = 0..15.
func buildGenerator() {
	genPoly[0] = 1
	for i := range Parity {
		root := gfPow(i)
		// multiply the degree-i polynomial by (x + root)
		for d := i + 1; d > 0; d-- {
			genPoly[d] = genPoly[d-1] ^ gfMul(genPoly[d], root)
		}
		genPoly[0] = gfMul(genPoly[0], root)
	}
}

func buildLFSR() {
	for f := range 256 {
		var hi, lo uint64
		for k := range Parity {
			v := uint64(gfMul(byte(f), genPoly[Parity-1-k]))
			if k < 8 {
				hi |= v << (56 - 8*k)
			} else {
				lo |= v << (56 - 8*(k-8))
			}
		}
		lfsrHi[f], lfsrLo[f] = hi, lo
	}
}

// lfsrParity divides msg(x)·x^16 by g(x) and writes the 16 remainder
// symbols, highest degree first, to par. msg[0] is the highest-degree
// symbol. len(msg) may be anything up to K.
func lfsrParity(msg []byte, par *[Parity]byte) {
	var hi, lo uint64
	for _, b := range msg {
		f := b ^ byte(hi>>56)
		hi = (hi<<8 | lo>>56) ^ lfsrHi[f]
		lo = lo<<8 ^ lfsrLo[f]
	}
	for k := range 8 {
		par[k] = byte(hi >> (56 - 8*k))
		par[8+k] = byte(lo >> (56 - 8*k))
	}
}

func buildParityMatrix() {
	var msg [K]byte
	var par [Parity]byte
	for i := range K {
		msg[i] = 1
		lfsrParity(msg[:], &par)
		msg[i] = 0
		for p := range Parity {
			parityMatrix[p][i] = par[p]
		}
	}
}

// buildSliceTab fills sliceTab from the parity of the messages x^m
// (m = 0..7): lfsrParity of [1, 0, …] with m zeros after the 1 is
// x^(16+m) mod g(x).
func buildSliceTab() {
	var par [Parity]byte
	for m := range len(sliceTab) {
		msg := make([]byte, m+1)
		msg[0] = 1
		lfsrParity(msg, &par)
		for f := range 256 {
			var w [2]uint64
			for k, c := range par {
				w[k/8] |= uint64(gfMul(byte(f), c)) << (56 - 8*(k%8))
			}
			sliceTab[m][f] = w
		}
	}
}

// rowParity computes the parity of the 16 interleaved codewords of one row
// (row[:3824] information) into out, laid out like the row's parity
// columns: out[16p + j] is parity symbol p of codeword j. It runs the
// division of divide for the 16 codewords side by side, which gives the
// CPU 16 independent dependency chains.
func rowParity(row []byte, out *[Parity * Interleave]byte) {
	var hi, lo [Interleave]uint64
	row = row[:K*Interleave]
	i := 0
	for ; i+4 <= K; i += 4 {
		s := (*[4 * Interleave]byte)(row[i*Interleave:])
		for j := range Interleave {
			h := hi[j]
			t0 := &sliceTab[3][s[j]^byte(h>>56)]
			t1 := &sliceTab[2][s[Interleave+j]^byte(h>>48)]
			t2 := &sliceTab[1][s[2*Interleave+j]^byte(h>>40)]
			t3 := &sliceTab[0][s[3*Interleave+j]^byte(h>>32)]
			hi[j] = (h<<32 | lo[j]>>32) ^ t0[0] ^ t1[0] ^ t2[0] ^ t3[0]
			lo[j] = lo[j]<<32 ^ t0[1] ^ t1[1] ^ t2[1] ^ t3[1]
		}
	}
	for ; i < K; i++ {
		s := (*[Interleave]byte)(row[i*Interleave:])
		for j := range Interleave {
			f := s[j] ^ byte(hi[j]>>56)
			hi[j] = (hi[j]<<8 | lo[j]>>56) ^ lfsrHi[f]
			lo[j] = lo[j]<<8 ^ lfsrLo[f]
		}
	}
	for j := range Interleave {
		for k := range 8 {
			out[k*Interleave+j] = byte(hi[j] >> (56 - 8*k))
			out[(8+k)*Interleave+j] = byte(lo[j] >> (56 - 8*k))
		}
	}
}

// areaParity computes the parity of the plain codeword whose information
// is a[:K].
func areaParity(a []byte, out *[Parity]byte) {
	hi, lo := divide((*[K]byte)(a))
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
}

// divide returns the remainder of m(x)·x^16 mod g(x) for the K
// information symbols m (m[0] the highest degree), highest degree first as
// two big-endian words. It consumes eight symbols per step: with the
// remainder's top bytes r0..r7 (all of hi) and the next symbols s0..s7,
// the new remainder is lo shifted up by eight plus
// Σ (r_m ^ s_m)·(x^(23−m) mod g); the eight lookups are independent, so a
// step costs about one table-load latency. The last seven symbols take a
// four-symbol step and single steps.
func divide(m *[K]byte) (hi, lo uint64) {
	i := 0
	for ; i+8 <= K; i += 8 {
		s := (*[8]byte)(m[i:])
		t0 := &sliceTab[7][s[0]^byte(hi>>56)]
		t1 := &sliceTab[6][s[1]^byte(hi>>48)]
		t2 := &sliceTab[5][s[2]^byte(hi>>40)]
		t3 := &sliceTab[4][s[3]^byte(hi>>32)]
		t4 := &sliceTab[3][s[4]^byte(hi>>24)]
		t5 := &sliceTab[2][s[5]^byte(hi>>16)]
		t6 := &sliceTab[1][s[6]^byte(hi>>8)]
		t7 := &sliceTab[0][s[7]^byte(hi)]
		hi = lo ^ t0[0] ^ t1[0] ^ t2[0] ^ t3[0] ^ t4[0] ^ t5[0] ^ t6[0] ^ t7[0]
		lo = t0[1] ^ t1[1] ^ t2[1] ^ t3[1] ^ t4[1] ^ t5[1] ^ t6[1] ^ t7[1]
	}
	for ; i+4 <= K; i += 4 {
		s := (*[4]byte)(m[i:])
		t0 := &sliceTab[3][s[0]^byte(hi>>56)]
		t1 := &sliceTab[2][s[1]^byte(hi>>48)]
		t2 := &sliceTab[1][s[2]^byte(hi>>40)]
		t3 := &sliceTab[0][s[3]^byte(hi>>32)]
		hi = (hi<<32 | lo>>32) ^ t0[0] ^ t1[0] ^ t2[0] ^ t3[0]
		lo = lo<<32 ^ t0[1] ^ t1[1] ^ t2[1] ^ t3[1]
	}
	for ; i < K; i++ {
		f := m[i] ^ byte(hi>>56)
		hi = (hi<<8 | lo>>56) ^ lfsrHi[f]
		lo = lo<<8 ^ lfsrLo[f]
	}
	return hi, lo
}

// genericFrameParity is the pure-Go twin of the assembly kernel.
func genericFrameParity(rows *[Rows][]byte, out *[Rows][Parity * Interleave]byte) {
	for r, row := range rows {
		rowParity(row, &out[r])
	}
}

// affineMul returns the 8×8 bit matrix of x ↦ c·x in the layout of
// GF2P8AFFINEQB: byte 7−b holds the row of output bit b, whose bit j is
// bit b of c·α^j.
func affineMul(c byte) uint64 {
	var m uint64
	for j := range 8 {
		col := gfMul(c, 1<<j)
		for b := range 8 {
			if col>>b&1 != 0 {
				m |= 1 << (8*(7-b) + j)
			}
		}
	}
	return m
}
