//go:build amd64 && !noasm

#include "textflag.h"

// The simulated fibre's kernels (fibre.go): Box–Muller blocks of 32 samples and
// exponential deviates, operation for operation as expDeviate and boxMuller compute
// them in Go (no FMA; VDIVPS, VSQRTPS and VCVTDQ2PS round as Go's float32 division,
// square root and int32 conversion do), so that the results are bit-identical.

// FC is constant i of fibreConstTable (R9), as a memory operand.
#define FC(i) (i*4)(R9)

// FIBRE512CONSTS loads the registers that EXPDEV512 and the Box–Muller steps keep:
// Z12 ln2hi, Z13 ln2lo, Z14..Z17 a3, a5, a7, a9, Z18 the sign bit, Z19 1 (int32), Z20
// 127 + 31, Z21 2^23 (the exponent's unit), Z22 0x3F800000, Z23 the mantissa bits of
// √2, Z24 the mantissa mask, Z25 3·2^29, Z26 2^31 − 1, Z27 1, Z28 2, Z29 2^−31, Z30 ½.
#define FIBRE512CONSTS \
	VBROADCASTSS FC(8), Z12        \
	VBROADCASTSS FC(9), Z13        \
	VBROADCASTSS FC(4), Z14        \
	VBROADCASTSS FC(5), Z15        \
	VBROADCASTSS FC(6), Z16        \
	VBROADCASTSS FC(7), Z17        \
	MOVL         $0x80000000, AX   \
	VPBROADCASTD AX, Z18           \
	MOVL         $1, AX            \
	VPBROADCASTD AX, Z19           \
	MOVL         $158, AX          \
	VPBROADCASTD AX, Z20           \
	MOVL         $0x00800000, AX   \
	VPBROADCASTD AX, Z21           \
	MOVL         $0x3F800000, AX   \
	VPBROADCASTD AX, Z22           \
	MOVL         $0x003504F3, AX   \
	VPBROADCASTD AX, Z23           \
	MOVL         $0x007FFFFF, AX   \
	VPBROADCASTD AX, Z24           \
	MOVL         $0x60000000, AX   \
	VPBROADCASTD AX, Z25           \
	MOVL         $0x7FFFFFFF, AX   \
	VPBROADCASTD AX, Z26           \
	VBROADCASTSS FC(3), Z27        \
	VBROADCASTSS FC(2), Z28        \
	VBROADCASTSS FC(1), Z29        \
	VBROADCASTSS FC(0), Z30

// EXPDEV512 replaces the sixteen words in Z0 by their exponential deviates E = −ln u
// (expDeviate). K1 marks the lanes with u ≥ ¾, which take ln(1 − d); K2 the lanes whose
// mantissa is halved. In order: x = w >> 1; both cases' numerator and denominator (Z1,
// Z2: −d and 2 − d; Z3, Z4: m − 1 and m + 1 with the exponent k in Z5) and their
// selection by K1; s = num/den; the polynomial in s² (Z6); l = 2s·p + k·ln2lo +
// k·ln2hi; E = −l. Clobbers Z1..Z6, K1, K2.
#define EXPDEV512 \
	VPSRLD     $1, Z0, Z0           \
	VPCMPUD    $5, Z25, Z0, K1      \
	VPSUBD     Z0, Z26, Z1          \
	VCVTDQ2PS  Z1, Z1               \
	VADDPS     Z30, Z1, Z1          \
	VMULPS     Z29, Z1, Z1          \
	VSUBPS     Z1, Z28, Z2          \
	VXORPS     Z18, Z1, Z1          \
	VCVTDQ2PS  Z0, Z3               \
	VADDPS     Z30, Z3, Z3          \
	VPANDD     Z24, Z3, Z4          \
	VPSRLD     $23, Z3, Z5          \
	VPSUBD     Z20, Z5, Z5          \
	VPCMPUD    $5, Z23, Z4, K2      \
	VPORD      Z22, Z4, Z4          \
	VPSUBD     Z21, Z4, K2, Z4      \
	VPADDD     Z19, Z5, K2, Z5      \
	VPXORD     Z5, Z5, K1, Z5       \
	VCVTDQ2PS  Z5, Z5               \
	VSUBPS     Z27, Z4, Z3          \
	VADDPS     Z27, Z4, Z4          \
	VMOVAPS    Z1, K1, Z3           \
	VMOVAPS    Z2, K1, Z4           \
	VDIVPS     Z4, Z3, Z3           \
	VMULPS     Z3, Z3, Z4           \
	VMULPS     Z17, Z4, Z6          \
	VADDPS     Z16, Z6, Z6          \
	VMULPS     Z4, Z6, Z6           \
	VADDPS     Z15, Z6, Z6          \
	VMULPS     Z4, Z6, Z6           \
	VADDPS     Z14, Z6, Z6          \
	VMULPS     Z4, Z6, Z6           \
	VADDPS     Z27, Z6, Z6          \
	VADDPS     Z3, Z3, Z3           \
	VMULPS     Z6, Z3, Z3           \
	VMULPS     Z13, Z5, Z6          \
	VADDPS     Z6, Z3, Z3           \
	VMULPS     Z12, Z5, Z6          \
	VADDPS     Z6, Z3, Z3           \
	VXORPS     Z18, Z3, Z0

