//go:build amd64 && !noasm

#include "textflag.h"

// func addDecide16AVX512(soft *Sample, ks *byte, n int, sigma, thr float32, out *byte, rej *uint16)
//
// Sixteen samples per iteration, lane l = sample l of the group, exactly as zigFast and
// decide8 compute them in Go:
//
//	j = w & 511, m = w >> 9                   (layer and sign; 23-bit magnitude)
//	k = zigK[j], x = zigW[j]                  (two VPGATHERDD)
//	z = float32(m) · x                        (VCVTDQ2PS is exact: m < 2^23)
//	v = soft + float32(σ · z)                 (two roundings, no FMA, as in Go)
//	bit = v > thr (ordered: NaN decides 0)    (VCMPPS GT_OQ into K3)
//	rej = !(m < k)                            (VPCMPUD LT into K4, inverted)
//
// K3 has sample l in bit l; the packed output wants it in bit 7 − l%8 of byte l/8, so
// the sixteen bits go through a GPR into X6 and GF2P8AFFINEQB with the bit-reversal
// matrix 0x8040201008040201 (Z7) reverses each byte. Registers: SI soft, DX ks, CX
// samples left, DI out, R8 rej, R9 zigK, R10 zigW, Z28 511, Z30 σ, Z29 thr.
TEXT ·addDecide16AVX512(SB), NOSPLIT, $0-48
	MOVQ         soft+0(FP), SI
	MOVQ         ks+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS sigma+24(FP), Z30
	VBROADCASTSS thr+28(FP), Z29
	MOVQ         out+32(FP), DI
	MOVQ         rej+40(FP), R8
	LEAQ         ·zigK(SB), R9
	LEAQ         ·zigW(SB), R10
	MOVL         $511, AX
	VPBROADCASTD AX, Z28
	MOVQ         $0x8040201008040201, AX
	VMOVQ        AX, X7

loop:
	VMOVDQU32      (DX), Z0
	VPANDD         Z28, Z0, Z1
	VPSRLD         $9, Z0, Z2
	KXNORW         K0, K0, K1
	VPGATHERDD     (R9)(Z1*4), K1, Z3
	KXNORW         K0, K0, K2
	VPGATHERDD     (R10)(Z1*4), K2, Z4
	VCVTDQ2PS      Z2, Z5
	VMULPS         Z4, Z5, Z5
	VMULPS         Z30, Z5, Z5
	VADDPS         (SI), Z5, Z5
	VCMPPS         $0x1e, Z29, Z5, K3
	VPCMPUD        $1, Z3, Z2, K4
	KNOTW          K4, K4
	KMOVW          K4, AX
	MOVW           AX, (R8)
	KMOVW          K3, AX
	VMOVD          AX, X6
	VGF2P8AFFINEQB $0, X7, X6, X6
	VMOVD          X6, AX
	MOVW           AX, (DI)
	ADDQ           $64, SI
	ADDQ           $64, DX
	ADDQ           $2, DI
	ADDQ           $2, R8
	SUBQ           $16, CX
	JNZ            loop
	VZEROUPPER
	RET
