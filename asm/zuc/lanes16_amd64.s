//go:build amd64 && !noasm

#include "textflag.h"

// Sixteen ZUC-128 lanes on AVX-512. Dword l of every vector is stream l. A
// block of sixteen steps is unrolled and turns the LFSR ring once, so step
// k finds cell s_i at ring position p = (k+i)&15 and writes the new cell at
// position k. The Lanes16 state is copied into a 64-byte-aligned scratch
// area of the frame on entry and back on exit. The step invocations and
// the transposition are written out in full: the arguments of step k are
// the ring positions (k+i)&15 for i = 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15.
//
// Every cell is kept twice, as s (offset 0) and as 2s (offset 1024), 16
// rows of 64 bytes each (row p = ring position p of all lanes), so that
// X1..X3 of the bit reorganisation are one double shift each (VPSHLDD by
// 16 of s over 2s), X0 one word blend, and each rotation of the LFSR
// modulo 2^31-1 one double shift and a mask. Then come R1 (2048), R2
// (2112) and the block's keystream words (2176, row k = word k of all
// lanes).
//
// # Scheduling
//
// All sixteen lanes run in one vector, so the kernel's speed is that of
// its longest dependency chain per step, not of its instruction count
// alone. Two chains run through every step: the FSM (R1, R2 → W1, W2 →
// L1, L2 → S-boxes → R1, R2) and the LFSR (the new cell → its 2^15
// multiple in the next step's sum → the next new cell). Measured on an AMD
// Zen 5 (where simple 512-bit integer operations take 2 cycles, VPERMI2B 5,
// GFNI 3, and a result that moves from the shuffle or GFNI units to the
// ALUs one more): the FSM chain is ≈ 23 cycles a step (add 2, word blend 2,
// rotations 2, two three-way XORs 4, VPERMI2B 5, the bit-7 select 2, the
// S0/S1 byte blend 2, bypasses), and the kernel runs ≈ 30 cycles a step
// with everything else scheduled around it (≈ 75 vector operations a step
// on four pipes). The choices that keep both chains short:
//
//   - The new cell and its double stay in registers (Z17, Z18) for the next
//     step, whose s15 they are: a 512-bit store and reload costs 10 cycles
//     of store forwarding, which was on the LFSR chain.
//   - Reductions modulo 2^31-1 use no mask registers (a compare into a mask
//     and a masked subtraction is ≈ 9 cycles here): MINRED, min(x, x − p),
//     for the sums of the old cells, and RED, (x & p) + (x >> 31), for the
//     last one, which must leave the canonical [1, 2^31-1].
//   - L1 and L2 are five rotations XORed by two VPTERNLOGD (depth 3), not
//     the fewer but deeper grouping with a rotation after a XOR.
//   - S0 looks up every byte of u and v (four VPERMI2B, not two on packed
//     odd bytes and the shifts and blends around them), its bit-7 select is
//     a VPTERNLOGD mux under a byte mask made by GF2P8AFFINEQB (bit 7 to all
//     bits), not a VPTESTMB into a mask register (6 cycles).
//
// Registers during the steps: Z22 R1, Z23 R2, Z17 and Z18 the last new cell
// and its double, Z24..Z27 the S0 table, Z29 and Z30 the GFNI matrices of
// S1 (gfni.go), Z20 the GFNI matrix that copies bit 7 to every bit of a
// byte, Z31 0x7FFFFFFF, Z21, Z28 and Z19 the byte shuffles that rotate
// dwords by 8, 16 and 24 (on the shuffle units, beside the bit rotations
// and double shifts), K1 the odd bytes (the S0 bytes of a word), K2 the
// even (low) words. Z0..Z16 are temporaries; K4 masks the stores of a last
// partial block.

DATA rot8<>+0(SB)/8, $0x0605040702010003
DATA rot8<>+8(SB)/8, $0x0e0d0c0f0a09080b
GLOBL rot8<>(SB), RODATA|NOPTR, $16

DATA rot16<>+0(SB)/8, $0x0504070601000302
DATA rot16<>+8(SB)/8, $0x0d0c0f0e09080b0a
GLOBL rot16<>(SB), RODATA|NOPTR, $16

