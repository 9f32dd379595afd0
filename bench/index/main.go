// Command index is the engine benchmark of issue 5: Flat, HNSW, IVF and
// funnel plans (and the plan tuner's choice) on real MRL embeddings and on
// large synthetic Matryoshka-like sets, reporting one-query-at-a-time QPS,
// recall@10 against exact full-dim search, mAP@10 with labels as relevance
// (real sets), speed-up over exact full-dim Flat, FLOPs per query, build time
// and memory per vector. It also writes the vectors, queries and ground
// truth for the peers (faiss_index.py, hnswlib/hnswlib_bench.cpp) to -dir, and
// run.sh prints everything as tables.
//
// Sets:
//
//   - -ckpt CKPT: the checkpoint's embeddings of its dataset's train split
//     (the database) and test split (the queries, with labels), Cosine
//     metric, as eval measures them.
//   - -synth N: N rows of D = -synth-d floats from indextest.MatryoshkaLike
//     (16 Gaussian clusters; dim j has scale 1/sqrt(1+j), so the energy of a
//     row is concentrated in the leading dims, as in a Matryoshka
//     embedding, and a prefix ranks roughly like the full vector), plus
//     -synth-nq queries drawn in the same call, Cosine metric.
//
// Every search runs on one goroutine for QPS (kernel.SetThreads(1), queries
// one at a time, cycling, for at least -mintime); recall and mAP come from
// all queries (SearchBatch on all threads, which for these searchers gives
// the same rows as Search, up to float rounding in Flat's batched scores).
//
// With -graph-file the set's prefix graph is saved at the end of the run
// (one set per process: -synth or -ckpt); -hnsw-ab R then runs only the ef sweep on that graph, read back
// into the heap. run.sh alternates such processes with hnswlib's (which
// loads the index it saved) and compares medians over processes: on this
// VM one process's HNSW QPS varies up to 2x from the next one's.
//
// It prints JSON lines, one per measurement:
//
//	{"impl":"go","set":"fashion-mnist","method":"hnsw","graph_dim":64,"dim":512,"ef":64,"qps":..,"recall":..,"map":..,...}
//
// Usage:
//
//	go run ./bench/index -ckpt runs/fashion/mrl.ckpt -real-n 20000 -real-nq 2000
//	go run ./bench/index -synth 100000 -synth-d 256 -dir /tmp/peers
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomrl/mrl/bench/internal/peerfile"
	"github.com/gomrl/mrl/bench/internal/proc"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/train"
)

// config holds the flags.
type config struct {
	ckpt                    string
	realN, realNQ           int
	synthN, synthD, synthNQ int
	k                       int
	minTime                 time.Duration
	pinCPU                  int
	plans                   string
	graphDim                int
	m, efC                  int
	buildThreads            int
	efs                     []int
	hnswFull                bool
	hnswPlans               string
	ivfDim, ivfLists        int
	probes                  []int
	target                  float64
	tune, tuneSynth         bool
	tuneNQ                  int
	threads                 int
	batchNQ                 int
	dir                     string
	peerFilesOnly           bool
	seed                    uint64
	graphFile               string // the set's prefix graph: saved at the end of a run, loaded by -hnsw-ab
	abRound                 int    // > 0: only the prefix-graph ef sweep on the graph loaded from graphFile
}

