//go:build amd64 && !noasm

#include "textflag.h"

// Eight ZUC-128 lanes on AVX2 with GFNI: the AVX2 kernel runs Lanes16 as
// two halves, lanes 0..7 and 8..15, which are the low and high 32 bytes of
// every 64-byte row of the state. HALF (SI) points at the half's first
// dword, so cell row i is at i*64(SI), R1 at 1024(SI) and R2 at 1088(SI)
// for either half. Dword l of every vector is lane l of the half.
//
// As in the AVX-512 kernel, a block of sixteen steps is unrolled and turns
// the LFSR ring once: step k finds cell s_i at ring position (k+i)&15 and
// writes the new cell at position k. The rows are copied into a 32-byte
// aligned scratch area on entry and back on exit; as in the AVX-512 kernel
// every cell is kept twice, as s (row p at p*32(BX)) and as 2s (at
// 512+p*32(BX)), so that X0..X3 are word blends. The block's keystream
// words follow at 1024(BX) (row k = word k of the lanes), then sixteen X
// slots at 1536(BX) (see BRF8).
//
// AVX2 has no 256-byte permute, no rotations, no double shifts and no
// three-way logic, so: S1 is GFNI on YMM (gfni.go), S0 three VPSHUFB
// nibble lookups and a byte addition (s0nibble.go), each S-box on one
// vector that holds the bytes of both R1 and R2 it applies to; the
// rotations modulo 2^31-1 are two shifts, an OR and a mask; the rotations
// by whole bytes are VPSHUFB.
//
// zucInit8a and zucKeystream8a are the same kernel for AVX2 CPUs without
// GFNI: S1 by AES-NI (S1AES8, s1aes.go) instead.
//
// Registers during the steps: Y15 R1, Y14 R2, Y13, Y12 and Y10 the S0
// nibble tables P1, P2 and Q, Y11 0x7FFFFFFF; Y7 the new LFSR cell; Y0..Y6,
// Y8, Y9 temporaries. The other constants are memory operands.

DATA y31<>+0(SB)/8, $0x7FFFFFFF7FFFFFFF
DATA y31<>+8(SB)/8, $0x7FFFFFFF7FFFFFFF
DATA y31<>+16(SB)/8, $0x7FFFFFFF7FFFFFFF
DATA y31<>+24(SB)/8, $0x7FFFFFFF7FFFFFFF
GLOBL y31<>(SB), RODATA|NOPTR, $32

