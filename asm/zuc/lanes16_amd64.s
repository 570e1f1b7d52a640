//go:build amd64 && !noasm

#include "textflag.h"

// Sixteen ZUC-128 lanes on AVX-512. Lane l of every vector is stream l; the
// LFSR cell at ring position p of all sixteen lanes is the 64-byte row
// (64*p)(BX) of a 64-byte-aligned scratch area in the frame, and a block of
// sixteen steps (unrolled) turns the ring once, so step k finds cell s_i at
// position (k+i)&15 and writes the new cell at position k. The state is
// copied from the Lanes16 into the scratch area on entry and back on exit.
//
// Scratch layout (BX): 0..1023 cells, 1024 R1, 1088 R2, 1152..2175 the
// sixteen keystream words of a block (row k = word k of all lanes).
//
// Registers during the steps: Z22 R1, Z23 R2, Z24..Z27 the S0 table
// (256 bytes), Z28 0x7FFFFFFF in every dword, Z29 and Z30 the GFNI
// matrices of S1 (gfni.go), K1 the odd bytes (S0 positions of a word), K2
// the even words. Z0..Z21 and K3 are temporaries.

DATA bswap32<>+0(SB)/8, $0x0405060700010203
DATA bswap32<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap32<>(SB), RODATA|NOPTR, $16

#define LOADCONST \
	VMOVDQU64    ·s0+0(SB), Z24   \
	VMOVDQU64    ·s0+64(SB), Z25  \
	VMOVDQU64    ·s0+128(SB), Z26 \
	VMOVDQU64    ·s0+192(SB), Z27 \
	MOVL         $0x7FFFFFFF, AX  \
	VPBROADCASTD AX, Z28          \
	VPBROADCASTQ ·s1Iso(SB), Z29  \
	VPBROADCASTQ ·s1Mat(SB), Z30  \
	VMOVDQA64    1024(BX), Z22    \
	VMOVDQA64    1088(BX), Z23

#define LOADMASKS \
	MOVQ  $0xAAAAAAAAAAAAAAAA, AX \
	KMOVQ AX, K1                  \
	MOVL  $0x55555555, AX         \
	KMOVD AX, K2

// SBOX applies S0 to the odd and S1 to the even bytes of x into out: S1
// by GFNI (isomorphism to the AES field, then affine-of-inverse), S0 by
// two 128-entry VPERMI2B lookups chosen by bit 7.
#define SBOX(x, out) \
	VGF2P8AFFINEQB    $0, Z29, x, Z16    \
	VGF2P8AFFINEINVQB $0x55, Z30, Z16, Z16 \
	VMOVDQA64         x, Z17             \
	VPERMI2B          Z25, Z24, Z17      \
	VMOVDQA64         x, Z18             \
	VPERMI2B          Z27, Z26, Z18      \
	VPMOVB2M          x, K3              \
	VPBLENDMB         Z18, Z17, K3, Z17  \
	VPBLENDMB         Z17, Z16, K1, out

// BRF is the bit reorganisation and F for cells at ring positions p0..p15:
// it leaves W = (X0⊕R1)+R2 in Z6 and X3 in Z5 and updates R1, R2.
#define BRF(p0, p2, p5, p7, p9, p11, p14, p15) \
	VPSLLD     $1, (p15*64)(BX), Z0     \
	VPBLENDMW  (p14*64)(BX), Z0, K2, Z1 \
	VPSLLD     $16, (p11*64)(BX), Z2    \
	VPSRLD     $15, (p9*64)(BX), Z3     \
	VPORD      Z3, Z2, Z2               \
	VPSLLD     $16, (p7*64)(BX), Z3     \
	VPSRLD     $15, (p5*64)(BX), Z4     \
	VPORD      Z4, Z3, Z3               \
	VPSLLD     $16, (p2*64)(BX), Z4     \
	VPSRLD     $15, (p0*64)(BX), Z5     \
	VPORD      Z4, Z5, Z5               \
	VPXORD     Z22, Z1, Z6              \
	VPADDD     Z23, Z6, Z6              \
	VPADDD     Z22, Z2, Z7              \
	VPXORD     Z23, Z3, Z8              \
	VPSHLDD    $16, Z8, Z7, Z10         \
	VPSHLDD    $16, Z7, Z8, Z11         \
	VPROLD     $2, Z10, Z12             \
	VPROLD     $10, Z10, Z13            \
	VPROLD     $18, Z10, Z14            \
	VPROLD     $24, Z10, Z15            \
	VPTERNLOGD $0x96, Z12, Z13, Z10     \
	VPTERNLOGD $0x96, Z14, Z15, Z10     \
	VPROLD     $8, Z11, Z12             \
	VPROLD     $14, Z11, Z13            \
	VPROLD     $22, Z11, Z14            \
	VPROLD     $30, Z11, Z15            \
	VPTERNLOGD $0x96, Z12, Z13, Z11     \
	VPTERNLOGD $0x96, Z14, Z15, Z11     \
	SBOX(Z10, Z22)                      \
	SBOX(Z11, Z23)

