//go:build amd64 && !noasm

#include "textflag.h"

// Modulate's and Decide's kernels: bits to levels and samples to bits, MSB-first.

// revLanes holds the dwords 7, 6, …, 0, 15, 14, …, 8: VPERMD with it reverses the
// lanes within each group of eight, so that lane l of a mask or a bit field (LSB-first)
// meets sample 8⌊l/8⌋ + 7 − l%8 (MSB-first).
DATA revLanes<>+0(SB)/8, $0x0000000600000007
DATA revLanes<>+8(SB)/8, $0x0000000400000005
DATA revLanes<>+16(SB)/8, $0x0000000200000003
DATA revLanes<>+24(SB)/8, $0x0000000000000001
DATA revLanes<>+32(SB)/8, $0x0000000e0000000f
DATA revLanes<>+40(SB)/8, $0x0000000c0000000d
DATA revLanes<>+48(SB)/8, $0x0000000a0000000b
DATA revLanes<>+56(SB)/8, $0x0000000800000009
GLOBL revLanes<>(SB), RODATA|NOPTR, $64

// bitSel holds the dwords 0x80, 0x40, …, 0x01: bit 7 − l of a byte for lane l.
DATA bitSel<>+0(SB)/8, $0x0000004000000080
DATA bitSel<>+8(SB)/8, $0x0000001000000020
DATA bitSel<>+16(SB)/8, $0x0000000400000008
DATA bitSel<>+24(SB)/8, $0x0000000100000002
GLOBL bitSel<>(SB), RODATA|NOPTR, $32

// func modulateAVX512(bits *byte, out *Sample, n int, l0, l1 float32)
//
// Sixteen samples (two bytes) per iteration, n a positive multiple of 16: the two
// bytes become a mask (bit l = lane l), the mask picks l1 or l0, VPERMD puts the lanes
// in MSB-first order.
TEXT ·modulateAVX512(SB), NOSPLIT, $0-32
	MOVQ         bits+0(FP), SI
	MOVQ         out+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS l0+24(FP), Z1
	VBROADCASTSS l1+28(FP), Z2
	VMOVDQU32    revLanes<>(SB), Z3

mod512:
	KMOVW     (SI), K1
	VBLENDMPS Z2, Z1, K1, Z0
	VPERMD    Z0, Z3, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $2, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       mod512
	VZEROUPPER
	RET

// func decideAVX512(soft *Sample, thr float32, out *byte, n int)
//
// Sixteen samples per iteration, n a positive multiple of 16: loaded through VPERMD
// (lane l = sample 8⌊l/8⌋ + 7 − l%8), compared s > thr (ordered: NaN is 0), the mask
// stored as two bytes, MSB-first.
TEXT ·decideAVX512(SB), NOSPLIT, $0-32
	MOVQ         soft+0(FP), SI
	VBROADCASTSS thr+8(FP), Z1
	MOVQ         out+16(FP), DI
	MOVQ         n+24(FP), CX
	VMOVDQU32    revLanes<>(SB), Z3

dec512:
	VPERMD (SI), Z3, Z0
	VCMPPS $0x1e, Z1, Z0, K1
	KMOVW  K1, (DI)
	ADDQ   $64, SI
	ADDQ   $2, DI
	SUBQ   $16, CX
	JNZ    dec512
	VZEROUPPER
	RET

// func modulateAVX2(bits *byte, out *Sample, n int, l0, l1 float32)
//
// Eight samples (a byte) per iteration, n a positive multiple of 8: the byte in every
// lane, lane l keeps bit 7 − l, the compare makes the mask that picks l1 or l0.
TEXT ·modulateAVX2(SB), NOSPLIT, $0-32
	MOVQ         bits+0(FP), SI
	MOVQ         out+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS l0+24(FP), Y1
	VBROADCASTSS l1+28(FP), Y2
	VMOVDQU      bitSel<>(SB), Y3

mod256:
	VPBROADCASTB (SI), Y0
	VPAND        Y3, Y0, Y0
	VPCMPEQD     Y3, Y0, Y0
	VBLENDVPS    Y0, Y2, Y1, Y4
	VMOVUPS      Y4, (DI)
	INCQ         SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          mod256
	VZEROUPPER
	RET

// func decideAVX2(soft *Sample, thr float32, out *byte, n int)
//
// Eight samples per iteration, n a positive multiple of 8: reversed by VPERMD so that
// VMOVMSKPS puts sample 0 in bit 7.
TEXT ·decideAVX2(SB), NOSPLIT, $0-32
	MOVQ         soft+0(FP), SI
	VBROADCASTSS thr+8(FP), Y1
	MOVQ         out+16(FP), DI
	MOVQ         n+24(FP), CX
	VMOVDQU      revLanes<>(SB), Y3

dec256:
	VPERMD    (SI), Y3, Y0
	VCMPPS    $0x1e, Y1, Y0, Y0
	VMOVMSKPS Y0, AX
	MOVB      AX, (DI)
	ADDQ      $32, SI
	INCQ      DI
	SUBQ      $8, CX
	JNZ       dec256
	VZEROUPPER
	RET
