//go:build amd64 && !noasm

#include "textflag.h"

// The AVX-512 SGEMM micro-kernel and FMA-peak probe. They need AVX-512 F
// (zmm registers Z0-Z31); callers check useAVX512 first.

// func sgemmKernel12x32(k int, a, a2 *float32, rsA, csA int, b, b2 *float32, rsB int, c *float32, ldc int, alpha float32, load int)
//
// C[i, j] += alpha * sum_p A(i, p) * B(p, j) for i < 12, j < 32 (with
// load == 0: C[i, j] = alpha * sum, C not read), where rows 0-5 of A are
// A(i, p) = a[i*rsA + p*csA] and rows 6-11 are a2[(i-6)*rsA + p*csA],
// columns 0-15 of B are B(p, j) = b[p*rsB + j] and columns 16-31 are
// b2[p*rsB + j-16] (strides in elements), and C's rows are ldc apart.
// So the tile is two 6-row panels of A by two 16-wide panels of B, packed
// (rsA=1, csA=6, rsB=16) or read in place. Twenty-four zmm accumulators
// (Z0-Z23, two per row) hold the tile; each step loads one 16-wide row of
// each B panel (Z24, Z25) and broadcasts twelve elements of A (Z26-Z31 in
// turn).
TEXT ·sgemmKernel12x32(SB), NOSPLIT, $0-96
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ a2+16(FP), R12
	MOVQ rsA+24(FP), R8
	MOVQ csA+32(FP), R9
	MOVQ b+40(FP), DX
	MOVQ b2+48(FP), BX
	MOVQ rsB+56(FP), R11
	MOVQ c+64(FP), R10
	MOVQ ldc+72(FP), AX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R11
	SHLQ $2, AX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI             // DI = row 3 of A
	LEAQ (R12)(R8*2), R13
	ADDQ R8, R13            // R13 = row 9 of A

	// Fetch the C tile into L2 now: it is needed only after the loop.
	MOVQ R10, R14
#define PFC \
	PREFETCHT1 (R14)     \
	PREFETCHT1 124(R14)  \
	ADDQ       AX, R14
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
#undef PFC

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	TESTQ CX, CX
	JZ    store

	MOVQ R11, R14
	SHLQ $4, R14 // 16 rows of B ahead, for prefetching an unpacked B

	// Packed A and B (rsA=1, csA=6, rsB=16) get an unrolled loop with
	// constant offsets.
	CMPQ R8, $4
	JNE  loop
	CMPQ R9, $24
	JNE  loop
	CMPQ R11, $64
	JNE  loop

// FMA2 multiplies both B rows by the broadcast in Z and adds to a row of
// accumulators.
#define FMA2(z, acc0, acc1) \
	VFMADD231PS Z24, z, acc0 \
	VFMADD231PS Z25, z, acc1

#define STEP(boff, aoff) \
	VMOVUPS      boff(DX), Z24             \
	VMOVUPS      boff(BX), Z25             \
	VBROADCASTSS aoff(SI), Z26             \
	VBROADCASTSS aoff+4(SI), Z27           \
	VBROADCASTSS aoff+8(SI), Z28           \
	FMA2(Z26, Z0, Z1)                      \
	VBROADCASTSS aoff+12(SI), Z29          \
	FMA2(Z27, Z2, Z3)                      \
	VBROADCASTSS aoff+16(SI), Z30          \
	FMA2(Z28, Z4, Z5)                      \
	VBROADCASTSS aoff+20(SI), Z31          \
	FMA2(Z29, Z6, Z7)                      \
	VBROADCASTSS aoff(R12), Z26            \
	FMA2(Z30, Z8, Z9)                      \
	VBROADCASTSS aoff+4(R12), Z27          \
	FMA2(Z31, Z10, Z11)                    \
	VBROADCASTSS aoff+8(R12), Z28          \
	FMA2(Z26, Z12, Z13)                    \
	VBROADCASTSS aoff+12(R12), Z29         \
	FMA2(Z27, Z14, Z15)                    \
	VBROADCASTSS aoff+16(R12), Z30         \
	FMA2(Z28, Z16, Z17)                    \
	VBROADCASTSS aoff+20(R12), Z31         \
	FMA2(Z29, Z18, Z19)                    \
	FMA2(Z30, Z20, Z21)                    \
	FMA2(Z31, Z22, Z23)

