//go:build amd64 && !noasm

#include "textflag.h"

// LOADSYM loads 16-byte symbol line off(R8..R11) of the four rows into
// the four 128-bit lanes of zmm (lane r = row r).
#define LOADSYM(off, xmm, zmm) \
	VMOVDQU64    off(R8), xmm          \
	VINSERTI32X4 $1, off(R9), zmm, zmm  \
	VINSERTI32X4 $2, off(R10), zmm, zmm \
	VINSERTI32X4 $3, off(R11), zmm, zmm

// STEP2 adds c·Z16 + c'·Z18 into acc, where c and c' are the GF(2^8)
// constants whose affine matrices are the qwords at off(AX) and
// off+128(AX) (parity p of symbols i and i+1).
#define STEP2(off, acc) \
	VGF2P8AFFINEQB.BCST $0, off(AX), Z16, Z17      \
	VGF2P8AFFINEQB.BCST $0, (off+128)(AX), Z18, Z19 \
	VPTERNLOGD          $0x96, Z19, Z17, acc

// STEP1 adds c·Z16 into acc.
#define STEP1(off, acc) \
	VGF2P8AFFINEQB.BCST $0, off(AX), Z16, Z17 \
	VPXORQ              Z17, acc, acc

// STORE writes the four 16-byte lanes of acc (rows 0..3, codewords
// 0..15 of parity symbol p) to out[r][16p:], r = 0..3.
#define STORE(acc, xacc, p) \
	VMOVDQU64     xacc, (p*16)(DI)        \
	VEXTRACTI32X4 $1, acc, (256+p*16)(DI) \
	VEXTRACTI32X4 $2, acc, (512+p*16)(DI) \
	VEXTRACTI32X4 $3, acc, (768+p*16)(DI)

// func gfniFrameParity(mat *[K * Parity]uint64, r0, r1, r2, r3 *byte, out *[Rows][Parity * Interleave]byte)
//
// Parity of the 64 row codewords of a frame: for each information symbol
// i (0..238) the 16-byte symbol i of each row (bytes 16i..16i+15) goes
// into one lane of a zmm register, and parity p += parityMatrix[p][i]·symbol
// for p = 0..15 in Z0..Z15 (mat[16i+p] is that constant's affine matrix).
// Symbols are taken in pairs so that one three-way XOR (VPTERNLOGD 0x96)
// adds two products; the odd last symbol is added alone.
TEXT ·gfniFrameParity(SB), NOSPLIT, $0-48
	MOVQ mat+0(FP), AX
	MOVQ r0+8(FP), R8
	MOVQ r1+16(FP), R9
	MOVQ r2+24(FP), R10
	MOVQ r3+32(FP), R11
	MOVQ out+40(FP), DI
	JMP  parityBody<>(SB)

// parityBody: AX, R8..R11 as above; stores the parity at DI.
TEXT parityBody<>(SB), NOSPLIT|NOFRAME, $0
	MOVQ $119, CX // 239 = 2·119 + 1
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z13, Z13, Z13
	VPXORQ Z14, Z14, Z14
	VPXORQ Z15, Z15, Z15

pairs:
	LOADSYM(0, X16, Z16)
	LOADSYM(16, X18, Z18)
	STEP2(0, Z0)
	STEP2(8, Z1)
	STEP2(16, Z2)
	STEP2(24, Z3)
	STEP2(32, Z4)
	STEP2(40, Z5)
	STEP2(48, Z6)
	STEP2(56, Z7)
	STEP2(64, Z8)
	STEP2(72, Z9)
	STEP2(80, Z10)
	STEP2(88, Z11)
	STEP2(96, Z12)
	STEP2(104, Z13)
	STEP2(112, Z14)
	STEP2(120, Z15)
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $256, AX
	DECQ CX
	JNZ  pairs

	LOADSYM(0, X16, Z16)
	STEP1(0, Z0)
	STEP1(8, Z1)
	STEP1(16, Z2)
	STEP1(24, Z3)
	STEP1(32, Z4)
	STEP1(40, Z5)
	STEP1(48, Z6)
	STEP1(56, Z7)
	STEP1(64, Z8)
	STEP1(72, Z9)
	STEP1(80, Z10)
	STEP1(88, Z11)
	STEP1(96, Z12)
	STEP1(104, Z13)
	STEP1(112, Z14)
	STEP1(120, Z15)


	STORE(Z0, X0, 0)
	STORE(Z1, X1, 1)
	STORE(Z2, X2, 2)
	STORE(Z3, X3, 3)
	STORE(Z4, X4, 4)
	STORE(Z5, X5, 5)
	STORE(Z6, X6, 6)
	STORE(Z7, X7, 7)
	STORE(Z8, X8, 8)
	STORE(Z9, X9, 9)
	STORE(Z10, X10, 10)
	STORE(Z11, X11, 11)
	STORE(Z12, X12, 12)
	STORE(Z13, X13, 13)
	STORE(Z14, X14, 14)
	STORE(Z15, X15, 15)
	VZEROUPPER
	RET


