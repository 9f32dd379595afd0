//go:build amd64 && !noasm

#include "textflag.h"

// func dotInt8RowsAVX2(dst []int32, a []int8, lda int, x []int8)
//
// dst[i] = sum_j int32(a[i*lda+j]) * int32(x[j]) for i < len(dst),
// j < len(x). When len(x) is a multiple of 16, rows go four at a time
// (below); the rest one at a time: per row, 16 int8 of a row and of x are sign-extended to
// int16 (VPMOVSXBW), multiplied and summed in pairs to 8 int32
// (VPMADDWD) and added to one of two accumulators, 32 elements a step;
// a scalar loop does the last len(x) mod 16. Sums wrap as in Go.
TEXT ·dotInt8RowsAVX2(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), R8
	MOVQ a_base+24(FP), SI
	MOVQ lda+48(FP), R9
	MOVQ x_base+56(FP), DX
	MOVQ x_len+64(FP), CX

	// Four rows at a time when len(x) is a multiple of 16: each 16 int8
	// of x are extended once for the four rows.
	MOVQ CX, AX
	ANDQ $15, AX
	JNZ  row

rows4:
	CMPQ  R8, $4
	JL    row
	MOVQ  SI, R10
	LEAQ  (SI)(R9*2), R11
	MOVQ  DX, R12
	MOVQ  CX, R13
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop4:
	TESTQ     R13, R13
	JZ        reduce4
	VPMOVSXBW (R12), Y4
	VPMOVSXBW (R10), Y5
	VPMADDWD  Y4, Y5, Y5
	VPADDD    Y5, Y0, Y0
	VPMOVSXBW (R10)(R9*1), Y6
	VPMADDWD  Y4, Y6, Y6
	VPADDD    Y6, Y1, Y1
	VPMOVSXBW (R11), Y7
	VPMADDWD  Y4, Y7, Y7
	VPADDD    Y7, Y2, Y2
	VPMOVSXBW (R11)(R9*1), Y8
	VPMADDWD  Y4, Y8, Y8
	VPADDD    Y8, Y3, Y3
	ADDQ      $16, R10
	ADDQ      $16, R11
	ADDQ      $16, R12
	SUBQ      $16, R13
	JMP       loop4

reduce4:
	// Y0..Y3 hold eight partial sums of rows 0..3; three horizontal
	// adds leave each 128-bit lane holding one partial per row.
	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         $16, DI
	LEAQ         (SI)(R9*4), SI
	SUBQ         $4, R8
	JMP          rows4

row:
	TESTQ R8, R8
	JZ    done
	MOVQ  SI, R10
	MOVQ  DX, R11
	MOVQ  CX, R12
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

loop32:
	CMPQ      R12, $32
	JL        loop16
	VPMOVSXBW (R10), Y2
	VPMOVSXBW (R11), Y3
	VPMADDWD  Y3, Y2, Y2
	VPADDD    Y2, Y0, Y0
	VPMOVSXBW 16(R10), Y4
	VPMOVSXBW 16(R11), Y5
	VPMADDWD  Y5, Y4, Y4
	VPADDD    Y4, Y1, Y1
	ADDQ      $32, R10
	ADDQ      $32, R11
	SUBQ      $32, R12
	JMP       loop32

loop16:
	CMPQ      R12, $16
	JL        reduce
	VPMOVSXBW (R10), Y2
	VPMOVSXBW (R11), Y3
	VPMADDWD  Y3, Y2, Y2
	VPADDD    Y2, Y0, Y0
	ADDQ      $16, R10
	ADDQ      $16, R11
	SUBQ      $16, R12

reduce:
	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX

tail:
	TESTQ   R12, R12
	JZ      store
	MOVBLSX (R10), BX
	MOVBLSX (R11), R13
	IMULL   R13, BX
	ADDL    BX, AX
	INCQ    R10
	INCQ    R11
	DECQ    R12
	JMP     tail

store:
	MOVL AX, (DI)
	ADDQ $4, DI
	ADDQ R9, SI
	DECQ R8
	JMP  row

done:
	VZEROUPPER
	RET