DATA rot24<>+0(SB)/8, $0x0407060500030201
DATA rot24<>+8(SB)/8, $0x0c0f0e0d080b0a09
GLOBL rot24<>(SB), RODATA|NOPTR, $16

DATA bswap32<>+0(SB)/8, $0x0405060700010203
DATA bswap32<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap32<>(SB), RODATA|NOPTR, $16

// LOADCONST loads the step registers: constants, R1 and R2 from the scratch
// area, and the cell at ring position 15 (s15 at a block's start) with its
// double into Z17, Z18. The transposition reuses Z16..Z31, so every block
// reloads them.
#define LOADCONST \
	VMOVDQU64       ·s0+0(SB), Z24   \
	VMOVDQU64       ·s0+64(SB), Z25  \
	VMOVDQU64       ·s0+128(SB), Z26 \
	VMOVDQU64       ·s0+192(SB), Z27 \
	MOVL            $0x7FFFFFFF, AX  \
	VPBROADCASTD    AX, Z31          \
	VPBROADCASTQ    ·s1Iso(SB), Z29  \
	VPBROADCASTQ    ·s1Mat(SB), Z30  \
	VBROADCASTI32X4 rot8<>(SB), Z21  \
	VBROADCASTI32X4 rot16<>(SB), Z28 \
	VBROADCASTI32X4 rot24<>(SB), Z19 \
	MOVQ            $0x8080808080808080, AX \
	VPBROADCASTQ    AX, Z20          \
	VMOVDQA64       2048(BX), Z22    \
	VMOVDQA64       2112(BX), Z23    \
	VMOVDQA64       (15*64)(BX), Z17 \
	VMOVDQA64       (1024+15*64)(BX), Z18

#define LOADMASKS \
	MOVQ  $0xAAAAAAAAAAAAAAAA, AX \
	KMOVQ AX, K1                  \
	MOVL  $0x55555555, AX         \
	KMOVD AX, K2

// FORMS stores the cell v and 2v at ring position p.
#define FORMS(v, p, t) \
	VMOVDQA64 v, (p*64)(BX)      \
	VPADDD    v, v, t            \
	VMOVDQA64 t, (1024+p*64)(BX)

// FORMS2 stores the new cell (Z7) and its double at ring position p and
// keeps both in Z17 and Z18 for the next step, whose s15 they are.
#define FORMS2(p) \
	VMOVDQA64 Z7, (p*64)(BX)       \
	VPADDD    Z7, Z7, Z18          \
	VMOVDQA64 Z18, (1024+p*64)(BX) \
	VMOVDQA64 Z7, Z17

// MINRED reduces x in [0, 2(2^31-1)] to [0, 2^31-1] modulo p = 2^31-1:
// min(x, x − p) unsigned (x − p wraps above x when x < p). Both 0 and p
// stand for zero in its result, which only enters further sums.
#define MINRED(x, t) \
	VPSUBD  Z31, x, t \
	VPMINUD t, x, x

// RED reduces x in [1, 2(2^31-1)] to [1, 2^31-1], the representation of
// the LFSR cells (2^31-1 stands for zero): (x & p) + (x >> 31), since
// 2^31 ≡ 1 modulo p.
#define RED(x, t) \
	VPSRLD $31, x, t \
	VPANDD Z31, x, x \
	VPADDD t, x, x

// ROTM sets dst to the cell at ring position p times 2^k modulo 2^31-1: a
// double shift of s over 2s, bit 31 cleared.
#define ROTM(p, k, dst) \
	VMOVDQA64 (p*64)(BX), dst               \
	VPSHLDD   $k, (1024+p*64)(BX), dst, dst \
	VPANDD    Z31, dst, dst

