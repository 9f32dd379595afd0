package index_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/internal/kernel"
)

func TestFlatInt8Conformance(t *testing.T) {
	logInt8(t)
	defer index.SetInt8MinDim(index.SetInt8MinDim(1))
	indextest.Run(t, func(v *index.Vectors) index.Searcher {
		f, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true})
		if err != nil {
			panic(err)
		}
		return f
	})
}

func logInt8(t *testing.T) {
	if !kernel.HasScanTileInt8() {
		t.Logf("the int8 filter is not run on this machine (level %s, no AVX512-VNNI): the float scan is checked", kernel.CurrentLevel())
	}
}

// TestFlatInt8Exact checks the int8 filter's batches against the float
// scan's on data that strains its bound: an outlier dim (a coarse scale
// for every other row), duplicated rows (ties), a zero query and a zero
// row, prefixes not a multiple of 4, past several chunks and panels, and
// k in heap and selection modes. The scores of the i-th hits must agree
// to float32 rounding: a row the filter dropped would shift them.
func TestFlatInt8Exact(t *testing.T) {
	logInt8(t)
	defer index.SetInt8MinDim(index.SetInt8MinDim(1))
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		n, d, nq int
		metric   mrl.Metric
	}{
		{3001, 37, 70, mrl.InnerProduct},
		{3001, 37, 70, mrl.Cosine},
		{1500, 130, 33, mrl.InnerProduct},
		{1500, 130, 33, mrl.Cosine},
		{700, 8, 5, mrl.Cosine},
		{2000, 70, 40, mrl.L2},
	} {
		t.Run(fmt.Sprintf("%v/%dx%d", c.metric, c.n, c.d), func(t *testing.T) {
			data := indextest.MatryoshkaLike(r, c.n, c.d)
			for j := 0; j < c.d; j++ {
				data[5*c.d+j] = data[9*c.d+j] // a tie
				data[6*c.d+j] = 0             // a zero row
			}
			data[7*c.d+c.d/2] = 300 // an outlier: dim d/2's scale is coarse for every other row
			v := mustVectors(t, data, c.n, c.d, c.metric, nil)
			f, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true})
			if err != nil {
				t.Fatal(err)
			}
			plain := index.NewFlat(v)
			q := indextest.MatryoshkaLike(r, c.nq, c.d)
			copy(q[:c.d], data[9*c.d:10*c.d]) // the tied rows' own vector
			clear(q[c.d : 2*c.d])             // a zero query
			for _, dim := range []int{1, 3, c.d / 2, c.d - 1, c.d} {
				for _, k := range []int{1, 10, 100} {
					got, err := f.SearchBatch(q, c.d, dim, k, nil)
					if err != nil {
						t.Fatal(err)
					}
					want, err := plain.SearchBatch(q, c.d, dim, k, nil)
					if err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if len(got[i]) != len(want[i]) {
							t.Fatalf("dim %d k %d query %d: %d hits, want %d", dim, k, i, len(got[i]), len(want[i]))
						}
						for j, w := range want[i] {
							g := got[i][j]
							if math.Abs(float64(g.Score-w.Score)) > 1e-5*(1+math.Abs(float64(w.Score))) {
								t.Fatalf("dim %d k %d query %d hit %d: score %v (row %d), the float scan %v (row %d)",
									dim, k, i, j, g.Score, g.Index, w.Score, w.Index)
							}
						}
					}
				}
			}
		})
	}
}

func TestNewFlatWith(t *testing.T) {
	if _, err := index.NewFlatWith(nil, index.FlatOptions{}); err == nil {
		t.Error("NewFlatWith(nil) did not fail")
	}
	v := mustVectors(t, make([]float32, 32769), 1, 32769, mrl.Cosine, nil)
	if _, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true}); !errors.Is(err, index.ErrOptions) {
		t.Errorf("dim 32769: NewFlatWith error %v, want ErrOptions", err)
	}
	v = mustVectors(t, []float32{1, 2, 3, 4}, 2, 2, mrl.Cosine, nil)
	f, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true})
	if err != nil || f.Int8Filter(32) != kernel.HasScanTileInt8() || f.Int8Filter(16) {
		t.Errorf("Cosine: NewFlatWith = %v, Int8Filter(32) = %v, want %v; Int8Filter(16) = %v, want false",
			err, f.Int8Filter(32), kernel.HasScanTileInt8(), f.Int8Filter(16))
	}
}

// TestFlatInt8Range checks rows far from 1 in magnitude: small (the
// filter runs), tiny (its scales would be subnormal: the float scan runs)
// and large. Results must be the float scan's.
func TestFlatInt8Range(t *testing.T) {
	defer index.SetInt8MinDim(index.SetInt8MinDim(1))
	r := rand.New(rand.NewPCG(41, 42))
	const n, d, nq = 600, 20, 40
	for _, scale := range []float32{1e-20, 1e-41, 1e18} {
		data := indextest.MatryoshkaLike(r, n, d)
		for i := range data {
			data[i] *= scale
		}
		q := indextest.MatryoshkaLike(r, nq, d)
		v := mustVectors(t, data, n, d, mrl.InnerProduct, nil)
		f, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.SearchBatch(q, d, d, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := index.NewFlat(v).SearchBatch(q, d, d, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			for j, w := range want[i] {
				if g := got[i][j]; math.Abs(float64(g.Score-w.Score)) > 1e-5*math.Abs(float64(w.Score)) {
					t.Fatalf("scale %g query %d hit %d: score %v (row %d), the float scan %v (row %d)", scale, i, j, g.Score, g.Index, w.Score, w.Index)
				}
			}
		}
	}
}
