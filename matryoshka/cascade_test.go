package matryoshka

import "testing"

func TestCascadeExit(t *testing.T) {
	conf := []float32{0.5, 0.8, 0.95, 0.2}
	at := func(g int) float32 { return conf[g] }
	for _, c := range []struct {
		thr  []float64
		want int
	}{
		{[]float64{0.9, 0.9, 0.9}, 2},
		{[]float64{0.5, 0.9, 0.9}, 0}, // reaching the threshold is enough
		{[]float64{0.6, 0.7, 0.99}, 1},
		{[]float64{0.99, 0.99, 0.99}, 3}, // the last dim answers regardless
		{[]float64{0.99}, 1},             // a cascade truncated at dim 1
		{nil, 0},
	} {
		if got := CascadeExit(c.thr, at); got != c.want {
			t.Errorf("CascadeExit(%v) = %d, want %d", c.thr, got, c.want)
		}
	}
}