// LFSRA leaves in Z7 the sum of the old cells' terms of the feedback,
// (1+2^8)s0 + 2^20 s4 + 2^21 s10 + 2^17 s13 modulo 2^31-1, in [0, 2^31-1]:
// off the LFSR chain, since these cells were written two steps ago or
// earlier.
#define LFSRA(p0, p4, p10, p13) \
	VMOVDQA64 (p0*64)(BX), Z7              \
	VPSHLDD   $8, (1024+p0*64)(BX), Z7, Z1 \
	VPANDD    Z31, Z1, Z1                  \
	VPADDD    Z1, Z7, Z7                   \
	ROTM(p4, 20, Z1)                       \
	ROTM(p10, 21, Z2)                      \
	VPADDD    Z2, Z1, Z1                   \
	MINRED(Z7, Z3)                         \
	MINRED(Z1, Z4)                         \
	VPADDD    Z1, Z7, Z7                   \
	ROTM(p13, 17, Z2)                      \
	MINRED(Z7, Z3)                         \
	VPADDD    Z2, Z7, Z7                   \
	MINRED(Z7, Z3)

// LFSRB adds the last term, 2^15 s15, from the previous step's new cell in
// Z17 (a rotation by shifts and one VPTERNLOGD), and reduces Z7 to the
// canonical [1, 2^31-1]: the LFSR chain is Z17 → Z7 in 10 cycles.
#define LFSRB \
	VPSLLD     $15, Z17, Z1       \
	VPSRLD     $16, Z17, Z2       \
	VPTERNLOGD $0xA8, Z31, Z2, Z1 \
	VPADDD     Z1, Z7, Z7         \
	RED(Z7, Z3)

// BRF2 is the bit reorganisation and the first half of F for cells at
// ring positions p0..p14: it leaves W = (X0⊕R1)+R2 in Z4, X3 in Z3 and
// the word blends T1 = W2H‖W1L, T2 = W1H‖W2L in Z8, Z9. X0 = high word of
// 2s15 (Z18) | low word of s14; X1 = low word of s11 | bits 15..30 of s9
// (the high word of 2s9); X2, X3 likewise. F's rotated halves W1L‖W2H and
// W2L‖W1H are rot16 T1 and rot16 T2; since L1 and L2 commute with
// rotations, FL2 folds the rot16 into their rotation counts.
#define BRF2(p0, p2, p5, p7, p9, p11, p14) \
	VPBLENDMW  (p14*64)(BX), Z18, K2, Z0     \
	VMOVDQA64  (p11*64)(BX), Z1              \
	VPSHLDD    $16, (1024+p9*64)(BX), Z1, Z1 \
	VMOVDQA64  (p7*64)(BX), Z2               \
	VPSHLDD    $16, (1024+p5*64)(BX), Z2, Z2 \
	VMOVDQA64  (p2*64)(BX), Z3               \
	VPSHLDD    $16, (1024+p0*64)(BX), Z3, Z3 \
	VPXORD     Z22, Z0, Z4                  \
	VPADDD     Z23, Z4, Z4                  \
	VPADDD     Z22, Z1, Z5                  \
	VPXORD     Z23, Z2, Z6                  \
	VPBLENDMW  Z5, Z6, K2, Z8               \
	VPBLENDMW  Z6, Z5, K2, Z9

// SBOXES sets R1 (Z22) and R2 (Z23) to the S-boxes of u (Z10) and v
// (Z15): S0 on the odd bytes, S1 on the even ones. S0 is two 128-entry
// VPERMI2B lookups of every byte and a VPTERNLOGD mux chosen by bit 7 (the
// GF2P8AFFINEQB with Z20 turns each byte into 0x00 or 0xFF by its bit 7).
// S1 runs on all bytes by GFNI (isomorphism to the AES field, then
// affine-of-inverse, gfni.go). A byte blend joins them.
#define SBOXES \
	VMOVDQA64         Z10, Z11             \
	VPERMI2B          Z25, Z24, Z11        \
	VMOVDQA64         Z10, Z12             \
	VPERMI2B          Z27, Z26, Z12        \
	VGF2P8AFFINEQB    $0, Z20, Z10, Z13    \
	VPTERNLOGD        $0xCA, Z11, Z12, Z13 \
	VMOVDQA64         Z15, Z14             \
	VPERMI2B          Z25, Z24, Z14        \
	VMOVDQA64         Z15, Z16             \
	VPERMI2B          Z27, Z26, Z16        \
	VGF2P8AFFINEQB    $0, Z20, Z15, Z0     \
	VPTERNLOGD        $0xCA, Z14, Z16, Z0  \
	VGF2P8AFFINEQB    $0, Z29, Z10, Z10    \
	VGF2P8AFFINEINVQB $0x55, Z30, Z10, Z10 \
	VGF2P8AFFINEQB    $0, Z29, Z15, Z15    \
	VGF2P8AFFINEINVQB $0x55, Z30, Z15, Z15 \
	VPBLENDMB         Z13, Z10, K1, Z22    \
	VPBLENDMB         Z0, Z15, K1, Z23

