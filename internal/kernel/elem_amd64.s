//go:build amd64 && !noasm

#include "textflag.h"

// func normAffineAVX2(rows, c int, h, y, x, mean, inv, gamma, beta *float32)
// Per row: 8 columns at a time, then one at a time; h == nil: not stored.
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-72
	MOVQ rows+0(FP), R8
	MOVQ c+8(FP), R9
	MOVQ h+16(FP), BX
	MOVQ y+24(FP), DI
	MOVQ x+32(FP), SI
	MOVQ mean+40(FP), R10
	MOVQ inv+48(FP), R11
	MOVQ gamma+56(FP), R12
	MOVQ beta+64(FP), R13
	MOVQ R9, AX
	ANDQ $-8, AX // columns in blocks of 8
	MOVQ R9, CX
	SHLQ $2, CX  // bytes per row

narow:
	XORQ DX, DX

nacol8:
	CMPQ        DX, AX
	JGE         natail
	VMOVUPS     (SI)(DX*4), Y0
	VSUBPS      (R10)(DX*4), Y0, Y0
	VMULPS      (R11)(DX*4), Y0, Y0
	VMOVUPS     (R13)(DX*4), Y1
	VFMADD231PS (R12)(DX*4), Y0, Y1
	TESTQ       BX, BX
	JZ          na8noh
	VMOVUPS     Y0, (BX)(DX*4)

na8noh:
	VMOVUPS Y1, (DI)(DX*4)
	ADDQ    $8, DX
	JMP     nacol8

natail:
	CMPQ        DX, R9
	JGE         nanext
	VMOVSS      (SI)(DX*4), X0
	VSUBSS      (R10)(DX*4), X0, X0
	VMULSS      (R11)(DX*4), X0, X0
	VMOVSS      (R13)(DX*4), X1
	VFMADD231SS (R12)(DX*4), X0, X1
	TESTQ       BX, BX
	JZ          na1noh
	VMOVSS      X0, (BX)(DX*4)

na1noh:
	VMOVSS X1, (DI)(DX*4)
	INCQ   DX
	JMP    natail

nanext:
	ADDQ  CX, SI
	ADDQ  CX, DI
	TESTQ BX, BX
	JZ    nanoh
	ADDQ  CX, BX

nanoh:
	DECQ R8
	JNZ  narow
	VZEROUPPER
	RET

// func normBackwardAVX2(rows, c int, dx, dy, h, k, m1, m2 *float32)
TEXT ·normBackwardAVX2(SB), NOSPLIT, $0-64
	MOVQ rows+0(FP), R8
	MOVQ c+8(FP), R9
	MOVQ dx+16(FP), DI
	MOVQ dy+24(FP), SI
	MOVQ h+32(FP), BX
	MOVQ k+40(FP), R10
	MOVQ m1+48(FP), R11
	MOVQ m2+56(FP), R12
	MOVQ R9, AX
	ANDQ $-8, AX
	MOVQ R9, CX
	SHLQ $2, CX

nbrow:
	XORQ DX, DX

nbcol8:
	CMPQ         DX, AX
	JGE          nbtail
	VMOVUPS      (SI)(DX*4), Y0
	VSUBPS       (R11)(DX*4), Y0, Y0
	VMOVUPS      (BX)(DX*4), Y1
	VFNMADD231PS (R12)(DX*4), Y1, Y0
	VMULPS       (R10)(DX*4), Y0, Y0
	VMOVUPS      Y0, (DI)(DX*4)
	ADDQ         $8, DX
	JMP          nbcol8

nbtail:
	CMPQ         DX, R9
	JGE          nbnext
	VMOVSS       (SI)(DX*4), X0
	VSUBSS       (R11)(DX*4), X0, X0
	VMOVSS       (BX)(DX*4), X1
	VFNMADD231SS (R12)(DX*4), X1, X0
	VMULSS       (R10)(DX*4), X0, X0
	VMOVSS       X0, (DI)(DX*4)
	INCQ         DX
	JMP          nbtail

nbnext:
	ADDQ CX, SI
	ADDQ CX, DI
	ADDQ CX, BX
	DECQ R8
	JNZ  nbrow
	VZEROUPPER
	RET

// func reluAVX2(n int, dst, x *float32)
// dst = x AND (x NLE 0): x > 0 and NaN pass, everything else gives +0.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   dst+8(FP), DI
	MOVQ   x+16(FP), SI
	VXORPS Y15, Y15, Y15

relu32:
	CMPQ    CX, $32
	JL      relu8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VCMPPS  $6, Y15, Y0, Y4
	VCMPPS  $6, Y15, Y1, Y5
	VCMPPS  $6, Y15, Y2, Y6
	VCMPPS  $6, Y15, Y3, Y7
	VANDPS  Y4, Y0, Y0
	VANDPS  Y5, Y1, Y1
	VANDPS  Y6, Y2, Y2
	VANDPS  Y7, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     relu32

