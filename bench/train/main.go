// Command train measures the training throughput of the toolkit's engine on
// the two reference models, for a side-by-side comparison with PyTorch
// (torch_train.py in this directory builds the same models; run.sh runs
// both and prints a table).
//
// It runs the training step of train.Trainer directly — ZeroGrad, forward
// through the backbone and the Matryoshka heads, loss, backward, SGD step —
// on random inputs (pixels uniform in [0,1), labels uniform in 0..9), so
// no data loading or shuffling is timed. After -warmup untimed steps it
// times -steps steps and prints one JSON line:
//
//	{"impl":"go","model":"mlp","threads":1,"batch":256,"samples_per_sec":...,"gemm":"avx2-fma 6x16",...}
//
// The models:
//
//	mlp: 784 → Linear(1024) → BN → ReLU → Linear(2048) → BN → ReLU = 2048-d
//	     embedding; MRL heads Linear(m, 10) on z[:, :m], m = 8, 16, ..., 2048
//	cnn: 1×28×28 → conv3x3(16) → BN → ReLU → basic block(32, stride 2) →
//	     basic block(64, stride 2) → conv1x1(512) → BN → ReLU → global
//	     average pool = 512-d embedding; MRL heads m = 8, ..., 512
//
// The loss is the sum over heads of the mean cross-entropy; the optimizer is
// SGD with lr 0.1, momentum 0.9 and weight decay 5e-4 on every parameter
// (DecayAll, as torch.optim.SGD applies it to biases and BN scales too).
//
// Usage:
//
//	go run ./bench/train -model mlp -threads 1 -steps 30 -warmup 5
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/nn"
)

// result is the JSON line printed; torch_train.py prints the same fields.
type result struct {
	Impl          string  `json:"impl"`
	Model         string  `json:"model"`
	Threads       int     `json:"threads"`
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"`
	Warmup        int     `json:"warmup"`
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	// CPUSeconds is the process's user+system CPU time over the timed
	// steps: on a busy machine, samples per CPU second at 1 thread is a
	// steadier provisional figure than the wall-clock rate (it still
	// feels other loads through the shared caches and memory). 0 where
	// the system does not report it.
	CPUSeconds float64 `json:"cpu_seconds"`
	Loss       float64 `json:"loss"` // of the last step, a sanity check
	Gemm       string  `json:"gemm"`
	Kernels    string  `json:"kernels"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Params     int     `json:"params"`
}

// configs are the two benchmark models; torch_train.py must match them.
var configs = map[string]model.Config{
	"mlp": {Arch: "mlp", InH: 28, InW: 28, InC: 1, Hidden: 1024, Embed: 2048, Heads: "mrl", Classes: 10},
	"cnn": {Arch: "cnn", InH: 28, InW: 28, InC: 1, Width: 16, Embed: 512, Heads: "mrl", Classes: 10},
}

// pool is the number of distinct random batches cycled through.
const pool = 4

func main() {
	arch := flag.String("model", "mlp", "model: mlp or cnn")
	threads := flag.Int("threads", 1, "kernel goroutines (kernel.SetThreads)")
	procs := flag.Int("procs", 0, "GOMAXPROCS; 0 means equal to -threads, so the Go runtime uses no more cores than the peer")
	batch := flag.Int("batch", 256, "batch size")
	steps := flag.Int("steps", 30, "timed training steps")
	warmup := flag.Int("warmup", 5, "untimed warm-up steps")
	seed := flag.Uint64("seed", 1, "seed of the weights and the random batches")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	listLevels := flag.Bool("levels", false, "print the kernel levels this machine runs (lowest first) and exit")
	flag.Parse()
	if *listLevels {
		for _, l := range kernel.Levels() {
			fmt.Println(l)
		}
		return
	}
	if err := kernel.EnvError(); err != nil {
		fail(err)
	}

	cfg, ok := configs[*arch]
	if !ok {
		fail(fmt.Errorf("unknown -model %q: want mlp or cnn", *arch))
	}
	if *threads < 1 || *batch < 2 || *steps < 1 || *warmup < 0 {
		fail(fmt.Errorf("need -threads >= 1, -batch >= 2, -steps >= 1, -warmup >= 0"))
	}
	if *procs == 0 {
		*procs = *threads
	}
	runtime.GOMAXPROCS(*procs)
	kernel.SetThreads(*threads)

	m, err := model.New(cfg, *seed)
	if err != nil {
		fail(err)
	}
	opt := nn.NewSGD(m.Params(), 0.9, 5e-4, false)
	opt.DecayAll = true
	const lr = 0.1

	r := rand.New(rand.NewPCG(*seed, 2))
	dim := m.InputDim()
	xs := make([][]float32, pool)
	ys := make([][]int32, pool)
	for i := range xs {
		xs[i] = make([]float32, *batch*dim)
		for j := range xs[i] {
			xs[i][j] = r.Float32()
		}
		ys[i] = make([]int32, *batch)
		for j := range ys[i] {
			ys[i][j] = int32(r.IntN(cfg.Classes))
		}
	}

	var loss float64
	step := func(i int) {
		x, y := xs[i%pool], ys[i%pool]
		opt.ZeroGrad()
		z := m.Embed(x, *batch, true)
		m.Head.Forward(z)
		loss = m.Head.Loss(y, 0).Total
		dz := m.Head.Backward()
		m.Backbone.Backward(dz)
		opt.Step(lr)
	}
	for i := 0; i < *warmup; i++ {
		step(i)
	}
	runtime.GC() // start the timed steps with a clean heap
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer f.Close()
	}
	c0 := cpuSeconds()
	t0 := time.Now()
	for i := 0; i < *steps; i++ {
		step(*warmup + i)
	}
	sec := time.Since(t0).Seconds()
	cpu := cpuSeconds() - c0
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		fail(fmt.Errorf("loss %v after %d steps: the step is broken", loss, *warmup+*steps))
	}

	out, err := json.Marshal(result{
		Impl: "go", Model: *arch, Threads: *threads, Batch: *batch, Steps: *steps, Warmup: *warmup,
		Seconds: sec, SamplesPerSec: float64(*steps**batch) / sec, CPUSeconds: cpu, Loss: loss,
		Gemm: kernel.Impl, Kernels: kernel.CurrentLevel().String(), GOMAXPROCS: runtime.GOMAXPROCS(0), Params: m.NumParams(),
	})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/train:", err)
	os.Exit(1)
}
