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
// Registers: SI soft, DX ks, CX samples left, DI out, R9 consts; Z9 inv, Z10 thr, Z11
// the sign-clearing mask, Z12 −log2(e)/2, Z13 −100, Z14..Z19 e6..e1, Z20 1, Z21 1/√(2π),
// Z22 p, Z23 revBytes, Z24..Z28 b5..b1, Z29 2^32; Z0..Z8 temporaries. K1 NaN lanes, K2
// sign of t, K3 the decisions.
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
	QC(2, Z14)
	QC(3, Z15)
	QC(4, Z16)
	QC(5, Z17)
	QC(6, Z18)
	QC(7, Z19)
	QC(8, Z20)
	QC(9, Z21)
	QC(10, Z22)
	QC(11, Z24)
	QC(12, Z25)
	QC(13, Z26)
	QC(14, Z27)
	QC(15, Z28)
	QC(16, Z29)
	VMOVDQU32    revBytes<>(SB), Z23

loop:
	VPERMD      (SI), Z23, Z0 // s
	VPERMD      (DX), Z23, Z1 // w
	VSUBPS      Z0, Z10, Z2   // thr − s
	VMULPS      Z9, Z2, Z2    // t
	VCMPPS      $3, Z2, Z2, K1
	VPMOVD2M    Z2, K2
	VPANDD      Z11, Z2, Z3   // a = |t|

	// g = 2^y/√(2π), y = max(t²·qY, −100) = n + f
	VMULPS      Z2, Z2, Z4
	VMULPS      Z12, Z4, Z4
	VMAXPS      Z13, Z4, Z4
	VRNDSCALEPS $0, Z4, Z5
	VSUBPS      Z5, Z4, Z4
	VMULPS      Z14, Z4, Z6
	VADDPS      Z15, Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z16, Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z17, Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z18, Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z19, Z6, Z6
	VMULPS      Z4, Z6, Z6
	VADDPS      Z20, Z6, Z6
	VSCALEFPS   Z5, Z6, Z6
	VMULPS      Z21, Z6, Z6

	// r = k·(b1 + k·(b2 + k·(b3 + k·(b4 + k·b5)))), k = 1/(p·a + 1)
	VMULPS      Z22, Z3, Z7
	VADDPS      Z20, Z7, Z7
	VDIVPS      Z7, Z20, Z7
	VMULPS      Z24, Z7, Z8
	VADDPS      Z25, Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS      Z26, Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS      Z27, Z8, Z8
	VMULPS      Z7, Z8, Z8
	VADDPS      Z28, Z8, Z8
	VMULPS      Z7, Z8, Z8

	// threshold ⌊2^32·g·r⌋; decide w < threshold, flipped where t < 0, 0 on NaN
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
