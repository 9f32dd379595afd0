package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl/internal/kernel"
)

// BenchmarkEmbeddingBagForward runs the text model's bag (2^17 rows of 64,
// 33 MB: larger than the caches) over 512 bags of 200 random ids, with and
// without the row prefetch, at 1 and 2 threads.
func BenchmarkEmbeddingBagForward(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	e := NewEmbeddingBag(1<<17, 64, r)
	const bags, per = 512, 200
	ids := make([]int32, bags*per)
	offs := make([]int32, bags+1)
	for i := range ids {
		ids[i] = int32(r.IntN(e.Num))
	}
	for i := range offs {
		offs[i] = int32(i * per)
	}
	saved := bagAhead
	defer func() { bagAhead = saved }()
	for _, th := range []int{1, 2} {
		for _, ahead := range []int{0, 8} {
			b.Run(fmt.Sprintf("threads=%d/ahead=%d", th, ahead), func(b *testing.B) {
				prev := kernel.SetThreads(th)
				defer kernel.SetThreads(prev)
				bagAhead = ahead
				b.SetBytes(int64(len(ids) * 64 * 4))
				for i := 0; i < b.N; i++ {
					e.Forward(ids, offs)
				}
			})
		}
	}
}
