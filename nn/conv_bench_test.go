package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkConvStem times a first convolution (no input gradient: the
// forward and dW) on 256 images with few input channels, on the direct
// path (directTaps) and on im2col + GEMM; MRL_KERNEL picks the kernels.
//
//	go test ./nn -run '^$' -bench ConvStem -benchtime 20x
func BenchmarkConvStem(b *testing.B) {
	defer func(m int) { directTapsMaxC = m }(directTapsMaxC)
	for _, s := range []struct{ h, inC, outC int }{{28, 1, 16}, {32, 3, 32}} {
		for _, path := range []struct {
			name string
			maxC int
		}{{"direct", 4}, {"im2col", 0}} {
			b.Run(fmt.Sprintf("%dx%dx%d-%d/%s", s.h, s.h, s.inC, s.outC, path.name), func(b *testing.B) {
				directTapsMaxC = path.maxC
				r := rand.New(rand.NewPCG(1, 2))
				c := NewConv2d(s.inC, s.outC, 3, 1, 1, false, r)
				c.NoInputGrad = true
				x := randTensor(r, 256, s.h, s.h, s.inC)
				dy := randTensor(r, 256, s.h, s.h, s.outC)
				c.Forward(x, true) // the buffers' first touch is not timed
				c.Backward(dy)
				var fwd, bwd time.Duration
				for b.Loop() {
					t0 := time.Now()
					c.Forward(x, true)
					t1 := time.Now()
					c.Backward(dy)
					fwd += t1.Sub(t0)
					bwd += time.Since(t1)
				}
				b.ReportMetric(fwd.Seconds()/float64(b.N)*1e3, "fwd-ms")
				b.ReportMetric(bwd.Seconds()/float64(b.N)*1e3, "dW-ms")
			})
		}
	}
}