// func fibreNoiseAVX512(soft *Sample, words *byte, blocks int, sigma float32, consts *[fibreConsts]float32)
//
// One block of 32 samples per iteration: pair k in lane k, its radius word from the
// block's first 64 bytes, its angle word from the next 64, its deviates added to
// samples k and 16 + k. Registers: SI soft, DX words, CX blocks left, R9 consts, Z31 σ,
// Z12..Z30 as FIBRE512CONSTS; Z0..Z11 temporaries, K1..K3 masks.
TEXT ·fibreNoiseAVX512(SB), NOSPLIT, $0-40
	MOVQ         soft+0(FP), SI
	MOVQ         words+8(FP), DX
	MOVQ         blocks+16(FP), CX
	VBROADCASTSS sigma+24(FP), Z31
	MOVQ         consts+32(FP), R9
	FIBRE512CONSTS

block512:
	VMOVDQU32   (DX), Z0
	EXPDEV512
	VADDPS      Z0, Z0, Z0
	VSQRTPS     Z0, Z0            // r
	VMULPS      Z31, Z0, Z0       // σ·r
	VMOVDQU32   64(DX), Z7        // b
	VPSRLD      $2, Z7, Z8
	VPORD       Z19, Z8, Z8       // 2⌊b/8⌋ + 1
	VCVTDQ2PS   Z8, Z8
	VMULPS.BCST FC(10), Z8, Z8    // θ
	VMULPS      Z8, Z8, Z9        // θ²
	VMULPS.BCST FC(14), Z9, Z10
	VADDPS.BCST FC(13), Z10, Z10
	VMULPS      Z9, Z10, Z10
	VADDPS.BCST FC(12), Z10, Z10
	VMULPS      Z9, Z10, Z10
	VADDPS.BCST FC(11), Z10, Z10
	VMULPS      Z9, Z10, Z10
	VMULPS      Z8, Z10, Z10
	VADDPS      Z10, Z8, Z10      // sin θ
	VMULPS.BCST FC(19), Z9, Z11
	VADDPS.BCST FC(18), Z11, Z11
	VMULPS      Z9, Z11, Z11
	VADDPS.BCST FC(17), Z11, Z11
	VMULPS      Z9, Z11, Z11
	VADDPS.BCST FC(16), Z11, Z11
	VMULPS      Z9, Z11, Z11
	VADDPS.BCST FC(15), Z11, Z11
	VMULPS      Z9, Z11, Z11
	VADDPS      Z27, Z11, Z11     // cos θ
	VPTESTMD    Z19, Z7, K3       // bit 0: swap
	VBLENDMPS   Z10, Z11, K3, Z1
	VBLENDMPS   Z11, Z10, K3, Z2
	VMULPS      Z0, Z1, Z1
	VMULPS      Z0, Z2, Z2
	VPSLLD      $30, Z7, Z3       // bit 1: negate the first
	VPSLLD      $29, Z7, Z4       // bit 2: negate the second
	VPTERNLOGD  $0x78, Z18, Z3, Z1
	VPTERNLOGD  $0x78, Z18, Z4, Z2
	VADDPS      (SI), Z1, Z1
	VADDPS      64(SI), Z2, Z2
	VMOVUPS     Z1, (SI)
	VMOVUPS     Z2, 64(SI)
	ADDQ        $128, SI
	ADDQ        $128, DX
	DECQ        CX
	JNZ         block512
	VZEROUPPER
	RET

