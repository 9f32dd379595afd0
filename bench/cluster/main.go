// Command cluster benchmarks Matryoshka collections on a Weaviate cluster
// (package weaviate) against plain full-dim HNSW in Weaviate and against
// our embedded index on the same data:
//
//	(a) funnel   our layout: HNSW on the -prefix dims, the full vector flat,
//	             searched as two stage queries (shortlist, exact rerank)
//	(b) hnsw     plain full-dim HNSW in Weaviate
//	(c) embedded index.Funnel in this process: HNSW on the prefix, exact rerank
//
// Each runs at the smallest knob of its ladder that reaches -target
// recall@10 against exact search (the shortlist for (a) and (c), the
// over-fetched limit for (b), which raises Weaviate's dynamic ef), so the
// rows compare equal recall. For each it prints recall@10, QPS and p50/p99
// of -c concurrent clients for -duration, and the RSS of each node (VmRSS
// of the node's PID after ingest and searches). With -start (the default)
// every cluster row runs on a fresh cluster started by
// scripts/weaviate-cluster.sh (so that one layout's memory is not counted
// in another's) and stopped after it; with -addrs it uses a running
// cluster and reports no RSS.
//
// The data are synthetic Matryoshka-like rows (index/indextest).
//
// Usage:
//
//	go run ./bench/cluster -n 200000 -d 512 -prefix 64 -duration 30s -write
//	go run ./bench/cluster -n 2000 -d 64 -prefix 16 -duration 2s -nq 50   (smoke test)
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

type config struct {
	n, d, prefix, nq, conc, k, nodes int
	dur                              time.Duration
	target                           float64
	addrs                            string
	start                            bool
	write                            bool
	out                              string
	seed                             uint64
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 200000, "vectors")
	flag.IntVar(&c.d, "d", 512, "vector dim")
	flag.IntVar(&c.prefix, "prefix", 64, "the funnel's first-stage prefix dim")
	flag.IntVar(&c.nq, "nq", 500, "queries (recall is measured on all of them)")
	flag.IntVar(&c.conc, "c", 8, "concurrent clients")
	flag.IntVar(&c.k, "k", 10, "results per search")
	flag.IntVar(&c.nodes, "nodes", 3, "nodes of the cluster -start starts")
	flag.DurationVar(&c.dur, "duration", 30*time.Second, "how long each row's clients search")
	flag.Float64Var(&c.target, "target", 0.95, "recall@k each row must reach")
	flag.StringVar(&c.addrs, "addrs", "", "a running cluster (HOST:HTTP/GRPC,...) instead of -start")
	flag.BoolVar(&c.start, "start", true, "start a fresh cluster per row with scripts/weaviate-cluster.sh")
	flag.BoolVar(&c.write, "write", false, "also write the table to -out")
	flag.StringVar(&c.out, "out", "bench/cluster/RESULTS.md", "file -write writes")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the synthetic vectors")
	flag.Parse()
	if c.addrs != "" {
		c.start = false
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

type row struct {
	name, layout, knob string
	recall             float64
	qps                float64
	p50, p99           time.Duration
	errors             int
	ingest             time.Duration
	rss                []int64 // bytes per node
	mem                int64   // embedded: bytes of vectors and graph
}

func run(c config) error {
	rng := rand.New(rand.NewPCG(c.seed, 1))
	data := indextest.MatryoshkaLike(rng, c.n, c.d)
	queries := indextest.MatryoshkaLike(rand.New(rand.NewPCG(c.seed, 2)), c.nq, c.d)
	ids := make([]uint64, c.n)
	for i := range ids {
		ids[i] = uint64(i)
	}
	v, err := index.NewVectors(data, c.n, c.d, mrl.Cosine, ids)
	if err != nil {
		return err
	}
	flat := index.NewFlat(v)
	truth := make([][]uint64, c.nq)
	for i := range c.nq {
		hits, _ := flat.Search(queries[i*c.d:(i+1)*c.d], c.d, c.k, nil)
		for _, h := range hits {
			truth[i] = append(truth[i], h.ID)
		}
	}
	keeps := []int{2 * c.k, 5 * c.k, 10 * c.k, 20 * c.k, 40 * c.k, 80 * c.k}
	var rows []row

	// (c) embedded.
	t0 := time.Now()
	h, err := index.NewHNSW(v, index.HNSWOptions{Dim: c.prefix, Seed: c.seed})
	if err != nil {
		return err
	}
	build := time.Since(t0)
	for _, keep := range keeps {
		plan := index.Plan{{Dim: c.prefix, Keep: keep}, {Dim: c.d, Keep: c.k}}
		f, err := index.NewFunnel(v, plan, h.WithEf(max(keep, 64)))
		if err != nil {
			return err
		}
		search := func(q []float32) ([]uint64, error) {
			hits, err := f.Search(q, c.d, c.k, nil)
			out := make([]uint64, len(hits))
			for i, x := range hits {
				out[i] = x.ID
			}
			return out, err
		}
		r := measure(c, queries, truth, search)
		if r.recall >= c.target || keep == keeps[len(keeps)-1] {
			r.name, r.layout, r.knob = "embedded funnel", fmt.Sprintf("HNSW p%d + exact rerank at %d", c.prefix, c.d), "keep "+strconv.Itoa(keep)+", ef "+strconv.Itoa(max(keep, 64))
			r.ingest, r.mem = build, v.MemBytes()+h.MemBytes()
			rows = append(rows, r)
			break
		}
	}

	// (a) and (b) on the cluster.
	layouts := []struct {
		name   string
		layout weaviate.Layout
		desc   string
	}{
		{"weaviate funnel", weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Prefixes: []int{c.prefix}}, fmt.Sprintf("HNSW p%d + flat full, 2 stage queries", c.prefix)},
		{"weaviate hnsw", weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Full: weaviate.HNSW}, fmt.Sprintf("HNSW on the full %d dims", c.d)},
	}
	for li, lay := range layouts {
		r, err := clusterRow(c, lay.layout, li == 0, v, queries, truth, keeps)
		if err != nil {
			return fmt.Errorf("%s: %w", lay.name, err)
		}
		r.name, r.layout = lay.name, lay.desc
		rows = append(rows, r)
	}
	table := render(c, rows)
	fmt.Print(table)
	if c.write {
		return os.WriteFile(c.out, []byte(table), 0o644)
	}
	return nil
}