DATA ylo4<>+0(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA ylo4<>+8(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA ylo4<>+16(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA ylo4<>+24(SB)/8, $0x0F0F0F0F0F0F0F0F
GLOBL ylo4<>(SB), RODATA|NOPTR, $32

DATA ylo8<>+0(SB)/8, $0x00FF00FF00FF00FF
DATA ylo8<>+8(SB)/8, $0x00FF00FF00FF00FF
DATA ylo8<>+16(SB)/8, $0x00FF00FF00FF00FF
DATA ylo8<>+24(SB)/8, $0x00FF00FF00FF00FF
GLOBL ylo8<>(SB), RODATA|NOPTR, $32

DATA yhi8<>+0(SB)/8, $0xFF00FF00FF00FF00
DATA yhi8<>+8(SB)/8, $0xFF00FF00FF00FF00
DATA yhi8<>+16(SB)/8, $0xFF00FF00FF00FF00
DATA yhi8<>+24(SB)/8, $0xFF00FF00FF00FF00
GLOBL yhi8<>(SB), RODATA|NOPTR, $32

DATA yrot8<>+0(SB)/8, $0x0605040702010003
DATA yrot8<>+8(SB)/8, $0x0e0d0c0f0a09080b
DATA yrot8<>+16(SB)/8, $0x0605040702010003
DATA yrot8<>+24(SB)/8, $0x0e0d0c0f0a09080b
GLOBL yrot8<>(SB), RODATA|NOPTR, $32

DATA yrot16<>+0(SB)/8, $0x0504070601000302
DATA yrot16<>+8(SB)/8, $0x0d0c0f0e09080b0a
DATA yrot16<>+16(SB)/8, $0x0504070601000302
DATA yrot16<>+24(SB)/8, $0x0d0c0f0e09080b0a
GLOBL yrot16<>(SB), RODATA|NOPTR, $32

DATA yrot24<>+0(SB)/8, $0x0407060500030201
DATA yrot24<>+8(SB)/8, $0x0c0f0e0d080b0a09
DATA yrot24<>+16(SB)/8, $0x0407060500030201
DATA yrot24<>+24(SB)/8, $0x0c0f0e0d080b0a09
GLOBL yrot24<>(SB), RODATA|NOPTR, $32

DATA yzero<>+0(SB)/8, $0
DATA yzero<>+8(SB)/8, $0
GLOBL yzero<>(SB), RODATA|NOPTR, $16

DATA ybswap<>+0(SB)/8, $0x0405060700010203
DATA ybswap<>+8(SB)/8, $0x0c0d0e0f08090a0b
DATA ybswap<>+16(SB)/8, $0x0405060700010203
DATA ybswap<>+24(SB)/8, $0x0c0d0e0f08090a0b
GLOBL ybswap<>(SB), RODATA|NOPTR, $32

// SLOT8 sets X slot p to (cell p)<<16 | (cell p-2)>>15, for cells p and
// q = p-2 mod 16: rot16 of the blend of cell p's low words and 2·(cell
// q)'s high words.
#define SLOT8(p, q) \
	VMOVDQA  (p*32)(BX), Y0                \
	VPBLENDW $0xAA, (512+q*32)(BX), Y0, Y0 \
	VPSHUFB  yrot16<>(SB), Y0, Y0          \
	VMOVDQA  Y0, (1536+p*32)(BX)

// SETUP8 points BX at the aligned scratch area, copies the half's rows
// into it (each cell as s and 2s), fills the X slots and loads R1, R2,
// the S0 tables and the mask 0x7FFFFFFF.
#define SETUP8 \
	LEAQ           31(SP), BX          \
	ANDQ           $-32, BX            \
	VMOVDQU        1024(SI), Y15       \
	VMOVDQU        1088(SI), Y14       \
	VBROADCASTI128 ·s0Nib+0(SB), Y13   \
	VBROADCASTI128 ·s0Nib+16(SB), Y12  \
	VBROADCASTI128 ·s0Nib+32(SB), Y10  \
	VMOVDQU        y31<>(SB), Y11      \
	VMOVDQU        0(SI), Y0           \
	FORMS8(Y0, 0, Y1)                  \
	VMOVDQU        64(SI), Y0          \
	FORMS8(Y0, 1, Y1)                  \
	VMOVDQU        128(SI), Y0         \
	FORMS8(Y0, 2, Y1)                  \
	VMOVDQU        192(SI), Y0         \
	FORMS8(Y0, 3, Y1)                  \
	VMOVDQU        256(SI), Y0         \
	FORMS8(Y0, 4, Y1)                  \
	VMOVDQU        320(SI), Y0         \
	FORMS8(Y0, 5, Y1)                  \
	VMOVDQU        384(SI), Y0         \
	FORMS8(Y0, 6, Y1)                  \
	VMOVDQU        448(SI), Y0         \
	FORMS8(Y0, 7, Y1)                  \
	VMOVDQU        512(SI), Y0         \
	FORMS8(Y0, 8, Y1)                  \
	VMOVDQU        576(SI), Y0         \
	FORMS8(Y0, 9, Y1)                  \
	VMOVDQU        640(SI), Y0         \
	FORMS8(Y0, 10, Y1)                 \
	VMOVDQU        704(SI), Y0         \
	FORMS8(Y0, 11, Y1)                 \
	VMOVDQU        768(SI), Y0         \
	FORMS8(Y0, 12, Y1)                 \
	VMOVDQU        832(SI), Y0         \
	FORMS8(Y0, 13, Y1)                 \
	VMOVDQU        896(SI), Y0         \
	FORMS8(Y0, 14, Y1)                 \
	VMOVDQU        960(SI), Y0         \
	FORMS8(Y0, 15, Y1)                  \
	SLOT8(0, 14)           \
	SLOT8(1, 15)           \
	SLOT8(2, 0)            \
	SLOT8(3, 1)            \
	SLOT8(4, 2)            \
	SLOT8(5, 3)            \
	SLOT8(6, 4)            \
	SLOT8(7, 5)            \
	SLOT8(8, 6)            \
	SLOT8(9, 7)            \
	SLOT8(10, 8)           \
	SLOT8(11, 9)           \
	SLOT8(12, 10)          \
	SLOT8(13, 11)          \
	SLOT8(14, 12)          \
	SLOT8(15, 13)

// FOLD8 reduces x in [1, 2(2^31-1)] to [1, 2^31-1] modulo 2^31-1 (the
// representation of the cells, where 2^31-1 stands for zero): bit 31 is
// 2^31 ≡ 1.
#define FOLD8(x, t) \
	VPSRLD $31, x, t          \
	VPAND  Y11, x, x          \
	VPADDD t, x, x

// MINFOLD8 reduces x in [0, 2(2^31-1)] to [0, 2^31-1] modulo 2^31-1: the
// smaller of x and x-(2^31-1), which wraps round when x is smaller. It
// may leave 2^31-1 as 0, so it serves only partial sums; the last
// addition of a step adds a term in [1, 2^31-1] and folds with FOLD8.
#define MINFOLD8(x, t) \
	VPSUBD  Y11, x, t         \
	VPMINUD t, x, x

// ROTM8 sets dst to the cell at ring position p times 2^k modulo 2^31-1.
#define ROTM8(p, k, dst, t) \
	VMOVDQA (p*32)(BX), t     \
	VPSLLD  $k, t, dst        \
	VPSRLD  $(31-k), t, t     \
	VPOR    t, dst, dst       \
	VPAND   Y11, dst, dst

// LFSRA8 leaves in Y7 (1+2^8)s0 + 2^20 s4 + 2^21 s10 + 2^17 s13 modulo
// 2^31-1, in [0, 2^31-1]; every partial sum of two terms fits 32 bits.
// LFSRB8 adds the last term, 2^15 s15, and folds to [1, 2^31-1]; s15 is
// the cell the previous step wrote, so its term comes last.
#define LFSRA8(p0, p4, p10, p13) \
	ROTM8(p0, 8, Y0, Y7)     \
	VMOVDQA (p0*32)(BX), Y7  \
	VPADDD  Y0, Y7, Y7       \
	ROTM8(p4, 20, Y0, Y1)    \
	ROTM8(p10, 21, Y2, Y3)   \
	VPADDD  Y2, Y0, Y0       \
	ROTM8(p13, 17, Y2, Y3)   \
	MINFOLD8(Y7, Y1)         \
	MINFOLD8(Y0, Y3)         \
	VPADDD  Y0, Y7, Y7       \
	MINFOLD8(Y7, Y1)         \
	VPADDD  Y2, Y7, Y7       \
	MINFOLD8(Y7, Y1)

#define LFSRB8(p15) \
	ROTM8(p15, 15, Y0, Y1)   \
	VPADDD  Y0, Y7, Y7       \
	FOLD8(Y7, Y0)

// FORMS8 stores the new cell v and 2v at ring position p.
#define FORMS8(v, p, t) \
	VMOVDQA v, (p*32)(BX)      \
	VPADDD  v, v, t            \
	VMOVDQA t, (512+p*32)(BX)

// BRF8 is the bit reorganisation and the first half of F: W = (X0⊕R1)+R2
// in Y4 and the word blends B1 = W2H‖W1L (Y8), B2 = W1H‖W2L (Y9), whose
// rotations by 16 are the inputs of L1 and L2. With the cells kept also
// doubled, X0 = high word of 2s15 | low word of s14 is one word blend,
// and X1 = s11<<16 | s9>>15 (the high word of 2s9) is a blend rotated by
// 16. X1 goes to the X slot of s11's position: X2 = s7<<16 | s5>>15 is
// the X1 of four steps before and X3 = s2<<16 | s0>>15 that of nine steps
// before (the same two cells, unchanged since), so both are loads.
#define BRF8(p7, p9, p11, p14, p15) \
	VMOVDQA  (512+p15*32)(BX), Y0            \
	VPBLENDW $0x55, (p14*32)(BX), Y0, Y0     \
	VMOVDQA  (p11*32)(BX), Y1                \
	VPBLENDW $0xAA, (512+p9*32)(BX), Y1, Y1  \
	VPSHUFB  yrot16<>(SB), Y1, Y1            \
	VMOVDQA  Y1, (1536+p11*32)(BX)           \
	VPXOR    Y15, Y0, Y4                     \
	VPADDD   Y14, Y4, Y4                     \
	VPADDD   Y15, Y1, Y5                     \
	VPXOR    (1536+p7*32)(BX), Y14, Y6       \
	VPBLENDW $0xAA, Y6, Y5, Y8               \
	VPBLENDW $0xAA, Y5, Y6, Y9

// LPACK8 is L1 and L2 of F and the packing of the S-box inputs: u =
// L1(rot16 B1) = rot2(B1 ⊕ rot16 B1 ⊕ rot24 B1) ⊕ rot16 B1 ⊕ rot8 B1 and v =
// L2(rot16 B2) = rot6(B2 ⊕ rot8 B2 ⊕ rot24 B2) ⊕ rot16 B2 ⊕ rot24 B2 (the
// grouping of the AVX-512 kernel); VPACKUSWB packs the even bytes of u and
// v (the S1 bytes) into Y0 and the odd bytes (S0) into Y8, so that each
// S-box runs once.
#define LPACK8 \
	VPSHUFB           yrot16<>(SB), Y8, Y0 \
	VPSHUFB           yrot24<>(SB), Y8, Y1 \
	VPSHUFB           yrot8<>(SB), Y8, Y2 \
	VPXOR             Y0, Y8, Y8          \
	VPXOR             Y1, Y8, Y8          \
	VPSLLD            $2, Y8, Y1          \
	VPSRLD            $30, Y8, Y8         \
	VPOR              Y1, Y8, Y8          \
	VPXOR             Y0, Y8, Y8          \
	VPXOR             Y2, Y8, Y8          \
	VPSHUFB           yrot8<>(SB), Y9, Y0 \
	VPSHUFB           yrot24<>(SB), Y9, Y1 \
	VPSHUFB           yrot16<>(SB), Y9, Y2 \
	VPXOR             Y0, Y9, Y9          \
	VPXOR             Y1, Y9, Y9          \
	VPSLLD            $6, Y9, Y0          \
	VPSRLD            $26, Y9, Y9         \
	VPOR              Y0, Y9, Y9          \
	VPXOR             Y1, Y9, Y9          \
	VPXOR             Y2, Y9, Y9          \
	VPAND             ylo8<>(SB), Y8, Y0  \
	VPAND             ylo8<>(SB), Y9, Y1  \
	VPACKUSWB         Y1, Y0, Y0          \
	VPSRLW            $8, Y8, Y8          \
	VPSRLW            $8, Y9, Y9          \
	VPACKUSWB         Y9, Y8, Y8

// S1GFNI8 is S1 on the bytes of Y0 by GFNI (gfni.go).
#define S1GFNI8 \
	VGF2P8AFFINEQB    $0, ·s1IsoY(SB), Y0, Y0 \
	VGF2P8AFFINEINVQB $0x55, ·s1MatY(SB), Y0, Y0

// S1AES8 is S1 on the bytes of Y0 by AES-NI (s1aes.go), for CPUs without
// GFNI: φ by two nibble lookups, ShiftRows undone, AESENCLAST with a zero
// key on each 128-bit half, L⊕c by two nibble lookups. Y1..Y3 are
// temporaries.
#define S1AES8 \
	VPAND          ylo4<>(SB), Y0, Y1     \
	VPSRLW         $4, Y0, Y2             \
	VPAND          ylo4<>(SB), Y2, Y2     \
	VBROADCASTI128 ·s1AES+0(SB), Y3       \
	VPSHUFB        Y1, Y3, Y1             \
	VBROADCASTI128 ·s1AES+16(SB), Y3      \
	VPSHUFB        Y2, Y3, Y2             \
	VPXOR          Y2, Y1, Y1             \
	VPSHUFB        ·invShiftRows(SB), Y1, Y1 \
	VEXTRACTI128   $1, Y1, X2             \
	VAESENCLAST    yzero<>(SB), X1, X1    \
	VAESENCLAST    yzero<>(SB), X2, X2    \
	VINSERTI128    $1, X2, Y1, Y1         \
	VPAND          ylo4<>(SB), Y1, Y2     \
	VPSRLW         $4, Y1, Y1             \
	VPAND          ylo4<>(SB), Y1, Y1     \
	VBROADCASTI128 ·s1AES+32(SB), Y3      \
	VPSHUFB        Y2, Y3, Y2             \
	VBROADCASTI128 ·s1AES+48(SB), Y3      \
	VPSHUFB        Y1, Y3, Y1             \
	VPXOR          Y2, Y1, Y0

// S0UNPACK8 is S0 on the bytes of Y8 by nibbles (s0nibble.go), then
// VPUNPCKLBW and VPUNPCKHBW interleave the S1 bytes (Y0) and the S0 bytes
// back into R1 and R2.
#define S0UNPACK8 \
	VPAND             ylo4<>(SB), Y8, Y1  \
	VPSRLW            $4, Y8, Y2          \
	VPAND             ylo4<>(SB), Y2, Y2  \
	VPSHUFB           Y1, Y13, Y3         \
	VPXOR             Y3, Y2, Y2          \
	VPSHUFB           Y2, Y12, Y3         \
	VPXOR             Y3, Y1, Y1          \
	VPADDB            Y2, Y2, Y2          \
	VPSHUFB           Y1, Y10, Y1         \
	VPXOR             Y1, Y2, Y2          \
	VPUNPCKLBW        Y2, Y0, Y15         \
	VPUNPCKHBW        Y2, Y0, Y14

// FL8 finishes F: L1, L2 and the S-boxes into R1 and R2; FL8A is FL8 with
// S1 by AES-NI.
#define FL8 \
	LPACK8  \
	S1GFNI8 \
	S0UNPACK8

#define FL8A \
	LPACK8  \
	S1AES8  \
	S0UNPACK8

// ISTEP8 is an initialisation step: W>>1 enters the feedback.
#define ISTEP8(p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA8(p0, p4, p10, p13)            \
	BRF8(p7, p9, p11, p14, p15)     \
	VPSRLD  $1, Y4, Y0                  \
	VPADDD  Y0, Y7, Y7                  \
	MINFOLD8(Y7, Y0)                    \
	LFSRB8(p15)                         \
	FL8                                 \
	FORMS8(Y7, p0, Y0)

// WSTEP8 is working step k of a block: keystream word k = W⊕X3 (X3 from
// the X slot of s2's position) goes to row k of the block buffer.
#define WSTEP8(k, p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA8(p0, p4, p10, p13)                 \
	BRF8(p7, p9, p11, p14, p15)          \
	VPXOR    (1536+p2*32)(BX), Y4, Y3        \
	VMOVDQA  Y3, (1024+k*32)(BX)             \
	LFSRB8(p15)                              \
	FL8                                      \
	FORMS8(Y7, p0, Y0)

// ISTEP8A and WSTEP8A are ISTEP8 and WSTEP8 with S1 by AES-NI.
#define ISTEP8A(p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA8(p0, p4, p10, p13)            \
	BRF8(p7, p9, p11, p14, p15)     \
	VPSRLD  $1, Y4, Y0                  \
	VPADDD  Y0, Y7, Y7                  \
	MINFOLD8(Y7, Y0)                    \
	LFSRB8(p15)                         \
	FL8A                                \
	FORMS8(Y7, p0, Y0)

#define WSTEP8A(k, p0, p2, p4, p5, p7, p9, p10, p11, p13, p14, p15) \
	LFSRA8(p0, p4, p10, p13)                 \
	BRF8(p7, p9, p11, p14, p15)          \
	VPXOR    (1536+p2*32)(BX), Y4, Y3        \
	VMOVDQA  Y3, (1024+k*32)(BX)             \
	LFSRB8(p15)                              \
	FL8A                                     \
	FORMS8(Y7, p0, Y0)

// The GFNI variant's steps for the bodies included below.
#define ISTEPX ISTEP8
#define WSTEPX WSTEP8

// func zucInit8(half *uint32)
TEXT ·zucInit8(SB), 0, $2080-8
#include "lanes8_init.h"

// STORELANE8 byte-swaps lane l's eight words in y to big-endian and
// stores them at ptrs[l] + DX + off.
#define STORELANE8(y, l, off) \
	VPSHUFB ybswap<>(SB), y, y \
	MOVQ    (l*8)(DI), R8      \
	VMOVDQU y, off(R8)(DX*1)

// TRANSPOSE8 transposes the 8×8 dwords of block rows r..r+7 (row j at
// 1024+(r+j)*32(BX)) so that lane l gets words r..r+7, and stores them at
// ptrs[l] + DX + off. It uses Y0..Y9 only.
#define TRANSPOSE8(r, off) \
	VMOVDQA     (1024+r*32)(BX), Y8            \
	VPUNPCKLDQ  (1024+r*32+32)(BX), Y8, Y0     \
	VPUNPCKHDQ  (1024+r*32+32)(BX), Y8, Y1     \
	VMOVDQA     (1024+r*32+64)(BX), Y8         \
	VPUNPCKLDQ  (1024+r*32+96)(BX), Y8, Y2     \
	VPUNPCKHDQ  (1024+r*32+96)(BX), Y8, Y3     \
	VMOVDQA     (1024+r*32+128)(BX), Y8        \
	VPUNPCKLDQ  (1024+r*32+160)(BX), Y8, Y4    \
	VPUNPCKHDQ  (1024+r*32+160)(BX), Y8, Y5    \
	VMOVDQA     (1024+r*32+192)(BX), Y8        \
	VPUNPCKLDQ  (1024+r*32+224)(BX), Y8, Y6    \
	VPUNPCKHDQ  (1024+r*32+224)(BX), Y8, Y7    \
	VPUNPCKLQDQ Y2, Y0, Y8                    \
	VPUNPCKHQDQ Y2, Y0, Y9                    \
	VPUNPCKLQDQ Y3, Y1, Y0                    \
	VPUNPCKHQDQ Y3, Y1, Y2                    \
	VPUNPCKLQDQ Y6, Y4, Y1                    \
	VPUNPCKHQDQ Y6, Y4, Y3                    \
	VPUNPCKLQDQ Y7, Y5, Y4                    \
	VPUNPCKHQDQ Y7, Y5, Y6                    \
	VPERM2I128  $0x20, Y1, Y8, Y5             \
	VPERM2I128  $0x31, Y1, Y8, Y7             \
	STORELANE8(Y5, 0, off)                    \
	STORELANE8(Y7, 4, off)                    \
	VPERM2I128  $0x20, Y3, Y9, Y5             \
	VPERM2I128  $0x31, Y3, Y9, Y7             \
	STORELANE8(Y5, 1, off)                    \
	STORELANE8(Y7, 5, off)                    \
	VPERM2I128  $0x20, Y4, Y0, Y5             \
	VPERM2I128  $0x31, Y4, Y0, Y7             \
	STORELANE8(Y5, 2, off)                    \
	STORELANE8(Y7, 6, off)                    \
	VPERM2I128  $0x20, Y6, Y2, Y5             \
	VPERM2I128  $0x31, Y6, Y2, Y7             \
	STORELANE8(Y5, 3, off)                    \
	STORELANE8(Y7, 7, off)

// func zucKeystream8(half *uint32, ptrs *[8]*byte, n int, steps int)
//
// n is a positive multiple of 64: each block runs sixteen steps,
// transposes the words and stores 64 bytes per lane at ptrs[l]+DX. The
// last block runs only steps (1..16) steps; fewer than sixteen leave the
// state unusable, for callers that drop it afterwards.
TEXT ·zucKeystream8(SB), 0, $2080-32
#include "lanes8_keystream.h"

// The AES-NI variant's steps for the same bodies.
#undef ISTEPX
#undef WSTEPX
#define ISTEPX ISTEP8A
#define WSTEPX WSTEP8A

// func zucInit8a(half *uint32)
//
// zucInit8 with S1 by AES-NI.
TEXT ·zucInit8a(SB), 0, $2080-8
#include "lanes8_init.h"

// func zucKeystream8a(half *uint32, ptrs *[8]*byte, n int, steps int)
//
// zucKeystream8 with S1 by AES-NI.
TEXT ·zucKeystream8a(SB), 0, $2080-32
#include "lanes8_keystream.h"
