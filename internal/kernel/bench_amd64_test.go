//go:build amd64 && !noasm

package kernel

import "testing"

// BenchmarkFMAPeak measures one core's peak FMA throughput with
// independent FMA chains, 8-wide (avx2: 160 flops per iteration) and
// 16-wide (avx512: 384), so GEMM figures can be read as a fraction of
// peak.
func BenchmarkFMAPeak(b *testing.B) {
	for _, c := range []struct {
		l     Level
		probe func(int)
		flops float64
	}{{AVX2, fmaPeak, 160}, {AVX512, fmaPeak512, 384}} {
		b.Run(c.l.String(), func(b *testing.B) {
			if c.l > cpuLevel {
				b.Skipf("this CPU runs up to %s", cpuLevel)
			}
			const iters = 1 << 20
			for b.Loop() {
				c.probe(iters)
			}
			b.ReportMetric(c.flops*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
