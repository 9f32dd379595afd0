package nn

import (
	"math"
	"math/rand/v2"

	"github.com/gomrl/mrl/internal/kernel"
)

// EmbeddingBag is PyTorch's nn.EmbeddingBag(mode="mean", sparse=True): a
// table W of Num rows of Dim values, and for each bag of row ids the mean
// of its rows. Bags come in CSR form: bag i is ids[offsets[i]:offsets[i+1]]
// (len(offsets) = bags+1, offsets[0] = 0), repeated ids count as often as
// they appear, and an empty bag gives a zero row (PyTorch's too).
//
// W is a Sparse parameter: Backward adds into the gradient rows of the ids
// it saw and lists them in W.Touched, so a step costs the bag sizes, not
// Num·Dim.
type EmbeddingBag struct {
	Num, Dim int
	W        *Param

	ids, offsets []int32
	y            Tensor
	mark         []uint32 // mark[row] == stamp: row already in W.Touched
	stamp        uint32
}

// NewEmbeddingBag returns a table with rows drawn uniformly in
// ±1/sqrt(dim).
func NewEmbeddingBag(num, dim int, r *rand.Rand) *EmbeddingBag {
	e := &EmbeddingBag{Num: num, Dim: dim, W: newParam("weight", true, num, dim)}
	e.W.Sparse = true
	Uniform(e.W.W, 1/math.Sqrt(float64(dim)), r)
	return e
}

// bagGrain is the number of bags per goroutine.
const bagGrain = 64

// bagAhead is how many ids ahead Forward prefetches a table row (0: none);
// a variable so that BenchmarkEmbeddingBagForward can compare.
var bagAhead = 8

// Forward returns the [bags, Dim] means of the bags. ids and offsets are
// kept (not copied) for Backward; an id outside [0, Num) or offsets that are
// not non-decreasing within ids panic.
func (e *EmbeddingBag) Forward(ids, offsets []int32) *Tensor {
	n := len(offsets) - 1
	if n < 0 || offsets[0] != 0 || int(offsets[n]) > len(ids) {
		panic("nn: EmbeddingBag offsets do not describe ids")
	}
	e.ids, e.offsets = ids, offsets
	d := e.Dim
	y := reshape(&e.y, n, d)
	w := e.W.W
	kernel.ParallelFor(n, bagGrain, func(lo, hi int) {
		end := int(offsets[hi])
		for i := lo; i < hi; i++ {
			out := y.Data[i*d : (i+1)*d]
			clear(out)
			a, b := offsets[i], offsets[i+1]
			if b < a {
				panic("nn: EmbeddingBag offsets decrease")
			}
			for j, id := range ids[a:b] {
				if uint32(id) >= uint32(e.Num) {
					panic("nn: EmbeddingBag id out of range")
				}
				// The rows are scattered over a table larger than the
				// caches: ask for the one bagAhead ids on now, so that
				// several rows' memory latency overlaps.
				if p := int(a) + j + bagAhead; bagAhead > 0 && p < end {
					if nx := ids[p]; uint32(nx) < uint32(e.Num) {
						kernel.PrefetchFloats(w[int(nx)*d : int(nx+1)*d])
					}
				}
				kernel.Axpy(1, w[int(id)*d:int(id+1)*d], out)
			}
			if b > a {
				kernel.Scal(1/float32(b-a), out)
			}
		}
	})
	return y
}

// Backward adds dy[i]/|bag i| into the gradient row of every id of bag i
// and records the rows in W.Touched. It returns nil: the ids have no
// gradient.
func (e *EmbeddingBag) Backward(dy *Tensor) *Tensor {
	p, d := e.W, e.Dim
	if len(e.mark) != e.Num {
		e.mark = make([]uint32, e.Num)
	}
	if len(p.Touched) == 0 {
		// The gradient was cleared since the last Backward: start a new
		// generation of marks.
		e.stamp++
		if e.stamp == 0 {
			clear(e.mark)
			e.stamp = 1
		}
	}
	ids, offsets := e.ids, e.offsets
	for _, id := range ids[:offsets[len(offsets)-1]] {
		if e.mark[id] != e.stamp {
			e.mark[id] = e.stamp
			p.Touched = append(p.Touched, id)
		}
	}
	// Split the columns among goroutines, so no two write the same value.
	n := len(offsets) - 1
	cols := kernel.Threads()
	if len(ids) < 4096 || d < 32 {
		cols = 1
	}
	chunk := (d + cols - 1) / cols
	chunk = (chunk + 7) &^ 7
	kernel.ParallelFor(d, max(chunk, 1), func(lo, hi int) {
		g := p.G
		for i := 0; i < n; i++ {
			a, b := offsets[i], offsets[i+1]
			if b == a {
				continue
			}
			row := dy.Data[i*d+lo : i*d+hi]
			inv := 1 / float32(b-a)
			for _, id := range ids[a:b] {
				kernel.Axpy(inv, row, g[int(id)*d+lo:int(id)*d+hi])
			}
		}
	})
	return nil
}

// Params returns the table.
func (e *EmbeddingBag) Params() []*Param { return []*Param{e.W} }