func main() {
	var c config
	var efs, probes string
	flag.StringVar(&c.ckpt, "ckpt", "", "real set: embed this checkpoint's dataset (train = database, test = queries)")
	flag.IntVar(&c.realN, "real-n", 0, "real set: use the first N train rows (0: all)")
	flag.IntVar(&c.realNQ, "real-nq", 0, "real set: use the first NQ test rows as queries (0: all)")
	flag.IntVar(&c.synthN, "synth", 0, "synthetic set: N rows (0: none)")
	flag.IntVar(&c.synthD, "synth-d", 256, "synthetic set: D")
	flag.IntVar(&c.synthNQ, "synth-nq", 1000, "synthetic set: queries")
	flag.IntVar(&c.k, "k", 10, "results per query")
	flag.DurationVar(&c.minTime, "mintime", time.Second, "minimum time of each single-query QPS loop")
	flag.IntVar(&c.pinCPU, "pin-cpu", -1, "bind the thread of single-query QPS loops to this CPU (-1: no binding)")
	flag.StringVar(&c.plans, "plans", "16:200,D:10;32:200,D:10;64:100,D:10;8:800,32:100,D:10", "funnel plans with a Flat first stage, ';'-separated; D is the full dim")
	flag.IntVar(&c.graphDim, "graph-dim", 64, "prefix dim of the HNSW graph (and of the peers' HNSW)")
	flag.IntVar(&c.m, "m", 16, "HNSW M")
	flag.IntVar(&c.efC, "ef-construction", 100, "HNSW efConstruction")
	flag.IntVar(&c.buildThreads, "build-threads", 2, "goroutines building our HNSW graphs (the peers' build threads)")
	flag.StringVar(&efs, "efs", "10,16,24,32,48,64,96,128,192,256", "HNSW ef sweep")
	flag.StringVar(&c.hnswPlans, "hnsw-plans", "G:50,D:10;G:100,D:10;G:200,D:10;G:400,D:10", "funnel plans whose first stage is the HNSW graph, ';'-separated; G is the graph dim, D the full dim")
	flag.BoolVar(&c.hnswFull, "hnsw-full", true, "real sets: also build an HNSW graph at the full dim (if at most 1024)")
	flag.IntVar(&c.ivfDim, "ivf-dim", 64, "IVF cluster dim")
	flag.IntVar(&c.ivfLists, "ivf-lists", 0, "IVF lists (0: round(sqrt(N)))")
	flag.StringVar(&probes, "probes", "1,2,4,8,16,32", "IVF probe sweep")
	flag.Float64Var(&c.target, "target", 0.95, "the tuner's target recall@k")
	flag.BoolVar(&c.tune, "tune", true, "run the plan tuner on real sets (calibrate on half of the first -tune-nq queries, check on the other half)")
	flag.IntVar(&c.tuneNQ, "tune-nq", 1000, "queries the tuner calibrates (half) and checks (half) on")
	flag.BoolVar(&c.tuneSynth, "tune-synth", false, "also run the tuner on the synthetic set (slow at large N: every plan scans N rows per query)")
	flag.IntVar(&c.threads, "threads", 2, "threads for batched searches, ground truth and embedding")
	flag.IntVar(&c.batchNQ, "batch-nq", 1000, "queries of the batched Flat measurement")
	flag.StringVar(&c.dir, "dir", "", "write vectors, queries and ground truth for the peers under DIR/SET/")
	flag.BoolVar(&c.peerFilesOnly, "peer-files-only", false, "with -dir: write the peers' files and stop (run.sh measures in a second process: "+
		"on this VM, ~1.3 GB of freshly written files slowed the same process's later HNSW searches 2-5x)")
	flag.Uint64Var(&c.seed, "seed", 1, "synthetic generator seed")
	flag.StringVar(&c.graphFile, "graph-file", "", "save the set's prefix HNSW graph (vectors and links) to FILE at the end of the run (one set: -synth or -ckpt)")
	flag.IntVar(&c.abRound, "hnsw-ab", 0, "round R > 0: load the graph -graph-file holds and only sweep -efs on it at the graph dim (one set: -synth or -ckpt) "+
		"(run.sh alternates such processes with hnswlib's: one process's QPS varies up to 2x with where its memory lands on this VM)")
	flag.Parse()
	if err := kernel.EnvError(); err != nil {
		fail(err)
	}

	var err error
	if c.efs, err = parseInts(efs); err != nil {
		fail(fmt.Errorf("-efs: %w", err))
	}
	if c.probes, err = parseInts(probes); err != nil {
		fail(fmt.Errorf("-probes: %w", err))
	}
	if c.ckpt == "" && c.synthN == 0 {
		fail(fmt.Errorf("nothing to do: give -ckpt and/or -synth"))
	}
	if c.graphFile != "" && c.synthN > 0 && c.ckpt != "" {
		fail(fmt.Errorf("-graph-file saves one set's graph: give -synth or -ckpt, not both"))
	}
	if c.abRound > 0 && c.graphFile == "" {
		fail(fmt.Errorf("-hnsw-ab needs -graph-file"))
	}
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), c.threads))
	emit(map[string]any{"impl": "go", "info": true, "go": runtime.Version(), "gemm": kernel.Impl, "kernels": kernel.CurrentLevel().String(),
		"gomaxprocs": runtime.GOMAXPROCS(0), "threads": c.threads})

	if c.ckpt != "" {
		s, err := loadReal(c)
		if err != nil {
			fail(err)
		}
		if err := run(c, s); err != nil {
			fail(fmt.Errorf("%s: %w", s.name, err))
		}
		debug.FreeOSMemory()
	}
	if c.synthN > 0 {
		if err := run(c, synth(c)); err != nil {
			fail(fmt.Errorf("synth: %w", err))
		}
	}
	emit(map[string]any{"impl": "go", "peak_rss_mib": proc.PeakRSSMiB()})
}

