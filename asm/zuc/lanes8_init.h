// Body of zucInit8 and zucInit8a.
// Included by lanes8_amd64.s once per S1 variant, with ISTEPX and WSTEPX
// defined as that variant's step macros (labels are local to each TEXT).
	MOVQ half+0(FP), SI
	SETUP8
	MOVQ $2, CX

initloop:
	ISTEPX(0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	ISTEPX(1, 3, 5, 6, 8, 10, 11, 12, 14, 15, 0)
	ISTEPX(2, 4, 6, 7, 9, 11, 12, 13, 15, 0, 1)
	ISTEPX(3, 5, 7, 8, 10, 12, 13, 14, 0, 1, 2)
	ISTEPX(4, 6, 8, 9, 11, 13, 14, 15, 1, 2, 3)
	ISTEPX(5, 7, 9, 10, 12, 14, 15, 0, 2, 3, 4)
	ISTEPX(6, 8, 10, 11, 13, 15, 0, 1, 3, 4, 5)
	ISTEPX(7, 9, 11, 12, 14, 0, 1, 2, 4, 5, 6)
	ISTEPX(8, 10, 12, 13, 15, 1, 2, 3, 5, 6, 7)
	ISTEPX(9, 11, 13, 14, 0, 2, 3, 4, 6, 7, 8)
	ISTEPX(10, 12, 14, 15, 1, 3, 4, 5, 7, 8, 9)
	ISTEPX(11, 13, 15, 0, 2, 4, 5, 6, 8, 9, 10)
	ISTEPX(12, 14, 0, 1, 3, 5, 6, 7, 9, 10, 11)
	ISTEPX(13, 15, 1, 2, 4, 6, 7, 8, 10, 11, 12)
	ISTEPX(14, 0, 2, 3, 5, 7, 8, 9, 11, 12, 13)
	ISTEPX(15, 1, 3, 4, 6, 8, 9, 10, 12, 13, 14)
	DECQ CX
	JNZ  initloop

	// The first working step (its word is discarded) leaves s_0 at ring
	// position 1; the copy back rotates it to 0.
	WSTEPX(0, 0, 2, 4, 5, 7, 9, 10, 11, 13, 14, 15)
	VMOVDQA 32(BX), Y0
	VMOVDQU Y0, 0(SI)
	VMOVDQA 64(BX), Y0
	VMOVDQU Y0, 64(SI)
	VMOVDQA 96(BX), Y0
	VMOVDQU Y0, 128(SI)
	VMOVDQA 128(BX), Y0
	VMOVDQU Y0, 192(SI)
	VMOVDQA 160(BX), Y0
	VMOVDQU Y0, 256(SI)
	VMOVDQA 192(BX), Y0
	VMOVDQU Y0, 320(SI)
	VMOVDQA 224(BX), Y0
	VMOVDQU Y0, 384(SI)
	VMOVDQA 256(BX), Y0
	VMOVDQU Y0, 448(SI)
	VMOVDQA 288(BX), Y0
	VMOVDQU Y0, 512(SI)
	VMOVDQA 320(BX), Y0
	VMOVDQU Y0, 576(SI)
	VMOVDQA 352(BX), Y0
	VMOVDQU Y0, 640(SI)
	VMOVDQA 384(BX), Y0
	VMOVDQU Y0, 704(SI)
	VMOVDQA 416(BX), Y0
	VMOVDQU Y0, 768(SI)
	VMOVDQA 448(BX), Y0
	VMOVDQU Y0, 832(SI)
	VMOVDQA 480(BX), Y0
	VMOVDQU Y0, 896(SI)
	VMOVDQA 0(BX), Y0
	VMOVDQU Y0, 960(SI)
	VMOVDQU Y15, 1024(SI)
	VMOVDQU Y14, 1088(SI)
	VZEROUPPER
	RET
