//go:build amd64 && !noasm

package kernel

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// The flags of the level in use, read by the kernels that dispatch per
// call (scans, element-wise passes). useAVX512 implies useAVX2.
var useAVX2, useAVX512 bool

// useVNNI512 is set at the avx512 level on a CPU with AVX512-VNNI: the
// int8 scan tile (ScanTileInt8) runs in assembly.
var useVNNI512 bool

// hasAVX512 reports whether the CPU and OS support the AVX-512 kernels:
// F, VL, BW and DQ, with the zmm and opmask state enabled by the OS (which
// x/sys/cpu checks through XGETBV before it sets HasAVX512).
// The AVX-512 kernels also use BMI2's SHLX for their tail masks (every
// CPU with AVX-512 has it).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW &&
	cpu.X86.HasAVX512DQ && cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasBMI2

func detectLevel() Level {
	switch {
	case hasAVX512:
		return AVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return AVX2
	}
	return Generic
}

func useLevel(l Level) {
	useAVX2, useAVX512 = l >= AVX2, l >= AVX512
	useVNNI512 = useAVX512 && cpu.X86.HasAVX512VNNI
	gemm, gemmOver = gemmGeneric, nil
	dot, axpy, sqL2 = dotGeneric, axpyGeneric, sqL2Generic
	dotInt8Rows = dotInt8RowsGeneric
	Impl = "generic"
	kcMax, mcMax = kcAVX2, mcAVX2
	if useAVX2 {
		gemm = gemmAVX2
		gemmOver = gemmAVX2Over
		dot = dotAVX2
		axpy = axpyAVX2
		sqL2 = sqL2AVX2
		dotInt8Rows = dotInt8RowsAVX2
		Impl = "avx2-fma 6x16"
	}
	if useAVX512 {
		if cpu.X86.HasAVX512VNNI {
			dotInt8Rows = dotInt8RowsAVX512
		}
		dot = dotAVX512
		axpy = axpyAVX512
		sqL2 = sqL2AVX512
		Impl = "avx512 12x32"
		kcMax, mcMax = kcAVX512, mcAVX512
	}
}

func cpuFeatures() string {
	var fs []string
	for _, f := range []struct {
		ok   bool
		name string
	}{
		{cpu.X86.HasAVX2, "avx2"}, {cpu.X86.HasFMA, "fma"},
		{cpu.X86.HasAVX512F, "avx512f"}, {cpu.X86.HasAVX512VL, "avx512vl"},
		{cpu.X86.HasAVX512BW, "avx512bw"}, {cpu.X86.HasAVX512DQ, "avx512dq"},
		{cpu.X86.HasAVX512VNNI, "avx512vnni"}, {cpu.X86.HasAVXVNNI, "avxvnni"},
	} {
		if f.ok {
			fs = append(fs, f.name)
		}
	}
	if len(fs) == 0 {
		return "no AVX2"
	}
	return strings.Join(fs, " ")
}
