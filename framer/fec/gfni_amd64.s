//go:build amd64 && !noasm

#include "textflag.h"

// STEP multiplies the 64-byte symbol in Z16 by the GF(2^8) constant whose
// affine matrix is the qword at off(AX) and adds the product into acc.
#define STEP(off, acc) \
	VGF2P8AFFINEQB.BCST $0, off(AX), Z16, Z17 \
	VPXORQ              Z17, acc, acc

// STORE writes the four 16-byte lanes of acc (rows 0..3, codewords
// 0..15 of parity symbol p) to out[r][16p:], r = 0..3.
#define STORE(acc, xacc, p) \
	VMOVDQU64     xacc, (p*16)(DI)      \
	VEXTRACTI32X4 $1, acc, (256+p*16)(DI) \
	VEXTRACTI32X4 $2, acc, (512+p*16)(DI) \
	VEXTRACTI32X4 $3, acc, (768+p*16)(DI)

// func gfniFrameParity(mat *[K * Parity]uint64, r0, r1, r2, r3 *byte, out *[Rows][Parity * Interleave]byte)
//
// Parity of the 64 row codewords of a frame: for each information symbol
// i (0..238) the 16-byte symbol i of each row (bytes 16i..16i+15) is loaded
// into one lane of Z16, and parity p += parityMatrix[p][i]·symbol for
// p = 0..15 in Z0..Z15 (mat[16i+p] is that constant's affine matrix).
TEXT ·gfniFrameParity(SB), NOSPLIT, $0-48
	MOVQ mat+0(FP), AX
	MOVQ r0+8(FP), R8
	MOVQ r1+16(FP), R9
	MOVQ r2+24(FP), R10
	MOVQ r3+32(FP), R11
	MOVQ out+40(FP), DI
	MOVQ $239, CX
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

loop:
	VMOVDQU64    (R8), X16
	VINSERTI32X4 $1, (R9), Z16, Z16
	VINSERTI32X4 $2, (R10), Z16, Z16
	VINSERTI32X4 $3, (R11), Z16, Z16
	STEP(0, Z0)
	STEP(8, Z1)
	STEP(16, Z2)
	STEP(24, Z3)
	STEP(32, Z4)
	STEP(40, Z5)
	STEP(48, Z6)
	STEP(56, Z7)
	STEP(64, Z8)
	STEP(72, Z9)
	STEP(80, Z10)
	STEP(88, Z11)
	STEP(96, Z12)
	STEP(104, Z13)
	STEP(112, Z14)
	STEP(120, Z15)
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $16, R11
	ADDQ $128, AX
	DECQ CX
	JNZ  loop

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
