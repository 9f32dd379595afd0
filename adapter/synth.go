package adapter

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gomrl/mrl/internal/kernel"
)

// SyntheticOptions describe a synthetic embedding set (Synthetic) on which
// truncation fails and PCA is the strong baseline: hierarchical clusters
// in a random rotation of the space. Zero fields take the defaults in
// brackets.
type SyntheticOptions struct {
	N, D int // rows and dim [10000, 128]
	// Groups super-clusters [10] whose centres, at scale GroupScale [3],
	// span the first D/8 latent directions; each holds Clusters [50]
	// clusters whose offsets, at scale ClusterScale [1.5], span the next
	// D/4; Noise [0.5] is isotropic over all D.
	Groups, Clusters                int
	GroupScale, ClusterScale, Noise float64
	Seed                            uint64
}

func (o SyntheticOptions) withDefaults() SyntheticOptions {
	if o.N == 0 {
		o.N = 10000
	}
	if o.D == 0 {
		o.D = 128
	}
	if o.Groups == 0 {
		o.Groups = 10
	}
	if o.Clusters == 0 {
		o.Clusters = 50
	}
	if o.GroupScale == 0 {
		o.GroupScale = 3
	}
	if o.ClusterScale == 0 {
		o.ClusterScale = 1.5
	}
	if o.Noise == 0 {
		o.Noise = 0.5
	}
	return o
}

// Synthetic returns N rows of dim D (row-major) and their cluster labels
// (0..Groups·Clusters−1). Each row is its group's centre plus its
// cluster's offset plus Gaussian noise, in latent coordinates, then turned
// by a random orthogonal matrix, so every coordinate carries about the same
// energy (truncation to a prefix keeps a random slice of each direction),
// while the variance is concentrated in the D/8 + D/4 latent directions
// that PCA finds. The groups' directions carry the most variance but the
// least information about a row's nearest neighbours (which share its
// cluster): PCA at D/8 dims keeps the groups and loses the clusters, which
// is where a learned adapter can do better. With the defaults a cluster
// holds about 20 rows, so a row's 10 nearest neighbours are mostly its
// cluster's: with much larger clusters they would be decided by the
// isotropic noise, which no short prefix can see.
func Synthetic(o SyntheticOptions) ([]float32, []int32, error) {
	o = o.withDefaults()
	d := o.D
	r1, r2 := max(d/8, 1), max(d/4, 1)
	if o.N < 1 || d < 8 || r1+r2 > d {
		return nil, nil, fmt.Errorf("%w: synthetic set of %d rows of dim %d (want N ≥ 1, D ≥ 8)", ErrOptions, o.N, d)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x73796e7468))
	ng := o.Groups
	nc := ng * o.Clusters
	centres := make([]float64, ng*r1)
	for i := range centres {
		centres[i] = o.GroupScale * rng.NormFloat64()
	}
	// Centre the groups (and below, the clusters of each group), so the
	// set's mean is near 0 and cosine neighbours are those of the shape.
	for j := 0; j < r1; j++ {
		var m float64
		for g := 0; g < ng; g++ {
			m += centres[g*r1+j]
		}
		for g := 0; g < ng; g++ {
			centres[g*r1+j] -= m / float64(ng)
		}
	}
	offsets := make([]float64, nc*r2)
	for i := range offsets {
		offsets[i] = o.ClusterScale * rng.NormFloat64()
	}
	for j := 0; j < r2; j++ {
		var m float64
		for c := 0; c < nc; c++ {
			m += offsets[c*r2+j]
		}
		for c := 0; c < nc; c++ {
			offsets[c*r2+j] -= m / float64(nc)
		}
	}
	lat := make([]float32, o.N*d)
	labels := make([]int32, o.N)
	for i := 0; i < o.N; i++ {
		c := rng.IntN(nc)
		g := c / o.Clusters
		labels[i] = int32(c)
		row := lat[i*d : (i+1)*d]
		for j := range row {
			v := o.Noise * rng.NormFloat64()
			switch {
			case j < r1:
				v += centres[g*r1+j]
			case j < r1+r2:
				v += offsets[c*r2+j-r1]
			}
			row[j] = float32(v)
		}
	}
	// A random orthogonal matrix: the Q of a Gaussian matrix's QR.
	g := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	rot := make([]float32, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			rot[i*d+j] = float32(q.At(i, j))
		}
	}
	x := make([]float32, o.N*d)
	kernel.Sgemm(false, false, o.N, d, d, 1, lat, d, rot, d, 0, x, d)
	return x, labels, nil
}
