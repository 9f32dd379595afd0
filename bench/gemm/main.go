// Command gemm measures kernel.Sgemm in GFLOP/s on square sizes and on the
// shapes of a training step, at each thread count, against one core's
// measured fp32 FMA peak; numpy_gemm.py runs the same shapes through numpy
// on OpenBLAS and run.sh prints both side by side.
//
// A shape is m, n, k and the transposes of C = op(A)·op(B) (2·m·n·k flops),
// with A stored k×m when transposed and B stored n×k when transposed. Each
// measurement repeats the product for at least -mintime, -reps times, and
// reports the fastest single product ("gflops") and the best repetition's
// mean ("gflops_mean"). It prints JSON lines: first
//
//	{"impl":"go","fma_peak_gflops":...,"fma_peak_lanes":16,"gemm":"avx512 12x32","kernels":"avx512"}
//
// then one per shape and thread count:
//
//	{"impl":"go","shape":"fc1_fwd","m":256,"n":1024,"k":784,"ta":false,"tb":true,"threads":1,"gflops":...,"gflops_mean":...}
//
// Usage:
//
//	go run ./bench/gemm -threads 1,2 -shapes sq256,fc1_fwd -mintime 200ms
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomrl/mrl/internal/kernel"
)

// Shape is one product; numpy_gemm.py has the same list.
type Shape struct {
	Name    string `json:"shape"`
	M       int    `json:"m"`
	N       int    `json:"n"`
	K       int    `json:"k"`
	TA      bool   `json:"ta"`
	TB      bool   `json:"tb"`
	Threads int    `json:"threads"`
}

var shapes = []Shape{
	{Name: "sq256", M: 256, N: 256, K: 256},
	{Name: "sq512", M: 512, N: 512, K: 512},
	{Name: "sq1024", M: 1024, N: 1024, K: 1024},
	{Name: "sq2048", M: 2048, N: 2048, K: 2048},
	{Name: "fc1_fwd", M: 256, N: 1024, K: 784, TB: true},  // MLP fc1 forward: X·Wᵀ
	{Name: "fc2_fwd", M: 256, N: 2048, K: 1024, TB: true}, // MLP fc2 forward
	{Name: "fc1_dW", M: 1024, N: 784, K: 256, TA: true},   // MLP fc1 weight gradient: dYᵀ·X
	{Name: "fc2_dX", M: 256, N: 1024, K: 2048},            // MLP fc2 input gradient: dY·W
	{Name: "conv_fwd", M: 50176, N: 32, K: 144, TB: true}, // im2col conv: 256·14·14 rows, 3·3·16 columns, 32 channels
}

type peak struct {
	Impl    string  `json:"impl"`
	Peak    float64 `json:"fma_peak_gflops"`
	Width   int     `json:"fma_peak_lanes"` // fp32 lanes of the vectors the peak was measured with
	Gemm    string  `json:"gemm"`
	Kernels string  `json:"kernels"`
	Procs   int     `json:"gomaxprocs"`
}

type result struct {
	Impl string `json:"impl"`
	Shape
	GFLOPS float64 `json:"gflops"`      // fastest single product
	Mean   float64 `json:"gflops_mean"` // best repetition as a whole
}

func main() {
	threadList := flag.String("threads", "1,2", "comma-separated thread counts")
	only := flag.String("shapes", "", "comma-separated shape names (default all: "+names()+")")
	minTime := flag.Duration("mintime", 300*time.Millisecond, "minimum time of one repetition")
	reps := flag.Int("reps", 5, "repetitions per measurement; the best is kept")
	peakTime := flag.Duration("peaktime", time.Second, "time spent measuring the FMA peak")
	flag.Parse()
	if err := kernel.EnvError(); err != nil {
		fail(err)
	}

	var ts []int
	for _, f := range strings.Split(*threadList, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			fail(fmt.Errorf("bad -threads entry %q", f))
		}
		ts = append(ts, t)
	}
	sel, err := selectShapes(*only)
	if err != nil {
		fail(err)
	}
	if *reps < 1 {
		fail(fmt.Errorf("-reps %d: need at least 1", *reps))
	}
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), maxOf(ts)))

	lanes := 8
	if slices.Contains(kernel.Levels(), kernel.AVX512) {
		lanes = 16
	}
	emit(peak{Impl: "go", Peak: kernel.FMAPeakGFLOPS(*peakTime), Width: lanes, Gemm: kernel.Impl,
		Kernels: kernel.CurrentLevel().String(), Procs: runtime.GOMAXPROCS(0)})
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range sel {
		a, b, c := fill(r, s.M*s.K), fill(r, s.K*s.N), make([]float32, s.M*s.N)
		for _, t := range ts {
			s.Threads = t
			best, mean := measure(s, a, b, c, *minTime, *reps)
			emit(result{Impl: "go", Shape: s, GFLOPS: best, Mean: mean})
		}
	}
}

// measure runs reps repetitions of at least minTime and returns the
// GFLOP/s of the fastest single product (what the machine can do when
// nothing disturbs the call) and of the best repetition as a whole
// (sustained, including the calls another process slowed down).
func measure(s Shape, a, b, c []float32, minTime time.Duration, reps int) (best, mean float64) {
	lda, ldb := s.K, s.N
	if s.TA {
		lda = s.M
	}
	if s.TB {
		ldb = s.K
	}
	defer kernel.SetThreads(kernel.SetThreads(s.Threads))
	call := func() { kernel.Sgemm(s.TA, s.TB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N) }
	call() // warm up caches, goroutines and page faults of c
	flops := 2 * float64(s.M) * float64(s.N) * float64(s.K)
	for range reps {
		n := 0
		t0 := time.Now()
		for n == 0 || time.Since(t0) < minTime {
			t1 := time.Now()
			call()
			best = max(best, flops/time.Since(t1).Seconds()/1e9)
			n++
		}
		mean = max(mean, flops*float64(n)/time.Since(t0).Seconds()/1e9)
	}
	return best, mean
}

func selectShapes(only string) ([]Shape, error) {
	if only == "" {
		return shapes, nil
	}
	var sel []Shape
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, s := range shapes {
			if s.Name == strings.TrimSpace(name) {
				sel = append(sel, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown shape %q (have %s)", name, names())
		}
	}
	return sel, nil
}

func names() string {
	var ns []string
	for _, s := range shapes {
		ns = append(ns, s.Name)
	}
	return strings.Join(ns, ",")
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func fill(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/gemm:", err)
	os.Exit(1)
}
