// Command cluster benchmarks Matryoshka collections on a Weaviate cluster
// (package weaviate) against plain full-dim HNSW in Weaviate and against
// our embedded index on the same data:
//
//	(a) funnel   our layout: HNSW on the -prefix dims (optionally
//	             compressed: -compress), the full vector flat (on disk, no
//	             vector cache), searched in one round trip (the shortlist
//	             comes back with its full vectors, reranked here) and, for
//	             the first funnel layout, also as two stage queries (the
//	             rerank a filtered flat query on the cluster)
//	(b) hnsw     plain full-dim HNSW in Weaviate
//	(c) embedded index.Funnel in this process: HNSW on the prefix, exact
//	             rerank (-embedded=false leaves it out)
//
// Each runs at the smallest knob of its ladder that reaches -target
// recall@10 against exact search (the shortlist for (a) and (c), the
// over-fetched limit for (b), which raises Weaviate's dynamic ef), so the
// rows compare equal recall. For each it prints recall@10, QPS and p50/p99
// of -c concurrent clients for -duration, and memory per node.
//
// Memory. With -start (the default) every cluster layout runs on a fresh
// cluster started by scripts/weaviate-cluster.sh (so that one layout's
// memory is not counted in another's) and stopped after it. Before the
// collection is made, each node's live heap is read from its Prometheus
// metrics as go_memstats_next_gc_bytes / (1 + GOGC/100) (the heap goal
// the last GC set from the heap it found live: a figure that does not
// depend on when the garbage was last collected). After ingest every node
// is restarted with its data (which flushes the LSM memtables that ingest
// filled and leaves the vector index as a node serving the collection
// holds it), the searches run, and the live heap and VmRSS are read
// again. The "index" memory of a node is its live heap then minus its
// live heap when empty: what the collection's vector indexes and stores
// keep in memory. RSS also counts the server itself (about 120 MB a node)
// and pages of the on-disk vectors the kernel keeps cached. With -addrs
// it uses a running cluster and reports no memory.
//
// The data are synthetic Matryoshka-like rows (index/indextest).
//
// Usage:
//
//	go run ./bench/cluster -n 300000 -d 512 -prefix 64 -nq 300 -duration 15s -compress none,rq,bq -write
//	go run ./bench/cluster -n 100000 -d 512 -prefix 64 -ef 128 -m 16 -compress none -embedded=false   (the prefix graph's knobs)
//	go run ./bench/cluster -n 2000 -d 64 -prefix 16 -duration 2s -nq 50   (smoke test)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
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
	compress                         []string
	m, efc, ef                       int
	embedded                         bool
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
	compress := flag.String("compress", "none", "funnel layouts to run, by the compression of the prefix graph: none, bq, sq, rq (comma-separated)")
	flag.IntVar(&c.m, "m", 0, "maxConnections of the prefix graph (0: Weaviate's default, 32)")
	flag.IntVar(&c.efc, "efc", 0, "efConstruction of the prefix graph (0: Weaviate's default, 128)")
	flag.IntVar(&c.ef, "ef", 0, "ef of the prefix graph's searches (0: Weaviate's dynamic ef, 8 x the shortlist clamped to 100..500)")
	flag.BoolVar(&c.embedded, "embedded", true, "also run (c), the embedded funnel")
	flag.Parse()
	for _, x := range strings.Split(*compress, ",") {
		switch x = strings.TrimSpace(x); x {
		case "none":
			c.compress = append(c.compress, "")
		case weaviate.BQ, weaviate.SQ, weaviate.RQ:
			c.compress = append(c.compress, x)
		default:
			log.Fatalf("-compress %q: want none, bq, sq or rq", x)
		}
	}
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
	heap               []int64 // live heap per node, minus the node's when empty
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
	if c.embedded {
		if err := embeddedRow(c, v, queries, truth, keeps, &rows); err != nil {
			return err
		}
	}

	// (a) and (b) on the cluster.
	type layout struct {
		name   string
		layout weaviate.Layout
		desc   string
	}
	var layouts []layout
	for _, comp := range c.compress {
		l := weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Prefixes: []int{c.prefix}, HNSW: weaviate.HNSWConfig{M: c.m, EfConstruction: c.efc, Ef: c.ef, Compression: comp}}
		name, desc := "weaviate funnel", fmt.Sprintf("HNSW p%d + flat full", c.prefix)
		if comp != "" {
			name, desc = "weaviate funnel "+comp, fmt.Sprintf("HNSW p%d (%s) + flat full", c.prefix, strings.ToUpper(comp))
		}
		layouts = append(layouts, layout{name, l, desc})
	}
	layouts = append(layouts, layout{"weaviate hnsw", weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Full: weaviate.HNSW}, fmt.Sprintf("HNSW on the full %d dims", c.d)})
	for li, lay := range layouts {
		rs, err := clusterRows(c, lay.layout, li == 0, v, queries, truth, keeps)
		if err != nil {
			return fmt.Errorf("%s: %w", lay.name, err)
		}
		for i := range rs {
			rs[i].layout = lay.desc + rs[i].layout
			rs[i].name = lay.name + rs[i].name
		}
		rows = append(rows, rs...)
	}
	table := render(c, rows)
	fmt.Print(table)
	if c.write {
		return os.WriteFile(c.out, []byte(table), 0o644)
	}
	return nil
}

