// Command adapter measures the training time of a Matryoshka adapter
// (package adapter): the one-off exact neighbour search over the training
// rows and the seconds per epoch, on n × d embeddings read from -in (NPY)
// or made by adapter.Synthetic, with -threads compute threads. It prints
// one JSON line:
//
//	{"n":60000,"d":512,"threads":2,"neighbors_sec":...,"epoch_sec":[...],"kernels":"..."}
//
// The aim is under a minute per epoch for 60k × 512 on 2 cores.
// The funnel's wall-clock speed-up at equal recall is measured by
// "mrl adapt eval --funnel" (best of 3 runs per plan). Take figures on an
// idle machine: other processes on the same cores change them.
//
// Usage:
//
//	go run ./bench/adapter -n 60000 -d 512 -threads 2 -epochs 2
//	go run ./bench/adapter -in fm_train.npy -threads 2 -epochs 1
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

func main() {
	in := flag.String("in", "", "NPY embeddings (default: synthetic)")
	n := flag.Int("n", 60000, "synthetic rows")
	d := flag.Int("d", 512, "synthetic dims")
	epochs := flag.Int("epochs", 2, "epochs to time")
	threads := flag.Int("threads", 2, "compute threads")
	hidden := flag.Int("hidden", 0, "residual MLP width")
	maxRows := flag.Int("rows", 0, "use only the first rows of -in (0: all)")
	steps := flag.Int("steps", 0, "stop after this many training steps (0: run the epochs); the CPU seconds per step are reported either way")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the training steps (not the neighbour search) to this file")
	flag.Parse()
	kernel.SetThreads(*threads)
	var x []float32
	rows, dim := *n, *d
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fail(err)
		}
		var shape []int
		x, shape, err = data.ReadNPY(bufio.NewReader(f))
		f.Close()
		if err != nil || len(shape) != 2 {
			fail(fmt.Errorf("%s: %v (shape %v)", *in, err, shape))
		}
		rows, dim = shape[0], shape[1]
		if *maxRows > 0 && *maxRows < rows {
			rows = *maxRows
			x = x[:rows*dim]
		}
	} else {
		var err error
		if x, _, err = adapter.Synthetic(adapter.SyntheticOptions{N: rows, D: dim, Seed: 1}); err != nil {
			fail(err)
		}
	}
	var epochSec []float64
	t0 := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		nsteps       int
		neighborsEnd time.Duration
		cpuStart     time.Duration
		prof         *os.File
	)
	// The step counter rides on the per-step loss hook (it adds nothing to
	// the loss or the gradient); the first step starts the profile and the
	// CPU clock, after the one-off neighbour search.
	count := func(_ *nn.Tensor, _ []int, _ *nn.Tensor) float64 {
		if nsteps == 0 {
			neighborsEnd = time.Since(t0)
			cpuStart = cpuTime()
			if *cpuProfile != "" {
				var err error
				if prof, err = os.Create(*cpuProfile); err != nil {
					fail(err)
				}
				if err := pprof.StartCPUProfile(prof); err != nil {
					fail(err)
				}
			}
		}
		nsteps++
		if *steps > 0 && nsteps >= *steps {
			cancel()
		}
		return 0
	}
	_, res, err := adapter.Train(ctx, x, rows, dim, adapter.Options{Epochs: *epochs, Hidden: *hidden, ValFrac: -1, Extra: count,
		Progress: func(s adapter.EpochStats) {
			if s.Epoch > 0 {
				epochSec = append(epochSec, s.Elapsed.Seconds())
			}
		}})
	cpu := cpuTime() - cpuStart
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	if err != nil && ctx.Err() == nil {
		fail(err)
	}
	opt := adapter.Options{}.WithDefaults(dim)
	stepsPerEpoch := (rows + opt.Anchors - 1) / opt.Anchors
	perStep := cpu.Seconds() / float64(max(nsteps, 1))
	out := map[string]any{"n": rows, "d": dim, "threads": *threads, "hidden": *hidden, "neighbors_sec": res.NeighborTime.Seconds(),
		"steps": nsteps, "cpu_sec_per_step": perStep, "cpu_sec_per_epoch": perStep * float64(stepsPerEpoch),
		"epoch_sec": epochSec, "total_sec": time.Since(t0).Seconds(), "neighbors_wall_sec": neighborsEnd.Seconds(), "kernels": kernel.Describe()}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "adapter bench:", err)
	os.Exit(1)
}
