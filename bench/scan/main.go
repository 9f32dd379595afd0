// Command scan measures exact search (index.Flat) over synthetic vectors,
// the benchmark of issue 3: one query at a time against the streaming-read
// memory bandwidth measured in the same program, and batched SearchBatch at
// each thread count; faiss_scan.py runs FAISS IndexFlatIP on the same files
// and run.sh prints both side by side.
//
// Each size NxD[:metric] (metric ip, the default, or cosine) is generated
// from a seeded generator (indextest.MatryoshkaLike: N database rows and the
// queries drawn in one call, so they come from the same clusters), searched,
// written to -dir as NPY when -dir is set (x.npy N×D float32, q.npy nq×D
// float32, ids.npy nq×k int32 = our batched top-k) and freed before the
// next size. It prints JSON lines: first the bandwidth,
//
//	{"impl":"go","bw_gbs_1":..,"bw_gbs_2":..,"bw_bytes":..}
//
// then per size one line for the single-query scan and one per thread count
// for the batched scan:
//
//	{"impl":"go","mode":"single","n":..,"d":..,"metric":"ip","qps":..,"gbs":..,"allocs_per_query":0,...}
//	{"impl":"go","mode":"batch","n":..,"d":..,"metric":"ip","threads":1,"nq":1000,"qps":..,...}
//
// Bandwidth is bytes read per second by kernel.Dot(x, x) over a buffer of
// -bw-bytes (much larger than the L3), split over 1 or 2 goroutines, best of
// -bw-reps passes, at the start; and, for each size, over the database rows
// themselves, in passes alternating with the queries of each of the -reps
// single-query loops (best loop average: bw_rows_gbs), which is what a
// single query's GB/s is compared with (pct_bw: the median over the loops
// of the queries' GB/s over the passes' in the same loop; pct_bw_best the
// best query loop over the best pass loop; pct_bw_pass against the best
// single pass over the rows, pct_bw_buffer against the first). A scan's
// GB/s counts N·D·4 bytes per query.
//
// Usage:
//
//	go run ./bench/scan -sizes 20000x64,20000x128:cosine -dir /tmp/scan
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomrl/mrl/bench/internal/peerfile"
	"github.com/gomrl/mrl/bench/internal/proc"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/internal/kernel"
)

const defaultSizes = "1000000x16,1000000x32,1000000x64,1000000x128,1000000x256,200000x2048,1000000x128:cosine"

type size struct {
	N, D   int
	Metric string
}

func main() {
	sizes := flag.String("sizes", defaultSizes, "comma-separated NxD[:ip|cosine]")
	threadList := flag.String("threads", "1,2", "thread counts of the batched scan")
	nq := flag.Int("nq", 1000, "queries of the batched scan (a quarter of it at D >= 1024)")
	k := flag.Int("k", 10, "results per query")
	singleTime := flag.Duration("single-time", 2*time.Second, "minimum time of the queries (and again of the bandwidth passes alternating with them) in one repetition of the single-query loop")
	reps := flag.Int("reps", 3, "repetitions of the single-query loop; the best is kept")
	batchReps := flag.Int("batch-reps", 2, "repetitions of the batched search; the best is kept")
	bwBytes := flag.Int("bw-bytes", 1<<30, "size of the bandwidth buffer in bytes")
	bwReps := flag.Int("bw-reps", 5, "passes over the bandwidth buffer; the best is kept")
	dir := flag.String("dir", "", "write each size's vectors, queries and our top-k ids as NPY under DIR/NxD[_cosine]/")
	seed := flag.Uint64("seed", 1, "generator seed")
	flag.Parse()
	if err := kernel.EnvError(); err != nil {
		fail(err)
	}

	sel, err := parseSizes(*sizes)
	if err != nil {
		fail(err)
	}
	ts, err := parseInts(*threadList)
	if err != nil {
		fail(fmt.Errorf("-threads: %w", err))
	}
	if *reps < 1 || *batchReps < 1 || *bwReps < 1 || *nq < 1 || *k < 1 {
		fail(fmt.Errorf("-reps, -batch-reps, -bw-reps, -nq and -k must be at least 1"))
	}
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), slicesMax(ts), 2))

	bw1, bw2 := bandwidth(*bwBytes, 1, *bwReps), bandwidth(*bwBytes, 2, *bwReps)
	emit(map[string]any{"impl": "go", "bw_gbs_1": bw1, "bw_gbs_2": bw2, "bw_bytes": *bwBytes,
		"gemm": kernel.Impl, "kernels": kernel.CurrentLevel().String(), "go": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0)})
	debug.FreeOSMemory()

	for _, s := range sel {
		if err := runSize(s, ts, *nq, *k, *singleTime, *reps, *batchReps, *dir, *seed, bw1); err != nil {
			fail(fmt.Errorf("%dx%d %s: %w", s.N, s.D, s.Metric, err))
		}
		debug.FreeOSMemory()
	}
	emit(map[string]any{"impl": "go", "peak_rss_mib": proc.PeakRSSMiB()})
}

