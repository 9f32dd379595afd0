package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// pinned runs fn on one OS thread bound to CPU cpu (cpu < 0: as is), then
// restores the thread's CPU set. Single-query QPS is measured this way for
// every engine (hnswlib_bench.cpp and faiss_index.py bind their searching
// thread to the same CPU): a thread that the scheduler moves to the other
// core finds its L1 and L2 cold, which measured the scheduler as much as
// the engine.
func pinned(cpu int, fn func()) {
	if cpu < 0 {
		fn()
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		fmt.Fprintf(os.Stderr, "bench/index: not pinning to CPU %d: %v\n", cpu, err)
		fn()
		return
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		fmt.Fprintf(os.Stderr, "bench/index: not pinning to CPU %d: %v\n", cpu, err)
		fn()
		return
	}
	defer unix.SchedSetaffinity(0, &old)
	fn()
}
