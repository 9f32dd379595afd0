// Command text measures the training throughput of the toolkit's text
// encoder, for a side-by-side comparison with PyTorch (torch_text.py in
// this directory builds the same model; run.sh runs both and prints a
// table), and the inference throughput of `mrl embed` on texts.
//
// Tokenisation is excluded from both sides' training figures: `-gen DIR`
// tokenises a synthetic corpus once with package text and writes the
// batches as NPY files, which both programs read:
//
//	DIR/ids.npy      int32 [total ids]   feature ids of every bag, in order
//	DIR/offsets.npy  int64 [bags+1]      bag i is ids[offsets[i]:offsets[i+1]]
//	DIR/meta.json    buckets, batch, batches, the model sizes
//
// Batch b is bags [2·b·n, 2·(b+1)·n): n queries then their n documents.
// The corpus is synthetic (a Zipf vocabulary of 20,000 pseudo-words;
// queries of 4-12 words, documents of 30-90 words), so every figure is
// about speed, not quality.
//
// `-run DIR` times the training step — ZeroGrad, embedding bag (mean) over
// 2n bags, MLP, the contrastive Matryoshka loss (InfoNCE at τ = 0.05 over
// in-batch negatives at every dim 8..D, summed), backward, and the
// optimizer (AdamW on the MLP, lazy Adam on the bag's touched rows, lr 1e-3,
// wd 0.01 on the MLP weights: PyTorch's AdamW + SparseAdam) — after
// -warmup untimed steps, over -steps steps, and prints one JSON line:
//
//	{"impl":"go","model":"text","threads":1,"batch":256,"samples_per_sec":...}
//
// A sample is one (query, document) pair. `-embed DIR` instead times
// model.EmbedTexts (tokenise + embed) on the corpus' documents and prints
// texts/s, which is what `mrl embed` does per text.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/nn"
	"github.com/gomrl/mrl/text"
)

// meta describes a generated benchmark set; torch_text.py reads it.
type meta struct {
	Buckets int     `json:"buckets"`
	BagDim  int     `json:"bag_dim"`
	Hidden  []int   `json:"hidden"`
	Embed   int     `json:"embed"`
	Nesting []int   `json:"nesting"`
	Batch   int     `json:"batch"`
	Batches int     `json:"batches"`
	Tau     float64 `json:"tau"`
	LR      float64 `json:"lr"`
	WD      float64 `json:"wd"`
}

