package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The workers of parallel regions (parallelForT, and so ParallelFor, the
// threaded SGEMM and Conv2d's workers): goroutines that stay, and after a
// chunk wait for the next one spinning (yielding the processor each turn)
// for up to spinTime before they park.
//
// Why: a region that starts a goroutine per chunk waits for the runtime
// to wake an idle processor, and on the VMs this project runs on that
// took 100-170 µs (2-core AMD EPYC, 2026-12-02: the second worker of a
// 400 µs region started 100-170 µs after the first). BenchmarkParallelFor
// measured no gain at all from a second thread for chunks of ~90 µs
// (190 µs on 1 thread, 177 on 2), and a training step runs tens of
// regions. A worker still spinning from the region before starts within
// a microsecond. This is what OpenMP runtimes do (GOMP_SPINCOUNT,
// OMP_WAIT_POLICY=active).
//
// One region uses the pool at a time; a region that finds it taken (a
// region started inside another's chunk, or by another goroutine at the
// same time) starts goroutines as before. Chunks run to completion in
// either case, with the same split: results do not depend on which way a
// region ran.

// spinTime is how long an idle worker spins for a next chunk before it
// parks. Longer than the gaps between a training step's regions (tens of
// microseconds), short enough that an idle program stops burning CPU at
// once; in nanoseconds, atomic so that tests can change it while workers
// spin.
var spinTime atomic.Int64

func init() { spinTime.Store(int64(200 * time.Microsecond)) }

// pool holds the workers; mu is held by the region using them.
var pool struct {
	mu      sync.Mutex
	workers []*worker
}

// worker is one pooled goroutine. The dispatcher writes fn, lo and hi,
// then bumps gen; the worker runs the chunk and stores gen to done.
type worker struct {
	gen      atomic.Uint32
	done     atomic.Uint32
	sleeping atomic.Bool   // parked on wake (set by the worker)
	wake     chan struct{} // capacity 1: a token for a parked worker
	fn       func(lo, hi int)
	lo, hi   int
	_        [64]byte // keep the next worker's counters off this cache line
}

func (w *worker) loop() {
	var last uint32
	for {
		last = w.next(last)
		w.fn(w.lo, w.hi)
		w.fn = nil // let the closure's data go
		w.done.Store(last)
	}
}

// next waits for gen to move past last and returns it: spinning for
// spinTime, then parked until the dispatcher sends a token.
func (w *worker) next(last uint32) uint32 {
	start := time.Now()
	for i := 0; ; i++ {
		if g := w.gen.Load(); g != last {
			return g
		}
		if i%64 == 63 && time.Since(start) > time.Duration(spinTime.Load()) {
			w.sleeping.Store(true)
			if g := w.gen.Load(); g != last {
				// A chunk came in between: take it, unless the dispatcher
				// saw the flag first and is sending a token (consume it).
				if !w.sleeping.CompareAndSwap(true, false) {
					<-w.wake
				}
				return g
			}
			<-w.wake
			return w.gen.Load()
		}
		runtime.Gosched()
	}
}

// start hands [lo, hi) of fn to w.
func (w *worker) start(fn func(lo, hi int), lo, hi int) {
	w.fn, w.lo, w.hi = fn, lo, hi
	w.gen.Add(1)
	if w.sleeping.CompareAndSwap(true, false) {
		w.wake <- struct{}{}
	}
}

// wait waits for w's chunk to finish, yielding meanwhile.
func (w *worker) wait() {
	for w.done.Load() != w.gen.Load() {
		runtime.Gosched()
	}
}

// runPooled runs fn on the chunks [lo_c, hi_c) of n (c < chunks, each per
// long but the last), chunk 0 on the calling goroutine and the others on
// pooled workers. It returns false, having run nothing, if the pool is in
// use.
func runPooled(n, per, chunks int, fn func(lo, hi int)) bool {
	if !pool.mu.TryLock() {
		return false
	}
	for len(pool.workers) < chunks-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		pool.workers = append(pool.workers, w)
		go w.loop()
	}
	ws := pool.workers[:chunks-1]
	// Even if chunk 0 panics, the workers finish before the pool is free.
	defer func() {
		for _, w := range ws {
			w.wait()
		}
		pool.mu.Unlock()
	}()
	for c, w := range ws {
		lo := (c + 1) * per
		w.start(fn, lo, min(lo+per, n))
	}
	fn(0, min(per, n))
	return true
}
