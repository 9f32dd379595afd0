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