// clusterRow ingests v into a collection laid out as l and measures the
// smallest knob reaching the target.
func clusterRow(c config, l weaviate.Layout, funnel bool, v *index.Vectors, queries []float32, truth [][]uint64, keeps []int) (row, error) {
	ctx := context.Background()
	addrs, state := c.addrs, ""
	if c.start {
		dir, err := os.MkdirTemp("", "mrl-bench-cluster-")
		if err != nil {
			return row{}, err
		}
		defer os.RemoveAll(dir)
		state = dir
		out, err := script(state, "start", strconv.Itoa(c.nodes))
		if err != nil {
			return row{}, fmt.Errorf("start the cluster: %v\n%s", err, out)
		}
		defer script(state, "stop")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		addrs = lines[len(lines)-1]
	}
	as, err := weaviate.ParseAddrs(addrs)
	if err != nil {
		return row{}, err
	}
	cl, err := weaviate.Dial(ctx, weaviate.Options{Addrs: as, Consistency: weaviate.One, Timeout: 120 * time.Second})
	if err != nil {
		return row{}, err
	}
	name := "BenchCluster"
	if err := cl.Drop(ctx, name); err != nil {
		return row{}, err
	}
	col, err := cl.Create(ctx, name, l)
	if err != nil {
		return row{}, err
	}
	t0 := time.Now()
	const chunk = 4096
	for lo := 0; lo < v.N(); lo += chunk {
		var pts []api.Point
		for i := lo; i < min(lo+chunk, v.N()); i++ {
			pts = append(pts, api.Point{ID: api.IntID(v.ID(i)), Vector: v.Row(i)})
		}
		if _, err := col.Upsert(ctx, pts, weaviate.WriteOptions{}); err != nil {
			return row{}, err
		}
	}
	ingest := time.Since(t0)
	if !funnel {
		keeps = append([]int{c.k}, keeps...) // plain HNSW may need no over-fetch
	}
	var r row
	for _, keep := range keeps {
		var search func(q []float32) ([]uint64, error)
		if funnel {
			plan := index.Plan{{Dim: l.Prefixes[0], Keep: keep}, {Dim: l.Dim, Keep: c.k}}
			search = func(q []float32) ([]uint64, error) {
				hits, _, err := col.Search(ctx, q, weaviate.SearchOptions{K: c.k, Plan: plan})
				return hitIDs(hits, c.k), err
			}
		} else {
			// Over-fetching raises the dynamic ef (8 x limit, at least 100).
			search = func(q []float32) ([]uint64, error) {
				hits, _, err := col.Search(ctx, q, weaviate.SearchOptions{K: keep})
				return hitIDs(hits, c.k), err
			}
		}
		r = measure(c, queries, truth, search)
		if funnel {
			r.knob = "shortlist " + strconv.Itoa(keep)
		} else {
			r.knob = "limit " + strconv.Itoa(keep)
		}
		if r.recall >= c.target {
			break
		}
	}
	r.ingest = ingest
	if state != "" {
		for i := 1; i <= c.nodes; i++ {
			r.rss = append(r.rss, rssOf(filepath.Join(state, "node"+strconv.Itoa(i), "pid")))
		}
	}
	return r, cl.Drop(ctx, name)
}

