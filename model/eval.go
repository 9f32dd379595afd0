package model

import (
	"fmt"
)

// Accuracy is the top-1 accuracy of every nesting dim of a model's head.
type Accuracy struct {
	Dims    []int     `json:"dims"`
	Top1    []float64 `json:"top1"`
	Correct []int     `json:"correct"`
	N       int       `json:"n"`
}

// Full returns the accuracy at the largest dim.
func (a Accuracy) Full() float64 {
	if len(a.Top1) == 0 {
		return 0
	}
	return a.Top1[len(a.Top1)-1]
}

// Evaluate runs the model in inference mode over n rows of x (NHWC images
// flattened) in batches and returns the top-1 accuracy of every dim of the
// head's nesting against labels y.
func (m *Model) Evaluate(x []float32, y []int32, n, batch int) (Accuracy, error) {
	if m.Config.IsText() {
		return Accuracy{}, ErrTextModel
	}
	if len(x) < n*m.InputDim() || len(y) < n {
		return Accuracy{}, fmt.Errorf("model: evaluate: %d rows need %d features and %d labels, got %d and %d", n, n*m.InputDim(), n, len(x), len(y))
	}
	if batch <= 0 {
		batch = 512
	}
	acc := Accuracy{Dims: append([]int(nil), m.Head.Nesting...), Correct: make([]int, len(m.Head.Nesting)), N: n}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		z := m.Embed(x[lo*m.InputDim():], hi-lo, false)
		m.Head.Forward(z)
		for g := range m.Head.Nesting {
			for i, p := range m.Head.Predict(g) {
				if p == y[lo+i] {
					acc.Correct[g]++
				}
			}
		}
	}
	acc.Top1 = make([]float64, len(acc.Correct))
	for g, c := range acc.Correct {
		if n > 0 {
			acc.Top1[g] = float64(c) / float64(n)
		}
	}
	return acc, nil
}

// EmbedAll returns the [n, Embed] embeddings of n rows of x, computed in
// inference mode in batches.
func (m *Model) EmbedAll(x []float32, n, batch int) []float32 {
	if batch <= 0 {
		batch = 512
	}
	d := m.Config.Embed
	out := make([]float32, n*d)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		z := m.Embed(x[lo*m.InputDim():], hi-lo, false)
		copy(out[lo*d:hi*d], z.Data)
	}
	return out
}

// LogitsAll returns, for every nesting dim, the [n, Classes] logits of n rows
// of x computed in inference mode.
func (m *Model) LogitsAll(x []float32, n, batch int) [][]float32 {
	if batch <= 0 {
		batch = 512
	}
	c := m.Config.Classes
	out := make([][]float32, len(m.Head.Nesting))
	for g := range out {
		out[g] = make([]float32, n*c)
	}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		z := m.Embed(x[lo*m.InputDim():], hi-lo, false)
		for g, l := range m.Head.Forward(z) {
			copy(out[g][lo*c:hi*c], l)
		}
	}
	return out
}