func runSize(s size, ts []int, nq, k int, singleTime time.Duration, reps, batchReps int, dir string, seed uint64, bw1 float64) error {
	if s.D >= 1024 {
		nq = max(1, nq/4)
	}
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(seed, uint64(s.N)*4099+uint64(s.D)))
	all := indextest.MatryoshkaLike(rng, s.N+nq, s.D)
	x, q := all[:s.N*s.D:s.N*s.D], all[s.N*s.D:]
	metric := mrl.InnerProduct
	if s.Metric == "cosine" {
		metric = mrl.Cosine
	}
	v, err := index.NewVectors(x, s.N, s.D, metric, nil)
	if err != nil {
		return err
	}
	if err := v.Prepare(s.D); err != nil {
		return err
	}
	f := index.NewFlat(v)
	gen := time.Since(t0)
	// The int8 filter (index.FlatOptions.Int8Filter), where the CPU runs
	// it: the same batches, timed alternately with the float scan's.
	var f8 *index.Flat
	var code time.Duration // coding the rows and the first query
	if kernel.HasScanTileInt8() {
		t := time.Now()
		if f8, err = index.NewFlatWith(v, index.FlatOptions{Int8Filter: true}); err != nil {
			return err
		}
		// One query computes the rows' shifts at this dim, cached after
		// it as the prefix norms are by v.Prepare.
		if _, err := f8.SearchBatch(q[:s.D], s.D, s.D, k, nil); err != nil {
			return err
		}
		code = time.Since(t)
	}

	// One query at a time, cycling through the queries.
	dst := make([]index.Hit, 0, k)
	next := 0
	one := func() {
		var err error
		dst, err = f.Search(q[next*s.D:(next+1)*s.D], s.D, k, dst)
		if err != nil {
			fail(err)
		}
		next = (next + 1) % nq
	}
	one() // warm up
	allocs := testing.AllocsPerRun(10, one)
	// Each rep alternates a kernel.Dot pass over the rows (the bandwidth
	// of these very bytes at this moment) with one query, for as long as
	// 2·singleTime, so that the VM's drifts in speed (tens of percent
	// between sizes, ±7 points between runs of the same size on
	// 2026-12-02) fall on both sides alike. A rep's ratio is its queries'
	// GB/s over its passes' GB/s; pct_bw is the median of the reps'
	// ratios, pct_bw_best the best query loop over the best pass loop
	// (the measure before 2026-12-02, when the two loops ran one after
	// the other), pct_bw_pass against the best single pass.
	best, bwRows, bwPass, queries := 0.0, 0.0, 0.0, 0
	var ratios []float64
	var sink float32
	rowBytes := float64(len(x) * 4)
	for range reps {
		var tDot, tQuery time.Duration
		passes, n := 0, 0
		t := time.Now()
		for n == 0 || time.Since(t) < 2*singleTime {
			tp := time.Now()
			sink += kernel.Dot(x, x)
			d := time.Since(tp)
			tDot += d
			passes++
			bwPass = max(bwPass, rowBytes/d.Seconds()/1e9)
			tq := time.Now()
			one()
			tQuery += time.Since(tq)
			n++
		}
		queries += n
		bw := float64(passes) * rowBytes / tDot.Seconds() / 1e9
		qps := float64(n) / tQuery.Seconds()
		ratios = append(ratios, qps*float64(s.N)*float64(s.D)*4/1e9/bw)
		bwRows = max(bwRows, bw)
		best = max(best, qps)
	}
	if sink < 0 { // keep sink live
		fmt.Fprintln(os.Stderr, sink)
	}
	slices.Sort(ratios)
	gbs := best * float64(s.N) * float64(s.D) * 4 / 1e9
	emit(map[string]any{"impl": "go", "mode": "single", "n": s.N, "d": s.D, "metric": s.Metric, "k": k,
		"qps": best, "gbs": gbs, "bw_rows_gbs": bwRows, "pct_bw": 100 * ratios[len(ratios)/2], "pct_bw_best": 100 * gbs / bwRows,
		"pct_bw_buffer":    100 * gbs / bw1,
		"bw_rows_pass_gbs": bwPass, "pct_bw_pass": 100 * gbs / bwPass,
		"allocs_per_query": allocs, "queries": queries, "gen_s": gen.Seconds()})

	// Batched, at each thread count; the first thread count's results are
	// the ones written for the peer and compared with single queries.
	var ids []int32
	for i, t := range ts {
		prev := kernel.SetThreads(t)
		var res, res8 [][]index.Hit
		bestB, best8 := 0.0, 0.0
		for range batchReps {
			t0 := time.Now()
			res, err = f.SearchBatch(q, s.D, s.D, k, res)
			if err != nil {
				return err
			}
			bestB = max(bestB, float64(nq)/time.Since(t0).Seconds())
			if f8 != nil {
				t0 = time.Now()
				res8, err = f8.SearchBatch(q, s.D, s.D, k, res8)
				if err != nil {
					return err
				}
				best8 = max(best8, float64(nq)/time.Since(t0).Seconds())
			}
		}
		kernel.SetThreads(prev)
		if f8 != nil {
			agree := 0
			for j := range nq {
				agree += overlap(res8[j], res[j])
			}
			emit(map[string]any{"impl": "go", "mode": "batch_int8", "n": s.N, "d": s.D, "metric": s.Metric, "k": k,
				"threads": t, "nq": nq, "qps": best8, "gflops": best8 * 2 * float64(s.N) * float64(s.D) / 1e9,
				"vs_float_recall": float64(agree) / float64(nq*min(k, s.N)), "code_s": code.Seconds(),
				"code_mib": float64(f8.FilterBytes()) / (1 << 20)})
		}
		line := map[string]any{"impl": "go", "mode": "batch", "n": s.N, "d": s.D, "metric": s.Metric, "k": k,
			"threads": t, "nq": nq, "qps": bestB, "gflops": bestB * 2 * float64(s.N) * float64(s.D) / 1e9}
		if i == 0 {
			ids = make([]int32, nq*k)
			for j := range nq {
				for r, h := range res[j] {
					ids[j*k+r] = h.Index
				}
			}
			// Agreement of single-query and batched results on a few queries.
			m := min(nq, 20)
			agree := 0
			for j := range m {
				one1, err := f.Search(q[j*s.D:(j+1)*s.D], s.D, k, nil)
				if err != nil {
					return err
				}
				agree += overlap(one1, res[j])
			}
			line["single_vs_batch_recall"] = float64(agree) / float64(m*min(k, s.N))
		}
		emit(line)
	}

	if dir != "" {
		sub := filepath.Join(dir, name(s))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := peerfile.Write(filepath.Join(sub, "x.npy"), func(w *bufio.Writer) error {
			return data.WriteNPY(w, x, []int{s.N, s.D})
		}); err != nil {
			return err
		}
		if err := peerfile.Write(filepath.Join(sub, "q.npy"), func(w *bufio.Writer) error {
			return data.WriteNPY(w, q, []int{nq, s.D})
		}); err != nil {
			return err
		}
		if err := peerfile.Write(filepath.Join(sub, "ids.npy"), func(w *bufio.Writer) error {
			return writeNPYInt32(w, ids, nq, k)
		}); err != nil {
			return err
		}
	}
	return nil
}

