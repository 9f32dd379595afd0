//go:build amd64 && !noasm

#include "textflag.h"

// func dotInt8RowsAVX2(dst []int32, a []int8, lda int, x []int8)
//
// dst[i] = sum_j int32(a[i*lda+j]) * int32(x[j]) for i < len(dst),
// j < len(x). Per row, 16 int8 of a row and of x are sign-extended to
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
