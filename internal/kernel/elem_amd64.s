//go:build amd64 && !noasm

#include "textflag.h"

// func colSumsProdRowsAVX2(rows, c int, s1, s2 *float64, x, y *float32)
// Row by row, 4 columns at a time in float64 (the sums in memory), then
// one at a time.
TEXT ·colSumsProdRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), R8
	MOVQ c+8(FP), R9
	MOVQ s1+16(FP), DI
	MOVQ s2+24(FP), BX
	MOVQ x+32(FP), SI
	MOVQ y+40(FP), R10
	MOVQ R9, AX
	ANDQ $-4, AX
	MOVQ R9, CX
	SHLQ $2, CX

cprow:
	XORQ DX, DX

cpcol4:
	CMPQ        DX, AX
	JGE         cptail
	VCVTPS2PD   (SI)(DX*4), Y0
	VCVTPS2PD   (R10)(DX*4), Y3
	VADDPD      (DI)(DX*8), Y0, Y1
	VMOVUPD     Y1, (DI)(DX*8)
	VMOVUPD     (BX)(DX*8), Y2
	VFMADD231PD Y3, Y0, Y2
	VMOVUPD     Y2, (BX)(DX*8)
	ADDQ        $4, DX
	JMP         cpcol4

cptail:
	CMPQ        DX, R9
	JGE         cpnext
	VMOVSS      (SI)(DX*4), X0
	VCVTSS2SD   X0, X0, X0
	VMOVSS      (R10)(DX*4), X3
	VCVTSS2SD   X3, X3, X3
	VADDSD      (DI)(DX*8), X0, X1
	VMOVSD      X1, (DI)(DX*8)
	VMOVSD      (BX)(DX*8), X2
	VFMADD231SD X3, X0, X2
	VMOVSD      X2, (BX)(DX*8)
	INCQ        DX
	JMP         cptail

cpnext:
	ADDQ CX, SI
	ADDQ CX, R10
	DECQ R8
	JNZ  cprow
	VZEROUPPER
	RET
