//go:build amd64 && !noasm

#include "textflag.h"

// The 16-wide vector kernels: Dot, SqL2, Axpy and the gathered dot
// products of DotGather. They need AVX-512 F and BW (KMOVW); callers
// check useAVX512 first. A tail of r < 16 elements is read through the
// opmask of its r low bits (masked lanes are neither read nor written, so
// a tail at the end of a page cannot fault).

// TAILMASK sets K1 to the r low bits for r = n mod 16 in reg (clobbered).
#define TAILMASK(n, reg) \
	MOVQ  n, reg        \
	ANDQ  $15, reg      \
	MOVQ  $1, R15       \
	SHLXQ reg, R15, reg \
	DECQ  reg           \
	KMOVW reg, K1

// func dotGatherAVX512(dst, q, x []float32, ldx int, idx []int32)
//
// dotGatherAVX2 with zmm registers and a masked tail: four rows at a
// time, with the first 256 bytes of the next four rows prefetched.
// len(dst) = len(idx) >= 1.
TEXT ·dotGatherAVX512(SB), NOSPLIT, $0-104
	MOVQ dst_base+0(FP), DI
	MOVQ q_base+24(FP), SI
	MOVQ q_len+32(FP), BX
	MOVQ ldx+72(FP), R14
	SHLQ $2, R14                  // row stride in bytes
	MOVQ idx_base+80(FP), R9
	MOVQ idx_len+88(FP), DX
	MOVQ x_base+48(FP), CX
	TAILMASK(BX, AX)
	ANDQ $-16, BX                 // elements in whole 16-wide steps
	MOVQ q_len+32(FP), R15
	ANDQ $15, R15                 // tail length

#define ROWADDR(off, reg) \
	MOVLQSX off(R9), AX  \
	IMULQ   R14, AX      \
	LEAQ    (CX)(AX*1), reg

#define PREF(off) \
	MOVLQSX    off(R9), AX   \
	IMULQ      R14, AX       \
	PREFETCHT0 (CX)(AX*1)    \
	PREFETCHT0 64(CX)(AX*1)  \
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
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ   AX, AX
	MOVQ   BX, R8

g4loop:
	TESTQ       R8, R8
	JZ          g4tail
	VMOVUPS     (SI)(AX*1), Z4
	VFMADD231PS (R10)(AX*1), Z4, Z0
	VFMADD231PS (R11)(AX*1), Z4, Z1
	VFMADD231PS (R12)(AX*1), Z4, Z2
	VFMADD231PS (R13)(AX*1), Z4, Z3
	ADDQ        $64, AX
	SUBQ        $16, R8
	JMP         g4loop

g4tail:
	TESTQ       R15, R15
	JZ          g4red
	VMOVUPS.Z   (SI)(AX*1), K1, Z4
	VMOVUPS.Z   (R10)(AX*1), K1, Z5
	VFMADD231PS Z5, Z4, Z0
	VMOVUPS.Z   (R11)(AX*1), K1, Z6
	VFMADD231PS Z6, Z4, Z1
	VMOVUPS.Z   (R12)(AX*1), K1, Z7
	VFMADD231PS Z7, Z4, Z2
	VMOVUPS.Z   (R13)(AX*1), K1, Z8
	VFMADD231PS Z8, Z4, Z3

g4red:
	// Fold each zmm to 8 lanes, then reduce the four rows as AVX2 does.
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y5
	VADDPS        Y5, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y6
	VADDPS        Y6, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y7
	VADDPS        Y7, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVUPS       X0, (DI)
	ADDQ          $16, DI
	ADDQ          $16, R9
	SUBQ          $4, DX
	JMP           g4

g1:
	TESTQ DX, DX
	JZ    gdone
	ROWADDR(0, R10)
	VPXORD Z0, Z0, Z0
	XORQ   AX, AX
	MOVQ   BX, R8

g1loop:
	TESTQ       R8, R8
	JZ          g1tail
	VMOVUPS     (SI)(AX*1), Z4
	VFMADD231PS (R10)(AX*1), Z4, Z0
	ADDQ        $64, AX
	SUBQ        $16, R8
	JMP         g1loop

g1tail:
	TESTQ       R15, R15
	JZ          g1red
	VMOVUPS.Z   (SI)(AX*1), K1, Z4
	VMOVUPS.Z   (R10)(AX*1), K1, Z5
	VFMADD231PS Z5, Z4, Z0

g1red:
	// The lanes are summed in g4red's order, so that a row's dot does
	// not depend on whether it came in a group of four.
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VHADDPS       Y0, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVSS        X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, R9
	DECQ   DX
	JMP    g1

gdone:
	VZEROUPPER
	RET
