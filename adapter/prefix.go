package adapter

import (
	"fmt"
	"sync"

	"github.com/gomrl/mrl/internal/kernel"
)

// ApplyPrefix maps n rows of x (len(x) = n·In) to their first m adapted
// dims and returns them in dst[:n·m], row i at dst[i·m:(i+1)·m] (dst is
// grown if it is too short). Only the first m rows of R (and of the
// residual MLP's last layer) are computed: a funnel whose first stage
// reads the 16-prefix maps a query with 16·In multiply-adds (Hidden·In
// more with a residual MLP) instead of Out·In, and the database's prefix
// copy costs the same per row.
//
// Each row is mapped on its own (kernel.DotRows), so a row's prefix does
// not depend on n or on the other rows, and a single query (n = 1) does
// not allocate when dst has room. The values are Apply's first m columns
// up to float32 rounding (Apply's GEMM sums the products in another
// order). Errors are Apply's; m must be in 1..Out.
func (a *Adapter) ApplyPrefix(dst, x []float32, n, m int) ([]float32, error) {
	if m < 1 || m > a.Out {
		return dst[:0], fmt.Errorf("%w: prefix of %d dims of an adapter's %d", ErrDim, m, a.Out)
	}
	if n < 0 || len(x) != n*a.In {
		if n > 0 && len(x)%n == 0 {
			return dst[:0], fmt.Errorf("%w: rows of %d floats, the adapter takes %d", ErrDim, len(x)/n, a.In)
		}
		return dst[:0], fmt.Errorf("%w: %d floats for %d rows of %d", ErrDim, len(x), n, a.In)
	}
	if n == 0 {
		return dst[:0], nil
	}
	if err := checkRows(x, n, a.In, "input"); err != nil {
		return dst[:0], err
	}
	dst = grow(dst, n*m)
	if n == 1 {
		s := a.getScratch()
		a.prefixRow(dst[:m], x, s)
		prefixPool.Put(s)
		return dst, nil
	}
	kernel.ParallelFor(n, 64, func(lo, hi int) {
		s := a.getScratch()
		for i := lo; i < hi; i++ {
			a.prefixRow(dst[i*m:(i+1)*m], x[i*a.In:(i+1)*a.In], s)
		}
		prefixPool.Put(s)
	})
	return dst, nil
}

// prefixScratch holds one row's centred input and hidden layer.
type prefixScratch struct{ xc, h []float32 }

// prefixPool recycles ApplyPrefix's scratch across adapters (buffers grow
// to the largest asked for).
var prefixPool sync.Pool

func (a *Adapter) getScratch() *prefixScratch {
	s, _ := prefixPool.Get().(*prefixScratch)
	if s == nil {
		s = new(prefixScratch)
	}
	s.xc = grow(s.xc, a.In)
	s.h = grow(s.h, a.Hidden())
	return s
}

// prefixRow writes the first len(z) adapted dims of the row x (In floats)
// to z:
//
//	z[o] = Σ_j R[o][j]·(x[j] − μ[j]) + b[o]  (+ Σ_t G2[o][t]·h[t] + b2[o],
//	h = ReLU(G1·(x − μ) + b1))
func (a *Adapter) prefixRow(z, x []float32, s *prefixScratch) {
	xc := s.xc[:a.In]
	for j, v := range x[:a.In] {
		xc[j] = v - a.Mean[j]
	}
	m := len(z)
	kernel.DotRows(z, xc, a.R.W.W[:m*a.In], a.In)
	for o := range z {
		z[o] += a.R.B.W[o]
	}
	if a.G1 == nil {
		return
	}
	hd := a.Hidden()
	h := s.h[:hd]
	kernel.DotRows(h, xc, a.G1.W.W, a.In)
	for t := range h {
		h[t] = max(h[t]+a.G1.B.W[t], 0)
	}
	var g [64]float32
	for o0 := 0; o0 < m; o0 += len(g) {
		gs := g[:min(len(g), m-o0)]
		kernel.DotRows(gs, h, a.G2.W.W[o0*hd:(o0+len(gs))*hd], hd)
		for o, v := range gs {
			z[o0+o] += v + a.G2.B.W[o0+o]
		}
	}
}