packed4:
	CMPQ CX, $4
	JL   loop
	PREFETCHT0 1024(DX)
	PREFETCHT0 1024(BX)
	STEP(0, 0)
	PREFETCHT0 1088(DX)
	PREFETCHT0 1088(BX)
	STEP(64, 24)
	PREFETCHT0 1152(DX)
	PREFETCHT0 1152(BX)
	STEP(128, 48)
	PREFETCHT0 1216(DX)
	PREFETCHT0 1216(BX)
	STEP(192, 72)
	ADDQ $256, DX
	ADDQ $256, BX
	ADDQ $96, SI
	ADDQ $96, R12
	ADDQ $96, DI
	ADDQ $96, R13
	SUBQ $4, CX
	JMP  packed4

loop:
	TESTQ        CX, CX
	JZ           store
	PREFETCHT0   (DX)(R14*1)
	PREFETCHT0   (BX)(R14*1)
	VMOVUPS      (DX), Z24
	VMOVUPS      (BX), Z25
	VBROADCASTSS (SI), Z26
	VBROADCASTSS (SI)(R8*1), Z27
	VBROADCASTSS (SI)(R8*2), Z28
	FMA2(Z26, Z0, Z1)
	VBROADCASTSS (DI), Z29
	FMA2(Z27, Z2, Z3)
	VBROADCASTSS (DI)(R8*1), Z30
	FMA2(Z28, Z4, Z5)
	VBROADCASTSS (DI)(R8*2), Z31
	FMA2(Z29, Z6, Z7)
	VBROADCASTSS (R12), Z26
	FMA2(Z30, Z8, Z9)
	VBROADCASTSS (R12)(R8*1), Z27
	FMA2(Z31, Z10, Z11)
	VBROADCASTSS (R12)(R8*2), Z28
	FMA2(Z26, Z12, Z13)
	VBROADCASTSS (R13), Z29
	FMA2(Z27, Z14, Z15)
	VBROADCASTSS (R13)(R8*1), Z30
	FMA2(Z28, Z16, Z17)
	VBROADCASTSS (R13)(R8*2), Z31
	FMA2(Z29, Z18, Z19)
	FMA2(Z30, Z20, Z21)
	FMA2(Z31, Z22, Z23)
	ADDQ         R11, DX
	ADDQ         R11, BX
	ADDQ         R9, SI
	ADDQ         R9, DI
	ADDQ         R9, R12
	ADDQ         R9, R13
	DECQ         CX
	JMP          loop

#undef STEP
#undef FMA2

store:
	VBROADCASTSS alpha+80(FP), Z30
	CMPQ         load+88(FP), $0
	JEQ          overwrite

// ROWADD stores alpha*acc + C into one row of C.
#define ROWADD(acc0, acc1) \
	VFMADD213PS (R10), Z30, acc0   \
	VFMADD213PS 64(R10), Z30, acc1 \
	VMOVUPS     acc0, (R10)        \
	VMOVUPS     acc1, 64(R10)      \
	ADDQ        AX, R10
	ROWADD(Z0, Z1)
	ROWADD(Z2, Z3)
	ROWADD(Z4, Z5)
	ROWADD(Z6, Z7)
	ROWADD(Z8, Z9)
	ROWADD(Z10, Z11)
	ROWADD(Z12, Z13)
	ROWADD(Z14, Z15)
	ROWADD(Z16, Z17)
	ROWADD(Z18, Z19)
	ROWADD(Z20, Z21)
	ROWADD(Z22, Z23)
#undef ROWADD
	VZEROUPPER
	RET

overwrite:
// ROWSET stores alpha*acc into one row of C, not reading C.
#define ROWSET(acc0, acc1) \
	VMULPS  Z30, acc0, acc0 \
	VMULPS  Z30, acc1, acc1 \
	VMOVUPS acc0, (R10)     \
	VMOVUPS acc1, 64(R10)   \
	ADDQ    AX, R10
	ROWSET(Z0, Z1)
	ROWSET(Z2, Z3)
	ROWSET(Z4, Z5)
	ROWSET(Z6, Z7)
	ROWSET(Z8, Z9)
	ROWSET(Z10, Z11)
	ROWSET(Z12, Z13)
	ROWSET(Z14, Z15)
	ROWSET(Z16, Z17)
	ROWSET(Z18, Z19)
	ROWSET(Z20, Z21)
	ROWSET(Z22, Z23)