func overlap(a, b []index.Hit) int {
	n := 0
	for _, x := range a {
		for _, y := range b {
			if x.Index == y.Index {
				n++
				break
			}
		}
	}
	return n
}

// bandwidth returns the best read bandwidth in GB/s of passes over a buffer
// of bytes split between threads goroutines, each reading its part with
// kernel.Dot(x, x) (both operands hit the same cache line, so each byte
// comes from memory once).
func bandwidth(bytes, threads, reps int) float64 {
	buf := make([]float32, bytes/4)
	for i := range buf {
		buf[i] = 1 // fault every page in before timing
	}
	part := len(buf) / threads
	sink := make([]float32, threads)
	best := 0.0
	for range reps {
		var wg sync.WaitGroup
		t0 := time.Now()
		for t := range threads {
			wg.Add(1)
			go func(x []float32) {
				defer wg.Done()
				sink[t] += kernel.Dot(x, x)
			}(buf[t*part : (t+1)*part])
		}
		wg.Wait()
		best = max(best, float64(part*threads*4)/time.Since(t0).Seconds()/1e9)
	}
	if sink[0] != float32(part) && sink[0] < 0 { // keep sink live
		fmt.Fprintln(os.Stderr, sink)
	}
	return best
}

func name(s size) string {
	n := fmt.Sprintf("%dx%d", s.N, s.D)
	if s.Metric == "cosine" {
		n += "_cosine"
	}
	return n
}

// writeNPYInt32 writes an n×k '<i4' .npy array (data.WriteNPY writes only
// float32).
func writeNPYInt32(w *bufio.Writer, x []int32, n, k int) error {
	dict := fmt.Sprintf("{'descr': '<i4', 'fortran_order': False, 'shape': (%d, %d), }", n, k)
	pad := 63 - (6+2+2+len(dict))%64
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(dict)+pad+1))
	w.WriteString(dict + strings.Repeat(" ", pad) + "\n")
	return binary.Write(w, binary.LittleEndian, x)
}

func parseSizes(s string) ([]size, error) {
	var out []size
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		spec, metric, _ := strings.Cut(f, ":")
		switch metric {
		case "", "ip":
			metric = "ip"
		case "cosine":
		default:
			return nil, fmt.Errorf("size %q: metric %q, want ip or cosine", f, metric)
		}
		ns, ds, ok := strings.Cut(spec, "x")
		n, err1 := strconv.Atoi(ns)
		d, err2 := strconv.Atoi(ds)
		if !ok || err1 != nil || err2 != nil || n < 1 || d < 1 {
			return nil, fmt.Errorf("size %q: want NxD[:metric], e.g. 1000000x64", f)
		}
		out = append(out, size{N: n, D: d, Metric: metric})
	}
	return out, nil
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

func slicesMax(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/scan:", err)
	os.Exit(1)
}
