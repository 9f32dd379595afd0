//go:build amd64 && !noasm

package kernel

import "testing"

// BenchmarkFMAPeak measures one core's peak AVX2 FMA throughput with
// independent ymm FMA chains (160 flops per iteration), so GEMM figures
// can be read as a fraction of peak.
func BenchmarkFMAPeak(b *testing.B) {
	if !hasAVX2FMA {
		b.Skip("no AVX2+FMA")
	}
	const iters = 1 << 20
	for b.Loop() {
		fmaPeak(iters)
	}
	b.ReportMetric(160*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