// embeddedRow measures (c): our HNSW on the prefix and an exact rerank,
// at the smallest keep of the ladder reaching the target.
func embeddedRow(c config, v *index.Vectors, queries []float32, truth [][]uint64, keeps []int, rows *[]row) error {
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
			*rows = append(*rows, r)
			break
		}
	}
	return nil
}

// clusterRows ingests v into a collection laid out as l and measures the
// smallest knob reaching the target: of the one-round-trip funnel (and,
// with twoTrips, of the two-stage-query funnel) when l has a prefix, of
// plain search otherwise. The rows share the cluster, so their memory is
// the same (read after all their searches).
func clusterRows(c config, l weaviate.Layout, twoTrips bool, v *index.Vectors, queries []float32, truth [][]uint64, keeps []int) ([]row, error) {
	ctx := context.Background()
	addrs, state := c.addrs, ""
	var empty []int64
	if c.start {
		dir, err := os.MkdirTemp("", "mrl-bench-cluster-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		state = dir
		out, err := script(state, "start", strconv.Itoa(c.nodes))
		if err != nil {
			return nil, fmt.Errorf("start the cluster: %v\n%s", err, out)
		}
		defer script(state, "stop")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		addrs = lines[len(lines)-1]
		time.Sleep(2 * time.Second) // let start-up's garbage be collected
		if empty, err = liveHeaps(state, c.nodes); err != nil {
			return nil, err
		}
	}
	as, err := weaviate.ParseAddrs(addrs)
	if err != nil {
		return nil, err
	}
	cl, err := weaviate.Dial(ctx, weaviate.Options{Addrs: as, Consistency: weaviate.One, Timeout: 120 * time.Second})
	if err != nil {
		return nil, err
	}
	name := "BenchCluster"
	if err := cl.Drop(ctx, name); err != nil {
		return nil, err
	}
	col, err := cl.Create(ctx, name, l)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	const chunk = 4096
	for lo := 0; lo < v.N(); lo += chunk {
		var pts []api.Point
		for i := lo; i < min(lo+chunk, v.N()); i++ {
			pts = append(pts, api.Point{ID: api.IntID(v.ID(i)), Vector: v.Row(i)})
		}
		if _, err := col.Upsert(ctx, pts, weaviate.WriteOptions{}); err != nil {
			return nil, err
		}
	}
	ingest := time.Since(t0)
	if state != "" {
		// A restart flushes the memtables ingest filled; the node then
		// holds the collection as it serves it.
		for i := 1; i <= c.nodes; i++ {
			if out, err := script(state, "restart", strconv.Itoa(i)); err != nil {
				return nil, fmt.Errorf("restart node %d: %v\n%s", i, err, out)
			}
		}
	}
	type variant struct {
		name, layout string
		search       func(keep int) func(q []float32) ([]uint64, error)
		knob         string
		ladder       []int
	}
	var variants []variant
	if len(l.Prefixes) > 0 {
		funnel := func(cluster bool) func(keep int) func(q []float32) ([]uint64, error) {
			return func(keep int) func(q []float32) ([]uint64, error) {
				plan := index.Plan{{Dim: l.Prefixes[0], Keep: keep}, {Dim: l.Dim, Keep: c.k}}
				return func(q []float32) ([]uint64, error) {
					hits, _, err := col.Search(ctx, q, weaviate.SearchOptions{K: c.k, Plan: plan, ClusterRerank: cluster})
					return hitIDs(hits, c.k), err
				}
			}
		}
		variants = append(variants, variant{"", ", 1 round trip (local rerank)", funnel(false), "shortlist ", keeps})
		if twoTrips {
			variants = append(variants, variant{", 2 trips", ", 2 stage queries (rerank on the cluster)", funnel(true), "shortlist ", keeps})
		}
	} else {
		// Over-fetching raises the dynamic ef (8 x limit, at least 100).
		plain := func(keep int) func(q []float32) ([]uint64, error) {
			return func(q []float32) ([]uint64, error) {
				hits, _, err := col.Search(ctx, q, weaviate.SearchOptions{K: keep})
				return hitIDs(hits, c.k), err
			}
		}
		variants = append(variants, variant{"", "", plain, "limit ", append([]int{c.k}, keeps...)})
	}
	var rows []row
	for _, vr := range variants {
		var r row
		for _, keep := range vr.ladder {
			r = measure(c, queries, truth, vr.search(keep))
			r.knob = vr.knob + strconv.Itoa(keep)
			if r.recall >= c.target {
				break
			}
		}
		r.name, r.layout, r.ingest = vr.name, vr.layout, ingest
		rows = append(rows, r)
	}
	if state != "" {
		heap, err := liveHeaps(state, c.nodes)
		if err != nil {
			return nil, err
		}
		var rss []int64
		for i := range heap {
			heap[i] -= empty[i]
			rss = append(rss, rssOf(filepath.Join(state, "node"+strconv.Itoa(i+1), "pid")))
		}
		for i := range rows {
			rows[i].heap, rows[i].rss = heap, rss
		}
	}
	return rows, cl.Drop(ctx, name)
}

// liveHeaps reads each node's live heap from its Prometheus metrics:
// go_memstats_next_gc_bytes / (1 + GOGC/100), the heap goal the last GC
// set from the heap it found live.
func liveHeaps(state string, nodes int) ([]int64, error) {
	out := make([]int64, nodes)
	for i := range nodes {
		ports, err := os.ReadFile(filepath.Join(state, "node"+strconv.Itoa(i+1), "ports"))
		if err != nil {
			return nil, err
		}
		port := ""
		for _, line := range strings.Split(string(ports), "\n") {
			if p, ok := strings.CutPrefix(line, "METRICS="); ok {
				port = strings.TrimSpace(p)
			}
		}
		if port == "" {
			return nil, fmt.Errorf("node %d: no METRICS port in %s/node%d/ports", i+1, state, i+1)
		}
		resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
		if err != nil {
			return nil, fmt.Errorf("node %d metrics: %w", i+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("node %d metrics: %w", i+1, err)
		}
		goal, gogc := -1.0, -1.0
		for _, line := range strings.Split(string(body), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			x, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "go_memstats_next_gc_bytes":
				goal = x
			case "go_gc_gogc_percent":
				gogc = x
			}
		}
		if goal < 0 || gogc <= 0 {
			return nil, fmt.Errorf("node %d metrics: want go_memstats_next_gc_bytes and a positive go_gc_gogc_percent, got %v and %v", i+1, goal, gogc)
		}
		out[i] = int64(goal / (1 + gogc/100))
	}
	return out, nil
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
	fmt.Fprintf(&b, "%s, %s %s, %d cores, %d clients for %v per row, %d nodes, load average %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), c.conc, c.dur, c.nodes, strings.TrimSpace(string(load)))
	b.WriteString("Memory: index = live heap per node after ingest, a restart and the searches, minus the node's live heap when empty (live heap = go_memstats_next_gc_bytes / (1 + GOGC/100)); RSS includes the server (~120 MB a node) and cached pages of on-disk vectors.\n\n")
	b.WriteString("| row | layout | knob | recall@10 | QPS | p50 | p99 | errors | ingest/build | index memory (MB per node) | RSS (MB per node) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	mb := func(xs []int64) string {
		if len(xs) == 0 {
			return "n/a"
		}
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = fmt.Sprintf("%.0f", float64(x)/1e6)
		}
		return strings.Join(parts, " / ")
	}
	var hnsw *row
	for i := range rows {
		if rows[i].name == "weaviate hnsw" {
			hnsw = &rows[i]
		}
	}
	for _, r := range rows {
		heap, rss := mb(r.heap), mb(r.rss)
		if r.mem > 0 {
			heap, rss = fmt.Sprintf("%.1f (vectors + graph, one process)", float64(r.mem)/1e6), "n/a"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.4f | %.0f | %v | %v | %d | %v | %s | %s |\n", r.name, r.layout, r.knob, r.recall, r.qps,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, r.ingest.Round(time.Millisecond), heap, rss)
	}
	if hnsw != nil && len(hnsw.heap) > 0 {
		b.WriteString("\nAgainst full-dim HNSW (targets: recall@10 >= target, index memory <= 40%, QPS >= 0.8x):\n\n")
		for _, r := range rows {
			if !strings.HasPrefix(r.name, "weaviate funnel") || len(r.heap) == 0 {
				continue
			}
			mr, rr := sum(r.heap)/max(1, sum(hnsw.heap)), sum(r.rss)/max(1, sum(hnsw.rss))
			qr := r.qps / max(hnsw.qps, 1e-9)
			fmt.Fprintf(&b, "- %s: recall %.4f (%s), index memory %.0f%% (%s), RSS %.0f%%, QPS %.2fx (%s)\n", r.name, r.recall, met(r.recall >= c.target),
				100*mr, met(mr <= 0.4), 100*rr, qr, met(qr >= 0.8))
		}
	}
	return b.String()
}

func sum(xs []int64) float64 {
	var s float64
	for _, x := range xs {
		s += float64(x)
	}
	return s
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}