// set is one benchmark set: database, queries (stride D) and labels.
type set struct {
	name              string
	v                 *index.Vectors
	q                 []float32
	nq, d             int
	qLabels, dbLabels []int32 // nil for synthetic sets
	counts            map[int32]int
	prep              time.Duration // embedding or generation time
}

func loadReal(c config) (*set, error) {
	t0 := time.Now()
	m, st, _, err := train.LoadModel(c.ckpt)
	if err != nil {
		return nil, fmt.Errorf("-ckpt: %w", err)
	}
	if st == nil || st.Data == "" {
		return nil, fmt.Errorf("%s: no dataset recorded in the checkpoint", c.ckpt)
	}
	tr, te, err := data.Load(st.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.ckpt, err)
	}
	n, nq := tr.N, te.N
	if c.realN > 0 {
		n = min(n, c.realN)
	}
	if c.realNQ > 0 {
		nq = min(nq, c.realNQ)
	}
	prev := kernel.SetThreads(c.threads)
	db := m.EmbedAll(tr.X, n, 512)
	q := m.EmbedAll(te.X, nq, 512)
	kernel.SetThreads(prev)
	d := m.Config.Embed
	v, err := index.NewVectors(db, n, d, mrl.Cosine, nil)
	if err != nil {
		return nil, err
	}
	s := &set{name: st.Data, v: v, q: q, nq: nq, d: d, qLabels: te.Y[:nq], dbLabels: tr.Y[:n], prep: time.Since(t0)}
	s.counts = eval.LabelCounts(s.dbLabels)
	emit(map[string]any{"impl": "go", "set": s.name, "setup": true, "ckpt": c.ckpt, "arch": m.Config.Arch,
		"heads": m.Config.Heads, "n": n, "nq": nq, "d": d, "embed_s": s.prep.Seconds()})
	return s, nil
}

func synth(c config) *set {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(c.seed, 0x5eed))
	all := indextest.MatryoshkaLike(rng, c.synthN+c.synthNQ, c.synthD)
	nd := c.synthN * c.synthD
	v, err := index.NewVectors(all[:nd:nd], c.synthN, c.synthD, mrl.Cosine, nil)
	if err != nil {
		fail(err)
	}
	s := &set{name: fmt.Sprintf("synth-%dx%d", c.synthN, c.synthD), v: v, q: all[nd:], nq: c.synthNQ, d: c.synthD, prep: time.Since(t0)}
	emit(map[string]any{"impl": "go", "set": s.name, "setup": true, "generator": "indextest.MatryoshkaLike",
		"n": c.synthN, "nq": c.synthNQ, "d": c.synthD, "gen_s": s.prep.Seconds()})
	return s
}

// bench holds one set's ground truth and the figures rows are compared to.
type bench struct {
	c        config
	s        *set
	gt, gtp  [][]int32 // exact top-k at D and at the graph dim
	exactQPS float64
	exactMAP float64
}