// LOADDIFF loads parity-difference symbol line p of the four rows of
// diff (SI, rows 256 bytes apart) into the four lanes of zmm.
#define LOADDIFF(p, xmm, zmm) \
	VMOVDQU64    (p*16)(SI), xmm           \
	VINSERTI32X4 $1, (256+p*16)(SI), zmm, zmm \
	VINSERTI32X4 $2, (512+p*16)(SI), zmm, zmm \
	VINSERTI32X4 $3, (768+p*16)(SI), zmm, zmm

// SYN2 adds the products of difference lines da, db with the constants
// whose matrices are the qwords at off(AX) and off+8(AX) into Z16.
#define SYN2(off, da, db) \
	VGF2P8AFFINEQB.BCST $0, off(AX), da, Z17     \
	VGF2P8AFFINEQB.BCST $0, (off+8)(AX), db, Z18 \
	VPTERNLOGD          $0x96, Z18, Z17, Z16

// func gfniSyndromes(mat *[Parity * Parity]uint64, diff *[Rows][Parity * Interleave]byte, out *[Parity][RowCodewords]byte)
//
// Syndromes of the 64 row codewords from their parity differences:
// S_j = Σ_p α^(j(15−p))·d_p (mat[16j+p] is that constant's matrix). The
// sixteen difference lines stay in Z0..Z15 (lane r = row r, byte j =
// codeword j of the row, so byte 16r+j of a register is codeword
// 16r+j); S_j of all 64 codewords is one register, stored at out[j].
TEXT ·gfniSyndromes(SB), NOSPLIT, $0-24
	MOVQ mat+0(FP), AX
	MOVQ diff+8(FP), SI
	MOVQ out+16(FP), DI
	LOADDIFF(0, X0, Z0)
	LOADDIFF(1, X1, Z1)
	LOADDIFF(2, X2, Z2)
	LOADDIFF(3, X3, Z3)
	LOADDIFF(4, X4, Z4)
	LOADDIFF(5, X5, Z5)
	LOADDIFF(6, X6, Z6)
	LOADDIFF(7, X7, Z7)
	LOADDIFF(8, X8, Z8)
	LOADDIFF(9, X9, Z9)
	LOADDIFF(10, X10, Z10)
	LOADDIFF(11, X11, Z11)
	LOADDIFF(12, X12, Z12)
	LOADDIFF(13, X13, Z13)
	LOADDIFF(14, X14, Z14)
	LOADDIFF(15, X15, Z15)
	MOVQ $16, CX

synloop:
	VPXORQ Z16, Z16, Z16
	SYN2(0, Z0, Z1)
	SYN2(16, Z2, Z3)
	SYN2(32, Z4, Z5)
	SYN2(48, Z6, Z7)
	SYN2(64, Z8, Z9)
	SYN2(80, Z10, Z11)
	SYN2(96, Z12, Z13)
	SYN2(112, Z14, Z15)
	VMOVDQU64 Z16, (DI)
	ADDQ $128, AX
	ADDQ $64, DI
	DECQ CX
	JNZ  synloop
	VZEROUPPER
	RET

// CHIENTERM adds Λ_i·α^(−e·i) for the 256 e of one row of pow (SI) into
// Z0..Z3; Z4 holds Λ_i's matrix in every qword.
#define CHIENTERM \
	VMOVDQU64      (SI), Z5        \
	VMOVDQU64      64(SI), Z6      \
	VMOVDQU64      128(SI), Z7     \
	VMOVDQU64      192(SI), Z8     \
	VGF2P8AFFINEQB $0, Z4, Z5, Z5  \
	VGF2P8AFFINEQB $0, Z4, Z6, Z6  \
	VGF2P8AFFINEQB $0, Z4, Z7, Z7  \
	VGF2P8AFFINEQB $0, Z4, Z8, Z8  \
	VPXORQ         Z5, Z0, Z0      \
	VPXORQ         Z6, Z1, Z1      \
	VPXORQ         Z7, Z2, Z2      \
	VPXORQ         Z8, Z3, Z3

// func gfniChien(mats *[T]uint64, l int, pow *[T][256]byte, roots *[4]uint64)
//
// Chien search of Λ(x) = 1 + Σ_{i=1..l} Λ_i x^i at x = α^(−e), e = 0..255,
// all at once: pow[i−1][e] = α^(−e·i), mats[i−1] the matrix of Λ_i. Bit e
// of roots (word e/64) is set where Λ vanishes. 1 ≤ l ≤ T.
TEXT ·gfniChien(SB), NOSPLIT, $0-32
	MOVQ mats+0(FP), AX
	MOVQ l+8(FP), CX
	MOVQ pow+16(FP), SI
	MOVQ roots+24(FP), DI
	MOVL $0x01010101, DX
	VPBROADCASTD DX, Z0
	VMOVDQA64 Z0, Z1
	VMOVDQA64 Z0, Z2
	VMOVDQA64 Z0, Z3