// ROTM sets dst to the 31-bit cell src times 2^k modulo 2^31-1.
#define ROTM(src, k, dst, tmp) \
	VPSLLD     $k, src, dst        \
	VPSRLD     $(31-k), src, tmp   \
	VPTERNLOGD $0xEC, Z28, tmp, dst

// FOLD reduces x < 2^32 to [0, 2^31-1] modulo 2^31-1; x > 0 stays > 0.
#define FOLD(x, tmp) \
	VPSRLD $31, x, tmp \
	VPANDD Z28, x, x   \
	VPADDD tmp, x, x

// LFSR leaves in Z0 (1+2^8)s0 + 2^20 s4 + 2^21 s10 + 2^17 s13 + 2^15 s15
// modulo 2^31-1, in [1, 2^31-1]. Pairs of 31-bit terms fit 32 bits.
#define LFSR(p0, p4, p10, p13, p15) \
	VMOVDQA64 (p0*64)(BX), Z0          \
	ROTM(Z0, 8, Z1, Z2)                \
	VPADDD    Z1, Z0, Z0               \
	ROTM((p4*64)(BX), 20, Z1, Z2)      \
	ROTM((p10*64)(BX), 21, Z3, Z4)     \
	VPADDD    Z3, Z1, Z1               \
	ROTM((p13*64)(BX), 17, Z3, Z4)     \
	ROTM((p15*64)(BX), 15, Z7, Z8)     \
	VPADDD    Z7, Z3, Z3               \
	FOLD(Z0, Z2)                       \
	FOLD(Z1, Z4)                       \
	FOLD(Z3, Z8)                       \
	VPADDD    Z1, Z0, Z0               \
	FOLD(Z0, Z2)                       \
	VPADDD    Z3, Z0, Z0               \
	FOLD(Z0, Z2)

// ISTEP is an initialisation step: W>>1 enters the feedback.
#define ISTEP(p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	BRF(p0, p2, p5, p7, p9, p11, p14, p15) \
	LFSR(p0, p4, p10, p13, p15)            \
	VPSRLD    $1, Z6, Z1                   \
	VPADDD    Z1, Z0, Z0                   \
	FOLD(Z0, Z2)                           \
	VMOVDQA64 Z0, (p0*64)(BX)

// WSTEP is working step k of a block: keystream word k = W⊕X3 goes to
// row k of the block buffer.
#define WSTEP(k, p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	BRF(p0, p2, p5, p7, p9, p11, p14, p15) \
	VPXORD    Z5, Z6, Z9                   \
	VMOVDQA64 Z9, (1152+k*64)(BX)          \
	LFSR(p0, p4, p10, p13, p15)            \
	VMOVDQA64 Z0, (p0*64)(BX)

