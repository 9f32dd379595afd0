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
	"time"

	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
)

func main() {
	in := flag.String("in", "", "NPY embeddings (default: synthetic)")
	n := flag.Int("n", 60000, "synthetic rows")
	d := flag.Int("d", 512, "synthetic dims")
	epochs := flag.Int("epochs", 2, "epochs to time")
	threads := flag.Int("threads", 2, "compute threads")
	hidden := flag.Int("hidden", 0, "residual MLP width")
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
	} else {
		var err error
		if x, _, err = adapter.Synthetic(adapter.SyntheticOptions{N: rows, D: dim, Seed: 1}); err != nil {
			fail(err)
		}
	}
	var epochSec []float64
	t0 := time.Now()
	_, res, err := adapter.Train(context.Background(), x, rows, dim, adapter.Options{Epochs: *epochs, Hidden: *hidden, ValFrac: -1,
		Progress: func(s adapter.EpochStats) {
			if s.Epoch > 0 {
				epochSec = append(epochSec, s.Elapsed.Seconds())
			}
		}})
	if err != nil {
		fail(err)
	}
	out := map[string]any{"n": rows, "d": dim, "threads": *threads, "hidden": *hidden, "neighbors_sec": res.NeighborTime.Seconds(),
		"epoch_sec": epochSec, "total_sec": time.Since(t0).Seconds(), "kernels": kernel.Describe()}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "adapter bench:", err)
	os.Exit(1)
}
