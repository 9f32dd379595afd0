package model

import (
	"slices"
	"sync"
	"testing"
)

// TestReplicaConcurrent: replicas share the weights, give the model's own
// embeddings and logits, and run at the same time (go test -race checks
// that they share nothing they write).
func TestReplicaConcurrent(t *testing.T) {
	for _, arch := range []Arch{ArchMLP, ArchCNN} {
		m, err := New(Config{Arch: arch, InH: 28, InW: 28, InC: 1, Hidden: 32, Width: 4, Embed: 16, Heads: "mrl", Classes: 10}, 3)
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		x := make([]float32, n*m.InputDim())
		for i := range x {
			x[i] = float32(i%17) / 17
		}
		want := m.EmbedAll(x, n, 8)
		wantLogits := m.LogitsAll(x, n, 8)
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := m.Replica()
				for range 3 {
					if got := r.EmbedAll(x, n, 8); !slices.Equal(got, want) {
						errs <- string(arch) + ": a replica's embeddings differ from the model's"
						return
					}
					for i, l := range r.LogitsAll(x, n, 8) {
						if !slices.Equal(l, wantLogits[i]) {
							errs <- string(arch) + ": a replica's logits differ from the model's"
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if r := m.Replica(); &r.Params()[0].W[0] != &m.Params()[0].W[0] {
			t.Errorf("%s: a replica does not share the weights", arch)
		}
	}
}