// FL2 finishes F: L1(rot16 T1) = rot16 ⊕ rot18 ⊕ rot26 ⊕ rot2 ⊕ rot8 of
// T1 and L2(rot16 T2) = rot16 ⊕ rot24 ⊕ rot30 ⊕ rot6 ⊕ rot14 of T2, the
// rotations by whole bytes as byte shuffles, each XOR of five in two
// VPTERNLOGD; then the S-boxes into R1, R2.
#define FL2 \
	VPSHUFB    Z28, Z8, Z10         \
	VPSHUFB    Z21, Z8, Z11         \
	VPROLD     $2, Z8, Z12          \
	VPROLD     $18, Z8, Z13         \
	VPROLD     $26, Z8, Z14         \
	VPTERNLOGD $0x96, Z12, Z11, Z10 \
	VPTERNLOGD $0x96, Z14, Z13, Z10 \
	VPSHUFB    Z28, Z9, Z15         \
	VPSHUFB    Z19, Z9, Z16         \
	VPROLD     $30, Z9, Z12         \
	VPROLD     $6, Z9, Z13          \
	VPROLD     $14, Z9, Z14         \
	VPTERNLOGD $0x96, Z12, Z16, Z15 \
	VPTERNLOGD $0x96, Z14, Z13, Z15 \
	SBOXES

// ISTEP is an initialisation step: W>>1 enters the feedback after the
// other terms. The old cells' sum comes first in program order, so that
// the scheduler finds its independent work before F's dependent chain;
// the new cell is stored last.
#define ISTEP(p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA(p0, p4, p10, p13)             \
	BRF2(p0, p2, p5, p7, p9, p11, p14)  \
	FL2                                 \
	LFSRB                               \
	VPSRLD $1, Z4, Z10                  \
	VPADDD Z10, Z7, Z7                  \
	RED(Z7, Z3)                         \
	FORMS2(p0)

// WSTEP is working step k of a block: keystream word k = W⊕X3 goes to
// row k of the block buffer.
#define WSTEP(k, p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA(p0, p4, p10, p13)             \
	BRF2(p0, p2, p5, p7, p9, p11, p14)  \
	VPXORD    Z3, Z4, Z10               \
	VMOVDQA64 Z10, (2176+k*64)(BX)      \
	FL2                                 \
	LFSRB                               \
	FORMS2(p0)

// CELL copies cell i of the state at SI into ring position i, as s and 2s.
#define CELL(i) \
	VMOVDQU64 (i*64)(SI), Z0 \
	FORMS(Z0, i, Z1)

// LOADSTATE points BX at the 64-byte-aligned scratch area of the frame and
// copies the Lanes16 state at SI into it: R1, R2, and every cell as s and
// 2s (FORMS); then the masks. The constants are loaded by the caller.
#define LOADSTATE \
	LEAQ 63(SP), BX           \
	ANDQ $-64, BX             \
	VMOVDQU64 1024(SI), Z0    \
	VMOVDQA64 Z0, 2048(BX)    \
	VMOVDQU64 1088(SI), Z0    \
	VMOVDQA64 Z0, 2112(BX)    \
	CELL(0)                  \
	CELL(1)                  \
	CELL(2)                  \
	CELL(3)                  \
	CELL(4)                  \
	CELL(5)                  \
	CELL(6)                  \
	CELL(7)                  \
	CELL(8)                  \
	CELL(9)                  \
	CELL(10)                 \
	CELL(11)                 \
	CELL(12)                 \
	CELL(13)                 \
	CELL(14)                 \
	CELL(15)                 \
	LOADMASKS