type result struct {
	Impl          string  `json:"impl"`
	Model         string  `json:"model"`
	Threads       int     `json:"threads"`
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"`
	Warmup        int     `json:"warmup"`
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	Loss          float64 `json:"loss"`
	Kernels       string  `json:"kernels"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	Params        int     `json:"params"`
	Buckets       int     `json:"buckets"`
	IDsPerSample  float64 `json:"ids_per_sample"`
}

func main() {
	gen := flag.String("gen", "", "tokenise a synthetic corpus into this directory and exit")
	runDir := flag.String("run", "", "time training on the batches in this directory")
	embedDir := flag.String("embed", "", "time model.EmbedTexts on the documents of this directory's corpus")
	buckets := flag.Int("buckets", 1<<17, "-gen: hash buckets")
	bagDim := flag.Int("bag-dim", 256, "-gen: embedding bag width")
	hidden := flag.String("hidden", "", "-gen: comma-separated MLP hidden widths (default none: one Linear to -embed-dim)")
	embedDim := flag.Int("embed-dim", 512, "-gen: embedding size D (nesting 8..D)")
	batch := flag.Int("batch", 256, "-gen: pairs per batch")
	batches := flag.Int("batches", 8, "-gen: distinct batches (cycled through)")
	threads := flag.Int("threads", 1, "kernel goroutines (kernel.SetThreads) and GOMAXPROCS")
	steps := flag.Int("steps", 20, "timed steps")
	warmup := flag.Int("warmup", 3, "untimed warm-up steps")
	texts := flag.Int("texts", 20000, "-embed: texts to embed")
	cpuprofile := flag.String("cpuprofile", "", "-run: write a CPU profile of the timed steps to this file")
	flag.Parse()
	if err := kernel.EnvError(); err != nil {
		fail(err)
	}
	runtime.GOMAXPROCS(*threads)
	kernel.SetThreads(*threads)
	switch {
	case *gen != "":
		hs, err := parseInts(*hidden)
		if err != nil {
			fail(err)
		}
		m := meta{Buckets: *buckets, BagDim: *bagDim, Hidden: hs, Embed: *embedDim, Nesting: mrl.DefaultNesting(*embedDim),
			Batch: *batch, Batches: *batches, Tau: 0.05, LR: 1e-3, WD: 0.01}
		if err := generate(*gen, m); err != nil {
			fail(err)
		}
	case *runDir != "":
		if err := runTrain(*runDir, *threads, *steps, *warmup, *cpuprofile); err != nil {
			fail(err)
		}
	case *embedDir != "":
		if err := runEmbed(*embedDir, *threads, *texts); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("give -gen DIR, -run DIR or -embed DIR"))
	}
}

func parseInts(s string) ([]int, error) {
	out := []int{} // JSON [] rather than null
	if s == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		var v int
		if _, err := fmt.Sscan(f, &v); err != nil {
			return nil, fmt.Errorf("-hidden %q: %v", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// corpus returns n synthetic (query, document) pairs: Zipf-distributed
// pseudo-words.
func corpus(n int, seed uint64) (queries, docs []string) {
	r := rand.New(rand.NewPCG(seed, 7))
	const vocab = 20000
	words := make([]string, vocab)
	letters := "abcdefghijklmnopqrstuvwxyz"
	for i := range words {
		b := make([]byte, 3+r.IntN(8))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		words[i] = string(b)
	}
	z := rand.NewZipf(r, 1.1, 2, vocab-1)
	sentence := func(k int) string {
		parts := make([]string, k)
		for i := range parts {
			parts[i] = words[z.Uint64()]
		}
		return strings.Join(parts, " ")
	}
	for range n {
		queries = append(queries, sentence(4+r.IntN(9)))
		docs = append(docs, sentence(30+r.IntN(61)))
	}
	return queries, docs
}

func newModel(m meta) (*model.Model, error) {
	return model.New(model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: m.Buckets}, BagDim: m.BagDim,
		TextHidden: m.Hidden, Embed: m.Embed, Nesting: m.Nesting, Temperature: m.Tau}, 1)
}

func generate(dir string, m meta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod, err := newModel(m)
	if err != nil {
		return err
	}
	qs, ds := corpus(m.Batch*m.Batches, 1)
	var ids []int32
	offsets := []float64{0} // written as int64
	for b := 0; b < m.Batches; b++ {
		for _, side := range [][]string{qs, ds} {
			for _, s := range side[b*m.Batch : (b+1)*m.Batch] {
				ids = mod.Tokenizer.Append(ids, s)
				offsets = append(offsets, float64(len(ids)))
			}
		}
	}
	if len(ids) >= 1<<24 {
		return fmt.Errorf("%d ids: data.ReadNPY reads integers as float32, exact below 2^24; use fewer -batches", len(ids))
	}
	idf := make([]float64, len(ids))
	for i, v := range ids {
		idf[i] = float64(v)
	}
	if err := writeNPYInt(filepath.Join(dir, "ids.npy"), "<i4", 4, idf); err != nil {
		return err
	}
	if err := writeNPYInt(filepath.Join(dir, "offsets.npy"), "<i8", 8, offsets); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(dir, "meta.json"), js, 0o644)
}

// writeNPYInt writes a 1-D little-endian integer NPY file (version 1.0).
func writeNPYInt(path, descr string, size int, v []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", descr, len(v))
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	w.WriteString("\x93NUMPY\x01\x00")
	w.WriteByte(byte(len(header)))
	w.WriteByte(byte(len(header) >> 8))
	w.WriteString(header)
	buf := make([]byte, size)
	for _, x := range v {
		u := uint64(int64(x))
		for i := range buf {
			buf[i] = byte(u >> (8 * i))
		}
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readMeta(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func readInts(path string) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, _, err := data.ReadNPY(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out, nil
}

func runTrain(dir string, threads, steps, warmup int, cpuprofile string) error {
	mt, err := readMeta(dir)
	if err != nil {
		return err
	}
	ids, err := readInts(filepath.Join(dir, "ids.npy"))
	if err != nil {
		return err
	}
	offs, err := readInts(filepath.Join(dir, "offsets.npy")) // exact below 2^24 ids (float32 in ReadNPY)
	if err != nil {
		return err
	}
	m, err := newModel(mt)
	if err != nil {
		return err
	}
	opt := nn.NewAdamW(m.Params(), mt.WD)
	n, d := mt.Batch, mt.Embed
	dz := nn.NewTensor(2*n, d)
	// Each batch's offsets rebased to 0, once.
	type bagBatch struct{ ids, offs []int32 }
	bb := make([]bagBatch, mt.Batches)
	for b := range bb {
		o := offs[2*n*b : 2*n*(b+1)+1]
		base := o[0]
		rb := make([]int32, len(o))
		for i, v := range o {
			rb[i] = v - base
		}
		bb[b] = bagBatch{ids: ids[base:o[len(o)-1]], offs: rb}
	}
	var loss float64
	step := func(i int) {
		b := bb[i%len(bb)]
		opt.ZeroGrad()
		z := m.EmbedTokens(b.ids, b.offs, true)
		loss = m.Contrastive.Forward(z.Data, d, z.Data[n*d:], d, n).Total
		m.Contrastive.Backward(dz.Data, d, dz.Data[n*d:], d)
		m.BackwardTokens(dz)
		opt.Step(mt.LR)
	}
	for i := 0; i < warmup; i++ {
		step(i)
	}
	runtime.GC()
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	t0 := time.Now()
	for i := 0; i < steps; i++ {
		step(warmup + i)
	}
	sec := time.Since(t0).Seconds()
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("loss %v: the step is broken", loss)
	}
	out, _ := json.Marshal(result{Impl: "go", Model: "text", Threads: threads, Batch: n, Steps: steps, Warmup: warmup,
		Seconds: sec, SamplesPerSec: float64(steps*n) / sec, Loss: loss, Kernels: kernel.CurrentLevel().String(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Params: m.NumParams(), Buckets: mt.Buckets,
		IDsPerSample: float64(len(ids)) / float64(mt.Batches*n)})
	fmt.Println(string(out))
	return nil
}

func runEmbed(dir string, threads, n int) error {
	mt, err := readMeta(dir)
	if err != nil {
		return err
	}
	m, err := newModel(mt)
	if err != nil {
		return err
	}
	_, docs := corpus(n, 2)
	t0 := time.Now()
	if _, err := m.EmbedTexts(docs, 512); err != nil {
		return err
	}
	sec := time.Since(t0).Seconds()
	out, _ := json.Marshal(map[string]any{"impl": "go", "what": "embed", "threads": threads, "texts": n,
		"seconds": sec, "texts_per_sec": float64(n) / sec, "kernels": kernel.CurrentLevel().String()})
	fmt.Println(string(out))
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/train/text:", err)
	os.Exit(1)
}
