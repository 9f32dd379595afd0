//go:build amd64 && !noasm

#include "textflag.h"

// tailmask: eight -1s then eight 0s; the eight int32s at tailmask+4*(8-r)
// select the first r lanes of a VMASKMOVPS load.
DATA tailmask<>+0(SB)/8, $-1
DATA tailmask<>+8(SB)/8, $-1
DATA tailmask<>+16(SB)/8, $-1
DATA tailmask<>+24(SB)/8, $-1
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

DATA neginf<>+0(SB)/4, $0xff800000
GLOBL neginf<>(SB), RODATA|NOPTR, $4

// func dotRowsAVX2(dst, q, x []float32, ldx int) float32
//
// Four rows at a time share each 8-wide load of q and one horizontal
// reduction; the last len(q)%8 elements are read with masked loads so no
// row is read past its prefix. len(dst) >= 1.
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-84
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ q_base+24(FP), SI
	MOVQ q_len+32(FP), CX
	MOVQ x_base+48(FP), R10
	MOVQ ldx+72(FP), R14
	SHLQ $2, R14                  // row stride in bytes

	// Y14: mask of the tail lanes; BX: len(q) rounded down to 8 (elements).
	MOVQ    CX, AX
	ANDQ    $7, AX
	MOVQ    $8, BX
	SUBQ    AX, BX
	LEAQ    tailmask<>(SB), R8
	VMOVDQU (R8)(BX*4), Y14
	MOVQ    CX, BX
	ANDQ    $-8, BX
	MOVQ    AX, R15               // tail length

	VBROADCASTSS neginf<>(SB), X15

rows4:
	CMPQ DX, $4
	JL   rows1
	LEAQ (R10)(R14*1), R11
	LEAQ (R11)(R14*1), R12
	LEAQ (R12)(R14*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX                   // byte offset into q and the rows
	MOVQ BX, R9

r4loop:
	TESTQ R9, R9
	JZ    r4tail
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R10)(AX*1), Y4, Y0
	VFMADD231PS (R11)(AX*1), Y4, Y1
	VFMADD231PS (R12)(AX*1), Y4, Y2
	VFMADD231PS (R13)(AX*1), Y4, Y3
	ADDQ        $32, AX
	SUBQ        $8, R9
	JMP         r4loop

r4tail:
	TESTQ R15, R15
	JZ    r4red
	VMASKMOVPS  (SI)(AX*1), Y14, Y4
	VMASKMOVPS  (R10)(AX*1), Y14, Y5
	VFMADD231PS Y5, Y4, Y0
	VMASKMOVPS  (R11)(AX*1), Y14, Y6
	VFMADD231PS Y6, Y4, Y1
	VMASKMOVPS  (R12)(AX*1), Y14, Y7
	VFMADD231PS Y7, Y4, Y2
	VMASKMOVPS  (R13)(AX*1), Y14, Y8
	VFMADD231PS Y8, Y4, Y3

r4red:
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	VMAXPS       X0, X15, X15
	ADDQ         $16, DI
	LEAQ         (R13)(R14*1), R10
	SUBQ         $4, DX
	JMP          rows4

rows1:
	TESTQ DX, DX
	JZ    done
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX
	MOVQ   BX, R9

r1loop:
	TESTQ R9, R9
	JZ    r1tail
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R10)(AX*1), Y4, Y0
	ADDQ        $32, AX
	SUBQ        $8, R9
	JMP         r1loop

r1tail:
	TESTQ R15, R15
	JZ    r1red
	VMASKMOVPS  (SI)(AX*1), Y14, Y4
	VMASKMOVPS  (R10)(AX*1), Y14, Y5
	VFMADD231PS Y5, Y4, Y0

r1red:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, (DI)
	VBROADCASTSS X0, X0
	VMAXPS       X0, X15, X15
	ADDQ         $4, DI
	ADDQ         R14, R10
	DECQ         DX
	JMP          rows1

done:
	VMOVHLPS X15, X15, X1
	VMAXPS   X1, X15, X15
	VMOVSHDUP X15, X1
	VMAXSS   X1, X15, X15
	VZEROUPPER
	MOVSS    X15, ret+80(FP)
	RET

// func dotBlocks16AVX2(dst, q, blk []float32) float32
//
// Per block, two pairs of 8-wide accumulators (even and odd elements of q)
// hold the 16 rows' scores; each element of q is broadcast once and
// multiplied into the block's 16-float column. len(dst) >= 16.
TEXT ·dotBlocks16AVX2(SB), NOSPLIT, $0-76
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	SHRQ $4, DX                   // blocks
	MOVQ q_base+24(FP), SI
	MOVQ q_len+32(FP), CX
	MOVQ blk_base+48(FP), BX
	VBROADCASTSS neginf<>(SB), Y15

block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, R8
	MOVQ   CX, R9

b2loop:
	CMPQ R9, $2
	JL   b1
	VBROADCASTSS (R8), Y4
	VBROADCASTSS 4(R8), Y5
	VFMADD231PS  (BX), Y4, Y0
	VFMADD231PS  32(BX), Y4, Y1
	VFMADD231PS  64(BX), Y5, Y2
	VFMADD231PS  96(BX), Y5, Y3
	ADDQ         $8, R8
	ADDQ         $128, BX
	SUBQ         $2, R9
	JMP          b2loop

b1:
	TESTQ R9, R9
	JZ    bstore
	VBROADCASTSS (R8), Y4
	VFMADD231PS  (BX), Y4, Y0
	VFMADD231PS  32(BX), Y4, Y1
	ADDQ         $64, BX

bstore:
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMAXPS  Y0, Y15, Y15
	VMAXPS  Y1, Y15, Y15
	ADDQ    $64, DI
	DECQ    DX
	JNZ     block

	VEXTRACTF128 $1, Y15, X1
	VMAXPS       X1, X15, X15
	VMOVHLPS     X15, X15, X1
	VMAXPS       X1, X15, X15
	VMOVSHDUP    X15, X1
	VMAXSS       X1, X15, X15
	VZEROUPPER
	MOVSS        X15, ret+72(FP)
	RET
