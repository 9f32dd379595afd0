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

// func dotBlocks16AVX2(dst, q, blk []float32, bar float32, masks []uint16) int
//
// Per block, two pairs of 8-wide accumulators (even and odd elements of q)
// hold the 16 rows' scores; each element of q is broadcast once and
// multiplied into the block's 16-float column. The scores are stored and
// compared with bar, the comparison's 16 bits stored in masks. len(dst) >=
// 16, len(masks) = len(dst)/16.
TEXT ·dotBlocks16AVX2(SB), NOSPLIT, $0-112
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	SHRQ $4, DX                   // blocks
	MOVQ q_base+24(FP), SI
	MOVQ q_len+32(FP), CX
	MOVQ blk_base+48(FP), BX
	MOVQ masks_base+80(FP), R10
	VBROADCASTSS bar+72(FP), Y15
	XORQ AX, AX                   // blocks with a bit set

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
	VADDPS    Y2, Y0, Y0
	VADDPS    Y3, Y1, Y1
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	VCMPPS    $0x1e, Y15, Y0, Y4  // Y0 > bar
	VCMPPS    $0x1e, Y15, Y1, Y5
	VMOVMSKPS Y4, R11
	VMOVMSKPS Y5, R12
	SHLQ      $8, R12
	ORQ       R12, R11
	MOVW      R11, (R10)
	ADDQ      $2, R10
	TESTQ     R11, R11
	JZ        bnext
	INCQ      AX

bnext:
	ADDQ $64, DI
	DECQ DX
	JNZ  block

	VZEROUPPER
	MOVQ AX, ret+104(FP)
	RET

// func scanTile6x16AVX2(k int, a *float32, lda int, b *float32, so, thr, c *float32) uint32
//
// The 6×16 tile of six rows of A (lda apart, contiguous in p) against a
// 16-wide packed panel of B, scaled and shifted per row, stored to c and
// compared with per-column thresholds:
//
//	c[i*16+j] = so[i]·Σ_p a[i*lda+p]·b[p*16+j] + so[6+i]
//	bit j of the result is set if c[i*16+j] > thr[j] for some i.
TEXT ·scanTile6x16AVX2(SB), NOSPLIT, $0-60
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DX
	SHLQ $2, R8
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

#define TSTEP(boff, aoff) \
	VMOVUPS      boff(DX), Y12          \
	VMOVUPS      boff+32(DX), Y13       \
	VBROADCASTSS aoff(SI), Y14          \
	VFMADD231PS  Y12, Y14, Y0           \
	VFMADD231PS  Y13, Y14, Y1           \
	VBROADCASTSS aoff(SI)(R8*1), Y15    \
	VFMADD231PS  Y12, Y15, Y2           \
	VFMADD231PS  Y13, Y15, Y3           \
	VBROADCASTSS aoff(SI)(R8*2), Y14    \
	VFMADD231PS  Y12, Y14, Y4           \
	VFMADD231PS  Y13, Y14, Y5           \
	VBROADCASTSS aoff(DI), Y15          \
	VFMADD231PS  Y12, Y15, Y6           \
	VFMADD231PS  Y13, Y15, Y7           \
	VBROADCASTSS aoff(DI)(R8*1), Y14    \
	VFMADD231PS  Y12, Y14, Y8           \
	VFMADD231PS  Y13, Y14, Y9           \
	VBROADCASTSS aoff(DI)(R8*2), Y15    \
	VFMADD231PS  Y12, Y15, Y10          \
	VFMADD231PS  Y13, Y15, Y11

tloop4:
	CMPQ CX, $4
	JL   tloop1
	TSTEP(0, 0)
	TSTEP(64, 4)
	TSTEP(128, 8)
	TSTEP(192, 12)
	ADDQ $256, DX
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, CX
	JMP  tloop4

tloop1:
	TESTQ CX, CX
	JZ    tdone
	TSTEP(0, 0)
	ADDQ  $64, DX
	ADDQ  $4, SI
	ADDQ  $4, DI
	DECQ  CX
	JMP   tloop1

tdone:
	MOVQ so+32(FP), AX
	MOVQ c+48(FP), BX

#define TROW(i, lo, hi) \
	VBROADCASTSS (4*i)(AX), Y14     \
	VBROADCASTSS (24+4*i)(AX), Y15  \
	VFMADD213PS  Y15, Y14, lo       \
	VFMADD213PS  Y15, Y14, hi       \
	VMOVUPS      lo, (64*i)(BX)     \
	VMOVUPS      hi, (64*i+32)(BX)

	TROW(0, Y0, Y1)
	TROW(1, Y2, Y3)
	TROW(2, Y4, Y5)
	TROW(3, Y6, Y7)
	TROW(4, Y8, Y9)
	TROW(5, Y10, Y11)

	MOVQ    thr+40(FP), AX
	VMOVUPS (AX), Y12
	VMOVUPS 32(AX), Y13
	VCMPPS  $0x1e, Y12, Y0, Y14
	VCMPPS  $0x1e, Y13, Y1, Y15
	VCMPPS  $0x1e, Y12, Y2, Y2
	VCMPPS  $0x1e, Y13, Y3, Y3
	VORPS   Y2, Y14, Y14
	VORPS   Y3, Y15, Y15
	VCMPPS  $0x1e, Y12, Y4, Y4
	VCMPPS  $0x1e, Y13, Y5, Y5
	VORPS   Y4, Y14, Y14
	VORPS   Y5, Y15, Y15
	VCMPPS  $0x1e, Y12, Y6, Y6
	VCMPPS  $0x1e, Y13, Y7, Y7
	VORPS   Y6, Y14, Y14
	VORPS   Y7, Y15, Y15
	VCMPPS  $0x1e, Y12, Y8, Y8
	VCMPPS  $0x1e, Y13, Y9, Y9
	VORPS   Y8, Y14, Y14
	VORPS   Y9, Y15, Y15
	VCMPPS  $0x1e, Y12, Y10, Y10
	VCMPPS  $0x1e, Y13, Y11, Y11
	VORPS   Y10, Y14, Y14
	VORPS   Y11, Y15, Y15
	VMOVMSKPS Y14, AX
	VMOVMSKPS Y15, BX
	SHLQ    $8, BX
	ORQ     BX, AX
	VZEROUPPER
	MOVL    AX, ret+56(FP)
	RET

