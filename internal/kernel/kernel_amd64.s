//go:build amd64 && !noasm

#include "textflag.h"

// func sgemmKernel6x16(k int, a *float32, rsA, csA int, b *float32, rsB int, c *float32, ldc int, alpha float32, load int)
//
// C[i, j] += alpha * sum_p A(i, p) * B(p, j) for i < 6, j < 16 (with load
// == 0: C[i, j] = alpha * sum, C not read), with
// A(i, p) = a[i*rsA + p*csA], B(p, j) = b[p*rsB + j] (strides in elements)
// and c rows ldc apart. Twelve ymm accumulators hold the 6x16 tile; each
// step loads one 16-wide row of B and broadcasts six elements of A.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-80
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsA+16(FP), R8
	MOVQ csA+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ rsB+40(FP), R11
	MOVQ c+48(FP), BX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI // DI = row 3 of A

	// Start fetching the C tile now, into L2: it is needed only after the
	// loop, and its rows (often 4 KiB apart) fall into the same L1 sets as
	// the B panel that the loop reuses.
	LEAQ       (BX)(R10*2), AX
	LEAQ       (AX)(R10*2), R12
	PREFETCHT1 (BX)
	PREFETCHT1 60(BX)
	PREFETCHT1 (BX)(R10*1)
	PREFETCHT1 60(BX)(R10*1)
	PREFETCHT1 (AX)
	PREFETCHT1 60(AX)
	PREFETCHT1 (AX)(R10*1)
	PREFETCHT1 60(AX)(R10*1)
	PREFETCHT1 (R12)
	PREFETCHT1 60(R12)
	PREFETCHT1 (R12)(R10*1)
	PREFETCHT1 60(R12)(R10*1)

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

	MOVQ R11, R13
	SHLQ $4, R13 // 16 rows of B ahead, for prefetching an unpacked B

	// Packed A and B (rsA=1, csA=6, rsB=16) get an unrolled loop with
	// constant offsets.
	CMPQ R8, $4
	JNE  loop
	CMPQ R9, $24
	JNE  loop
	CMPQ R11, $64
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
	TESTQ      CX, CX
	JZ         store
	PREFETCHT0 (DX)(R13*1)
	PREFETCHT0 60(DX)(R13*1)
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
	ADDQ         R11, DX
	ADDQ         R9, SI
	ADDQ         R9, DI
	DECQ         CX
	JMP          loop

store:
	VBROADCASTSS alpha+64(FP), Y14
	CMPQ         load+72(FP), $0
	JEQ          overwrite

	// C = alpha*acc + C, one row (two ymm) at a time.
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

overwrite:
	// C = alpha*acc, C not read.
	VMULPS  Y14, Y0, Y0
	VMULPS  Y14, Y1, Y1
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	ADDQ    R10, BX
	VMULPS  Y14, Y2, Y2
	VMULPS  Y14, Y3, Y3
	VMOVUPS Y2, (BX)
	VMOVUPS Y3, 32(BX)
	ADDQ    R10, BX
	VMULPS  Y14, Y4, Y4
	VMULPS  Y14, Y5, Y5
	VMOVUPS Y4, (BX)
	VMOVUPS Y5, 32(BX)
	ADDQ    R10, BX
	VMULPS  Y14, Y6, Y6
	VMULPS  Y14, Y7, Y7
	VMOVUPS Y6, (BX)
	VMOVUPS Y7, 32(BX)
	ADDQ    R10, BX
	VMULPS  Y14, Y8, Y8
	VMULPS  Y14, Y9, Y9
	VMOVUPS Y8, (BX)
	VMOVUPS Y9, 32(BX)
	ADDQ    R10, BX
	VMULPS  Y14, Y10, Y10
	VMULPS  Y14, Y11, Y11
	VMOVUPS Y10, (BX)
	VMOVUPS Y11, 32(BX)
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

// func packBT16(n8 int, b *float32, ldb int, dst *float32)
//
// Packs 8*n8 columns of a transposed 16-row block into a 16-wide panel:
// dst[p*16+j] = b[j*ldb+p] for p < 8*n8, j < 16, by 8x8 transposes.
TEXT ·packBT16(SB), NOSPLIT, $0-32
	MOVQ n8+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9   // 3 rows
	LEAQ (SI)(R8*4), R10  // row 4
	LEAQ (R10)(R8*4), R11 // row 8
	LEAQ (R11)(R8*4), R12 // row 12