DATA bearer<>+0(SB)/8, $0x0000000800000000
DATA bearer<>+8(SB)/8, $0x0000001800000010
DATA bearer<>+16(SB)/8, $0x0000002800000020
DATA bearer<>+24(SB)/8, $0x0000003800000030
DATA bearer<>+32(SB)/8, $0x0000004800000040
DATA bearer<>+40(SB)/8, $0x0000005800000050
DATA bearer<>+48(SB)/8, $0x0000006800000060
DATA bearer<>+56(SB)/8, $0x0000007800000070
GLOBL bearer<>(SB), RODATA|NOPTR, $64

// func zucLoadEEA3(st *Lanes16, base *[16]uint32)
TEXT ·zucLoadEEA3(SB), NOSPLIT, $0-16
	MOVQ st+0(FP), DI
	MOVQ base+8(FP), SI
	VMOVDQU64 bearer<>(SB), Z1
	VPBROADCASTD 0(SI), Z0
	VMOVDQU64 Z0, 0(DI)
	VPBROADCASTD 4(SI), Z0
	VMOVDQU64 Z0, 64(DI)
	VPBROADCASTD 8(SI), Z0
	VMOVDQU64 Z0, 128(DI)
	VPBROADCASTD 12(SI), Z0
	VMOVDQU64 Z0, 192(DI)
	VPBROADCASTD 16(SI), Z0
	VPORD Z1, Z0, Z0
	VMOVDQU64 Z0, 256(DI)
	VPBROADCASTD 20(SI), Z0
	VMOVDQU64 Z0, 320(DI)
	VPBROADCASTD 24(SI), Z0
	VMOVDQU64 Z0, 384(DI)
	VPBROADCASTD 28(SI), Z0
	VMOVDQU64 Z0, 448(DI)
	VPBROADCASTD 32(SI), Z0
	VMOVDQU64 Z0, 512(DI)
	VPBROADCASTD 36(SI), Z0
	VMOVDQU64 Z0, 576(DI)
	VPBROADCASTD 40(SI), Z0
	VMOVDQU64 Z0, 640(DI)
	VPBROADCASTD 44(SI), Z0
	VMOVDQU64 Z0, 704(DI)
	VPBROADCASTD 48(SI), Z0
	VPORD Z1, Z0, Z0
	VMOVDQU64 Z0, 768(DI)
	VPBROADCASTD 52(SI), Z0
	VMOVDQU64 Z0, 832(DI)
	VPBROADCASTD 56(SI), Z0
	VMOVDQU64 Z0, 896(DI)
	VPBROADCASTD 60(SI), Z0
	VMOVDQU64 Z0, 960(DI)
	VPXORD    Z0, Z0, Z0
	VMOVDQU64 Z0, 1024(DI)
	VMOVDQU64 Z0, 1088(DI)
	VZEROUPPER
	RET

// func zucInit16(st *Lanes16)
TEXT ·zucInit16(SB), 0, $3264-8
	MOVQ st+0(FP), SI
	LOADSTATE
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
	VMOVDQA64 Z22, 2048(BX)
	VMOVDQA64 Z23, 2112(BX)
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
	VMOVDQA64 (2048)(BX), Z16
	VMOVDQA64 (2112)(BX), Z17
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

// func zucKeystream16(st *Lanes16, ptrs *[16]*byte, n int, final bool)
//
// Each block runs sixteen steps, transposes the 16×16 words of the block
// buffer so that register l holds lane l's sixteen words, byte-swaps them
// to big-endian and stores 64 bytes at ptrs[l]+DX; the last block, when
// fewer than 64 bytes remain, is stored under a byte mask. With final set
// the last block stops after the words it needs (R9 steps), which leaves
// st unusable: for callers that drop the state afterwards.
TEXT ·zucKeystream16(SB), 0, $3264-25
	MOVQ st+0(FP), SI
	MOVQ ptrs+8(FP), DI
	MOVQ n+16(FP), CX
	LOADSTATE
	XORQ DX, DX