func run(c config, s *set) error {
	b := &bench{c: c, s: s}
	d := s.d
	gdim := min(c.graphDim, d)
	if err := s.v.Prepare(d, gdim); err != nil {
		return err
	}
	flat := index.NewFlat(s.v)

	// Ground truth: exact Flat at D and at the graph dim, batched.
	t0 := time.Now()
	var err error
	if b.gt, err = b.topk(flat, d); err != nil {
		return err
	}
	if b.gtp, err = b.topk(flat, gdim); err != nil {
		return err
	}
	emit(map[string]any{"impl": "go", "set": s.name, "truth_s": time.Since(t0).Seconds()})
	if c.dir != "" {
		if err := b.writePeerFiles(gdim); err != nil {
			return err
		}
	}
	if c.peerFilesOnly {
		return nil
	}
	if c.abRound > 0 {
		return b.hnswRound(gdim)
	}

	// Exact full-dim Flat: the reference.
	b.exactQPS = b.qps(flat, d)
	r := b.row("flat", flat, d, 0)
	b.exactMAP, _ = r["map"].(float64)
	r["qps"], r["speedup"] = b.exactQPS, 1.0
	r["flops"] = 2 * float64(s.v.N()) * float64(d)
	r["bytes_per_vec"] = 4*d + 4 // vectors and the norm at D (Cosine)
	emit(r)
	for _, t := range []int{1, c.threads} {
		nq := min(c.batchNQ, s.nq)
		prev := kernel.SetThreads(t)
		// The best of batchReps calls (faiss_index.py does the same): on
		// this VM one core at times stalls for seconds, which one call
		// measures as a 2-thread run no faster than a 1-thread one.
		best := 0.0
		for range batchReps {
			t0 := time.Now()
			if _, err := flat.SearchBatch(s.q[:nq*d], d, d, c.k, nil); err != nil {
				return err
			}
			best = max(best, float64(nq)/time.Since(t0).Seconds())
		}
		kernel.SetThreads(prev)
		emit(map[string]any{"impl": "go", "set": s.name, "method": "flat-batch", "dim": d, "d": d, "n": s.v.N(), "threads": t, "nq": nq,
			"qps": best, "reps": batchReps})
		if c.threads == 1 {
			break
		}
	}

	// Funnels with a Flat first stage.
	for _, ps := range strings.Split(c.plans, ";") {
		ps = strings.ReplaceAll(strings.TrimSpace(ps), "D", strconv.Itoa(d))
		plan, err := index.ParsePlan(ps)
		if err == nil {
			err = plan.Validate(d, c.k)
		}
		if err != nil {
			emit(map[string]any{"impl": "go", "set": s.name, "skip": ps, "error": err.Error()})
			continue
		}
		t0 := time.Now()
		built, err := index.Build(s.v, index.Spec{}, plan)
		if err != nil {
			return err
		}
		f := built.Funnel
		build := time.Since(t0)
		r := b.measure("funnel-flat", f, d, 0)
		r["plan"], r["flops"], r["build_s"] = plan.String(), plan.FLOPs(s.v.N()), build.Seconds()
		r["bytes_per_vec"] = 4*d + 4*len(plan)
		emit(r)
	}

	// The tuner: calibrate on the first half of the queries, check on the
	// second, then measure the chosen plan on all of them.
	if c.tune && s.nq >= 4 && (s.qLabels != nil || c.tuneSynth) {
		tq := min(s.nq, c.tuneNQ)
		half := tq / 2
		t0 := time.Now()
		// Candidate dims: the powers of two from 8 below D, the nesting
		// dims MRL models are trained at (the tuner's default also tries
		// 1, 2 and 4, which are no model's nesting dims, and tuning then
		// takes several times longer).
		var dims []int
		for m := 8; m < d; m *= 2 {
			dims = append(dims, m)
		}
		res, err := index.Tune(s.v, nil, s.q[:half*d], half, index.TuneOptions{K: c.k, TargetRecall: c.target, Dims: dims})
		tuneTime := time.Since(t0)
		line := map[string]any{"impl": "go", "set": s.name, "method": "tune", "target": c.target,
			"calib_queries": half, "heldout_queries": tq - half, "dims": dims, "tune_s": tuneTime.Seconds(), "evaluated": len(res.Evaluated)}
		if err != nil {
			line["error"] = err.Error()
		}
		if len(res.Plan) > 0 {
			held, err := res.Check(s.v, nil, s.q[half*d:tq*d], tq-half)
			if err != nil {
				return err
			}
			built, err := index.Build(s.v, index.Spec{}, res.Plan)
			if err != nil {
				return err
			}
			f := built.Funnel
			r := b.measure("funnel-tuned", f, d, 0)
			for k, v := range line {
				if k != "method" {
					r[k] = v
				}
			}
			r["plan"], r["flops"], r["calib_recall"], r["heldout_recall"] = res.Plan.String(), res.FLOPs, res.Recall, held
			r["bytes_per_vec"] = 4*d + 4*len(res.Plan)
			line = r
		}
		emit(line)
	}

	// HNSW on the prefix (searched at the graph dim, and at D as a funnel
	// first stage whose max(ef, k) candidates are reranked at D), and at
	// the full dim for real sets.
	graphDims := []int{gdim}
	if c.hnswFull && s.qLabels != nil && gdim != d && d <= 1024 { // a full-dim graph above 1024 dims takes many minutes to build
		graphDims = append(graphDims, d)
	}
	var saved *index.HNSW // the prefix graph -graph-file asks for, written last
	for _, g := range graphDims {
		heap0 := heapAlloc()
		t0 := time.Now()
		h, err := index.NewHNSW(s.v, index.HNSWOptions{Dim: g, M: c.m, EfConstruction: c.efC, Seed: 1, Threads: c.buildThreads})
		if err != nil {
			return err
		}
		build := time.Since(t0)
		// The graph's bytes per row (HNSW.MemBytes: the layer-0 blocks
		// with their prefix copies, the upper layers, the levels). The
		// heap growth of the build is reported beside it; it agrees when
		// no garbage is freed meanwhile.
		grown := float64(int64(heapAlloc())-int64(heap0)) / float64(s.v.N())
		graphBytes := float64(h.MemBytes()) / float64(s.v.N())
		for _, ef := range c.efs {
			h.SetEf(ef)
			dims := []int{g}
			if g != d {
				dims = append(dims, d)
			}
			for _, dim := range dims {
				r := b.measure("hnsw", h, dim, g)
				r["ef"], r["m"], r["ef_construction"], r["build_s"] = ef, c.m, c.efC, build.Seconds()
				r["build_threads"] = c.buildThreads
				r["bytes_per_vec"] = float64(4*d+4) + graphBytes
				r["graph_bytes_per_vec"], r["heap_growth_per_vec"] = graphBytes, grown
				emit(r)
			}
		}
		// Funnels whose first stage is this graph: the first stage's beam
		// is its Keep (ef 1, so max(ef, k) = Keep).
		if g < d {
			for _, ps := range strings.Split(c.hnswPlans, ";") {
				ps = strings.ReplaceAll(strings.TrimSpace(ps), "D", strconv.Itoa(d))
				ps = strings.ReplaceAll(ps, "G", strconv.Itoa(g))
				plan, err := index.ParsePlan(ps)
				if err == nil {
					err = plan.Validate(d, c.k)
				}
				if err == nil && plan[0].Dim != g {
					err = fmt.Errorf("first dim %d is not the graph dim %d", plan[0].Dim, g)
				}
				if err != nil {
					emit(map[string]any{"impl": "go", "set": s.name, "skip": ps, "error": err.Error()})
					continue
				}
				built, err := index.Build(s.v, index.Spec{Kind: index.KindHNSW, Graph: h, Ef: 1}, plan)
				if err != nil {
					return err
				}
				f := built.Funnel
				r := b.measure("funnel-hnsw", f, d, 0)
				r["plan"], r["graph_dim"], r["m"], r["ef_construction"] = plan.String(), g, c.m, c.efC
				r["build_s"], r["bytes_per_vec"] = build.Seconds(), float64(4*d+4*len(plan))+graphBytes
				emit(r)
			}
		}
		if g == gdim && c.graphFile != "" {
			saved = h
		}
		runtime.KeepAlive(h)
		h = nil
		debug.FreeOSMemory()
	}

	// IVF on the prefix, searched at D.
	{
		heap0 := heapAlloc()
		t0 := time.Now()
		ivf, err := index.NewIVF(s.v, index.IVFOptions{ClusterDim: min(c.ivfDim, d), Lists: c.ivfLists, Seed: 1})
		if err != nil {
			return err
		}
		build := time.Since(t0)
		// Documented layout: a row index per row, the centroids and the
		// list offsets (and the prefix norm at the cluster dim, Cosine).
		grown := float64(int64(heapAlloc())-int64(heap0)) / float64(s.v.N())
		listBytes := 4 + 4 + float64(4*ivf.ClusterDim()*ivf.Lists()+4*(ivf.Lists()+1))/float64(s.v.N())
		for _, p := range c.probes {
			if p > ivf.Lists() {
				break
			}
			ivf.SetProbe(p)
			r := b.measure("ivf", ivf, d, 0)
			r["probe"], r["lists"], r["cluster_dim"], r["iters"] = p, ivf.Lists(), ivf.ClusterDim(), ivf.Iters()
			r["build_s"], r["bytes_per_vec"], r["heap_growth_per_vec"] = build.Seconds(), float64(4*d+4)+listBytes, grown
			emit(r)
		}
		runtime.KeepAlive(ivf)
	}
	if saved != nil {
		// Last, after every figure: writing 1.3 GB slowed this process's
		// later HNSW searches 2-5x (see -peer-files-only).
		t0 := time.Now()
		if err := index.SaveHNSW(c.graphFile, saved); err != nil {
			return err
		}
		emit(map[string]any{"impl": "go", "set": s.name, "saved_graph": c.graphFile, "save_s": time.Since(t0).Seconds()})
	}
	return nil
}

