//go:build amd64 && !noasm

package kernel

import "golang.org/x/sys/cpu"

// hasAVX2FMA reports whether the CPU and OS support the AVX2+FMA kernels.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if !hasAVX2FMA {
		return
	}
	gemm = gemmAVX2
	gemmOver = gemmAVX2Over
	dot = dotAVX2
	axpy = axpyAVX2
	sqL2 = sqL2AVX2
	Impl = "avx2-fma 6x16"
}
