package eval

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gomrl/mrl/internal/kernel"
)

// PCA is the SVD/PCA baseline's projection: the top M principal directions
// of a set of D-dim embeddings.
//
// The baseline projects the full-size FF embedding onto its top-m
// principal directions and fits a linear probe per m (see FitProbe). The
// official MRL code's svd.py does something else, kept here as
// LowRankWeights: it replaces the FF classifier's weight matrix by its
// rank-K SVD truncation, with no refit.
type PCA struct {
	D, M int
	// Mean is the D-dim mean subtracted before projecting.
	Mean []float32
	// Components are the M principal directions, row-major [M][D], unit
	// length, by decreasing variance; each is signed so that its entry of
	// largest magnitude is positive.
	Components []float32
	// Variances are the M largest eigenvalues of the covariance (1/n)·XcᵀXc,
	// the variances of the data along the Components.
	Variances []float64
}

// FitPCA computes the top m principal directions of n rows of x (stride d):
// the mean μ, the covariance C = (1/n)·Σ_i (x_i−μ)(x_i−μ)ᵀ as one GEMM
// (kernel.Sgemm, float32) and its symmetric eigendecomposition in float64
// (gonum's mat.EigenSym).
func FitPCA(x []float32, n, d, m int) (*PCA, error) {
	if n < 1 || d < 1 || m < 1 || m > d || len(x) < n*d {
		return nil, fmt.Errorf("eval: pca: %d components of %d rows of dim %d from %d floats", m, n, d, len(x))
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	p := &PCA{D: d, M: m, Mean: make([]float32, d), Components: make([]float32, m*d), Variances: make([]float64, m)}
	for j := range mean {
		mean[j] /= float64(n)
		p.Mean[j] = float32(mean[j])
	}
	xc := make([]float32, n*d)
	kernel.ParallelFor(n, 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j, v := range x[i*d : (i+1)*d] {
				xc[i*d+j] = float32(float64(v) - mean[j])
			}
		}
	})
	cov := make([]float32, d*d)
	kernel.Sgemm(true, false, d, d, n, float32(1/float64(n)), xc, d, xc, d, 0, cov, d)
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, 0.5*(float64(cov[i*d+j])+float64(cov[j*d+i])))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, fmt.Errorf("eval: pca: eigendecomposition of the %d×%d covariance did not converge", d, d)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for k := 0; k < m; k++ {
		col := d - 1 - k
		p.Variances[k] = max(vals[col], 0)
		row := p.Components[k*d : (k+1)*d]
		big := 0
		for j := range row {
			row[j] = float32(vecs.At(j, col))
			if math.Abs(float64(row[j])) > math.Abs(float64(row[big])) {
				big = j
			}
		}
		if row[big] < 0 {
			kernel.Scal(-1, row)
		}
	}
	return p, nil
}

// Project returns the n×M coordinates (x_i − μ)·Componentsᵀ of n rows of x
// (stride ld ≥ D; the first D floats of a row are read).
func (p *PCA) Project(x []float32, n, ld int) []float32 {
	out := make([]float32, n*p.M)
	if n == 0 {
		return out
	}
	xc := make([]float32, n*p.D)
	for i := 0; i < n; i++ {
		for j, v := range x[i*ld : i*ld+p.D] {
			xc[i*p.D+j] = v - p.Mean[j]
		}
	}
	kernel.Sgemm(false, true, n, p.M, p.D, 1, xc, p.D, p.Components, p.D, 0, out, p.M)
	return out
}

// LowRankWeights returns the best rank-k approximation U_k·S_k·V_kᵀ (in
// Frobenius norm) of the c×d row-major matrix w, the official svd.py
// baseline applied to an FF classifier's weights: evaluate the classifier
// with these weights and its original bias, without refitting.
func LowRankWeights(w []float32, c, d, k int) ([]float32, error) {
	if c < 1 || d < 1 || k < 1 || len(w) < c*d {
		return nil, fmt.Errorf("eval: low rank: rank %d of a %d×%d matrix from %d floats", k, c, d, len(w))
	}
	a := mat.NewDense(c, d, nil)
	for i := 0; i < c; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, float64(w[i*d+j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, fmt.Errorf("eval: low rank: SVD of the %d×%d matrix did not converge", c, d)
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	s := svd.Values(nil) // descending
	k = min(k, len(s))
	out := make([]float32, c*d)
	for i := 0; i < c; i++ {
		for j := 0; j < d; j++ {
			var sum float64
			for r := 0; r < k; r++ {
				sum += u.At(i, r) * s[r] * v.At(j, r)
			}
			out[i*d+j] = float32(sum)
		}
	}
	return out, nil
}