// hnswRound is one process of run.sh's alternation: it reads the graph
// -graph-file holds into the heap (os.ReadFile, not the read-only mapping
// index.LoadHNSW makes, so its memory is like a built graph's and like
// hnswlib's loadIndex) and sweeps the efs at the graph dim.
func (b *bench) hnswRound(gdim int) error {
	t0 := time.Now()
	raw, err := os.ReadFile(b.c.graphFile)
	if err != nil {
		return err
	}
	h, err := index.DecodeHNSW(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", b.c.graphFile, err)
	}
	v := h.Vectors()
	if v.N() != b.s.v.N() || v.Dim() != b.s.d || h.Dim() != gdim {
		return fmt.Errorf("%s: graph of %d rows × %d at dim %d, want %d × %d at dim %d (rebuild it: the set or -graph-dim changed)",
			b.c.graphFile, v.N(), v.Dim(), h.Dim(), b.s.v.N(), b.s.d, gdim)
	}
	emit(map[string]any{"impl": "go", "set": b.s.name, "round": b.c.abRound, "load_s": time.Since(t0).Seconds()})
	for _, ef := range b.c.efs {
		h.SetEf(ef)
		r := b.measure("hnsw", h, gdim, gdim)
		r["method"], r["round"], r["ef"] = "hnsw-ab", b.c.abRound, ef
		emit(r)
	}
	runtime.KeepAlive(raw)
	return nil
}

