//go:build amd64 && !noasm

#include "textflag.h"

// func dotInt8RowsVNNI(dst []int32, a []int8, lda int, x []int8, bias int32)
//
// dst[i] = sum_j int32(a[i*lda+j]) * int32(x[j]) with AVX512-VNNI's
// VPDPBUSD, which multiplies unsigned bytes by signed bytes and adds each
// group of four products to an int32 lane. A row's bytes are made
// unsigned by flipping their sign bit (a+128), so the sum it forms is
// sum_j (a[j]+128)*x[j] = dot + 128*sum(x); the caller passes bias =
// 128*sum(x) and it is subtracted at the end (in wrapping int32 arithmetic,
// so the result is the wrapped dot product exactly). 64 bytes a step, four
// rows at a time sharing the loads of x, then one row at a time; the last
// len(x) mod 64 bytes are read through a byte opmask (zero bytes of both
// a and x add nothing).
TEXT ·dotInt8RowsVNNI(SB), NOSPLIT, $0-84
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), R8
	MOVQ         a_base+24(FP), SI
	MOVQ         lda+48(FP), R9
	MOVQ         x_base+56(FP), DX
	MOVQ         x_len+64(FP), CX
	MOVL         bias+80(FP), AX
	VPBROADCASTD AX, X15
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z14            // the sign bits of 64 bytes

	// K1: the low len(x) mod 64 bits, for the tail's bytes.
	MOVQ  CX, AX
	ANDQ  $63, AX
	MOVQ  $1, BX
	SHLXQ AX, BX, BX
	DECQ  BX
	KMOVQ BX, K1
	MOVQ  CX, R15
	ANDQ  $-64, R15 // bytes in whole 64-byte steps

rows4:
	CMPQ   R8, $4
	JL     row
	MOVQ   SI, R10
	LEAQ   (SI)(R9*2), R11
	MOVQ   DX, R12
	MOVQ   R15, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loop4:
	TESTQ    R13, R13
	JZ       tail4
	VMOVDQU8 (R12), Z4
	VPXORD   (R10), Z14, Z5
	VPDPBUSD Z4, Z5, Z0
	VPXORD   (R10)(R9*1), Z14, Z6
	VPDPBUSD Z4, Z6, Z1
	VPXORD   (R11), Z14, Z7
	VPDPBUSD Z4, Z7, Z2
	VPXORD   (R11)(R9*1), Z14, Z8
	VPDPBUSD Z4, Z8, Z3
	ADDQ     $64, R10
	ADDQ     $64, R11
	ADDQ     $64, R12
	SUBQ     $64, R13
	JMP      loop4

tail4:
	CMPQ       CX, R15
	JEQ        reduce4
	VMOVDQU8.Z (R12), K1, Z4
	VMOVDQU8.Z (R10), K1, Z5
	VPXORD     Z14, Z5, Z5
	VPDPBUSD   Z4, Z5, Z0
	VMOVDQU8.Z (R10)(R9*1), K1, Z6
	VPXORD     Z14, Z6, Z6
	VPDPBUSD   Z4, Z6, Z1
	VMOVDQU8.Z (R11), K1, Z7
	VPXORD     Z14, Z7, Z7
	VPDPBUSD   Z4, Z7, Z2
	VMOVDQU8.Z (R11)(R9*1), K1, Z8
	VPXORD     Z14, Z8, Z8
	VPDPBUSD   Z4, Z8, Z3

reduce4:
	// Fold each row's 16 lanes to 8, then three horizontal adds leave
	// each 128-bit lane holding one partial per row.
	VEXTRACTI64X4 $1, Z0, Y4
	VPADDD        Y4, Y0, Y0
	VEXTRACTI64X4 $1, Z1, Y5
	VPADDD        Y5, Y1, Y1
	VEXTRACTI64X4 $1, Z2, Y6
	VPADDD        Y6, Y2, Y2
	VEXTRACTI64X4 $1, Z3, Y7
	VPADDD        Y7, Y3, Y3
	VPHADDD       Y1, Y0, Y0
	VPHADDD       Y3, Y2, Y2
	VPHADDD       Y2, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPADDD        X1, X0, X0
	VPSUBD        X15, X0, X0
	VMOVDQU       X0, (DI)
	ADDQ          $16, DI
	LEAQ          (SI)(R9*4), SI
	SUBQ          $4, R8
	JMP           rows4

row:
	TESTQ  R8, R8
	JZ     done
	MOVQ   SI, R10
	MOVQ   DX, R12
	MOVQ   R15, R13
	VPXORD Z0, Z0, Z0

loop1:
	TESTQ    R13, R13
	JZ       tail1
	VPXORD   (R10), Z14, Z5
	VPDPBUSD (R12), Z5, Z0
	ADDQ     $64, R10
	ADDQ     $64, R12
	SUBQ     $64, R13
	JMP      loop1

tail1:
	CMPQ       CX, R15
	JEQ        reduce1
	VMOVDQU8.Z (R12), K1, Z4
	VMOVDQU8.Z (R10), K1, Z5
	VPXORD     Z14, Z5, Z5
	VPDPBUSD   Z4, Z5, Z0

reduce1:
	VEXTRACTI64X4 $1, Z0, Y4
	VPADDD        Y4, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPADDD        X1, X0, X0
	VPSHUFD       $0x4E, X0, X1
	VPADDD        X1, X0, X0
	VPSHUFD       $0xB1, X0, X1
	VPADDD        X1, X0, X0
	VPSUBD        X15, X0, X0
	VMOVD         X0, (DI)
	ADDQ          $4, DI
	ADDQ          R9, SI
	DECQ          R8
	JMP           row

done:
	VZEROUPPER
	RET