// func expDeviatesAVX512(out *float32, words *byte, n int, consts *[fibreConsts]float32)
//
// Sixteen deviates per iteration; n is a positive multiple of 16.
TEXT ·expDeviatesAVX512(SB), NOSPLIT, $0-32
	MOVQ      out+0(FP), DI
	MOVQ      words+8(FP), DX
	MOVQ      n+16(FP), CX
	MOVQ      consts+24(FP), R9
	FIBRE512CONSTS

exp512:
	VMOVDQU32 (DX), Z0
	EXPDEV512
	VMOVUPS   Z0, (DI)
	ADDQ      $64, DI
	ADDQ      $64, DX
	SUBQ      $16, CX
	JNZ       exp512
	VZEROUPPER
	RET

// FM is row i of fibreConstTable8 (R9): eight copies of a constant, 32 bytes.
#define FM(i) (i*32)(R9)

// EXPDEV256 is EXPDEV512 for the eight words in Y0, without mask registers: Y7 marks
// the lanes with u ≥ ¾ (signed compares suffice, every operand is below 2^31), Y6 the
// halved mantissas (−1, so that subtracting it adds 1 to the exponent), VBLENDVPS and
// VPANDN select. The constants are memory operands. Clobbers Y1..Y7.
#define EXPDEV256 \
	VPSRLD    $1, Y0, Y0       \
	VPCMPGTD  FM(27), Y0, Y7   \
	VMOVDQU   FM(28), Y1       \
	VPSUBD    Y0, Y1, Y1       \
	VCVTDQ2PS Y1, Y1           \
	VADDPS    FM(0), Y1, Y1    \
	VMULPS    FM(1), Y1, Y1    \
	VMOVUPS   FM(2), Y2        \
	VSUBPS    Y1, Y2, Y2       \
	VXORPS    FM(20), Y1, Y1   \
	VCVTDQ2PS Y0, Y3           \
	VADDPS    FM(0), Y3, Y3    \
	VPAND     FM(26), Y3, Y4   \
	VPSRLD    $23, Y3, Y5      \
	VPSUBD    FM(22), Y5, Y5   \
	VPCMPGTD  FM(25), Y4, Y6   \
	VPOR      FM(24), Y4, Y4   \
	VPAND     FM(23), Y6, Y3   \
	VPSUBD    Y3, Y4, Y4       \
	VPSUBD    Y6, Y5, Y5       \
	VPANDN    Y5, Y7, Y5       \
	VCVTDQ2PS Y5, Y5           \
	VSUBPS    FM(3), Y4, Y3    \
	VADDPS    FM(3), Y4, Y4    \
	VBLENDVPS Y7, Y1, Y3, Y3   \
	VBLENDVPS Y7, Y2, Y4, Y4   \
	VDIVPS    Y4, Y3, Y3       \
	VMULPS    Y3, Y3, Y4       \
	VMULPS    FM(7), Y4, Y6    \
	VADDPS    FM(6), Y6, Y6    \
	VMULPS    Y4, Y6, Y6       \
	VADDPS    FM(5), Y6, Y6    \
	VMULPS    Y4, Y6, Y6       \
	VADDPS    FM(4), Y6, Y6    \
	VMULPS    Y4, Y6, Y6       \
	VADDPS    FM(3), Y6, Y6    \
	VADDPS    Y3, Y3, Y3       \
	VMULPS    Y6, Y3, Y3       \
	VMULPS    FM(9), Y5, Y6    \
	VADDPS    Y6, Y3, Y3       \
	VMULPS    FM(8), Y5, Y6    \
	VADDPS    Y6, Y3, Y3       \
	VXORPS    FM(20), Y3, Y0