relu8:
	CMPQ    CX, $8
	JL      relutail
	VMOVUPS (SI), Y0
	VCMPPS  $6, Y15, Y0, Y4
	VANDPS  Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     relu8

relutail:
	TESTQ  CX, CX
	JZ     reludone
	VMOVSS (SI), X0
	VCMPSS $6, X15, X0, X4
	VANDPS X4, X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JMP    relutail

reludone:
	VZEROUPPER
	RET

// func reluBackwardAVX2(n int, dx, dy, y *float32)
// dx = dy AND (int32(y) > 0).
TEXT ·reluBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ  n+0(FP), CX
	MOVQ  dx+8(FP), DI
	MOVQ  dy+16(FP), SI
	MOVQ  y+24(FP), BX
	VPXOR Y15, Y15, Y15

rb32:
	CMPQ     CX, $32
	JL       rb8
	VMOVDQU  (BX), Y0
	VMOVDQU  32(BX), Y1
	VMOVDQU  64(BX), Y2
	VMOVDQU  96(BX), Y3
	VPCMPGTD Y15, Y0, Y0
	VPCMPGTD Y15, Y1, Y1
	VPCMPGTD Y15, Y2, Y2
	VPCMPGTD Y15, Y3, Y3
	VANDPS   (SI), Y0, Y0
	VANDPS   32(SI), Y1, Y1
	VANDPS   64(SI), Y2, Y2
	VANDPS   96(SI), Y3, Y3
	VMOVUPS  Y0, (DI)
	VMOVUPS  Y1, 32(DI)
	VMOVUPS  Y2, 64(DI)
	VMOVUPS  Y3, 96(DI)
	ADDQ     $128, BX
	ADDQ     $128, SI
	ADDQ     $128, DI
	SUBQ     $32, CX
	JMP      rb32

rb8:
	CMPQ     CX, $8
	JL       rbtail
	VMOVDQU  (BX), Y0
	VPCMPGTD Y15, Y0, Y0
	VANDPS   (SI), Y0, Y0
	VMOVUPS  Y0, (DI)
	ADDQ     $32, BX
	ADDQ     $32, SI
	ADDQ     $32, DI
	SUBQ     $8, CX
	JMP      rb8

rbtail:
	TESTQ    CX, CX
	JZ       rbdone
	VMOVSS   (BX), X0
	VPCMPGTD X15, X0, X0
	VMOVSS   (SI), X1
	VANDPS   X1, X0, X0
	VMOVSS   X0, (DI)
	ADDQ     $4, BX
	ADDQ     $4, SI
	ADDQ     $4, DI
	DECQ     CX
	JMP      rbtail

rbdone:
	VZEROUPPER
	RET

// func colSumsShiftAVX2(rows, c int, s1, s2 *float64, x, shift *float32)
// Per row, 4 columns at a time in float64, then one at a time.
TEXT ·colSumsShiftAVX2(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), R8
	MOVQ c+8(FP), R9
	MOVQ s1+16(FP), DI
	MOVQ s2+24(FP), BX
	MOVQ x+32(FP), SI
	MOVQ shift+40(FP), R10
	MOVQ R9, AX
	ANDQ $-4, AX
	MOVQ R9, CX
	SHLQ $2, CX

csrow:
	XORQ DX, DX

cscol4:
	CMPQ        DX, AX
	JGE         cstail
	VMOVUPS     (SI)(DX*4), X0
	VSUBPS      (R10)(DX*4), X0, X0
	VCVTPS2PD   X0, Y0
	VADDPD      (DI)(DX*8), Y0, Y1
	VMOVUPD     Y1, (DI)(DX*8)
	VMOVUPD     (BX)(DX*8), Y2
	VFMADD231PD Y0, Y0, Y2
	VMOVUPD     Y2, (BX)(DX*8)
	ADDQ        $4, DX
	JMP         cscol4

cstail:
	CMPQ        DX, R9
	JGE         csnext
	VMOVSS      (SI)(DX*4), X0
	VSUBSS      (R10)(DX*4), X0, X0
	VCVTSS2SD   X0, X0, X0
	VADDSD      (DI)(DX*8), X0, X1
	VMOVSD      X1, (DI)(DX*8)
	VMOVSD      (BX)(DX*8), X2
	VFMADD231SD X0, X0, X2
	VMOVSD      X2, (BX)(DX*8)
	INCQ        DX
	JMP         cstail

csnext:
	ADDQ CX, SI
	DECQ R8
	JNZ  csrow
	VZEROUPPER
	RET

// func colSumsProdAVX2(rows, c int, s1, s2 *float64, x, y *float32)
TEXT ·colSumsProdAVX2(SB), NOSPLIT, $0-48
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
