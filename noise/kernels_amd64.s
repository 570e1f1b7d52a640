//go:build amd64 && !noasm

#include "textflag.h"

// evenDwords selects dwords 0, 2, …, 30 of two concatenated vectors: the low halves
// (k) of the sixteen gathered qwords; plus one, the high halves (x).
DATA evenDwords<>+0(SB)/8, $0x0000000200000000
DATA evenDwords<>+8(SB)/8, $0x0000000600000004
DATA evenDwords<>+16(SB)/8, $0x0000000a00000008
DATA evenDwords<>+24(SB)/8, $0x0000000e0000000c
DATA evenDwords<>+32(SB)/8, $0x0000001200000010
DATA evenDwords<>+40(SB)/8, $0x0000001600000014
DATA evenDwords<>+48(SB)/8, $0x0000001a00000018
DATA evenDwords<>+56(SB)/8, $0x0000001e0000001c
GLOBL evenDwords<>(SB), RODATA|NOPTR, $64

// revBytes holds the dwords 7, 6, …, 0, 15, 14, …, 8: each byte of the mask in MSB-first
// sample order.
DATA revBytes<>+0(SB)/8, $0x0000000600000007
DATA revBytes<>+8(SB)/8, $0x0000000400000005
DATA revBytes<>+16(SB)/8, $0x0000000200000003
DATA revBytes<>+24(SB)/8, $0x0000000000000001
DATA revBytes<>+32(SB)/8, $0x0000000e0000000f
DATA revBytes<>+40(SB)/8, $0x0000000c0000000d
DATA revBytes<>+48(SB)/8, $0x0000000a0000000b
DATA revBytes<>+56(SB)/8, $0x0000000800000009
GLOBL revBytes<>(SB), RODATA|NOPTR, $64

// iota16 holds the dwords 0, 1, …, 15.
DATA iota16<>+0(SB)/8, $0x0000000100000000
DATA iota16<>+8(SB)/8, $0x0000000300000002
DATA iota16<>+16(SB)/8, $0x0000000500000004
DATA iota16<>+24(SB)/8, $0x0000000700000006
DATA iota16<>+32(SB)/8, $0x0000000900000008
DATA iota16<>+40(SB)/8, $0x0000000b0000000a
DATA iota16<>+48(SB)/8, $0x0000000d0000000c
DATA iota16<>+56(SB)/8, $0x0000000f0000000e
GLOBL iota16<>(SB), RODATA|NOPTR, $64

// func addDecide16AVX512(soft *Sample, ks *byte, n int, sigma, thr float32, out *byte, rej *int32) int
//
// Sixteen samples per iteration, lane l = sample l of the group, exactly as zigFast and
// decide8 compute them in Go:
//
//	j = w & 511, m = w >> 9                   (layer and sign; 23-bit magnitude)
//	k = zigK[j], x = zigW[j]                  (zigKW[j]: two 8-lane VPGATHERDQ, split
//	                                           into k and x by two VPERMT2D)
//	z = float32(m) · x                        (VCVTDQ2PS is exact: m < 2^23)
//	v = soft + float32(σ · z)                 (two roundings, no FMA, as in Go)
//	bit = v > thr (ordered: NaN decides 0)    (VCMPPS GT_OQ into K3)
//	rej = !(m < k)                            (VPCMPUD NLT into K4)
//
// The indices of the rejected samples (Z25: the group's sixteen indices) are compressed
// into Z10 and stored as a whole vector at R8, which then advances by their count: the
// caller's rej has sixteen entries of slack. The result is the number of rejections.
//
// The packed output wants sample l in bit 7 − l%8 of byte l/8, so v is permuted
// (VPERMPS with revBytes, Z23) to reverse the lanes within each half before the
// compare; then K3 is the output's two bytes and is stored as it is.
//
// Registers: SI soft, DX ks, CX samples left, DI out, R8 rej, R11 rej's start, R9 zigKW,
// Z28 511, Z30 σ, Z29 thr, Z26 and Z27 the VPERMT2D indices of the low (k) and high (x)
// dwords of the gathered qwords, Z24 16, Z25 the group's indices. Instructions: AVX-512
// F, and DQ for VEXTRACTI32X8.
TEXT ·addDecide16AVX512(SB), NOSPLIT, $0-56
	MOVQ         soft+0(FP), SI
	MOVQ         ks+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS sigma+24(FP), Z30
	VBROADCASTSS thr+28(FP), Z29
	MOVQ         out+32(FP), DI
	MOVQ         rej+40(FP), R8
	MOVQ         R8, R11
	VMOVDQU32    iota16<>(SB), Z25
	MOVL         $16, AX
	VPBROADCASTD AX, Z24
	LEAQ         ·zigKW(SB), R9
	MOVL         $511, AX
	VPBROADCASTD AX, Z28
	VMOVDQU32    revBytes<>(SB), Z23
	VMOVDQU32    evenDwords<>(SB), Z26
	MOVL         $1, AX
	VPBROADCASTD AX, Z27
	VPADDD       Z26, Z27, Z27

loop:
	VMOVDQU32      (DX), Z0
	VPANDD         Z28, Z0, Z1
	VPSRLD         $9, Z0, Z2
	VEXTRACTI32X8  $1, Z1, Y8
	KXNORW         K0, K0, K1
	VPGATHERDQ     (R9)(Y1*8), K1, Z3
	KXNORW         K0, K0, K2
	VPGATHERDQ     (R9)(Y8*8), K2, Z4
	VMOVDQA64      Z3, Z5
	VPERMT2D       Z4, Z26, Z5
	VPERMT2D       Z4, Z27, Z3
	VCVTDQ2PS      Z2, Z6
	VMULPS         Z3, Z6, Z6
	VMULPS         Z30, Z6, Z6
	VADDPS         (SI), Z6, Z6
	VPERMPS        Z6, Z23, Z6
	VCMPPS         $0x1e, Z29, Z6, K3
	KMOVW          K3, (DI)
	VPCMPUD        $5, Z5, Z2, K4
	VPCOMPRESSD    Z25, K4, Z10
	VMOVDQU32      Z10, (R8)
	KMOVW          K4, AX
	POPCNTL        AX, AX
	LEAQ           (R8)(AX*4), R8
	VPADDD         Z24, Z25, Z25
	ADDQ           $64, SI
	ADDQ           $64, DX
	ADDQ           $2, DI
	SUBQ           $16, CX
	JNZ            loop
	SUBQ           R11, R8
	SHRQ           $2, R8
	MOVQ           R8, ret+48(FP)
	VZEROUPPER
	RET