// func zucInit16(st *Lanes16)
TEXT ·zucInit16(SB), 0, $2240-8
	MOVQ st+0(FP), SI
	LEAQ 63(SP), BX
	ANDQ $-64, BX
	VMOVDQU64 (0)(SI), Z0
	VMOVDQU64 (64)(SI), Z1
	VMOVDQU64 (128)(SI), Z2
	VMOVDQU64 (192)(SI), Z3
	VMOVDQU64 (256)(SI), Z4
	VMOVDQU64 (320)(SI), Z5
	VMOVDQU64 (384)(SI), Z6
	VMOVDQU64 (448)(SI), Z7
	VMOVDQU64 (512)(SI), Z8
	VMOVDQU64 (576)(SI), Z9
	VMOVDQU64 (640)(SI), Z10
	VMOVDQU64 (704)(SI), Z11
	VMOVDQU64 (768)(SI), Z12
	VMOVDQU64 (832)(SI), Z13
	VMOVDQU64 (896)(SI), Z14
	VMOVDQU64 (960)(SI), Z15
	VMOVDQU64 (1024)(SI), Z16
	VMOVDQU64 (1088)(SI), Z17
	VMOVDQA64 Z0, (0)(BX)
	VMOVDQA64 Z1, (64)(BX)
	VMOVDQA64 Z2, (128)(BX)
	VMOVDQA64 Z3, (192)(BX)
	VMOVDQA64 Z4, (256)(BX)
	VMOVDQA64 Z5, (320)(BX)
	VMOVDQA64 Z6, (384)(BX)
	VMOVDQA64 Z7, (448)(BX)
	VMOVDQA64 Z8, (512)(BX)
	VMOVDQA64 Z9, (576)(BX)
	VMOVDQA64 Z10, (640)(BX)
	VMOVDQA64 Z11, (704)(BX)
	VMOVDQA64 Z12, (768)(BX)
	VMOVDQA64 Z13, (832)(BX)
	VMOVDQA64 Z14, (896)(BX)
	VMOVDQA64 Z15, (960)(BX)
	VMOVDQA64 Z16, (1024)(BX)
	VMOVDQA64 Z17, (1088)(BX)
	LOADMASKS
	LOADCONST
	MOVQ $2, CX