func hitIDs(h []api.Hit, k int) []uint64 {
	out := make([]uint64, 0, k)
	for _, x := range h[:min(k, len(h))] {
		n, _ := x.ID.Uint64() // the Weaviate backend's ids are integers
		out = append(out, n)
	}
	return out
}

// measure takes the recall over every query once, then runs c.conc
// clients for c.dur.
func measure(c config, queries []float32, truth [][]uint64, search func([]float32) ([]uint64, error)) row {
	var r row
	for i := range c.nq {
		got, err := search(queries[i*c.d : (i+1)*c.d])
		if err != nil {
			r.errors++
			continue
		}
		n := 0
		for _, id := range got {
			if slices.Contains(truth[i], id) {
				n++
			}
		}
		r.recall += float64(n) / float64(len(truth[i]))
	}
	r.recall /= float64(c.nq)
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(c.dur)
	var wg sync.WaitGroup
	for w := range c.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs := 0
			for i := w; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if _, err := search(queries[(i%c.nq)*c.d : (i%c.nq+1)*c.d]); err != nil {
					errs++
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			r.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		r.qps = float64(len(lat)) / c.dur.Seconds()
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r
}

func script(state string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{"scripts/weaviate-cluster.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "MRL_WEAVIATE_STATE="+state)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rssOf reads VmRSS of the PID in file pidFile.
func rssOf(pidFile string) int64 {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	st, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func render(c config, rows []row) string {
	var b strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "# bench/cluster: %d Matryoshka-like vectors of %d dims, cosine, k = %d, target recall@%d >= %.2f\n\n", c.n, c.d, c.k, c.k, c.target)
	fmt.Fprintf(&b, "%s, %s %s, %d cores, %d clients for %v per row, load average %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), c.conc, c.dur, strings.TrimSpace(string(load)))
	b.WriteString("| row | layout | knob | recall@10 | QPS | p50 | p99 | errors | ingest/build | memory |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		mem := "n/a"
		switch {
		case r.mem > 0:
			mem = fmt.Sprintf("%.1f MB (vectors + graph)", float64(r.mem)/1e6)
		case len(r.rss) > 0:
			parts := make([]string, len(r.rss))
			for i, x := range r.rss {
				parts[i] = fmt.Sprintf("%.0f", float64(x)/1e6)
			}
			mem = "RSS " + strings.Join(parts, " / ") + " MB per node"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.4f | %.0f | %v | %v | %d | %v | %s |\n", r.name, r.layout, r.knob, r.recall, r.qps,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, r.ingest.Round(time.Millisecond), mem)
	}
	return b.String()
}
