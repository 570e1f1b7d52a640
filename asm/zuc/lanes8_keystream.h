// Body of zucKeystream8 and zucKeystream8a.
// Included by lanes8_amd64.s once per S1 variant, with ISTEPX and WSTEPX
// defined as that variant's step macros (labels are local to each TEXT).
	MOVQ half+0(FP), SI
	MOVQ ptrs+8(FP), DI
	MOVQ n+16(FP), CX
	SETUP8
	XORQ DX, DX

block:
	MOVQ $16, R9
	CMPQ CX, $64
	JNE  steps
	MOVQ steps+24(FP), R9

steps:
	WSTEPX(0, 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	CMPQ R9, $1
	JEQ  stepsdone
	WSTEPX(1, 1, 3, 5, 6, 8, 10, 11, 12, 14, 15, 0)
	CMPQ R9, $2
	JEQ  stepsdone
	WSTEPX(2, 2, 4, 6, 7, 9, 11, 12, 13, 15, 0, 1)
	CMPQ R9, $3
	JEQ  stepsdone
	WSTEPX(3, 3, 5, 7, 8, 10, 12, 13, 14, 0, 1, 2)
	CMPQ R9, $4
	JEQ  stepsdone
	WSTEPX(4, 4, 6, 8, 9, 11, 13, 14, 15, 1, 2, 3)
	CMPQ R9, $5
	JEQ  stepsdone
	WSTEPX(5, 5, 7, 9, 10, 12, 14, 15, 0, 2, 3, 4)
	CMPQ R9, $6
	JEQ  stepsdone
	WSTEPX(6, 6, 8, 10, 11, 13, 15, 0, 1, 3, 4, 5)
	CMPQ R9, $7
	JEQ  stepsdone
	WSTEPX(7, 7, 9, 11, 12, 14, 0, 1, 2, 4, 5, 6)
	CMPQ R9, $8
	JEQ  stepsdone
	WSTEPX(8, 8, 10, 12, 13, 15, 1, 2, 3, 5, 6, 7)
	CMPQ R9, $9
	JEQ  stepsdone
	WSTEPX(9, 9, 11, 13, 14, 0, 2, 3, 4, 6, 7, 8)
	CMPQ R9, $10
	JEQ  stepsdone
	WSTEPX(10, 10, 12, 14, 15, 1, 3, 4, 5, 7, 8, 9)
	CMPQ R9, $11
	JEQ  stepsdone
	WSTEPX(11, 11, 13, 15, 0, 2, 4, 5, 6, 8, 9, 10)
	CMPQ R9, $12
	JEQ  stepsdone
	WSTEPX(12, 12, 14, 0, 1, 3, 5, 6, 7, 9, 10, 11)
	CMPQ R9, $13
	JEQ  stepsdone
	WSTEPX(13, 13, 15, 1, 2, 4, 6, 7, 8, 10, 11, 12)
	CMPQ R9, $14
	JEQ  stepsdone
	WSTEPX(14, 14, 0, 2, 3, 5, 7, 8, 9, 11, 12, 13)
	CMPQ R9, $15
	JEQ  stepsdone
	WSTEPX(15, 15, 1, 3, 4, 6, 8, 9, 10, 12, 13, 14)

stepsdone:
	TRANSPOSE8(0, 0)
	TRANSPOSE8(8, 32)
	ADDQ $64, DX
	SUBQ $64, CX
	JNZ  block

	VMOVDQA 0(BX), Y0
	VMOVDQU Y0, 0(SI)
	VMOVDQA 32(BX), Y0
	VMOVDQU Y0, 64(SI)
	VMOVDQA 64(BX), Y0
	VMOVDQU Y0, 128(SI)
	VMOVDQA 96(BX), Y0
	VMOVDQU Y0, 192(SI)
	VMOVDQA 128(BX), Y0
	VMOVDQU Y0, 256(SI)
	VMOVDQA 160(BX), Y0
	VMOVDQU Y0, 320(SI)
	VMOVDQA 192(BX), Y0
	VMOVDQU Y0, 384(SI)
	VMOVDQA 224(BX), Y0
	VMOVDQU Y0, 448(SI)
	VMOVDQA 256(BX), Y0
	VMOVDQU Y0, 512(SI)
	VMOVDQA 288(BX), Y0
	VMOVDQU Y0, 576(SI)
	VMOVDQA 320(BX), Y0
	VMOVDQU Y0, 640(SI)
	VMOVDQA 352(BX), Y0
	VMOVDQU Y0, 704(SI)
	VMOVDQA 384(BX), Y0
	VMOVDQU Y0, 768(SI)
	VMOVDQA 416(BX), Y0
	VMOVDQU Y0, 832(SI)
	VMOVDQA 448(BX), Y0
	VMOVDQU Y0, 896(SI)
	VMOVDQA 480(BX), Y0
	VMOVDQU Y0, 960(SI)
	VMOVDQU Y15, 1024(SI)
	VMOVDQU Y14, 1088(SI)
	VZEROUPPER
	RET
