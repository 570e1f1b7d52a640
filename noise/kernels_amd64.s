//go:build amd64 && !noasm

#include "textflag.h"

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

// QC loads constant i of consts (R9) into every lane of zmm.
#define QC(i, zmm) VBROADCASTSS (i*4)(R9), zmm

// func addDecideInvAVX512(soft *Sample, ks *byte, n int, inv, thr float32, out *byte, consts *[qConsts]float32)
//
// The decision by inversion (decide.go) for sixteen samples per iteration, lane l =
// sample l of the group, operation for operation as decisionThreshold and decideInv
// compute them in Go: no FMA, VDIVPS for k, VRNDSCALEPS (nearest even) for n,
// VSCALEFPS for 2^n, VCVTTPS2UDQ for the threshold. The samples and words are loaded
// through VPERMD with revBytes, so that lane l holds sample 8⌊l/8⌋ + 7 − l%8 and the
// compare mask is the output's two bytes, MSB-first, as it is.
//
// Two groups of sixteen run interleaved, instruction by instruction, while 32 samples
// or more remain: each group is one long dependency chain (≈ 80 cycles on a Zen 5,
// VDIVPS and two Horner polynomials), and the second group's independent work keeps
// the pipes busy (≈ 11 % faster there); a last group of sixteen runs alone.
//
// Registers: SI soft, DX ks, CX samples left, DI out, R9 consts; Z9 inv, Z10 thr, Z11
// the sign-clearing mask, Z12 −log2(e)/2, Z13 −100, Z20 1, Z21 1/√(2π), Z22 p, Z23
// revBytes, Z29 2^32; the polynomials' coefficients e6..e1 and b5..b1 are broadcast
// from consts as memory operands. The first group's temporaries are Z0..Z8 and K1 (NaN
// lanes), K2 (sign of t), K3 (the decisions); the second group's Z30, Z31, Z14..Z19,
// Z24 and K4..K6.
TEXT ·addDecideInvAVX512(SB), NOSPLIT, $0-48
	MOVQ         soft+0(FP), SI
	MOVQ         ks+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z9
	VBROADCASTSS thr+28(FP), Z10
	MOVQ         out+32(FP), DI
	MOVQ         consts+40(FP), R9
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z11
	QC(0, Z12)
	QC(1, Z13)
	QC(8, Z20)
	QC(9, Z21)
	QC(10, Z22)
	QC(16, Z29)
	VMOVDQU32    revBytes<>(SB), Z23

	CMPQ        CX, $32
	JB          loop

