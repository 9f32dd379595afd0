//go:build amd64 && !noasm

#include "textflag.h"

// The AVX-512 scan kernels; callers check useAVX512 first. Comparisons
// write opmask registers, whose bits are the result masks as they are.

// func scanTile6x16AVX512(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32
//
// scanTile6x16AVX2 with one zmm per row of the tile: even steps of p add
// into Z0-Z5 and odd steps into Z6-Z11, so twelve FMA chains are in
// flight (six would leave the FMA pipes waiting on their latency); the
// two halves are added before the keys are formed. Each step loads the
// 16-float row of B once and broadcasts the six elements of A from memory
// inside the FMAs.
TEXT ·scanTile6x16AVX512(SB), NOSPLIT, $0-60
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI // DI = row 3 of A

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

// TSTEP adds one step of p (B's row at boff(DX), A's column at aoff) into
// the accumulators r0-r5.
#define TSTEP(boff, aoff, bz, r0, r1, r2, r3, r4, r5) \
	VMOVUPS          boff(DX), bz                 \
	VFMADD231PS.BCST aoff(SI), bz, r0             \
	VFMADD231PS.BCST aoff(SI)(R8*1), bz, r1       \
	VFMADD231PS.BCST aoff(SI)(R8*2), bz, r2       \
	VFMADD231PS.BCST aoff(DI), bz, r3             \
	VFMADD231PS.BCST aoff(DI)(R8*1), bz, r4       \
	VFMADD231PS.BCST aoff(DI)(R8*2), bz, r5