// topk returns the exact top-k indexes of every query at dim.
func (b *bench) topk(f *index.Flat, dim int) ([][]int32, error) {
	prev := kernel.SetThreads(b.c.threads)
	defer kernel.SetThreads(prev)
	res, err := f.SearchBatch(b.s.q, b.s.d, dim, b.c.k, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]int32, len(res))
	for i, hs := range res {
		for _, h := range hs {
			out[i] = append(out[i], h.Index)
		}
	}
	return out, nil
}

// measure returns a result line for searcher s at dim: QPS on one
// goroutine, recall@k against exact full-dim search (and against exact
// search at the graph dim when gdim > 0), mAP@k and its difference from
// exact full-dim Flat, speed-up over exact full-dim Flat.
func (b *bench) measure(method string, s index.Searcher, dim, gdim int) map[string]any {
	r := b.row(method, s, dim, gdim)
	q := b.qps(s, dim)
	r["qps"], r["speedup"] = q, q/b.exactQPS
	if b.s.qLabels != nil {
		r["map_diff"] = r["map"].(float64) - b.exactMAP
	}
	return r
}

// row computes the quality figures of s at dim from all queries.
func (b *bench) row(method string, s index.Searcher, dim, gdim int) map[string]any {
	prev := kernel.SetThreads(b.c.threads)
	res, err := s.SearchBatch(b.s.q, b.s.d, dim, b.c.k, nil)
	kernel.SetThreads(prev)
	if err != nil {
		fail(fmt.Errorf("%s at dim %d: %w", method, dim, err))
	}
	r := map[string]any{"impl": "go", "set": b.s.name, "method": method, "dim": dim, "n": b.s.v.N(), "d": b.s.d,
		"recall": recall(res, b.gt)}
	if gdim > 0 {
		r["graph_dim"] = gdim
		switch {
		case dim == gdim && gdim == b.s.d:
			r["recall_prefix"] = r["recall"]
		case dim == gdim:
			r["recall_prefix"] = recall(res, b.gtp)
		}
	}
	if b.s.qLabels != nil {
		ranked := make([][]eval.Neighbor, len(res))
		for i, hs := range res {
			for _, h := range hs {
				ranked[i] = append(ranked[i], eval.Neighbor{Index: h.Index, Score: h.Score})
			}
		}
		r["map"] = eval.MeanMetrics(ranked, b.s.qLabels, b.s.dbLabels, b.s.counts, []int{b.c.k})[0].MAP
	}
	return r
}

// batchReps is the number of batched Flat calls timed; the best counts.
const batchReps = 3