loop2:
	VPERMD      (SI), Z23, Z0
	VPERMD      64(SI), Z23, Z30
	VPERMD      (DX), Z23, Z1
	VPERMD      64(DX), Z23, Z31
	VSUBPS      Z0, Z10, Z2
	VSUBPS      Z30, Z10, Z14
	VMULPS      Z9, Z2, Z2
	VMULPS      Z9, Z14, Z14
	VCMPPS      $3, Z2, Z2, K1
	VCMPPS      $3, Z14, Z14, K4
	VPMOVD2M    Z2, K2
	VPMOVD2M    Z14, K5
	VPANDD      Z11, Z2, Z3
	VPANDD      Z11, Z14, Z15
	VMULPS      Z2, Z2, Z4
	VMULPS      Z14, Z14, Z16
	VMULPS      Z12, Z4, Z4
	VMULPS      Z12, Z16, Z16
	VMAXPS      Z13, Z4, Z4
	VMAXPS      Z13, Z16, Z16
	VRNDSCALEPS $0, Z4, Z5
	VRNDSCALEPS $0, Z16, Z17
	VSUBPS      Z5, Z4, Z4
	VSUBPS      Z17, Z16, Z16
	VMULPS.BCST 8(R9), Z4, Z6
	VMULPS.BCST 8(R9), Z16, Z18
	VADDPS.BCST 12(R9), Z6, Z6
	VADDPS.BCST 12(R9), Z18, Z18
	VMULPS      Z4, Z6, Z6
	VMULPS      Z16, Z18, Z18
	VADDPS.BCST 16(R9), Z6, Z6
	VADDPS.BCST 16(R9), Z18, Z18
	VMULPS      Z4, Z6, Z6
	VMULPS      Z16, Z18, Z18
	VADDPS.BCST 20(R9), Z6, Z6
	VADDPS.BCST 20(R9), Z18, Z18
	VMULPS      Z4, Z6, Z6
	VMULPS      Z16, Z18, Z18
	VADDPS.BCST 24(R9), Z6, Z6
	VADDPS.BCST 24(R9), Z18, Z18
	VMULPS      Z4, Z6, Z6
	VMULPS      Z16, Z18, Z18
	VADDPS.BCST 28(R9), Z6, Z6
	VADDPS.BCST 28(R9), Z18, Z18
	VMULPS      Z4, Z6, Z6
	VMULPS      Z16, Z18, Z18
	VADDPS      Z20, Z6, Z6
	VADDPS      Z20, Z18, Z18
	VSCALEFPS   Z5, Z6, Z6
	VSCALEFPS   Z17, Z18, Z18
	VMULPS      Z21, Z6, Z6
	VMULPS      Z21, Z18, Z18
	VMULPS      Z22, Z3, Z7
	VMULPS      Z22, Z15, Z19
	VADDPS      Z20, Z7, Z7
	VADDPS      Z20, Z19, Z19
	VDIVPS      Z7, Z20, Z7
	VDIVPS      Z19, Z20, Z19
	VMULPS.BCST 44(R9), Z7, Z8
	VMULPS.BCST 44(R9), Z19, Z24
	VADDPS.BCST 48(R9), Z8, Z8
	VADDPS.BCST 48(R9), Z24, Z24
	VMULPS      Z7, Z8, Z8
	VMULPS      Z19, Z24, Z24
	VADDPS.BCST 52(R9), Z8, Z8
	VADDPS.BCST 52(R9), Z24, Z24
	VMULPS      Z7, Z8, Z8
	VMULPS      Z19, Z24, Z24
	VADDPS.BCST 56(R9), Z8, Z8
	VADDPS.BCST 56(R9), Z24, Z24
	VMULPS      Z7, Z8, Z8
	VMULPS      Z19, Z24, Z24
	VADDPS.BCST 60(R9), Z8, Z8
	VADDPS.BCST 60(R9), Z24, Z24
	VMULPS      Z7, Z8, Z8
	VMULPS      Z19, Z24, Z24
	VMULPS      Z8, Z6, Z6
	VMULPS      Z24, Z18, Z18
	VMULPS      Z29, Z6, Z6
	VMULPS      Z29, Z18, Z18
	VCVTTPS2UDQ Z6, Z6
	VCVTTPS2UDQ Z18, Z18
	VPCMPUD     $1, Z6, Z1, K3
	VPCMPUD     $1, Z18, Z31, K6
	KXORW       K2, K3, K3
	KXORW       K5, K6, K6
	KANDNW      K3, K1, K3
	KANDNW      K6, K4, K6
	KMOVW       K3, (DI)
	KMOVW       K6, 2(DI)
	ADDQ        $128, SI
	ADDQ        $128, DX
	ADDQ        $4, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JAE         loop2
	TESTQ       CX, CX
	JZ          done512

loop:
	VPERMD      (SI), Z23, Z0
	VPERMD      (DX), Z23, Z1
	VSUBPS      Z0, Z10, Z2
	VMULPS      Z9, Z2, Z2
	VCMPPS      $3, Z2, Z2, K1
	VPMOVD2M    Z2, K2
	VPANDD      Z11, Z2, Z3
	VMULPS      Z2, Z2, Z4
	VMULPS      Z12, Z4, Z4
	VMAXPS      Z13, Z4, Z4
	VRNDSCALEPS $0, Z4, Z5
	VSUBPS      Z5, Z4, Z4
	VMULPS.BCST 8(R9), Z4, Z6
	VADDPS.BCST 12(R9), Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS.BCST 16(R9), Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS.BCST 20(R9), Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS.BCST 24(R9), Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS.BCST 28(R9), Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z20, Z6, Z6
	VSCALEFPS   Z5, Z6, Z6
	VMULPS      Z21, Z6, Z6
	VMULPS      Z22, Z3, Z7
	VADDPS      Z20, Z7, Z7
	VDIVPS      Z7, Z20, Z7
	VMULPS.BCST 44(R9), Z7, Z8
	VADDPS.BCST 48(R9), Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS.BCST 52(R9), Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS.BCST 56(R9), Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS.BCST 60(R9), Z8, Z8
	VMULPS      Z7, Z8, Z8
	VMULPS      Z8, Z6, Z6
	VMULPS      Z29, Z6, Z6
	VCVTTPS2UDQ Z6, Z6
	VPCMPUD     $1, Z6, Z1, K3
	KXORW       K2, K3, K3
	KANDNW      K3, K1, K3
	KMOVW       K3, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $2, DI
	SUBQ        $16, CX
	JNZ         loop

done512:
	VZEROUPPER
	RET

// revBytes8 holds the dwords 7, 6, …, 0: the eight samples of a group in reverse, so
// that VMOVMSKPS puts sample 0 in bit 7 (MSB-first).
DATA revBytes8<>+0(SB)/8, $0x0000000600000007
DATA revBytes8<>+8(SB)/8, $0x0000000400000005
DATA revBytes8<>+16(SB)/8, $0x0000000200000003
DATA revBytes8<>+24(SB)/8, $0x0000000000000001
GLOBL revBytes8<>(SB), RODATA|NOPTR, $32