// BM256 is half a Box–Muller block: pairs off/4 … off/4 + 7, their radius words at
// off(DX), angle words at off+64(DX), samples at off(SI) and off+64(SI). Y15 holds σ.
#define BM256(off) \
	VMOVDQU   off(DX), Y0         \
	EXPDEV256                     \
	VADDPS    Y0, Y0, Y0          \
	VSQRTPS   Y0, Y0              \
	VMULPS    Y15, Y0, Y0         \
	VMOVDQU   (off+64)(DX), Y7    \
	VPSRLD    $2, Y7, Y8          \
	VPOR      FM(21), Y8, Y8      \
	VCVTDQ2PS Y8, Y8              \
	VMULPS    FM(10), Y8, Y8      \
	VMULPS    Y8, Y8, Y9          \
	VMULPS    FM(14), Y9, Y10     \
	VADDPS    FM(13), Y10, Y10    \
	VMULPS    Y9, Y10, Y10        \
	VADDPS    FM(12), Y10, Y10    \
	VMULPS    Y9, Y10, Y10        \
	VADDPS    FM(11), Y10, Y10    \
	VMULPS    Y9, Y10, Y10        \
	VMULPS    Y8, Y10, Y10        \
	VADDPS    Y10, Y8, Y10        \
	VMULPS    FM(19), Y9, Y11     \
	VADDPS    FM(18), Y11, Y11    \
	VMULPS    Y9, Y11, Y11        \
	VADDPS    FM(17), Y11, Y11    \
	VMULPS    Y9, Y11, Y11        \
	VADDPS    FM(16), Y11, Y11    \
	VMULPS    Y9, Y11, Y11        \
	VADDPS    FM(15), Y11, Y11    \
	VMULPS    Y9, Y11, Y11        \
	VADDPS    FM(3), Y11, Y11     \
	VPSLLD    $31, Y7, Y12        \
	VBLENDVPS Y12, Y10, Y11, Y1   \
	VBLENDVPS Y12, Y11, Y10, Y2   \
	VMULPS    Y0, Y1, Y1          \
	VMULPS    Y0, Y2, Y2          \
	VPSLLD    $30, Y7, Y3         \
	VPAND     FM(20), Y3, Y3      \
	VXORPS    Y3, Y1, Y1          \
	VPSLLD    $29, Y7, Y4         \
	VPAND     FM(20), Y4, Y4      \
	VXORPS    Y4, Y2, Y2          \
	VADDPS    off(SI), Y1, Y1     \
	VADDPS    (off+64)(SI), Y2, Y2 \
	VMOVUPS   Y1, off(SI)         \
	VMOVUPS   Y2, (off+64)(SI)

// func fibreNoiseAVX2(soft *Sample, words *byte, blocks int, sigma float32, consts *[fibreConsts8][8]float32)
//
// fibreNoiseAVX512 for CPUs with AVX2 only: a block in two halves of eight pairs.
// Registers: SI soft, DX words, CX blocks left, R9 consts, Y15 σ; Y0..Y12 temporaries.
TEXT ·fibreNoiseAVX2(SB), NOSPLIT, $0-40
	MOVQ         soft+0(FP), SI
	MOVQ         words+8(FP), DX
	MOVQ         blocks+16(FP), CX
	VBROADCASTSS sigma+24(FP), Y15
	MOVQ         consts+32(FP), R9

block256:
	BM256(0)
	BM256(32)
	ADDQ $128, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  block256
	VZEROUPPER
	RET

// func expDeviatesAVX2(out *float32, words *byte, n int, consts *[fibreConsts8][8]float32)
//
// Eight deviates per iteration; n is a positive multiple of 8.
TEXT ·expDeviatesAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ words+8(FP), DX
	MOVQ n+16(FP), CX
	MOVQ consts+24(FP), R9

exp256:
	VMOVDQU (DX), Y0
	EXPDEV256
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     exp256
	VZEROUPPER
	RET
