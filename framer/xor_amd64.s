//go:build amd64 && !noasm

#include "textflag.h"

// func xorFoldAVX512(dst, a, b *byte, n int) uint64
//
// dst[i] = a[i] ^ b[i] for i < n (dst may be a or b), and returns the XOR
// of the results taken eight bytes at a time: the XOR of its eight bytes is
// the XOR of all n result bytes. 256 bytes per step, then 64, then one
// masked step for the last n mod 64 bytes (masked loads and stores touch
// nothing past n).
TEXT ·xorFoldAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1

x256:
	CMPQ CX, $256
	JB   x64
	VMOVDQU64   (SI), Z2
	VMOVDQU64   64(SI), Z3
	VMOVDQU64   128(SI), Z4
	VMOVDQU64   192(SI), Z5
	VPXORQ      (DX), Z2, Z2
	VPXORQ      64(DX), Z3, Z3
	VPXORQ      128(DX), Z4, Z4
	VPXORQ      192(DX), Z5, Z5
	VMOVDQU64   Z2, (DI)
	VMOVDQU64   Z3, 64(DI)
	VMOVDQU64   Z4, 128(DI)
	VMOVDQU64   Z5, 192(DI)
	VPTERNLOGD  $0x96, Z2, Z3, Z0
	VPTERNLOGD  $0x96, Z4, Z5, Z1
	ADDQ $256, SI
	ADDQ $256, DX
	ADDQ $256, DI
	SUBQ $256, CX
	JMP  x256

x64:
	CMPQ CX, $64
	JB   tail
	VMOVDQU64 (SI), Z2
	VPXORQ    (DX), Z2, Z2
	VMOVDQU64 Z2, (DI)
	VPXORQ    Z2, Z0, Z0
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $64, CX
	JMP  x64

tail:
	TESTQ CX, CX
	JZ    done
	MOVQ  $1, R8
	SHLQ  CX, R8
	DECQ  R8
	KMOVQ R8, K1
	VMOVDQU8.Z (SI), K1, Z2
	VMOVDQU8.Z (DX), K1, Z3
	VPXORQ     Z3, Z2, Z2
	VMOVDQU8   Z2, K1, (DI)
	VPXORQ     Z2, Z0, Z0

done:
	VPXORQ        Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPXORQ        Y1, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPXOR         X1, X0, X0
	VMOVQ         X0, AX
	VPEXTRQ       $1, X0, BX
	XORQ          BX, AX
	MOVQ          AX, ret+32(FP)
	VZEROUPPER
	RET

// func foldAVX512(p *byte, n int) uint64
//
// The XOR of p[:n] taken eight bytes at a time, as xorFoldAVX512 returns it.
TEXT ·foldAVX512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1

f256:
	CMPQ CX, $256
	JB   f64
	VMOVDQU64  (SI), Z2
	VMOVDQU64  128(SI), Z3
	VPTERNLOGD $0x96, 64(SI), Z2, Z0
	VPTERNLOGD $0x96, 192(SI), Z3, Z1
	ADDQ $256, SI
	SUBQ $256, CX
	JMP  f256

f64:
	CMPQ CX, $64
	JB   ftail
	VPXORQ (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $64, CX
	JMP  f64

ftail:
	TESTQ CX, CX
	JZ    fdone
	MOVQ  $1, R8
	SHLQ  CX, R8
	DECQ  R8
	KMOVQ R8, K1
	VMOVDQU8.Z (SI), K1, Z2
	VPXORQ     Z2, Z0, Z0

fdone:
	VPXORQ        Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPXORQ        Y1, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPXOR         X1, X0, X0
	VMOVQ         X0, AX
	VPEXTRQ       $1, X0, BX
	XORQ          BX, AX
	MOVQ          AX, ret+16(FP)
	VZEROUPPER
	RET