// QM is constant i of the broadcast table (R9): eight copies, 32 bytes.
#define QM(i) (i*32)(R9)

// func addDecideInvAVX2(soft *Sample, ks *byte, n int, inv, thr float32, out *byte, consts *[qConsts8][8]float32)
//
// addDecideInvAVX512 for CPUs with AVX2 only: eight samples per iteration, the same
// float32 operations in the same order. What AVX2 lacks is built from what it has: 2^n
// by adding 127 to n and shifting it into the exponent field (exact, as in the Go
// twin), the float-to-uint32 conversion by converting q − 2^31 where q ≥ 2^31, the
// unsigned compare by flipping the sign bits, and the masks by VMOVMSKPS. The constants
// come from a table of eight-wide copies (consts, layout in kernels_amd64.go), since
// AVX2 has no embedded broadcast and sixteen registers.
//
// Registers: SI soft, DX ks, CX samples left, DI out, R9 consts; Y13 1.0, Y14 inv, Y15
// thr; Y12 revBytes8; Y0..Y11 temporaries; AX, BX, R10 the masks.
TEXT ·addDecideInvAVX2(SB), NOSPLIT, $0-48
	MOVQ         soft+0(FP), SI
	MOVQ         ks+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y14
	VBROADCASTSS thr+28(FP), Y15
	MOVQ         out+32(FP), DI
	MOVQ         consts+40(FP), R9
	VMOVUPS      QM(8), Y13
	VMOVDQU      revBytes8<>(SB), Y12

loop8:
	VPERMD    (SI), Y12, Y0 // s
	VPERMD    (DX), Y12, Y1 // w
	VSUBPS    Y0, Y15, Y2   // thr − s
	VMULPS    Y14, Y2, Y2   // t
	VCMPPS    $3, Y2, Y2, Y3
	VMOVMSKPS Y3, AX        // NaN lanes
	VMOVMSKPS Y2, BX        // sign of t
	VANDPS    QM(17), Y2, Y3 // a = |t|

	// g = 2^y/√(2π), y = max(t²·qY, −100) = n + f
	VMULPS    Y2, Y2, Y4
	VMULPS    QM(0), Y4, Y4
	VMAXPS    QM(1), Y4, Y4
	VROUNDPS  $0, Y4, Y5
	VSUBPS    Y5, Y4, Y4
	VMULPS    QM(2), Y4, Y6
	VADDPS    QM(3), Y6, Y6
	VMULPS    Y4, Y6, Y6
	VADDPS    QM(4), Y6, Y6
	VMULPS    Y4, Y6, Y6
	VADDPS    QM(5), Y6, Y6
	VMULPS    Y4, Y6, Y6
	VADDPS    QM(6), Y6, Y6
	VMULPS    Y4, Y6, Y6
	VADDPS    QM(7), Y6, Y6
	VMULPS    Y4, Y6, Y6
	VADDPS    Y13, Y6, Y6
	VCVTPS2DQ Y5, Y7
	VPADDD    QM(18), Y7, Y7
	VPSLLD    $23, Y7, Y7
	VMULPS    Y7, Y6, Y6
	VMULPS    QM(9), Y6, Y6

	// r = k·(b1 + k·(b2 + k·(b3 + k·(b4 + k·b5)))), k = 1/(p·a + 1)
	VMULPS    QM(10), Y3, Y7
	VADDPS    Y13, Y7, Y7
	VDIVPS    Y7, Y13, Y7
	VMULPS    QM(11), Y7, Y8
	VADDPS    QM(12), Y8, Y8
	VMULPS    Y7, Y8, Y8
	VADDPS    QM(13), Y8, Y8
	VMULPS    Y7, Y8, Y8
	VADDPS    QM(14), Y8, Y8
	VMULPS    Y7, Y8, Y8
	VADDPS    QM(15), Y8, Y8
	VMULPS    Y7, Y8, Y8

	// threshold ⌊2^32·g·r⌋ as uint32, compared unsigned with w
	VMULPS     Y8, Y6, Y6
	VMULPS     QM(16), Y6, Y6
	VCVTTPS2DQ Y6, Y9
	VSUBPS     QM(19), Y6, Y10
	VCVTTPS2DQ Y10, Y10
	VPXOR      QM(20), Y10, Y10
	VCMPPS     $13, QM(19), Y6, Y11
	VBLENDVPS  Y11, Y10, Y9, Y9
	VPXOR      QM(20), Y9, Y9
	VPXOR      QM(20), Y1, Y1
	VPCMPGTD   Y1, Y9, Y9
	VMOVMSKPS  Y9, R10

	XORL R10, BX
	NOTL AX
	ANDL AX, BX
	MOVB BX, (DI)

	ADDQ $32, SI
	ADDQ $32, DX
	INCQ DI
	SUBQ $8, CX
	JNZ  loop8
	VZEROUPPER
	RET
