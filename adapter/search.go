package adapter

import (
	"fmt"

	"github.com/gomrl/mrl/index"
)

// Searcher is an index.Searcher over adapted rows (S searches f(x) of the
// database) that takes its queries in the input space: it maps each query
// with the adapter A, then searches S. Hits index the database rows, so as
// the first stage of an index.Funnel over the original vectors it
// shortlists by an adapted prefix and the later stages rerank the
// shortlist with the originals: with the plan "32:400,512:10" the funnel
// scans the 32-prefixes of f(x) and reranks the best 400 rows at the
// original full dim 512. Dims passed to Searcher are adapted dims (1..Out).
type Searcher struct {
	A *Adapter
	S index.Searcher
}

var _ index.Searcher = Searcher{}

// Search implements index.Searcher; q holds at least In floats.
func (s Searcher) Search(q []float32, dim, k int, dst []index.Hit) ([]index.Hit, error) {
	if len(q) < s.A.In {
		return dst[:0], fmt.Errorf("%w: query of %d floats, the adapter takes %d", ErrDim, len(q), s.A.In)
	}
	if dim > s.A.Out {
		return dst[:0], fmt.Errorf("%w: search at dim %d of an adapter's %d", ErrDim, dim, s.A.Out)
	}
	z, err := s.A.Apply(q[:s.A.In], 1)
	if err != nil {
		return dst[:0], err
	}
	return s.S.Search(z, dim, k, dst)
}

// SearchBatch implements index.Searcher: the queries are mapped in one
// batch (rows of stride ldq ≥ In).
func (s Searcher) SearchBatch(q []float32, ldq, dim, k int, dst [][]index.Hit) ([][]index.Hit, error) {
	in := s.A.In
	if ldq < in || len(q)%ldq != 0 {
		return dst[:0], fmt.Errorf("%w: %d query floats of stride %d, the adapter takes %d", ErrDim, len(q), ldq, in)
	}
	if dim > s.A.Out {
		return dst[:0], fmt.Errorf("%w: search at dim %d of an adapter's %d", ErrDim, dim, s.A.Out)
	}
	nq := len(q) / ldq
	x := q
	if ldq != in {
		x = make([]float32, nq*in)
		for i := 0; i < nq; i++ {
			copy(x[i*in:(i+1)*in], q[i*ldq:i*ldq+in])
		}
	}
	z, err := s.A.Apply(x, nq)
	if err != nil {
		return dst[:0], err
	}
	return s.S.SearchBatch(z, s.A.Out, dim, k, dst)
}