// qpsRounds is the number of rounds qps times: the machine is a shared
// VM whose speed drifts by tens of percent within seconds, so one long
// loop measures the neighbours as much as the engine.
const qpsRounds = 5

// qps returns the median of qpsRounds rounds of single-query searches,
// each as many queries as fit in minTime/qpsRounds from the first query
// on (every round sees the same queries); hnswlib_bench.cpp does the same.
func (b *bench) qps(s index.Searcher, dim int) float64 {
	prev := kernel.SetThreads(1)
	defer kernel.SetThreads(prev)
	d, k := b.s.d, b.c.k
	dst := make([]index.Hit, 0, k)
	var err error
	dst, err = s.Search(b.s.q[:d], dim, k, dst) // warm up
	if err != nil {
		fail(err)
	}
	rounds := make([]float64, qpsRounds)
	pinned(b.c.pinCPU, func() {
		for r := range rounds {
			n := 0
			t0 := time.Now()
			for n == 0 || time.Since(t0) < b.c.minTime/qpsRounds {
				i := n % b.s.nq
				dst, _ = s.Search(b.s.q[i*d:(i+1)*d], dim, k, dst)
				n++
			}
			rounds[r] = float64(n) / time.Since(t0).Seconds()
		}
	})
	slices.Sort(rounds)
	return rounds[qpsRounds/2]
}

func recall(res [][]index.Hit, gt [][]int32) float64 {
	hits, total := 0, 0
	for i, hs := range res {
		for _, w := range gt[i] {
			for _, h := range hs {
				if h.Index == w {
					hits++
					break
				}
			}
		}
		total += len(gt[i])
	}
	return float64(hits) / float64(max(total, 1))
}

// writePeerFiles writes DIR/SET/: meta.json, x.f32 and q.f32 (rows and
// queries L2-normalised at D, so that inner product is the cosine), xp.f32
// and qp.f32 (the graph-dim prefixes, each re-normalised), gt.i32 and
// gtp.i32 (exact top-k at D and at the graph dim), all raw little-endian.
func (b *bench) writePeerFiles(gdim int) error {
	dir := filepath.Join(b.c.dir, b.s.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s, d := b.s, b.s.d
	meta := map[string]any{"set": s.name, "n": s.v.N(), "d": d, "nq": s.nq, "p": gdim, "k": b.c.k,
		"m": b.c.m, "ef_construction": b.c.efC, "efs": b.c.efs, "batch_nq": min(b.c.batchNQ, s.nq)}
	mb, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), mb, 0o644); err != nil {
		return err
	}
	rows := func(x []float32, n, m int) func(w *bufio.Writer) error {
		return func(w *bufio.Writer) error {
			buf := make([]float32, m)
			for i := range n {
				copy(buf, x[i*d:i*d+m])
				kernel.Normalize(buf)
				if err := binary.Write(w, binary.LittleEndian, buf); err != nil {
					return err
				}
			}
			return nil
		}
	}
	ids := func(gt [][]int32) func(w *bufio.Writer) error {
		return func(w *bufio.Writer) error {
			row := make([]int32, b.c.k)
			for _, g := range gt {
				for j := range row {
					row[j] = -1
				}
				copy(row, g)
				if err := binary.Write(w, binary.LittleEndian, row); err != nil {
					return err
				}
			}
			return nil
		}
	}
	files := []struct {
		name string
		fn   func(w *bufio.Writer) error
	}{
		{"x.f32", rows(s.v.Data(), s.v.N(), d)},
		{"q.f32", rows(s.q, s.nq, d)},
		{"xp.f32", rows(s.v.Data(), s.v.N(), gdim)},
		{"qp.f32", rows(s.q, s.nq, gdim)},
		{"gt.i32", ids(b.gt)},
		{"gtp.i32", ids(b.gtp)},
	}
	for _, f := range files {
		if err := peerfile.Write(filepath.Join(dir, f.name), f.fn); err != nil {
			return err
		}
	}
	return nil
}

// heapAlloc returns the live heap after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			return nil, fmt.Errorf("bad entry %q", f)
		}
		out = append(out, t)
	}
	return out, nil
}

// start is when the program started; every line carries the seconds since
// then ("t_s"), which shows where a run spends its time.
var start = time.Now()

func emit(v map[string]any) {
	v["t_s"] = time.Since(start).Seconds()
	for k, x := range v { // JSON has no NaN or Inf
		if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			v[k] = nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/index:", err)
	os.Exit(1)
}
