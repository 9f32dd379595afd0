package kernel

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cover runs parallelForT(t, n, grain) and checks that every index of
// [0, n) is visited once, in chunks that are multiples of grain but the
// last, at most t of them.
func cover(t *testing.T, name string, threads, n, grain int) {
	t.Helper()
	seen := make([]atomic.Int32, n)
	var chunks atomic.Int32
	parallelForT(threads, n, grain, func(lo, hi int) {
		chunks.Add(1)
		if g := max(grain, 1); lo%g != 0 || (hi-lo)%g != 0 && hi != n {
			t.Errorf("%s: chunk [%d, %d) is not whole grains of %d", name, lo, hi, g)
		}
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	})
	if c := int(chunks.Load()); n > 0 && (c < 1 || c > max(threads, 1)) {
		t.Errorf("%s: %d chunks for %d threads", name, c, threads)
	}
	for i := range seen {
		if v := seen[i].Load(); v != 1 {
			t.Fatalf("%s: index %d visited %d times", name, i, v)
		}
	}
}

func TestParallelForCovers(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 3, 16, 2000} {
				cover(t, fmt.Sprintf("t=%d n=%d grain=%d", threads, n, grain), threads, n, grain)
			}
		}
	}
}

// TestParallelForNested: a region started inside another's chunk finds the
// pool taken and runs on goroutines of its own, still covering its range.
func TestParallelForNested(t *testing.T) {
	var mu sync.Mutex
	total := 0
	parallelForT(3, 3, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			seen := make([]atomic.Int32, 100)
			parallelForT(2, 100, 1, func(a, b int) {
				for i := a; i < b; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if seen[i].Load() != 1 {
					t.Errorf("outer chunk %d: inner index %d visited %d times", c, i, seen[i].Load())
				}
			}
			mu.Lock()
			total++
			mu.Unlock()
		}
	})
	if total != 3 {
		t.Fatalf("%d outer chunks ran, want 3", total)
	}
}

// TestParallelForConcurrent: regions started by many goroutines at once
// (the pool serves one, the others start goroutines) all complete.
func TestParallelForConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 50 {
				cover(t, fmt.Sprintf("goroutine %d region %d", g, r), 2+g%3, 97+r, 1+r%5)
			}
		}()
	}
	wg.Wait()
}

// TestParallelForParked: workers that have spun out their spinTime park,
// and the next region wakes them (it would hang otherwise).
func TestParallelForParked(t *testing.T) {
	defer spinTime.Store(spinTime.Load())
	spinTime.Store(0)
	for r := range 20 {
		cover(t, fmt.Sprintf("region %d", r), 3, 30, 1)
		if r%2 == 0 {
			time.Sleep(time.Millisecond) // let the workers park
		}
	}
}

// TestParallelForPanic: a panic in the caller's chunk reaches the caller
// after the workers' chunks finish, and the pool serves the next region.
func TestParallelForPanic(t *testing.T) {
	var others atomic.Int32
	func() {
		defer func() {
			if r := recover(); r != "chunk 0" {
				t.Errorf("recovered %v, want the chunk's panic", r)
			}
		}()
		parallelForT(3, 3, 1, func(lo, hi int) {
			if lo == 0 {
				panic("chunk 0")
			}
			time.Sleep(10 * time.Millisecond)
			others.Add(1)
		})
	}()
	if others.Load() != 2 {
		t.Errorf("%d other chunks had finished when the panic reached the caller, want 2", others.Load())
	}
	cover(t, "after the panic", 3, 100, 1)
}