// TRANSPOSE8 loads rows r0..r7 (8 floats each) and leaves their 8
// columns in Y8..Y15; STORE8 stores Y8..Y15 at off(DI), off+step(DI), ...
#define TRANSPOSE8(r0, r1, r2, r3, r4, r5, r6, r7) \
	VMOVUPS    r0, Y0          \
	VMOVUPS    r1, Y1          \
	VMOVUPS    r2, Y2          \
	VMOVUPS    r3, Y3          \
	VMOVUPS    r4, Y4          \
	VMOVUPS    r5, Y5          \
	VMOVUPS    r6, Y6          \
	VMOVUPS    r7, Y7          \
	VUNPCKLPS  Y1, Y0, Y8      \
	VUNPCKHPS  Y1, Y0, Y9      \
	VUNPCKLPS  Y3, Y2, Y10     \
	VUNPCKHPS  Y3, Y2, Y11     \
	VUNPCKLPS  Y5, Y4, Y12     \
	VUNPCKHPS  Y5, Y4, Y13     \
	VUNPCKLPS  Y7, Y6, Y14     \
	VUNPCKHPS  Y7, Y6, Y15     \
	VSHUFPS    $0x44, Y10, Y8, Y0  \
	VSHUFPS    $0xEE, Y10, Y8, Y1  \
	VSHUFPS    $0x44, Y11, Y9, Y2  \
	VSHUFPS    $0xEE, Y11, Y9, Y3  \
	VSHUFPS    $0x44, Y14, Y12, Y4 \
	VSHUFPS    $0xEE, Y14, Y12, Y5 \
	VSHUFPS    $0x44, Y15, Y13, Y6 \
	VSHUFPS    $0xEE, Y15, Y13, Y7 \
	VPERM2F128 $0x20, Y4, Y0, Y8   \
	VPERM2F128 $0x20, Y5, Y1, Y9   \
	VPERM2F128 $0x20, Y6, Y2, Y10  \
	VPERM2F128 $0x20, Y7, Y3, Y11  \
	VPERM2F128 $0x31, Y4, Y0, Y12  \
	VPERM2F128 $0x31, Y5, Y1, Y13  \
	VPERM2F128 $0x31, Y6, Y2, Y14  \
	VPERM2F128 $0x31, Y7, Y3, Y15

#define STORE8(off, step) \
	VMOVUPS Y8, (off)(DI)          \
	VMOVUPS Y9, (off+step)(DI)     \
	VMOVUPS Y10, (off+2*step)(DI)  \
	VMOVUPS Y11, (off+3*step)(DI)  \
	VMOVUPS Y12, (off+4*step)(DI)  \
	VMOVUPS Y13, (off+5*step)(DI)  \
	VMOVUPS Y14, (off+6*step)(DI)  \
	VMOVUPS Y15, (off+7*step)(DI)

packloop:
	TESTQ CX, CX
	JZ    packdone
	TRANSPOSE8((SI), (SI)(R8*1), (SI)(R8*2), (SI)(R9*1), (R10), (R10)(R8*1), (R10)(R8*2), (R10)(R9*1))
	STORE8(0, 64)
	TRANSPOSE8((R11), (R11)(R8*1), (R11)(R8*2), (R11)(R9*1), (R12), (R12)(R8*1), (R12)(R8*2), (R12)(R9*1))
	STORE8(32, 64)
	ADDQ  $32, SI
	ADDQ  $32, R10
	ADDQ  $32, R11
	ADDQ  $32, R12
	ADDQ  $512, DI
	DECQ  CX
	JMP   packloop

packdone:
	VZEROUPPER
	RET

// func packA6(n8 int, a *float32, lda int, dst *float32)
//
// Eight columns of six rows at a time: the 6×8 block (rows 4 and 5 read
// twice to fill packBT16's 8×8 transpose) becomes eight 6-float groups. Each
// group is stored as 8 floats at 24-byte steps, in increasing order, so a
// store's two extra floats are overwritten by the next one; the last
// store of the call writes 2 floats past 48·n8 (the caller's slack).
TEXT ·packA6(SB), NOSPLIT, $0-32
	MOVQ n8+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9  // 3 rows
	LEAQ (SI)(R8*4), R10 // row 4

packaloop:
	TESTQ CX, CX
	JZ    packadone
	// Rows 4 and 5 stand in for the absent rows 6 and 7 (their columns
	// land in the two floats of each group that the next store overwrites).
	TRANSPOSE8((SI), (SI)(R8*1), (SI)(R8*2), (SI)(R9*1), (R10), (R10)(R8*1), (R10), (R10)(R8*1))
	STORE8(0, 24)
	ADDQ       $32, SI
	ADDQ       $32, R10
	ADDQ       $192, DI
	DECQ       CX
	JMP        packaloop

packadone:
	VZEROUPPER
	RET

