//go:build amd64 && !noasm

#include "textflag.h"

// func sgemmKernel6x16(k int, a *float32, rsA, csA int, b *float32, c *float32, ldc int, alpha float32)
//
// C[i, j] += alpha * sum_p A(i, p) * B[p*16 + j] for i < 6, j < 16, with
// A(i, p) = a[i*rsA + p*csA] (strides in elements) and c rows ldc apart.
// Twelve ymm accumulators hold the 6x16 tile; each step loads one 16-wide
// row of the packed B panel and broadcasts six elements of A.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-60
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsA+16(FP), R8
	MOVQ csA+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ c+40(FP), BX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI // DI = row 3 of A

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JZ    store

	// Packed A (rsA=1, csA=6) gets an unrolled loop with constant offsets.
	CMPQ R8, $4
	JNE  loop
	CMPQ R9, $24
	JNE  loop

packed4:
	CMPQ CX, $4
	JL   loop

#define STEP(boff, aoff) \
	VMOVUPS      boff(DX), Y12      \
	VMOVUPS      boff+32(DX), Y13   \
	VBROADCASTSS aoff(SI), Y14      \
	VFMADD231PS  Y12, Y14, Y0       \
	VFMADD231PS  Y13, Y14, Y1       \
	VBROADCASTSS aoff+4(SI), Y15    \
	VFMADD231PS  Y12, Y15, Y2       \
	VFMADD231PS  Y13, Y15, Y3       \
	VBROADCASTSS aoff+8(SI), Y14    \
	VFMADD231PS  Y12, Y14, Y4       \
	VFMADD231PS  Y13, Y14, Y5       \
	VBROADCASTSS aoff+12(SI), Y15   \
	VFMADD231PS  Y12, Y15, Y6       \
	VFMADD231PS  Y13, Y15, Y7       \
	VBROADCASTSS aoff+16(SI), Y14   \
	VFMADD231PS  Y12, Y14, Y8       \
	VFMADD231PS  Y13, Y14, Y9       \
	VBROADCASTSS aoff+20(SI), Y15   \
	VFMADD231PS  Y12, Y15, Y10      \
	VFMADD231PS  Y13, Y15, Y11

	PREFETCHT0 512(DX)
	STEP(0, 0)
	STEP(64, 24)
	PREFETCHT0 640(DX)
	STEP(128, 48)
	STEP(192, 72)
	ADDQ $256, DX
	ADDQ $96, SI
	ADDQ $96, DI
	SUBQ $4, CX
	JMP  packed4

loop:
	TESTQ CX, CX
	JZ    store
	VMOVUPS      (DX), Y12
	VMOVUPS      32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (DI), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (DI)(R8*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (DI)(R8*2), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $64, DX
	ADDQ         R9, SI
	ADDQ         R9, DI
	DECQ         CX
	JMP          loop

store:
	// C = alpha*acc + C, one row (two ymm) at a time.
	VBROADCASTSS alpha+56(FP), Y14
	VFMADD213PS  (BX), Y14, Y0
	VFMADD213PS  32(BX), Y14, Y1
	VMOVUPS      Y0, (BX)
	VMOVUPS      Y1, 32(BX)
	ADDQ         R10, BX
	VFMADD213PS  (BX), Y14, Y2
	VFMADD213PS  32(BX), Y14, Y3
	VMOVUPS      Y2, (BX)
	VMOVUPS      Y3, 32(BX)
	ADDQ         R10, BX
	VFMADD213PS  (BX), Y14, Y4
	VFMADD213PS  32(BX), Y14, Y5
	VMOVUPS      Y4, (BX)
	VMOVUPS      Y5, 32(BX)
	ADDQ         R10, BX
	VFMADD213PS  (BX), Y14, Y6
	VFMADD213PS  32(BX), Y14, Y7
	VMOVUPS      Y6, (BX)
	VMOVUPS      Y7, 32(BX)
	ADDQ         R10, BX
	VFMADD213PS  (BX), Y14, Y8
	VFMADD213PS  32(BX), Y14, Y9
	VMOVUPS      Y8, (BX)
	VMOVUPS      Y9, 32(BX)
	ADDQ         R10, BX
	VFMADD213PS  (BX), Y14, Y10
	VFMADD213PS  32(BX), Y14, Y11
	VMOVUPS      Y10, (BX)
	VMOVUPS      Y11, 32(BX)
	VZEROUPPER
	RET

// func dotAVX2(x, y []float32) float32
// len(y) >= len(x).
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JL          dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JL          dotred
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotred:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0

dottail:
	TESTQ       CX, CX
	JZ          dotdone
	VMOVSS      (SI), X4
	VFMADD231SS (DI), X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dottail

dotdone:
	VMOVHLPS  X0, X0, X1
	VADDPS    X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS    X1, X0, X0
	VZEROUPPER
	MOVSS     X0, ret+48(FP)
	RET

// func sqL2AVX2(x, y []float32) float32
// len(y) >= len(x).
TEXT ·sqL2AVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

l2_32:
	CMPQ        CX, $32
	JL          l2_8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VSUBPS      (DI), Y4, Y4
	VSUBPS      32(DI), Y5, Y5
	VSUBPS      64(DI), Y6, Y6
	VSUBPS      96(DI), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         l2_32

l2_8:
	CMPQ        CX, $8
	JL          l2red
	VMOVUPS     (SI), Y4
	VSUBPS      (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         l2_8

l2red:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0

l2tail:
	TESTQ       CX, CX
	JZ          l2done
	VMOVSS      (SI), X4
	VSUBSS      (DI), X4, X4
	VFMADD231SS X4, X4, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         l2tail

l2done:
	VMOVHLPS  X0, X0, X1
	VADDPS    X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS    X1, X0, X0
	VZEROUPPER
	MOVSS     X0, ret+48(FP)
	RET

// func axpyAVX2(alpha float32, x, y []float32)
// len(y) >= len(x).
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI

axpy32:
	CMPQ        CX, $32
	JL          axpy8
	VMOVUPS     (DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS (SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JL          axpytail
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpytail:
	TESTQ       CX, CX
	JZ          axpydone
	VMOVSS      (DI), X0
	VFMADD231SS (SI), X15, X0
	VMOVSS      X0, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpytail

axpydone:
	VZEROUPPER
	RET

// func fmaPeak(n int)
// Runs n iterations of 10 independent 8-wide FMA chains (160 flops each),
// enough to cover 2 pipes x 4 cycles latency: a measure of peak throughput.
TEXT ·fmaPeak(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

peakloop:
	TESTQ       CX, CX
	JZ          peakdone
	VFMADD231PS Y10, Y11, Y0
	VFMADD231PS Y10, Y11, Y1
	VFMADD231PS Y10, Y11, Y2
	VFMADD231PS Y10, Y11, Y3
	VFMADD231PS Y10, Y11, Y4
	VFMADD231PS Y10, Y11, Y5
	VFMADD231PS Y10, Y11, Y6
	VFMADD231PS Y10, Y11, Y7
	VFMADD231PS Y10, Y11, Y8
	VFMADD231PS Y10, Y11, Y9
	DECQ        CX
	JMP         peakloop

peakdone:
	VZEROUPPER
	RET