block:
	LOADCONST
	MOVQ $16, R9
	CMPQ CX, $64
	JAE  steps
	CMPB final+24(FP), $0
	JEQ  steps
	LEAQ 3(CX), R9
	SHRQ $2, R9

steps:
	WSTEP(0, 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	CMPQ R9, $1
	JEQ  stepsdone
	WSTEP(1, 1, 3, 5, 6, 8, 10, 11, 12, 14, 15, 0)
	CMPQ R9, $2
	JEQ  stepsdone
	WSTEP(2, 2, 4, 6, 7, 9, 11, 12, 13, 15, 0, 1)
	CMPQ R9, $3
	JEQ  stepsdone
	WSTEP(3, 3, 5, 7, 8, 10, 12, 13, 14, 0, 1, 2)
	CMPQ R9, $4
	JEQ  stepsdone
	WSTEP(4, 4, 6, 8, 9, 11, 13, 14, 15, 1, 2, 3)
	CMPQ R9, $5
	JEQ  stepsdone
	WSTEP(5, 5, 7, 9, 10, 12, 14, 15, 0, 2, 3, 4)
	CMPQ R9, $6
	JEQ  stepsdone
	WSTEP(6, 6, 8, 10, 11, 13, 15, 0, 1, 3, 4, 5)
	CMPQ R9, $7
	JEQ  stepsdone
	WSTEP(7, 7, 9, 11, 12, 14, 0, 1, 2, 4, 5, 6)
	CMPQ R9, $8
	JEQ  stepsdone
	WSTEP(8, 8, 10, 12, 13, 15, 1, 2, 3, 5, 6, 7)
	CMPQ R9, $9
	JEQ  stepsdone
	WSTEP(9, 9, 11, 13, 14, 0, 2, 3, 4, 6, 7, 8)
	CMPQ R9, $10
	JEQ  stepsdone
	WSTEP(10, 10, 12, 14, 15, 1, 3, 4, 5, 7, 8, 9)
	CMPQ R9, $11
	JEQ  stepsdone
	WSTEP(11, 11, 13, 15, 0, 2, 4, 5, 6, 8, 9, 10)
	CMPQ R9, $12
	JEQ  stepsdone
	WSTEP(12, 12, 14, 0, 1, 3, 5, 6, 7, 9, 10, 11)
	CMPQ R9, $13
	JEQ  stepsdone
	WSTEP(13, 13, 15, 1, 2, 4, 6, 7, 8, 10, 11, 12)
	CMPQ R9, $14
	JEQ  stepsdone
	WSTEP(14, 14, 0, 2, 3, 5, 7, 8, 9, 11, 12, 13)
	CMPQ R9, $15
	JEQ  stepsdone
	WSTEP(15, 15, 1, 3, 4, 6, 8, 9, 10, 12, 13, 14)

stepsdone:
	VMOVDQA64 Z22, 2048(BX)
	VMOVDQA64 Z23, 2112(BX)
	VMOVDQA64 (2176)(BX), Z0
	VMOVDQA64 (2240)(BX), Z1
	VMOVDQA64 (2304)(BX), Z2
	VMOVDQA64 (2368)(BX), Z3
	VMOVDQA64 (2432)(BX), Z4
	VMOVDQA64 (2496)(BX), Z5
	VMOVDQA64 (2560)(BX), Z6
	VMOVDQA64 (2624)(BX), Z7
	VMOVDQA64 (2688)(BX), Z8
	VMOVDQA64 (2752)(BX), Z9
	VMOVDQA64 (2816)(BX), Z10
	VMOVDQA64 (2880)(BX), Z11
	VMOVDQA64 (2944)(BX), Z12
	VMOVDQA64 (3008)(BX), Z13
	VMOVDQA64 (3072)(BX), Z14
	VMOVDQA64 (3136)(BX), Z15
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
	VMOVDQA64 (2048)(BX), Z16
	VMOVDQA64 (2112)(BX), Z17
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