// func packBRows16(kc, np int, b *float32, ldb int, dst *float32)
TEXT ·packBRows16(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ np+8(FP), DX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	SHLQ $6, R9 // bytes from one panel to the next: kc·16 floats

pbrow:
	TESTQ CX, CX
	JZ    pbdone
	MOVQ  SI, R10
	MOVQ  DI, R11
	MOVQ  DX, BX

pbcol:
	TESTQ   BX, BX
	JZ      pbnext
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ    $64, R10
	ADDQ    R9, R11
	DECQ    BX
	JMP     pbcol

pbnext:
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JMP  pbrow

pbdone:
	VZEROUPPER
	RET

// func packA6T(kc int, a *float32, lda int, dst *float32)
//
// Packs a full 6-row panel of a transposed A, whose six values for each p
// are contiguous: dst[p*6+i] = a[p*lda+i] for p < kc, i < 6. Each p moves
// 16 bytes and 8 bytes; four p a step.
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8

pat4:
	CMPQ    CX, $4
	JL      pat1
	MOVUPS  (SI), X0
	MOVQ    16(SI), AX
	ADDQ    R8, SI
	MOVUPS  (SI), X1
	MOVQ    16(SI), BX
	ADDQ    R8, SI
	MOVUPS  (SI), X2
	MOVQ    16(SI), DX
	ADDQ    R8, SI
	MOVUPS  (SI), X3
	MOVQ    16(SI), R9
	ADDQ    R8, SI
	MOVUPS  X0, (DI)
	MOVQ    AX, 16(DI)
	MOVUPS  X1, 24(DI)
	MOVQ    BX, 40(DI)
	MOVUPS  X2, 48(DI)
	MOVQ    DX, 64(DI)
	MOVUPS  X3, 72(DI)
	MOVQ    R9, 88(DI)
	ADDQ    $96, DI
	SUBQ    $4, CX
	JMP     pat4

pat1:
	TESTQ  CX, CX
	JZ     patdone
	MOVUPS (SI), X0
	MOVQ   16(SI), AX
	ADDQ   R8, SI
	MOVUPS X0, (DI)
	MOVQ   AX, 16(DI)
	ADDQ   $24, DI
	DECQ   CX
	JMP    pat1

patdone:
	RET

// func packA6T8(kc int, a *float32, lda int, dst *float32, pstride int)
//
// Eight 6-row panels of a transposed A, panel g at dst + g*pstride floats:
// per p, the 48 contiguous values of the row (16 bytes and 8 bytes per
// panel) go to the eight panels. Panel g's pointer is DI + g*R9 (R9:
// pstride in bytes), reached as DI, DI+R9, DI+2*R9, R10 = DI+3*R9,
// R10+R9, R10+2*R9, R11+4*R9 (R11 = DI+2*R9) and R10+4*R9.
TEXT ·packA6T8(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	MOVQ pstride+32(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (DI)(R9*2), R11
	LEAQ (R11)(R9*1), R10
	TESTQ CX, CX
	JZ    pa8done

pa8loop:
	MOVUPS 0(SI), X0
	MOVQ   16(SI), X1
	MOVUPS 24(SI), X2
	MOVQ   40(SI), X3
	MOVUPS 48(SI), X4
	MOVQ   64(SI), X5
	MOVUPS 72(SI), X6
	MOVQ   88(SI), X7
	MOVUPS X0, (DI)
	MOVQ   X1, 16(DI)
	MOVUPS X2, (DI)(R9*1)
	MOVQ   X3, 16(DI)(R9*1)
	MOVUPS X4, (R11)
	MOVQ   X5, 16(R11)
	MOVUPS X6, (R10)
	MOVQ   X7, 16(R10)
	MOVUPS 96(SI), X0
	MOVQ   112(SI), X1
	MOVUPS 120(SI), X2
	MOVQ   136(SI), X3
	MOVUPS 144(SI), X4
	MOVQ   160(SI), X5
	MOVUPS 168(SI), X6
	MOVQ   184(SI), X7
	MOVUPS X0, (R10)(R9*1)
	MOVQ   X1, 16(R10)(R9*1)
	MOVUPS X2, (R10)(R9*2)
	MOVQ   X3, 16(R10)(R9*2)
	MOVUPS X4, (R11)(R9*4)
	MOVQ   X5, 16(R11)(R9*4)
	MOVUPS X6, (R10)(R9*4)
	MOVQ   X7, 16(R10)(R9*4)
	ADDQ   R8, SI
	ADDQ   $24, DI
	ADDQ   $24, R10
	ADDQ   $24, R11
	DECQ   CX
	JNZ    pa8loop

pa8done:
	RET
