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

// worker is one pooled goroutine. Its state is idle (spinning), parked
// (blocked on wake, or about to be) or busy (a chunk handed over and not
// yet finished). The dispatcher writes fn, lo and hi and swaps the state
// to busy, sending a token on wake if it swapped it from parked; the
// worker parks only by moving the state from idle to parked, so every
// park is answered by exactly one token, and it sets the state back to
// idle when the chunk is done.
type worker struct {
	state  atomic.Int32
	wake   chan struct{} // capacity 1
	fn     func(lo, hi int)
	lo, hi int
	_      [64]byte // keep the next worker's state off this cache line
}

const (
	idle int32 = iota
	parked
	busy
)

func (w *worker) loop() {
	for {
		w.next()
		w.fn(w.lo, w.hi)
		w.fn = nil // let the closure's data go
		w.state.Store(idle)
	}
}

// next waits for a chunk: spinning for spinTime, then parked until the
// dispatcher's token.
func (w *worker) next() {
	start := time.Now()
	for i := 0; ; i++ {
		if w.state.Load() == busy {
			return
		}
		if i%64 == 63 && time.Since(start) > time.Duration(spinTime.Load()) {
			if w.state.CompareAndSwap(idle, parked) {
				<-w.wake // the dispatcher set busy before sending
			}
			return // busy: the CAS failed because a chunk came in
		}
		runtime.Gosched()
	}
}

// start hands [lo, hi) of fn to w, which must not be busy.
func (w *worker) start(fn func(lo, hi int), lo, hi int) {
	w.fn, w.lo, w.hi = fn, lo, hi
	if w.state.Swap(busy) == parked {
		w.wake <- struct{}{}
	}
}

// wait waits for w's chunk to finish, yielding meanwhile.
func (w *worker) wait() {
	for w.state.Load() == busy {
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
