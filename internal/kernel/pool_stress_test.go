package kernel

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelForStress runs regions from three goroutines at once for
// two seconds: random sizes, grains and thread counts, chunks that start
// nested regions or sleep, and gaps around the (lowered) spin time, so
// that workers park and are woken in every order. Every region must cover
// its range exactly once. (It caught a worker woken by a token meant for
// an earlier chunk, which then ran a nil chunk.)
func TestParallelForStress(t *testing.T) {
	defer spinTime.Store(spinTime.Load())
	spinTime.Store(int64(20 * time.Microsecond))
	stop := time.Now().Add(2 * time.Second)
	if testing.Short() {
		stop = time.Now().Add(200 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for time.Now().Before(stop) {
				n := 1 + r.IntN(50)
				seen := make([]atomic.Int32, n)
				parallelForT(1+r.IntN(4), n, 1+r.IntN(5), func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
					if lo%7 == 3 {
						parallelForT(2, 10, 1, func(a, b int) {})
					}
					if lo%5 == 1 {
						time.Sleep(time.Duration(lo) * time.Microsecond)
					}
				})
				for i := range seen {
					if v := seen[i].Load(); v != 1 {
						t.Errorf("goroutine %d: index %d of %d visited %d times", g, i, n, v)
						return
					}
				}
				if r.IntN(3) == 0 {
					time.Sleep(time.Duration(r.IntN(40)) * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
}
