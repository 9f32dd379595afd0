package index

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	mrl "github.com/gomrl/mrl"
)

// TestKnobViews: WithEf and WithProbe search as SetEf and SetProbe would,
// views with different settings run at the same time, and neither they
// nor Tune change the searcher's own setting.
func TestKnobViews(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 3000, 16
	data := make([]float32, n*d)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	v, err := NewVectors(data, n, d, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHNSW(v, HNSWOptions{M: 8, EfSearch: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewIVF(v, IVFOptions{Lists: 32, Probe: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	q := data[:d]
	for _, c := range []struct {
		name string
		set  func(int)
		view func(int) Searcher
		base Searcher
	}{
		{"hnsw", h.SetEf, h.WithEf, h},
		{"ivf", f.SetProbe, f.WithProbe, f},
	} {
		want := map[int][]Hit{}
		for _, x := range []int{1, 4, 64} {
			c.set(x)
			hits, err := c.base.Search(q, d, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			want[x] = hits
		}
		c.set(4)
		var wg sync.WaitGroup
		for _, x := range []int{1, 64, 1, 64} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					got, err := c.view(x).Search(q, d, 10, nil)
					if err != nil || !slices.Equal(got, want[x]) {
						t.Errorf("%s view %d: %v, %v; want %v", c.name, x, got, err, want[x])
						return
					}
					batch, err := c.view(x).SearchBatch(q, d, d, 10, nil)
					if err != nil || !slices.Equal(batch[0], want[x]) {
						t.Errorf("%s view %d batch: %v, %v", c.name, x, batch, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if got, _ := c.base.Search(q, d, 10, nil); !slices.Equal(got, want[4]) {
			t.Errorf("%s: the views changed the searcher's own setting", c.name)
		}
	}
	if _, err := Tune(v, h, data, 200, TuneOptions{K: 10, TargetRecall: 0.9, Knobs: []int{2, 8, 32}}); err != nil {
		t.Fatal(err)
	}
	if h.Ef() != 4 {
		t.Errorf("Tune left ef %d, want the 4 it found", h.Ef())
	}
}
