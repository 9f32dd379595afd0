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
//
// With -layer-times it also prints to stderr each convolution's forward
// and backward time per step and the rest of the backbone's (batch norm,
// ReLUs, residual sums): where a CNN step goes, at each kernel level
// (MRL_KERNEL).
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
	layerTimes := flag.Bool("layer-times", false, "also print, to stderr, each convolution's forward and backward ms per timed step and the rest of the backbone's")
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

	var convs []*timedLayer
	if *layerTimes {
		timeConvs(m.Backbone, "backbone", &convs)
	}
	var loss float64
	var backbone time.Duration // forward and backward of the backbone, timed steps
	step := func(i int) {
		x, y := xs[i%pool], ys[i%pool]
		opt.ZeroGrad()
		t0 := time.Now()
		z := m.Embed(x, *batch, true)
		fwd := time.Since(t0)
		m.Head.Forward(z)
		loss = m.Head.Loss(y, 0).Total
		dz := m.Head.Backward()
		t1 := time.Now()
		m.Backbone.Backward(dz)
		if i >= *warmup {
			backbone += fwd + time.Since(t1)
		}
		opt.Step(lr)
	}
	for i := 0; i < *warmup; i++ {
		step(i)
	}
	for _, l := range convs {
		l.fwd, l.bwd = 0, 0
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
	if *layerTimes {
		printLayerTimes(convs, backbone, *steps)
	}
}

// timedLayer wraps a convolution to time its Forward and Backward. Only
// convolutions are wrapped: a wrapped BatchNorm or Residual would no
// longer fuse with the ReLU after it (nn.Sequential), which would change
// what is timed.
type timedLayer struct {
	nn.Layer
	name     string
	fwd, bwd time.Duration
}

func (t *timedLayer) Forward(x *nn.Tensor, train bool) *nn.Tensor {
	t0 := time.Now()
	y := t.Layer.Forward(x, train)
	t.fwd += time.Since(t0)
	return y
}

func (t *timedLayer) Backward(dy *nn.Tensor) *nn.Tensor {
	t0 := time.Now()
	dx := t.Layer.Backward(dy)
	t.bwd += time.Since(t0)
	return dx
}

// BackwardAdd times the wrapped convolution's BackwardAdd (a Residual's
// projection adds its input gradient to the body's through it).
func (t *timedLayer) BackwardAdd(dy, acc *nn.Tensor) bool {
	a, ok := t.Layer.(nn.InputGradAdder)
	if !ok {
		return false
	}
	t0 := time.Now()
	added := a.BackwardAdd(dy, acc)
	t.bwd += time.Since(t0)
	return added
}

// timeConvs replaces every Conv2d in l (through Sequentials and
// Residuals) by a timedLayer around it, appended to out in model order.
func timeConvs(l nn.Layer, name string, out *[]*timedLayer) nn.Layer {
	switch v := l.(type) {
	case *nn.Sequential:
		for i, c := range v.Layers {
			v.Layers[i] = timeConvs(c, fmt.Sprintf("%s.%d", name, i), out)
		}
	case *nn.Residual:
		v.Body = timeConvs(v.Body, name+".body", out)
		if v.Shortcut != nil {
			v.Shortcut = timeConvs(v.Shortcut, name+".shortcut", out)
		}
	case *nn.Conv2d:
		t := &timedLayer{Layer: v, name: fmt.Sprintf("%s conv%dx%d %d->%d stride %d", name, v.K, v.K, v.InC, v.OutC, v.Stride)}
		*out = append(*out, t)
		return t
	}
	return l
}

// printLayerTimes prints each convolution's ms per step, forward and
// backward, then the backbone's total and what the convolutions leave
// of it (batch norm, ReLUs, residual sums, pooling).
func printLayerTimes(convs []*timedLayer, backbone time.Duration, steps int) {
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(steps) }
	var sum time.Duration
	for _, l := range convs {
		fmt.Fprintf(os.Stderr, "%-48s forward %7.2f ms  backward %7.2f ms\n", l.name, ms(l.fwd), ms(l.bwd))
		sum += l.fwd + l.bwd
	}
	fmt.Fprintf(os.Stderr, "backbone forward+backward %.2f ms per step: convolutions %.2f, the rest %.2f\n", ms(backbone), ms(sum), ms(backbone-sum))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/train:", err)
	os.Exit(1)
}