chienloop:
	VPBROADCASTQ (AX), Z4
	CHIENTERM
	ADDQ $8, AX
	ADDQ $256, SI
	DECQ CX
	JNZ  chienloop

	VPTESTNMB Z0, Z0, K1
	VPTESTNMB Z1, Z1, K2
	VPTESTNMB Z2, Z2, K3
	VPTESTNMB Z3, Z3, K4
	KMOVQ K1, 0(DI)
	KMOVQ K2, 8(DI)
	KMOVQ K3, 16(DI)
	KMOVQ K4, 24(DI)
	VZEROUPPER
	RET

// SYNG2 adds the products of the data registers da (group g) and db
// (group g+1) with the matrices of syndrome j at off(AX) and off+64(AX)
// into acc.
#define SYNG2(off, acc) \
	VGF2P8AFFINEQB $0, off(AX), Z8, Z10      \
	VGF2P8AFFINEQB $0, (off+64)(AX), Z9, Z11 \
	VPTERNLOGD     $0x96, Z11, Z10, acc

// FOLDOR folds the four lanes of acc (four symbol positions of the same
// 16 codewords) into one and ORs the 16 syndrome bytes into X31.
#define FOLDOR(acc, yacc, xacc) \
	VEXTRACTI64X4 $1, acc, Y10  \
	VPXORQ        Y10, yacc, yacc \
	VEXTRACTI32X4 $1, yacc, X10 \
	VPXORQ        X10, xacc, xacc \
	VPORQ         xacc, X31, X31

// func gfniSynCheck(mat *[synGroups * 7 * 8]uint64, rows *[Rows]*byte) bool
//
// The clean-frame check by the first eight syndromes S_0..S_7 of each of
// the 64 row codewords: true when all are zero. A row is read as 64-byte
// groups, group g = symbols 4g..4g+3 of its sixteen codewords, symbol
// 4g+l in lane l; mat[(j−1)·512 + 8g + q] is the matrix of the weight
// α^(j·(254 − 4g − q/2)) of lane q/2 in syndrome j (q = qword), zero past
// the last symbol. S_0 needs no product. Groups are taken in pairs so that
// one VPTERNLOGD adds two products; the last group (symbols 252..254) is
// 48 bytes, loaded under a mask. The lanes are folded at the end of each
// row: the syndrome of a codeword is the XOR of its four lanes.
TEXT ·gfniSynCheck(SB), NOSPLIT, $0-17
	MOVQ   rows+8(FP), R8
	MOVQ   $4, DX
	VPXORQ X31, X31, X31
	MOVQ   $0x0000ffffffffffff, BX
	KMOVQ  BX, K1

row:
	MOVQ   mat+0(FP), AX
	MOVQ   (R8), SI
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	MOVQ   $31, CX // groups 0..61 in pairs

pairs:
	VMOVDQU64  (SI), Z8
	VMOVDQU64  64(SI), Z9
	VPTERNLOGD $0x96, Z9, Z8, Z0
	SYNG2(0, Z1)
	SYNG2(4096, Z2)
	SYNG2(8192, Z3)
	SYNG2(12288, Z4)
	SYNG2(16384, Z5)
	SYNG2(20480, Z6)
	SYNG2(24576, Z7)
	ADDQ       $128, AX
	ADDQ       $128, SI
	DECQ       CX
	JNZ        pairs

	// groups 62 and 63 (48 bytes: the row ends at byte 4080)
	VMOVDQU64  (SI), Z8
	VMOVDQU8.Z 64(SI), K1, Z9
	VPTERNLOGD $0x96, Z9, Z8, Z0
	SYNG2(0, Z1)
	SYNG2(4096, Z2)
	SYNG2(8192, Z3)
	SYNG2(12288, Z4)
	SYNG2(16384, Z5)
	SYNG2(20480, Z6)
	SYNG2(24576, Z7)

	FOLDOR(Z0, Y0, X0)
	FOLDOR(Z1, Y1, X1)
	FOLDOR(Z2, Y2, X2)
	FOLDOR(Z3, Y3, X3)
	FOLDOR(Z4, Y4, X4)
	FOLDOR(Z5, Y5, X5)
	FOLDOR(Z6, Y6, X6)
	FOLDOR(Z7, Y7, X7)
	ADDQ $8, R8
	DECQ DX
	JNZ  row

	VPTESTMQ X31, X31, K2
	KORTESTB K2, K2
	SETEQ    ret+16(FP)
	VZEROUPPER
	RET