initloop:
	ISTEP(0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	ISTEP(1, 3, 5, 6, 8, 10, 11, 12, 14, 15, 0)
	ISTEP(2, 4, 6, 7, 9, 11, 12, 13, 15, 0, 1)
	ISTEP(3, 5, 7, 8, 10, 12, 13, 14, 0, 1, 2)
	ISTEP(4, 6, 8, 9, 11, 13, 14, 15, 1, 2, 3)
	ISTEP(5, 7, 9, 10, 12, 14, 15, 0, 2, 3, 4)
	ISTEP(6, 8, 10, 11, 13, 15, 0, 1, 3, 4, 5)
	ISTEP(7, 9, 11, 12, 14, 0, 1, 2, 4, 5, 6)
	ISTEP(8, 10, 12, 13, 15, 1, 2, 3, 5, 6, 7)
	ISTEP(9, 11, 13, 14, 0, 2, 3, 4, 6, 7, 8)
	ISTEP(10, 12, 14, 15, 1, 3, 4, 5, 7, 8, 9)
	ISTEP(11, 13, 15, 0, 2, 4, 5, 6, 8, 9, 10)
	ISTEP(12, 14, 0, 1, 3, 5, 6, 7, 9, 10, 11)
	ISTEP(13, 15, 1, 2, 4, 6, 7, 8, 10, 11, 12)
	ISTEP(14, 0, 2, 3, 5, 7, 8, 9, 11, 12, 13)
	ISTEP(15, 1, 3, 4, 6, 8, 9, 10, 12, 13, 14)
	DECQ CX
	JNZ  initloop

	// The first working step (its word is discarded) leaves s_0 at ring
	// position 1; the copy back rotates it to 0.
	WSTEP(0, 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	VMOVDQA64 Z22, 1024(BX)
	VMOVDQA64 Z23, 1088(BX)
	VMOVDQA64 (64)(BX), Z0
	VMOVDQA64 (128)(BX), Z1
	VMOVDQA64 (192)(BX), Z2
	VMOVDQA64 (256)(BX), Z3
	VMOVDQA64 (320)(BX), Z4
	VMOVDQA64 (384)(BX), Z5
	VMOVDQA64 (448)(BX), Z6
	VMOVDQA64 (512)(BX), Z7
	VMOVDQA64 (576)(BX), Z8
	VMOVDQA64 (640)(BX), Z9
	VMOVDQA64 (704)(BX), Z10
	VMOVDQA64 (768)(BX), Z11
	VMOVDQA64 (832)(BX), Z12
	VMOVDQA64 (896)(BX), Z13
	VMOVDQA64 (960)(BX), Z14
	VMOVDQA64 (0)(BX), Z15
	VMOVDQA64 (1024)(BX), Z16
	VMOVDQA64 (1088)(BX), Z17
	VMOVDQU64 Z0, (0)(SI)
	VMOVDQU64 Z1, (64)(SI)
	VMOVDQU64 Z2, (128)(SI)
	VMOVDQU64 Z3, (192)(SI)
	VMOVDQU64 Z4, (256)(SI)
	VMOVDQU64 Z5, (320)(SI)
	VMOVDQU64 Z6, (384)(SI)
	VMOVDQU64 Z7, (448)(SI)
	VMOVDQU64 Z8, (512)(SI)
	VMOVDQU64 Z9, (576)(SI)
	VMOVDQU64 Z10, (640)(SI)
	VMOVDQU64 Z11, (704)(SI)
	VMOVDQU64 Z12, (768)(SI)
	VMOVDQU64 Z13, (832)(SI)
	VMOVDQU64 Z14, (896)(SI)
	VMOVDQU64 Z15, (960)(SI)
	VMOVDQU64 Z16, (1024)(SI)
	VMOVDQU64 Z17, (1088)(SI)
	VZEROUPPER
	RET

// func zucKeystream16(st *Lanes16, ptrs *[16]*byte, n int)
//
// Each block runs sixteen steps, transposes the 16×16 words of the block
// buffer so that register l holds lane l's sixteen words, byte-swaps them
// to big-endian and stores 64 bytes at ptrs[l]+DX; the last block, when
// fewer than 64 bytes remain, is stored under a byte mask.
TEXT ·zucKeystream16(SB), 0, $2240-24
	MOVQ st+0(FP), SI
	MOVQ ptrs+8(FP), DI
	MOVQ n+16(FP), CX
	LEAQ 63(SP), BX
	ANDQ $-64, BX
	VMOVDQU64 (0)(SI), Z0
	VMOVDQU64 (64)(SI), Z1
	VMOVDQU64 (128)(SI), Z2
	VMOVDQU64 (192)(SI), Z3
	VMOVDQU64 (256)(SI), Z4
	VMOVDQU64 (320)(SI), Z5
	VMOVDQU64 (384)(SI), Z6
	VMOVDQU64 (448)(SI), Z7
	VMOVDQU64 (512)(SI), Z8
	VMOVDQU64 (576)(SI), Z9
	VMOVDQU64 (640)(SI), Z10
	VMOVDQU64 (704)(SI), Z11
	VMOVDQU64 (768)(SI), Z12
	VMOVDQU64 (832)(SI), Z13
	VMOVDQU64 (896)(SI), Z14
	VMOVDQU64 (960)(SI), Z15
	VMOVDQU64 (1024)(SI), Z16
	VMOVDQU64 (1088)(SI), Z17
	VMOVDQA64 Z0, (0)(BX)
	VMOVDQA64 Z1, (64)(BX)
	VMOVDQA64 Z2, (128)(BX)
	VMOVDQA64 Z3, (192)(BX)
	VMOVDQA64 Z4, (256)(BX)
	VMOVDQA64 Z5, (320)(BX)
	VMOVDQA64 Z6, (384)(BX)
	VMOVDQA64 Z7, (448)(BX)
	VMOVDQA64 Z8, (512)(BX)
	VMOVDQA64 Z9, (576)(BX)
	VMOVDQA64 Z10, (640)(BX)
	VMOVDQA64 Z11, (704)(BX)
	VMOVDQA64 Z12, (768)(BX)
	VMOVDQA64 Z13, (832)(BX)
	VMOVDQA64 Z14, (896)(BX)
	VMOVDQA64 Z15, (960)(BX)
	VMOVDQA64 Z16, (1024)(BX)
	VMOVDQA64 Z17, (1088)(BX)
	LOADMASKS
	XORQ DX, DX

block:
	LOADCONST
	WSTEP(0, 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	WSTEP(1, 1, 3, 5, 6, 8, 10, 11, 12, 14, 15, 0)
	WSTEP(2, 2, 4, 6, 7, 9, 11, 12, 13, 15, 0, 1)
	WSTEP(3, 3, 5, 7, 8, 10, 12, 13, 14, 0, 1, 2)
	WSTEP(4, 4, 6, 8, 9, 11, 13, 14, 15, 1, 2, 3)
	WSTEP(5, 5, 7, 9, 10, 12, 14, 15, 0, 2, 3, 4)
	WSTEP(6, 6, 8, 10, 11, 13, 15, 0, 1, 3, 4, 5)
	WSTEP(7, 7, 9, 11, 12, 14, 0, 1, 2, 4, 5, 6)
	WSTEP(8, 8, 10, 12, 13, 15, 1, 2, 3, 5, 6, 7)
	WSTEP(9, 9, 11, 13, 14, 0, 2, 3, 4, 6, 7, 8)
	WSTEP(10, 10, 12, 14, 15, 1, 3, 4, 5, 7, 8, 9)
	WSTEP(11, 11, 13, 15, 0, 2, 4, 5, 6, 8, 9, 10)
	WSTEP(12, 12, 14, 0, 1, 3, 5, 6, 7, 9, 10, 11)
	WSTEP(13, 13, 15, 1, 2, 4, 6, 7, 8, 10, 11, 12)
	WSTEP(14, 14, 0, 2, 3, 5, 7, 8, 9, 11, 12, 13)
	WSTEP(15, 15, 1, 3, 4, 6, 8, 9, 10, 12, 13, 14)
	VMOVDQA64 Z22, 1024(BX)
	VMOVDQA64 Z23, 1088(BX)
	VMOVDQA64 (1152)(BX), Z0
	VMOVDQA64 (1216)(BX), Z1
	VMOVDQA64 (1280)(BX), Z2
	VMOVDQA64 (1344)(BX), Z3
	VMOVDQA64 (1408)(BX), Z4
	VMOVDQA64 (1472)(BX), Z5
	VMOVDQA64 (1536)(BX), Z6
	VMOVDQA64 (1600)(BX), Z7
	VMOVDQA64 (1664)(BX), Z8
	VMOVDQA64 (1728)(BX), Z9
	VMOVDQA64 (1792)(BX), Z10
	VMOVDQA64 (1856)(BX), Z11
	VMOVDQA64 (1920)(BX), Z12
	VMOVDQA64 (1984)(BX), Z13
	VMOVDQA64 (2048)(BX), Z14
	VMOVDQA64 (2112)(BX), Z15
	// Stage 1: interleave the dwords of row pairs.
	VPUNPCKLDQ Z1, Z0, Z16
	VPUNPCKHDQ Z1, Z0, Z17
	VPUNPCKLDQ Z3, Z2, Z18
	VPUNPCKHDQ Z3, Z2, Z19
	VPUNPCKLDQ Z5, Z4, Z20
	VPUNPCKHDQ Z5, Z4, Z21
	VPUNPCKLDQ Z7, Z6, Z22
	VPUNPCKHDQ Z7, Z6, Z23
	VPUNPCKLDQ Z9, Z8, Z24
	VPUNPCKHDQ Z9, Z8, Z25
	VPUNPCKLDQ Z11, Z10, Z26
	VPUNPCKHDQ Z11, Z10, Z27
	VPUNPCKLDQ Z13, Z12, Z28
	VPUNPCKHDQ Z13, Z12, Z29
	VPUNPCKLDQ Z15, Z14, Z30
	VPUNPCKHDQ Z15, Z14, Z31
	// Stage 2: qwords; Z(4g+c) now holds, in 128-bit block q, rows 4g..4g+3 of lane 4q+c.
	VPUNPCKLQDQ Z18, Z16, Z0
	VPUNPCKHQDQ Z18, Z16, Z1
	VPUNPCKLQDQ Z19, Z17, Z2
	VPUNPCKHQDQ Z19, Z17, Z3
	VPUNPCKLQDQ Z22, Z20, Z4
	VPUNPCKHQDQ Z22, Z20, Z5
	VPUNPCKLQDQ Z23, Z21, Z6
	VPUNPCKHQDQ Z23, Z21, Z7
	VPUNPCKLQDQ Z26, Z24, Z8
	VPUNPCKHQDQ Z26, Z24, Z9
	VPUNPCKLQDQ Z27, Z25, Z10
	VPUNPCKHQDQ Z27, Z25, Z11
	VPUNPCKLQDQ Z30, Z28, Z12
	VPUNPCKHQDQ Z30, Z28, Z13
	VPUNPCKLQDQ Z31, Z29, Z14
	VPUNPCKHQDQ Z31, Z29, Z15
	// Stages 3 and 4: transpose the 4×4 matrices of 128-bit blocks.
	VSHUFI32X4 $0x44, Z4, Z0, Z16
	VSHUFI32X4 $0xEE, Z4, Z0, Z20
	VSHUFI32X4 $0x44, Z12, Z8, Z24
	VSHUFI32X4 $0xEE, Z12, Z8, Z28
	VSHUFI32X4 $0x44, Z5, Z1, Z17
	VSHUFI32X4 $0xEE, Z5, Z1, Z21
	VSHUFI32X4 $0x44, Z13, Z9, Z25
	VSHUFI32X4 $0xEE, Z13, Z9, Z29
	VSHUFI32X4 $0x44, Z6, Z2, Z18
	VSHUFI32X4 $0xEE, Z6, Z2, Z22
	VSHUFI32X4 $0x44, Z14, Z10, Z26
	VSHUFI32X4 $0xEE, Z14, Z10, Z30
	VSHUFI32X4 $0x44, Z7, Z3, Z19
	VSHUFI32X4 $0xEE, Z7, Z3, Z23
	VSHUFI32X4 $0x44, Z15, Z11, Z27
	VSHUFI32X4 $0xEE, Z15, Z11, Z31
	VSHUFI32X4 $0x88, Z24, Z16, Z0
	VSHUFI32X4 $0xDD, Z24, Z16, Z4
	VSHUFI32X4 $0x88, Z28, Z20, Z8
	VSHUFI32X4 $0xDD, Z28, Z20, Z12
	VSHUFI32X4 $0x88, Z25, Z17, Z1
	VSHUFI32X4 $0xDD, Z25, Z17, Z5
	VSHUFI32X4 $0x88, Z29, Z21, Z9
	VSHUFI32X4 $0xDD, Z29, Z21, Z13
	VSHUFI32X4 $0x88, Z26, Z18, Z2
	VSHUFI32X4 $0xDD, Z26, Z18, Z6
	VSHUFI32X4 $0x88, Z30, Z22, Z10
	VSHUFI32X4 $0xDD, Z30, Z22, Z14
	VSHUFI32X4 $0x88, Z27, Z19, Z3
	VSHUFI32X4 $0xDD, Z27, Z19, Z7
	VSHUFI32X4 $0x88, Z31, Z23, Z11
	VSHUFI32X4 $0xDD, Z31, Z23, Z15
	VBROADCASTI32X4 bswap32<>(SB), Z16
	VPSHUFB Z16, Z0, Z0
	VPSHUFB Z16, Z1, Z1
	VPSHUFB Z16, Z2, Z2
	VPSHUFB Z16, Z3, Z3
	VPSHUFB Z16, Z4, Z4
	VPSHUFB Z16, Z5, Z5
	VPSHUFB Z16, Z6, Z6
	VPSHUFB Z16, Z7, Z7
	VPSHUFB Z16, Z8, Z8
	VPSHUFB Z16, Z9, Z9
	VPSHUFB Z16, Z10, Z10
	VPSHUFB Z16, Z11, Z11
	VPSHUFB Z16, Z12, Z12
	VPSHUFB Z16, Z13, Z13
	VPSHUFB Z16, Z14, Z14
	VPSHUFB Z16, Z15, Z15
	CMPQ CX, $64
	JB   tail
	MOVQ 0(DI), R8
	VMOVDQU64 Z0, (R8)(DX*1)
	MOVQ 8(DI), R8
	VMOVDQU64 Z1, (R8)(DX*1)
	MOVQ 16(DI), R8
	VMOVDQU64 Z2, (R8)(DX*1)
	MOVQ 24(DI), R8
	VMOVDQU64 Z3, (R8)(DX*1)
	MOVQ 32(DI), R8
	VMOVDQU64 Z4, (R8)(DX*1)
	MOVQ 40(DI), R8
	VMOVDQU64 Z5, (R8)(DX*1)
	MOVQ 48(DI), R8
	VMOVDQU64 Z6, (R8)(DX*1)
	MOVQ 56(DI), R8
	VMOVDQU64 Z7, (R8)(DX*1)
	MOVQ 64(DI), R8
	VMOVDQU64 Z8, (R8)(DX*1)
	MOVQ 72(DI), R8
	VMOVDQU64 Z9, (R8)(DX*1)
	MOVQ 80(DI), R8
	VMOVDQU64 Z10, (R8)(DX*1)
	MOVQ 88(DI), R8
	VMOVDQU64 Z11, (R8)(DX*1)
	MOVQ 96(DI), R8
	VMOVDQU64 Z12, (R8)(DX*1)
	MOVQ 104(DI), R8
	VMOVDQU64 Z13, (R8)(DX*1)
	MOVQ 112(DI), R8
	VMOVDQU64 Z14, (R8)(DX*1)
	MOVQ 120(DI), R8
	VMOVDQU64 Z15, (R8)(DX*1)
	ADDQ $64, DX
	SUBQ $64, CX
	JNZ  block
	JMP  done

tail:
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVQ AX, K4
	MOVQ 0(DI), R8
	VMOVDQU8 Z0, K4, (R8)(DX*1)
	MOVQ 8(DI), R8
	VMOVDQU8 Z1, K4, (R8)(DX*1)
	MOVQ 16(DI), R8
	VMOVDQU8 Z2, K4, (R8)(DX*1)
	MOVQ 24(DI), R8
	VMOVDQU8 Z3, K4, (R8)(DX*1)
	MOVQ 32(DI), R8
	VMOVDQU8 Z4, K4, (R8)(DX*1)
	MOVQ 40(DI), R8
	VMOVDQU8 Z5, K4, (R8)(DX*1)
	MOVQ 48(DI), R8
	VMOVDQU8 Z6, K4, (R8)(DX*1)
	MOVQ 56(DI), R8
	VMOVDQU8 Z7, K4, (R8)(DX*1)
	MOVQ 64(DI), R8
	VMOVDQU8 Z8, K4, (R8)(DX*1)
	MOVQ 72(DI), R8
	VMOVDQU8 Z9, K4, (R8)(DX*1)
	MOVQ 80(DI), R8
	VMOVDQU8 Z10, K4, (R8)(DX*1)
	MOVQ 88(DI), R8
	VMOVDQU8 Z11, K4, (R8)(DX*1)
	MOVQ 96(DI), R8
	VMOVDQU8 Z12, K4, (R8)(DX*1)
	MOVQ 104(DI), R8
	VMOVDQU8 Z13, K4, (R8)(DX*1)
	MOVQ 112(DI), R8
	VMOVDQU8 Z14, K4, (R8)(DX*1)
	MOVQ 120(DI), R8
	VMOVDQU8 Z15, K4, (R8)(DX*1)

done:
	VMOVDQA64 (0)(BX), Z0
	VMOVDQA64 (64)(BX), Z1
	VMOVDQA64 (128)(BX), Z2
	VMOVDQA64 (192)(BX), Z3
	VMOVDQA64 (256)(BX), Z4
	VMOVDQA64 (320)(BX), Z5
	VMOVDQA64 (384)(BX), Z6
	VMOVDQA64 (448)(BX), Z7
	VMOVDQA64 (512)(BX), Z8
	VMOVDQA64 (576)(BX), Z9
	VMOVDQA64 (640)(BX), Z10
	VMOVDQA64 (704)(BX), Z11
	VMOVDQA64 (768)(BX), Z12
	VMOVDQA64 (832)(BX), Z13
	VMOVDQA64 (896)(BX), Z14
	VMOVDQA64 (960)(BX), Z15
	VMOVDQA64 (1024)(BX), Z16
	VMOVDQA64 (1088)(BX), Z17
	VMOVDQU64 Z0, (0)(SI)
	VMOVDQU64 Z1, (64)(SI)
	VMOVDQU64 Z2, (128)(SI)
	VMOVDQU64 Z3, (192)(SI)
	VMOVDQU64 Z4, (256)(SI)
	VMOVDQU64 Z5, (320)(SI)
	VMOVDQU64 Z6, (384)(SI)
	VMOVDQU64 Z7, (448)(SI)
	VMOVDQU64 Z8, (512)(SI)
	VMOVDQU64 Z9, (576)(SI)
	VMOVDQU64 Z10, (640)(SI)
	VMOVDQU64 Z11, (704)(SI)
	VMOVDQU64 Z12, (768)(SI)
	VMOVDQU64 Z13, (832)(SI)
	VMOVDQU64 Z14, (896)(SI)
	VMOVDQU64 Z15, (960)(SI)
	VMOVDQU64 Z16, (1024)(SI)
	VMOVDQU64 Z17, (1088)(SI)
	VZEROUPPER
	RET