#undef ROWSET
	VZEROUPPER
	RET

// func sgemmKernel6x32(k int, a *float32, rsA, csA int, b, b2 *float32, rsB int, c *float32, ldc int, alpha float32, load int)
//
// sgemmKernel12x32 with one 6-row panel of A (a): the 6×32 tile in twelve
// zmm accumulators (Z0-Z11, two per row), for the rows a product leaves
// after its 12-row tiles (256 = 21·12 + 4), which the AVX2 6×16 kernel
// ran at half the width. Each step loads one 16-wide row of each B panel
// (Z24, Z25) and broadcasts six elements of A (Z26-Z31).
TEXT ·sgemmKernel6x32(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rsA+16(FP), R8
	MOVQ csA+24(FP), R9
	MOVQ b+32(FP), DX
	MOVQ b2+40(FP), BX
	MOVQ rsB+48(FP), R11
	MOVQ c+56(FP), R10
	MOVQ ldc+64(FP), AX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R11
	SHLQ $2, AX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI         // DI = row 3 of A

	// Fetch the C tile into L2 now: it is needed only after the loop.
	MOVQ R10, R14
#define PFC \
	PREFETCHT1 (R14)     \
	PREFETCHT1 124(R14)  \
	ADDQ       AX, R14
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
#undef PFC

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	TESTQ CX, CX
	JZ    store6

	MOVQ R11, R14
	SHLQ $4, R14 // 16 rows of B ahead, for prefetching an unpacked B

	// Packed A and B (rsA=1, csA=6, rsB=16) get an unrolled loop with
	// constant offsets.
	CMPQ R8, $4
	JNE  loop6
	CMPQ R9, $24
	JNE  loop6
	CMPQ R11, $64
	JNE  loop6

#define FMA2(z, acc0, acc1) \
	VFMADD231PS Z24, z, acc0 \
	VFMADD231PS Z25, z, acc1

#define STEP6(boff, aoff) \
	VMOVUPS      boff(DX), Z24    \
	VMOVUPS      boff(BX), Z25    \
	VBROADCASTSS aoff(SI), Z26    \
	VBROADCASTSS aoff+4(SI), Z27  \
	VBROADCASTSS aoff+8(SI), Z28  \
	FMA2(Z26, Z0, Z1)             \
	VBROADCASTSS aoff+12(SI), Z29 \
	FMA2(Z27, Z2, Z3)             \
	VBROADCASTSS aoff+16(SI), Z30 \
	FMA2(Z28, Z4, Z5)             \
	VBROADCASTSS aoff+20(SI), Z31 \
	FMA2(Z29, Z6, Z7)             \
	FMA2(Z30, Z8, Z9)             \
	FMA2(Z31, Z10, Z11)

packed6:
	CMPQ       CX, $4
	JL         loop6
	PREFETCHT0 1024(DX)
	PREFETCHT0 1024(BX)
	STEP6(0, 0)
	PREFETCHT0 1088(DX)
	PREFETCHT0 1088(BX)
	STEP6(64, 24)
	PREFETCHT0 1152(DX)
	PREFETCHT0 1152(BX)
	STEP6(128, 48)
	PREFETCHT0 1216(DX)
	PREFETCHT0 1216(BX)
	STEP6(192, 72)
	ADDQ       $256, DX
	ADDQ       $256, BX
	ADDQ       $96, SI
	ADDQ       $96, DI
	SUBQ       $4, CX
	JMP        packed6

loop6:
	TESTQ        CX, CX
	JZ           store6
	PREFETCHT0   (DX)(R14*1)
	PREFETCHT0   (BX)(R14*1)
	VMOVUPS      (DX), Z24
	VMOVUPS      (BX), Z25
	VBROADCASTSS (SI), Z26
	VBROADCASTSS (SI)(R8*1), Z27
	VBROADCASTSS (SI)(R8*2), Z28
	FMA2(Z26, Z0, Z1)
	VBROADCASTSS (DI), Z29
	FMA2(Z27, Z2, Z3)
	VBROADCASTSS (DI)(R8*1), Z30
	FMA2(Z28, Z4, Z5)
	VBROADCASTSS (DI)(R8*2), Z31
	FMA2(Z29, Z6, Z7)
	FMA2(Z30, Z8, Z9)
	FMA2(Z31, Z10, Z11)
	ADDQ         R11, DX
	ADDQ         R11, BX
	ADDQ         R9, SI
	ADDQ         R9, DI
	DECQ         CX
	JMP          loop6

#undef STEP6
#undef FMA2

store6:
	VBROADCASTSS alpha+72(FP), Z30
	CMPQ         load+80(FP), $0
	JEQ          overwrite6

#define ROWADD(acc0, acc1) \
	VFMADD213PS (R10), Z30, acc0   \
	VFMADD213PS 64(R10), Z30, acc1 \
	VMOVUPS     acc0, (R10)        \
	VMOVUPS     acc1, 64(R10)      \
	ADDQ        AX, R10
	ROWADD(Z0, Z1)
	ROWADD(Z2, Z3)
	ROWADD(Z4, Z5)
	ROWADD(Z6, Z7)
	ROWADD(Z8, Z9)
	ROWADD(Z10, Z11)
#undef ROWADD
	VZEROUPPER
	RET

overwrite6:
#define ROWSET(acc0, acc1) \
	VMULPS  Z30, acc0, acc0 \
	VMULPS  Z30, acc1, acc1 \
	VMOVUPS acc0, (R10)     \
	VMOVUPS acc1, 64(R10)   \
	ADDQ    AX, R10
	ROWSET(Z0, Z1)
	ROWSET(Z2, Z3)
	ROWSET(Z4, Z5)
	ROWSET(Z6, Z7)
	ROWSET(Z8, Z9)
	ROWSET(Z10, Z11)
#undef ROWSET
	VZEROUPPER
	RET

// func sgemmKernel12x16(k int, a, a2 *float32, rsA, csA int, b *float32, rsB int, c *float32, ldc int, alpha float32, load int)
//
// sgemmKernel12x32 with one 16-wide panel of B: twelve zmm accumulators
// (Z0-Z11, one per row), for products whose n leaves a 16-wide panel (a
// CNN's 16-channel layers). Each step loads one row of B and multiplies it
// by twelve elements of A broadcast from memory inside the FMAs.
TEXT ·sgemmKernel12x16(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ a2+16(FP), R12
	MOVQ rsA+24(FP), R8
	MOVQ csA+32(FP), R9
	MOVQ b+40(FP), DX
	MOVQ rsB+48(FP), R11
	MOVQ c+56(FP), R10
	MOVQ ldc+64(FP), AX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R11
	SHLQ $2, AX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI             // DI = row 3 of A
	LEAQ (R12)(R8*2), R13
	ADDQ R8, R13            // R13 = row 9 of A

	MOVQ R10, R14
#define PFC \
	PREFETCHT1 (R14)    \
	PREFETCHT1 60(R14)  \
	ADDQ       AX, R14
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
	PFC
#undef PFC

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	TESTQ CX, CX
	JZ    store16

	MOVQ R11, R14
	SHLQ $4, R14 // 16 rows of B ahead, for prefetching an unpacked B

	CMPQ R8, $4
	JNE  loop16
	CMPQ R9, $24
	JNE  loop16
	CMPQ R11, $64
	JNE  loop16

#define STEP16(boff, aoff, bz) \
	VMOVUPS          boff(DX), bz      \
	VFMADD231PS.BCST aoff(SI), bz, Z0  \
	VFMADD231PS.BCST aoff+4(SI), bz, Z1  \
	VFMADD231PS.BCST aoff+8(SI), bz, Z2  \
	VFMADD231PS.BCST aoff+12(SI), bz, Z3 \
	VFMADD231PS.BCST aoff+16(SI), bz, Z4 \
	VFMADD231PS.BCST aoff+20(SI), bz, Z5 \
	VFMADD231PS.BCST aoff(R12), bz, Z6     \
	VFMADD231PS.BCST aoff+4(R12), bz, Z7   \
	VFMADD231PS.BCST aoff+8(R12), bz, Z8   \
	VFMADD231PS.BCST aoff+12(R12), bz, Z9  \
	VFMADD231PS.BCST aoff+16(R12), bz, Z10 \
	VFMADD231PS.BCST aoff+20(R12), bz, Z11

packed16:
	CMPQ       CX, $4
	JL         loop16
	PREFETCHT0 512(DX)
	STEP16(0, 0, Z24)
	PREFETCHT0 576(DX)
	STEP16(64, 24, Z25)
	PREFETCHT0 640(DX)
	STEP16(128, 48, Z26)
	PREFETCHT0 704(DX)
	STEP16(192, 72, Z27)
	ADDQ       $256, DX
	ADDQ       $96, SI
	ADDQ       $96, R12
	ADDQ       $96, DI
	ADDQ       $96, R13
	SUBQ       $4, CX
	JMP        packed16
#undef STEP16

loop16:
	TESTQ            CX, CX
	JZ               store16
	PREFETCHT0       (DX)(R14*1)
	VMOVUPS          (DX), Z24
	VFMADD231PS.BCST (SI), Z24, Z0
	VFMADD231PS.BCST (SI)(R8*1), Z24, Z1
	VFMADD231PS.BCST (SI)(R8*2), Z24, Z2
	VFMADD231PS.BCST (DI), Z24, Z3
	VFMADD231PS.BCST (DI)(R8*1), Z24, Z4
	VFMADD231PS.BCST (DI)(R8*2), Z24, Z5
	VFMADD231PS.BCST (R12), Z24, Z6
	VFMADD231PS.BCST (R12)(R8*1), Z24, Z7
	VFMADD231PS.BCST (R12)(R8*2), Z24, Z8
	VFMADD231PS.BCST (R13), Z24, Z9
	VFMADD231PS.BCST (R13)(R8*1), Z24, Z10
	VFMADD231PS.BCST (R13)(R8*2), Z24, Z11
	ADDQ             R11, DX
	ADDQ             R9, SI
	ADDQ             R9, DI
	ADDQ             R9, R12
	ADDQ             R9, R13
	DECQ             CX
	JMP              loop16

store16:
	VBROADCASTSS alpha+72(FP), Z30
	CMPQ         load+80(FP), $0
	JEQ          overwrite16

#define ROWADD16(acc) \
	VFMADD213PS (R10), Z30, acc \
	VMOVUPS     acc, (R10)      \
	ADDQ        AX, R10
	ROWADD16(Z0)
	ROWADD16(Z1)
	ROWADD16(Z2)
	ROWADD16(Z3)
	ROWADD16(Z4)
	ROWADD16(Z5)
	ROWADD16(Z6)
	ROWADD16(Z7)
	ROWADD16(Z8)
	ROWADD16(Z9)
	ROWADD16(Z10)
	ROWADD16(Z11)
#undef ROWADD16
	VZEROUPPER
	RET

overwrite16:
#define ROWSET16(acc) \
	VMULPS  Z30, acc, acc \
	VMOVUPS acc, (R10)    \
	ADDQ    AX, R10
	ROWSET16(Z0)
	ROWSET16(Z1)
	ROWSET16(Z2)
	ROWSET16(Z3)
	ROWSET16(Z4)
	ROWSET16(Z5)
	ROWSET16(Z6)
	ROWSET16(Z7)
	ROWSET16(Z8)
	ROWSET16(Z9)
	ROWSET16(Z10)
	ROWSET16(Z11)
#undef ROWSET16
	VZEROUPPER
	RET

// func fmaPeak512(n int)
// Runs n iterations of 12 independent 16-wide FMA chains (384 flops each),
// more than 2 pipes x 4 cycles of latency need: a measure of the core's
// peak 512-bit throughput.
TEXT ·fmaPeak512(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13

peakloop:
	TESTQ       CX, CX
	JZ          peakdone
	VFMADD231PS Z12, Z13, Z0
	VFMADD231PS Z12, Z13, Z1
	VFMADD231PS Z12, Z13, Z2
	VFMADD231PS Z12, Z13, Z3
	VFMADD231PS Z12, Z13, Z4
	VFMADD231PS Z12, Z13, Z5
	VFMADD231PS Z12, Z13, Z6
	VFMADD231PS Z12, Z13, Z7
	VFMADD231PS Z12, Z13, Z8
	VFMADD231PS Z12, Z13, Z9
	VFMADD231PS Z12, Z13, Z10
	VFMADD231PS Z12, Z13, Z11
	DECQ        CX
	JMP         peakloop

peakdone:
	VZEROUPPER
	RET
