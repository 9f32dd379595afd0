package adapter

import (
	"fmt"
	"sync"

	"github.com/gomrl/mrl/index"
)

// Searcher is an index.Searcher over adapted rows that takes its queries
// in the input space: it maps each query with the adapter A, then
// searches S. S searches f(x) of the database rows, or, with Dims > 0, a
// copy of their first Dims adapted dims (ApplyPrefix(nil, x, n, Dims)):
// then a query is mapped to those Dims only, the store holds Dims floats
// a row, and an index built on it (index.NewHNSW) is a graph on the
// adapted prefix. Hits index the database rows, so as the first stage of
// an index.Funnel over the original vectors it shortlists by an adapted
// prefix and the later stages rerank the shortlist with the originals:
// with the plan "32:400,512:10" the funnel scans the 32-prefixes of f(x)
// and reranks the best 400 rows at the original full dim 512. Dims passed
// to Searcher are adapted dims (1..Out, or 1..Dims).
//
// A single query is mapped without allocating (ApplyPrefix); Search
// allocates only what S does.
type Searcher struct {
	A *Adapter
	S index.Searcher
	// Dims, if > 0, is the number of leading adapted dims S's rows hold
	// (at most A.Out); 0 means A.Out, the whole f(x).
	Dims int
}

var _ index.Searcher = Searcher{}

// dims returns the adapted dims S's rows hold.
func (s Searcher) dims() int {
	if s.Dims > 0 {
		return s.Dims
	}
	return s.A.Out
}

// check reports a searched dim beyond the adapted rows'.
func (s Searcher) check(dim int) error {
	switch {
	case s.Dims > s.A.Out:
		return fmt.Errorf("%w: searcher of %d adapted dims over an adapter's %d", ErrDim, s.Dims, s.A.Out)
	case dim > s.dims():
		return fmt.Errorf("%w: search at dim %d of an adapter's %d", ErrDim, dim, s.dims())
	}
	return nil
}

// Search implements index.Searcher; q holds at least In floats.
func (s Searcher) Search(q []float32, dim, k int, dst []index.Hit) ([]index.Hit, error) {
	if len(q) < s.A.In {
		return dst[:0], fmt.Errorf("%w: query of %d floats, the adapter takes %d", ErrDim, len(q), s.A.In)
	}
	if err := s.check(dim); err != nil {
		return dst[:0], err
	}
	zp, _ := queryPool.Get().(*[]float32)
	if zp == nil {
		zp = new([]float32)
	}
	defer queryPool.Put(zp)
	z, err := s.A.ApplyPrefix(*zp, q[:s.A.In], 1, s.dims())
	if err != nil {
		return dst[:0], err
	}
	*zp = z
	return s.S.Search(z, dim, k, dst)
}

// queryPool recycles the mapped queries of Searcher.Search.
var queryPool sync.Pool

// SearchBatch implements index.Searcher: the queries (rows of stride
// ldq ≥ In) are mapped in one call, then searched in one batch.
func (s Searcher) SearchBatch(q []float32, ldq, dim, k int, dst [][]index.Hit) ([][]index.Hit, error) {
	in := s.A.In
	if ldq < in || len(q)%ldq != 0 {
		return dst[:0], fmt.Errorf("%w: %d query floats of stride %d, the adapter takes %d", ErrDim, len(q), ldq, in)
	}
	if err := s.check(dim); err != nil {
		return dst[:0], err
	}
	nq := len(q) / ldq
	x := q
	if ldq != in {
		x = make([]float32, nq*in)
		for i := 0; i < nq; i++ {
			copy(x[i*in:(i+1)*in], q[i*ldq:i*ldq+in])
		}
	}
	m := s.dims()
	z, err := s.A.ApplyPrefix(nil, x, nq, m)
	if err != nil {
		return dst[:0], err
	}
	return s.S.SearchBatch(z, m, dim, k, dst)
}
