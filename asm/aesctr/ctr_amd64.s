//go:build amd64 && !noasm

#include "textflag.h"

// bswap128 reverses the sixteen bytes of a block: a big-endian counter
// block becomes a little-endian 128-bit integer whose dword 0 is the
// 32-bit counter, so VPADDD steps it.
DATA bswap128<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA bswap128<>+8(SB)/8, $0x0001020304050607
GLOBL bswap128<>(SB), RODATA|NOPTR, $16

// lanes0123 adds 0, 1, 2, 3 to the counters of the four 128-bit lanes;
// four adds 4 to each.
DATA lanes0123<>+0(SB)/8, $0
DATA lanes0123<>+8(SB)/8, $0
DATA lanes0123<>+16(SB)/8, $1
DATA lanes0123<>+24(SB)/8, $0
DATA lanes0123<>+32(SB)/8, $2
DATA lanes0123<>+40(SB)/8, $0
DATA lanes0123<>+48(SB)/8, $3
DATA lanes0123<>+56(SB)/8, $0
GLOBL lanes0123<>(SB), RODATA|NOPTR, $64

DATA four<>+0(SB)/8, $4
DATA four<>+8(SB)/8, $0
GLOBL four<>(SB), RODATA|NOPTR, $16

// EXPAND derives round key `off`/16 from the previous one in X0: X1 =
// RotWord(SubWord(w3)) ⊕ rcon in every dword, X0 = prefix XOR of its
// words (two shifted XORs), then ⊕ X1.
#define EXPAND(rcon, off) \
	AESKEYGENASSIST $rcon, X0, X1 \
	PSHUFD          $0xff, X1, X1 \
	VPSLLDQ         $4, X0, X2    \
	PXOR            X2, X0        \
	VPSLLDQ         $8, X0, X2    \
	PXOR            X2, X0        \
	PXOR            X1, X0        \
	MOVOU           X0, off(BX)

// func expandKey128(key *[16]byte, rk *[176]byte)
//
// The AES-128 key schedule with AESKEYGENASSIST: no table lookups indexed
// by key bytes. The registers that held key material are cleared.
TEXT ·expandKey128(SB), NOSPLIT, $0-16
	MOVQ  key+0(FP), AX
	MOVQ  rk+8(FP), BX
	MOVOU (AX), X0
	MOVOU X0, (BX)
	EXPAND(0x01, 16)
	EXPAND(0x02, 32)
	EXPAND(0x04, 48)
	EXPAND(0x08, 64)
	EXPAND(0x10, 80)
	EXPAND(0x20, 96)
	EXPAND(0x40, 112)
	EXPAND(0x80, 128)
	EXPAND(0x1b, 144)
	EXPAND(0x36, 160)
	PXOR X0, X0
	PXOR X1, X1
	PXOR X2, X2
	RET

#define ROUND(k) \
	VAESENC k, Z4, Z4 \
	VAESENC k, Z5, Z5 \
	VAESENC k, Z6, Z6 \
	VAESENC k, Z7, Z7

// func ctr16VAES(rk *[176]byte, ctr *[16]byte, dst *byte, n int)
//
// n > 0 chunks of sixteen blocks (256 bytes) of AES-128-CTR keystream to
// dst, from the counter block *ctr (its last four bytes a big-endian
// counter that the caller guarantees does not wrap). Four blocks per
// 512-bit register, four registers per chunk, so sixteen encryptions are
// in flight; the eleven round keys stay in Z20..Z30 and are cleared on
// return. The caller advances *ctr.
TEXT ·ctr16VAES(SB), NOSPLIT, $0-32
	MOVQ            rk+0(FP), AX
	MOVQ            ctr+8(FP), BX
	MOVQ            dst+16(FP), DI
	MOVQ            n+24(FP), CX
	VBROADCASTI32X4 0(AX), Z20
	VBROADCASTI32X4 16(AX), Z21
	VBROADCASTI32X4 32(AX), Z22
	VBROADCASTI32X4 48(AX), Z23
	VBROADCASTI32X4 64(AX), Z24
	VBROADCASTI32X4 80(AX), Z25
	VBROADCASTI32X4 96(AX), Z26
	VBROADCASTI32X4 112(AX), Z27
	VBROADCASTI32X4 128(AX), Z28
	VBROADCASTI32X4 144(AX), Z29
	VBROADCASTI32X4 160(AX), Z30
	VBROADCASTI32X4 bswap128<>(SB), Z19
	VBROADCASTI32X4 four<>(SB), Z18
	VBROADCASTI32X4 (BX), Z0
	VPSHUFB         Z19, Z0, Z0
	VPADDD          lanes0123<>(SB), Z0, Z0

loop:
	VPADDD      Z18, Z0, Z1
	VPADDD      Z18, Z1, Z2
	VPADDD      Z18, Z2, Z3
	VPSHUFB     Z19, Z0, Z4
	VPSHUFB     Z19, Z1, Z5
	VPSHUFB     Z19, Z2, Z6
	VPSHUFB     Z19, Z3, Z7
	VPADDD      Z18, Z3, Z0
	VPXORD      Z20, Z4, Z4
	VPXORD      Z20, Z5, Z5
	VPXORD      Z20, Z6, Z6
	VPXORD      Z20, Z7, Z7
	ROUND(Z21)
	ROUND(Z22)
	ROUND(Z23)
	ROUND(Z24)
	ROUND(Z25)
	ROUND(Z26)
	ROUND(Z27)
	ROUND(Z28)
	ROUND(Z29)
	VAESENCLAST Z30, Z4, Z4
	VAESENCLAST Z30, Z5, Z5
	VAESENCLAST Z30, Z6, Z6
	VAESENCLAST Z30, Z7, Z7
	VMOVDQU64   Z4, 0(DI)
	VMOVDQU64   Z5, 64(DI)
	VMOVDQU64   Z6, 128(DI)
	VMOVDQU64   Z7, 192(DI)
	ADDQ        $256, DI
	DECQ        CX
	JNZ         loop

	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VZEROUPPER
	RET
