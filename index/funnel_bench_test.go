package index_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
)

// benchFunnelData is the shape of the text report's funnel: the 12,208
// test descriptions of debian-descriptions at 512 dims, cosine.
const benchFunnelN, benchFunnelD = 12208, 512

func benchFunnelVectors(b *testing.B) (*index.Vectors, []float32) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	x := indextest.MatryoshkaLike(rng, benchFunnelN+256, benchFunnelD)
	v := mustVectors(b, x[:benchFunnelN*benchFunnelD], benchFunnelN, benchFunnelD, mrl.Cosine, nil)
	return v, x[benchFunnelN*benchFunnelD:]
}

// benchSearcher is a searcher named for a sub-benchmark.
type benchSearcher struct {
	name string
	s    index.Searcher
}

// benchFunnelSearchers returns exact search over v and the text
// report's funnel plans, named for sub-benchmarks.
func benchFunnelSearchers(b *testing.B, v *index.Vectors) []benchSearcher {
	out := []benchSearcher{{"exact", index.NewFlat(v)}}
	for _, p := range []string{"16:1000,128:100,512:10", "16:200,512:10"} {
		plan, err := index.ParsePlan(p)
		if err != nil {
			b.Fatal(err)
		}
		f, err := index.NewFunnel(v, plan, nil)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, benchSearcher{p, f})
	}
	return out
}

// BenchmarkFunnelSearch times one query at a time through the text
// report's plans and exact search, on held-out queries.
func BenchmarkFunnelSearch(b *testing.B) {
	v, qs := benchFunnelVectors(b)
	nq := len(qs) / benchFunnelD
	for _, bs := range benchFunnelSearchers(b, v) {
		name, s := bs.name, bs.s
		b.Run(name, func(b *testing.B) {
			dst := make([]index.Hit, 0, 10)
			s.Search(qs[:benchFunnelD], benchFunnelD, 10, dst) // build the caches
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := qs[(i%nq)*benchFunnelD : (i%nq+1)*benchFunnelD]
				var err error
				if dst, err = s.Search(q, benchFunnelD, 10, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFunnelSearchBatch times the batched path the report times.
func BenchmarkFunnelSearchBatch(b *testing.B) {
	v, qs := benchFunnelVectors(b)
	nq := len(qs) / benchFunnelD
	for _, bs := range benchFunnelSearchers(b, v) {
		name, s := bs.name, bs.s
		b.Run(fmt.Sprintf("%s/nq=%d", name, nq), func(b *testing.B) {
			var dst [][]index.Hit
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var err error
				if dst, err = s.SearchBatch(qs, benchFunnelD, benchFunnelD, 10, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