tloop4:
	CMPQ CX, $4
	JL   tloop1
	TSTEP(0, 0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	TSTEP(64, 4, Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	TSTEP(128, 8, Z14, Z0, Z1, Z2, Z3, Z4, Z5)
	TSTEP(192, 12, Z15, Z6, Z7, Z8, Z9, Z10, Z11)
	ADDQ $256, DX
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, CX
	JMP  tloop4

tloop1:
	TESTQ CX, CX
	JZ    tdone
	TSTEP(0, 0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	ADDQ  $64, DX
	ADDQ  $4, SI
	ADDQ  $4, DI
	DECQ  CX
	JMP   tloop1
#undef TSTEP

tdone:
	MOVQ    so+32(FP), AX
	MOVQ    c+48(FP), BX
	MOVQ    thr+40(FP), DX
	VMOVUPS (DX), Z15
	KXORW   K2, K2, K2

// TROW forms row i's keys so[i]*(lo+hi) + so[6+i], stores them and ORs
// their comparison with the thresholds (Z15) into K2.
#define TROW(i, lo, hi) \
	VADDPS       hi, lo, lo         \
	VBROADCASTSS (4*i)(AX), Z12     \
	VBROADCASTSS (24+4*i)(AX), Z13  \
	VFMADD213PS  Z13, Z12, lo       \
	VMOVUPS      lo, (64*i)(BX)     \
	VCMPPS       $0x1e, Z15, lo, K1 \
	KORW         K1, K2, K2

	TROW(0, Z0, Z6)
	TROW(1, Z1, Z7)
	TROW(2, Z2, Z8)
	TROW(3, Z3, Z9)
	TROW(4, Z4, Z10)
	TROW(5, Z5, Z11)
#undef TROW

	KMOVW      K2, AX
	VZEROUPPER
	MOVL       AX, ret+56(FP)
	RET

// func dotBlocks16AVX512(dst, q, blk []float32, bar float32, masks []uint16) int
//
// dotBlocks16AVX2 with one zmm per 16-float column of a block: four
// accumulators take the elements of q in turn (their sum is the block's
// 16 scores), and the comparison with bar goes straight to the mask.
// len(dst) >= 16, len(masks) = len(dst)/16.
TEXT ·dotBlocks16AVX512(SB), NOSPLIT, $0-112
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), DX
	SHRQ         $4, DX               // blocks
	MOVQ         q_base+24(FP), SI
	MOVQ         q_len+32(FP), CX
	MOVQ         blk_base+48(FP), BX
	MOVQ         masks_base+80(FP), R10
	VBROADCASTSS bar+72(FP), Z15
	XORQ         AX, AX               // blocks with a bit set

block:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   SI, R8
	MOVQ   CX, R9

b4loop:
	CMPQ         R9, $4
	JL           b1loop
	VBROADCASTSS (R8), Z4
	VBROADCASTSS 4(R8), Z5
	VBROADCASTSS 8(R8), Z6
	VBROADCASTSS 12(R8), Z7
	VFMADD231PS  (BX), Z4, Z0
	VFMADD231PS  64(BX), Z5, Z1
	VFMADD231PS  128(BX), Z6, Z2
	VFMADD231PS  192(BX), Z7, Z3
	ADDQ         $16, R8
	ADDQ         $256, BX
	SUBQ         $4, R9
	JMP          b4loop

b1loop:
	TESTQ        R9, R9
	JZ           bstore
	VBROADCASTSS (R8), Z4
	VFMADD231PS  (BX), Z4, Z0
	ADDQ         $4, R8
	ADDQ         $64, BX
	DECQ         R9
	JMP          b1loop

bstore:
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	VCMPPS  $0x1e, Z15, Z0, K1 // Z0 > bar
	KMOVW   K1, R11
	MOVW    R11, (R10)
	ADDQ    $2, R10
	TESTQ   R11, R11
	JZ      bnext
	INCQ    AX

bnext:
	ADDQ $64, DI
	DECQ DX
	JNZ  block

	VZEROUPPER
	MOVQ AX, ret+104(FP)
	RET

// func scanTile12x32AVX512(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32
//
// The 12×32 tile of twelve rows of A (lda apart, contiguous in p) against
// a 32-wide packed panel of queries (b[p*32+j]), as the 12×32 SGEMM
// kernel multiplies (24 zmm accumulators, two loads of B and twelve
// broadcasts of A a step), then per row i the keys so[i]·dot + so[12+i]
// are stored to c[i*32+j] and compared with thr[j]; bit j of the result is
// set if some row's key exceeds thr[j].
TEXT ·scanTile12x32AVX512(SB), NOSPLIT, $0-60
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI          // DI = row 3
	LEAQ (DI)(R8*2), R12
	ADDQ R8, R12         // R12 = row 6
	LEAQ (R12)(R8*2), R13
	ADDQ R8, R13         // R13 = row 9

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

#define FMA2(z, acc0, acc1) \
	VFMADD231PS Z24, z, acc0 \
	VFMADD231PS Z25, z, acc1

// SSTEP is one step of p: B's 32 values at boff(DX), A's column at aoff
// of each row.
#define SSTEP(boff, aoff) \
	VMOVUPS      boff(DX), Z24           \
	VMOVUPS      boff+64(DX), Z25        \
	VBROADCASTSS aoff(SI), Z26           \
	VBROADCASTSS aoff(SI)(R8*1), Z27     \
	VBROADCASTSS aoff(SI)(R8*2), Z28     \
	FMA2(Z26, Z0, Z1)                    \
	VBROADCASTSS aoff(DI), Z29           \
	FMA2(Z27, Z2, Z3)                    \
	VBROADCASTSS aoff(DI)(R8*1), Z30     \
	FMA2(Z28, Z4, Z5)                    \
	VBROADCASTSS aoff(DI)(R8*2), Z31     \
	FMA2(Z29, Z6, Z7)                    \
	VBROADCASTSS aoff(R12), Z26          \
	FMA2(Z30, Z8, Z9)                    \
	VBROADCASTSS aoff(R12)(R8*1), Z27    \
	FMA2(Z31, Z10, Z11)                  \
	VBROADCASTSS aoff(R12)(R8*2), Z28    \
	FMA2(Z26, Z12, Z13)                  \
	VBROADCASTSS aoff(R13), Z29          \
	FMA2(Z27, Z14, Z15)                  \
	VBROADCASTSS aoff(R13)(R8*1), Z30    \
	FMA2(Z28, Z16, Z17)                  \
	VBROADCASTSS aoff(R13)(R8*2), Z31    \
	FMA2(Z29, Z18, Z19)                  \
	FMA2(Z30, Z20, Z21)                  \
	FMA2(Z31, Z22, Z23)

sloop4:
	CMPQ CX, $4
	JL   sloop1
	SSTEP(0, 0)
	SSTEP(128, 4)
	SSTEP(256, 8)
	SSTEP(384, 12)
	ADDQ $512, DX
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R12
	ADDQ $16, R13
	SUBQ $4, CX
	JMP  sloop4

sloop1:
	TESTQ CX, CX
	JZ    sdone
	SSTEP(0, 0)
	ADDQ  $128, DX
	ADDQ  $4, SI
	ADDQ  $4, DI
	ADDQ  $4, R12
	ADDQ  $4, R13
	DECQ  CX
	JMP   sloop1
#undef SSTEP
#undef FMA2

sdone:
	MOVQ    so+32(FP), AX
	MOVQ    c+48(FP), BX
	MOVQ    thr+40(FP), DX
	VMOVUPS (DX), Z24
	VMOVUPS 64(DX), Z25
	KXORW   K3, K3, K3
	KXORW   K4, K4, K4

// SROW forms row i's 32 keys, stores them and ORs their comparisons with
// the thresholds into K3 (queries 0-15) and K4 (16-31).
#define SROW(i, lo, hi) \
	VBROADCASTSS (4*i)(AX), Z26      \
	VBROADCASTSS (48+4*i)(AX), Z27   \
	VFMADD213PS  Z27, Z26, lo        \
	VFMADD213PS  Z27, Z26, hi        \
	VMOVUPS      lo, (128*i)(BX)     \
	VMOVUPS      hi, (128*i+64)(BX)  \
	VCMPPS       $0x1e, Z24, lo, K1  \
	VCMPPS       $0x1e, Z25, hi, K2  \
	KORW         K1, K3, K3          \
	KORW         K2, K4, K4

	SROW(0, Z0, Z1)
	SROW(1, Z2, Z3)
	SROW(2, Z4, Z5)
	SROW(3, Z6, Z7)
	SROW(4, Z8, Z9)
	SROW(5, Z10, Z11)
	SROW(6, Z12, Z13)
	SROW(7, Z14, Z15)
	SROW(8, Z16, Z17)
	SROW(9, Z18, Z19)
	SROW(10, Z20, Z21)
	SROW(11, Z22, Z23)
#undef SROW

	KMOVW      K3, AX
	KMOVW      K4, BX
	SHLL       $16, BX
	ORL        BX, AX
	VZEROUPPER
	MOVL       AX, ret+56(FP)
	RET

// func dotRowsAVX512(dst *float32, n int, q *float32, d int, x *float32, ldx int, ahead int, scale *float32) float32
//
// dst[i] = Σ_j q[j]·x[i*ldx + j] (j < d) for the n > 0 rows, one row after
// another, each summed as dotAVX512 sums it (four accumulators over 64
// floats a step, then 16, then a masked tail): DotRows at the avx512
// level in one call. With ahead >= 0 the d floats of the row ahead rows
// further are prefetched first (past the end of x is harmless: a
// prefetch never faults); with ahead < 0 nothing is prefetched. Unless
// scale is nil, each sum is multiplied by scale[i] before it is stored.
// It returns the largest value stored as dotRowsGeneric finds it (best
// starts at −Inf and takes a value s when s > best: VMAXSS with s first
// keeps best for a NaN s or an equal one).
TEXT ·dotRowsAVX512(SB), NOSPLIT, $0-68
	MOVQ  dst+0(FP), DI
	MOVQ  n+8(FP), R8
	MOVQ  q+16(FP), SI
	MOVQ  d+24(FP), R11
	MOVQ  x+32(FP), DX
	MOVQ  ldx+40(FP), R9
	MOVQ  ahead+48(FP), R10
	MOVQ  scale+56(FP), R14 // nil: no scaling
	SHLQ  $2, R9            // row stride in bytes
	IMULQ R9, R10           // prefetch distance in bytes (< 0: none)
	MOVQ  R11, BX
	ANDQ  $15, BX
	MOVQ  $1, AX
	SHLXQ BX, AX, AX
	DECQ  AX
	KMOVW AX, K1            // the tail's lanes
	MOVQ  R11, R12
	SHLQ  $2, R12           // bytes of a row's prefix
	MOVL  $0xff800000, AX
	VMOVD AX, X8            // best = −Inf

drrow:
	TESTQ R10, R10
	JS    drdot
	LEAQ  (DX)(R10*1), AX
	LEAQ  (AX)(R12*1), BX
	ANDQ  $-64, AX

drpf:
	CMPQ       AX, BX
	JAE        drdot
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	JMP        drpf

drdot:
	MOVQ   DX, AX  // the row
	MOVQ   SI, R13 // q
	MOVQ   R11, CX // floats left
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

drloop4:
	CMPQ        CX, $64
	JL          drloop1
	VMOVUPS     (R13), Z4
	VMOVUPS     64(R13), Z5
	VMOVUPS     128(R13), Z6
	VMOVUPS     192(R13), Z7
	VFMADD231PS (AX), Z4, Z0
	VFMADD231PS 64(AX), Z5, Z1
	VFMADD231PS 128(AX), Z6, Z2
	VFMADD231PS 192(AX), Z7, Z3
	ADDQ        $256, AX
	ADDQ        $256, R13
	SUBQ        $64, CX
	JMP         drloop4

drloop1:
	CMPQ        CX, $16
	JL          drtail
	VMOVUPS     (R13), Z4
	VFMADD231PS (AX), Z4, Z0
	ADDQ        $64, AX
	ADDQ        $64, R13
	SUBQ        $16, CX
	JMP         drloop1

drtail:
	TESTQ       CX, CX
	JZ          drreduce
	VMOVUPS.Z   (R13), K1, Z4
	VMOVUPS.Z   (AX), K1, Z5
	VFMADD231PS Z5, Z4, Z1

drreduce:
	VADDPS        Z1, Z0, Z0
	VADDPS        Z3, Z2, Z2
	VADDPS        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	TESTQ         R14, R14
	JZ            drstore
	VMULSS        (R14), X0, X0
	ADDQ          $4, R14

drstore:
	VMOVSS        X0, (DI)
	VMAXSS        X8, X0, X8 // X8 = X0 > X8 ? X0 : X8
	ADDQ          $4, DI
	ADDQ          R9, DX
	DECQ          R8
	JNZ           drrow
	VMOVSS        X8, ret+64(FP)
	VZEROUPPER
	RET

// func scanTileInt8AVX512(nb int, ks *int32, a *int8, lda int, b *uint8, t, e *float32, h *int32, so, thr, c *float32) uint32
//
// scanTileInt8Generic for the 12×32 tile with AVX512-VNNI. c holds the
// float sums f (starting at e) while the blocks run. Per block, the 24
// int32 accumulators (two zmm of 16 queries per row) start at zero and
// each step of four dims loads the panel's 32 queries × 4 unsigned bytes
// (two zmm) once and broadcasts each row's four signed bytes: VPDPBUSD
// adds the four products of every lane, 1,536 multiply-adds a step in 24
// instructions (the float tile does 384). At the block's end each row's
// h is added, the sums converted to float32 and added to f times the
// queries' scales of the block. Then the keys so[i]·f + so[12+i] are
// stored and compared as in scanTile12x32AVX512.
TEXT ·scanTileInt8AVX512(SB), NOSPLIT, $0-92
	MOVQ nb+0(FP), R15
	MOVQ ks+8(FP), R9
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R8
	MOVQ b+32(FP), DX
	MOVQ t+40(FP), R10
	MOVQ e+48(FP), AX
	MOVQ h+56(FP), R11
	MOVQ c+80(FP), BX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI          // DI = row 3
	LEAQ (DI)(R8*2), R12
	ADDQ R8, R12         // R12 = row 6
	LEAQ (R12)(R8*2), R13
	ADDQ R8, R13         // R13 = row 9

	// f = e for every row.
	VMOVUPS (AX), Z24
	VMOVUPS 64(AX), Z25
	VMOVUPS Z24, 0(BX)
	VMOVUPS Z25, 64(BX)
	VMOVUPS Z24, 128(BX)
	VMOVUPS Z25, 192(BX)
	VMOVUPS Z24, 256(BX)
	VMOVUPS Z25, 320(BX)
	VMOVUPS Z24, 384(BX)
	VMOVUPS Z25, 448(BX)
	VMOVUPS Z24, 512(BX)
	VMOVUPS Z25, 576(BX)
	VMOVUPS Z24, 640(BX)
	VMOVUPS Z25, 704(BX)
	VMOVUPS Z24, 768(BX)
	VMOVUPS Z25, 832(BX)
	VMOVUPS Z24, 896(BX)
	VMOVUPS Z25, 960(BX)
	VMOVUPS Z24, 1024(BX)
	VMOVUPS Z25, 1088(BX)
	VMOVUPS Z24, 1152(BX)
	VMOVUPS Z25, 1216(BX)
	VMOVUPS Z24, 1280(BX)
	VMOVUPS Z25, 1344(BX)
	VMOVUPS Z24, 1408(BX)
	VMOVUPS Z25, 1472(BX)

#define DP2(z, acc0, acc1) \
	VPDPBUSD z, Z24, acc0 \
	VPDPBUSD z, Z25, acc1

// ISTEP is one step of four dims: the queries' bytes at boff(DX), the
// rows' four bytes at aoff.
#define ISTEP(boff, aoff) \
	VMOVDQU32    boff(DX), Z24           \
	VMOVDQU32    boff+64(DX), Z25        \
	VPBROADCASTD aoff(SI), Z26           \
	VPBROADCASTD aoff(SI)(R8*1), Z27     \
	VPBROADCASTD aoff(SI)(R8*2), Z28     \
	DP2(Z26, Z0, Z1)                     \
	VPBROADCASTD aoff(DI), Z29           \
	DP2(Z27, Z2, Z3)                     \
	VPBROADCASTD aoff(DI)(R8*1), Z30     \
	DP2(Z28, Z4, Z5)                     \
	VPBROADCASTD aoff(DI)(R8*2), Z31     \
	DP2(Z29, Z6, Z7)                     \
	VPBROADCASTD aoff(R12), Z26          \
	DP2(Z30, Z8, Z9)                     \
	VPBROADCASTD aoff(R12)(R8*1), Z27    \
	DP2(Z31, Z10, Z11)                   \
	VPBROADCASTD aoff(R12)(R8*2), Z28    \
	DP2(Z26, Z12, Z13)                   \
	VPBROADCASTD aoff(R13), Z29          \
	DP2(Z27, Z14, Z15)                   \
	VPBROADCASTD aoff(R13)(R8*1), Z30    \
	DP2(Z28, Z16, Z17)                   \
	VPBROADCASTD aoff(R13)(R8*2), Z31    \
	DP2(Z29, Z18, Z19)                   \
	DP2(Z30, Z20, Z21)                   \
	DP2(Z31, Z22, Z23)

// IFLUSH adds h to row i's sums, converts them and adds them, times the
// block's scales (Z24, Z25), to the row's f in c.
#define IFLUSH(i, lo, hi) \
	VPBROADCASTD (4*i)(R11), Z26         \
	VPADDD       Z26, lo, lo             \
	VPADDD       Z26, hi, hi             \
	VCVTDQ2PS    lo, lo                  \
	VCVTDQ2PS    hi, hi                  \
	VFMADD213PS  (128*i)(BX), Z24, lo    \
	VFMADD213PS  (128*i+64)(BX), Z25, hi \
	VMOVUPS      lo, (128*i)(BX)         \
	VMOVUPS      hi, (128*i+64)(BX)

iblock:
	TESTQ R15, R15
	JZ    idone
	MOVLQSX (R9), CX
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

iloop4:
	CMPQ CX, $4
	JL   iloop1
	ISTEP(0, 0)
	ISTEP(128, 4)
	ISTEP(256, 8)
	ISTEP(384, 12)
	ADDQ $512, DX
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R12
	ADDQ $16, R13
	SUBQ $4, CX
	JMP  iloop4

iloop1:
	TESTQ CX, CX
	JZ    iflush
	ISTEP(0, 0)
	ADDQ  $128, DX
	ADDQ  $4, SI
	ADDQ  $4, DI
	ADDQ  $4, R12
	ADDQ  $4, R13
	DECQ  CX
	JMP   iloop1

iflush:
	VMOVUPS (R10), Z24
	VMOVUPS 64(R10), Z25
	IFLUSH(0, Z0, Z1)
	IFLUSH(1, Z2, Z3)
	IFLUSH(2, Z4, Z5)
	IFLUSH(3, Z6, Z7)
	IFLUSH(4, Z8, Z9)
	IFLUSH(5, Z10, Z11)
	IFLUSH(6, Z12, Z13)
	IFLUSH(7, Z14, Z15)
	IFLUSH(8, Z16, Z17)
	IFLUSH(9, Z18, Z19)
	IFLUSH(10, Z20, Z21)
	IFLUSH(11, Z22, Z23)
	ADDQ $4, R9
	ADDQ $128, R10
	ADDQ $48, R11
	DECQ R15
	JMP  iblock
#undef ISTEP
#undef DP2
#undef IFLUSH

idone:
	MOVQ      so+64(FP), AX
	MOVQ      thr+72(FP), DX
	VMOVUPS   (DX), Z24
	VMOVUPS   64(DX), Z25
	KXORW     K3, K3, K3
	KXORW     K4, K4, K4

// IROW forms row i's 32 keys from its f in c, stores them and ORs their
// comparisons with the thresholds into K3 and K4.
#define IROW(i) \
	VMOVUPS      (128*i)(BX), Z0     \
	VMOVUPS      (128*i+64)(BX), Z1  \
	VBROADCASTSS (4*i)(AX), Z26      \
	VBROADCASTSS (48+4*i)(AX), Z27   \
	VFMADD213PS  Z27, Z26, Z0        \
	VFMADD213PS  Z27, Z26, Z1        \
	VMOVUPS      Z0, (128*i)(BX)     \
	VMOVUPS      Z1, (128*i+64)(BX)  \
	VCMPPS       $0x1e, Z24, Z0, K1  \
	VCMPPS       $0x1e, Z25, Z1, K2  \
	KORW         K1, K3, K3          \
	KORW         K2, K4, K4

	IROW(0)
	IROW(1)
	IROW(2)
	IROW(3)
	IROW(4)
	IROW(5)
	IROW(6)
	IROW(7)
	IROW(8)
	IROW(9)
	IROW(10)
	IROW(11)
#undef IROW

	KMOVW      K3, AX
	KMOVW      K4, BX
	SHLL       $16, BX
	ORL        BX, AX
	VZEROUPPER
	MOVL       AX, ret+88(FP)
	RET