// func dotGatherAVX2(dst, q, x []float32, ldx int, idx []int32)
//
// dotRowsAVX2 on the rows idx[i] of x: four rows at a time, with the first
// 256 bytes of the next four rows prefetched so that reading rows at random
// places overlaps their memory latency. len(dst) = len(idx) >= 1.
TEXT ·dotGatherAVX2(SB), NOSPLIT, $0-104
	MOVQ dst_base+0(FP), DI
	MOVQ q_base+24(FP), SI
	MOVQ q_len+32(FP), CX
	MOVQ ldx+72(FP), R14
	SHLQ $2, R14                  // row stride in bytes
	MOVQ idx_base+80(FP), R9
	MOVQ idx_len+88(FP), DX

	MOVQ    CX, AX
	ANDQ    $7, AX
	MOVQ    $8, BX
	SUBQ    AX, BX
	LEAQ    tailmask<>(SB), R8
	VMOVDQU (R8)(BX*4), Y14
	MOVQ    CX, BX
	ANDQ    $-8, BX
	MOVQ    AX, R15               // tail length
	MOVQ    x_base+48(FP), CX     // q_len is no longer needed

#define ROWADDR(off, reg) \
	MOVLQSX off(R9), AX  \
	IMULQ   R14, AX      \
	LEAQ    (CX)(AX*1), reg

#define PREF(off) \
	MOVLQSX    off(R9), AX  \
	IMULQ      R14, AX      \
	PREFETCHT0 (CX)(AX*1)   \
	PREFETCHT0 64(CX)(AX*1) \
	PREFETCHT0 128(CX)(AX*1) \
	PREFETCHT0 192(CX)(AX*1)

g4:
	CMPQ DX, $4
	JL   g1
	ROWADDR(0, R10)
	ROWADDR(4, R11)
	ROWADDR(8, R12)
	ROWADDR(12, R13)
	CMPQ DX, $8
	JL   g4go
	PREF(16)
	PREF(20)
	PREF(24)
	PREF(28)

g4go:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX
	MOVQ   BX, R8

g4loop:
	TESTQ R8, R8
	JZ    g4tail
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R10)(AX*1), Y4, Y0
	VFMADD231PS (R11)(AX*1), Y4, Y1
	VFMADD231PS (R12)(AX*1), Y4, Y2
	VFMADD231PS (R13)(AX*1), Y4, Y3
	ADDQ        $32, AX
	SUBQ        $8, R8
	JMP         g4loop

g4tail:
	TESTQ R15, R15
	JZ    g4red
	VMASKMOVPS  (SI)(AX*1), Y14, Y4
	VMASKMOVPS  (R10)(AX*1), Y14, Y5
	VFMADD231PS Y5, Y4, Y0
	VMASKMOVPS  (R11)(AX*1), Y14, Y6
	VFMADD231PS Y6, Y4, Y1
	VMASKMOVPS  (R12)(AX*1), Y14, Y7
	VFMADD231PS Y7, Y4, Y2
	VMASKMOVPS  (R13)(AX*1), Y14, Y8
	VFMADD231PS Y8, Y4, Y3

g4red:
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	ADDQ         $16, R9
	SUBQ         $4, DX
	JMP          g4

g1:
	TESTQ DX, DX
	JZ    gdone
	ROWADDR(0, R10)
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX
	MOVQ   BX, R8

g1loop:
	TESTQ R8, R8
	JZ    g1tail
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R10)(AX*1), Y4, Y0
	ADDQ        $32, AX
	SUBQ        $8, R8
	JMP         g1loop

g1tail:
	TESTQ R15, R15
	JZ    g1red
	VMASKMOVPS  (SI)(AX*1), Y14, Y4
	VMASKMOVPS  (R10)(AX*1), Y14, Y5
	VFMADD231PS Y5, Y4, Y0

g1red:
	// The lanes are summed in g4red's order, so that a row's dot does
	// not depend on whether it came in a group of four.
	VHADDPS      Y0, Y0, Y0
	VHADDPS      Y0, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         $4, R9
	DECQ         DX
	JMP          g1

gdone:
	VZEROUPPER
	RET

// func prefetch(p unsafe.Pointer, n int)
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	LEAQ (AX)(CX*1), CX // end
	ANDQ $-64, AX       // the first line
pfloop:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	CMPQ       AX, CX
	JB         pfloop
	RET
