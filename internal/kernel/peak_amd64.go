//go:build amd64 && !noasm

package kernel

import (
	"runtime"
	"time"
)

// FMAPeakGFLOPS measures one core's peak fp32 FMA throughput in GFLOP/s
// with the widest vectors the CPU runs (16-wide where it has AVX-512,
// 8-wide with AVX2), the yardstick for GEMM figures: it runs independent
// FMA chains (as BenchmarkFMAPeak does) in short bursts for about d and
// returns the best burst, which discounts time lost to other load. It
// returns 0 on a CPU without AVX2 and FMA.
func FMAPeakGFLOPS(d time.Duration) float64 { return FMAPeakAt(cpuLevel, d) }

// FMAPeakAt is FMAPeakGFLOPS with the vectors of level l: 8-wide for AVX2,
// 16-wide for AVX512. It returns 0 for Generic or a level the CPU lacks.
func FMAPeakAt(l Level, d time.Duration) float64 {
	if l > cpuLevel || l == Generic {
		return 0
	}
	probe, flops := fmaPeak, 160.0
	if l >= AVX512 {
		probe, flops = fmaPeak512, 384
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const iters = 1 << 16 // ~0.1-0.5 ms per burst
	best := 0.0
	for start := time.Now(); ; {
		t0 := time.Now()
		probe(iters)
		if s := time.Since(t0).Seconds(); s > 0 {
			best = max(best, flops*iters/s/1e9)
		}
		if time.Since(start) >= d {
			return best
		}
	}
}
