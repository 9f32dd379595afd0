// Command cluster benchmarks Matryoshka collections on a Weaviate cluster
// (package weaviate) against plain full-dim HNSW in Weaviate and against
// our embedded index on the same data:
//
//	(a) funnel   our layout, one per -prefix dim: HNSW on the prefix
//	             (optionally compressed: -compress), the full vector flat
//	             (on disk, no vector cache), searched in one round trip
//	             (the shortlist comes back with its full vectors, reranked
//	             here) and, for the first funnel layout, also as two stage
//	             queries (the rerank a filtered flat query on the cluster);
//	             with -funnel-efs, also at the (shortlist, fixed ef) pair
//	             reaching -target with the least CPU per query in the
//	             recall probes (a staircase over the ef and shortlist
//	             ladders, the ef set with Collection.SetEf)
//	(b) hnsw     plain full-dim HNSW in Weaviate, twice: over-fetching
//	             (limit ladder, Weaviate's dynamic ef) and at limit k over
//	             an ef ladder (-hnsw-efs, set with Collection.SetEf)
//	(c) embedded index.Funnel in this process: HNSW on the first prefix,
//	             exact rerank (-embedded=false leaves it out)
//
// Each runs at the smallest knob of its ladder that reaches -target
// recall@10 against exact search (the shortlist for (a) and (c), the limit
// or the ef for (b)), found by recall probes (every query once per rung),
// so the rows compare equal recall. Then the rows are timed in -rounds
// alternating rounds (each round times every row for -duration/-rounds
// with -c concurrent clients), so that a change of the machine's load
// meets all rows alike. For each row it prints recall@10, QPS, p50/p99,
// CPU per query (user + system time of this process and of each node
// over the timed rounds, divided by the queries: a figure less sensitive
// to other load on the machine than QPS) and memory per node. -pprof DIR
// records CPU profiles of each node and of this process during each
// row's first round (go tool pprof FILE).
//
// Memory. With -start (the default) every cluster layout runs on a fresh
// cluster started by scripts/weaviate-cluster.sh (so that one layout's
// memory is not counted in another's); the clusters run side by side
// until the end, idle but for the row being timed. Before the collection
// is made, each node's live heap is read from its Prometheus metrics as
// go_memstats_next_gc_bytes / (1 + GOGC/100) (the heap goal the last GC
// set from the heap it found live: a figure that does not depend on when
// the garbage was last collected). After ingest every node is restarted
// with its data (which flushes the LSM memtables that ingest filled and
// leaves the vector index as a node serving the collection holds it), the
// recall probes run (one query at a time), and the live heap and VmRSS
// are read again, before the timed rounds. The "index"
// memory of a node is its live heap then minus its live heap when empty:
// what the collection's vector indexes and stores keep in memory. RSS
// also counts the server itself (about 120 MB a node) and pages of the
// on-disk vectors the kernel keeps cached. With -addrs it uses a running
// cluster (one collection per layout) and reports no memory and no node
// CPU.
//
// Sharding. By default each layout has one shard per node and no
// replicas, so every query reaches every node: each shard runs the graph
// search and returns its best `limit` objects (for the funnel, with their
// full vectors) to the node the client asked, which merges them. With
// -shards 1 -replicas 3 (applied to every layout alike) each node holds
// the whole collection and a query (at consistency ONE) is answered by
// the node asked alone; memory per node is then the whole collection's.
//
// The data are synthetic Matryoshka-like rows (index/indextest).
//
// Usage:
//
//	go run ./bench/cluster -n 100000 -d 512 -prefix 64,96,128 -nq 300 -duration 30s -write
//	go run ./bench/cluster -n 100000 -d 512 -prefix 128 -ef 128 -m 16 -embedded=false -two-trips=false   (the prefix graph's knobs)
//	go run ./bench/cluster -n 100000 -d 512 -prefix 128 -duration 30s -pprof /tmp/prof   (where the time goes)
//	go run ./bench/cluster -n 100000 -d 512 -prefix 128 -shards 1 -replicas 3 -funnel-efs 400,500,640,800,1000 -hnsw-efs 400,500,600,700,800,900,1000,1200 -two-trips=false -duration 30s   (one shard on every node, both graphs at a fixed ef)
//	go run ./bench/cluster -n 2000 -d 64 -prefix 16,32 -duration 2s -nq 50   (smoke test)
package main

import (
	"cmp"
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
	"runtime/pprof"
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
	n, d, nq, conc, k, nodes int
	prefixes                 []int
	dur                      time.Duration
	rounds                   int
	target                   float64
	addrs                    string
	start                    bool
	write                    bool
	out                      string
	seed                     uint64
	compress                 []string
	m, efc, ef               int
	hnswEfs                  []int
	funnelEfs                []int
	shards, replicas         int
	embedded                 bool
	twoTrips                 bool
	pprof                    string
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 200000, "vectors")
	flag.IntVar(&c.d, "d", 512, "vector dim")
	prefixes := flag.String("prefix", "64", "the funnel layouts' first-stage prefix dims (comma-separated: one funnel layout each)")
	flag.IntVar(&c.nq, "nq", 500, "queries (recall is measured on all of them)")
	flag.IntVar(&c.conc, "c", 8, "concurrent clients")
	flag.IntVar(&c.k, "k", 10, "results per search")
	flag.IntVar(&c.nodes, "nodes", 3, "nodes of the cluster -start starts")
	flag.DurationVar(&c.dur, "duration", 30*time.Second, "how long each row's clients search, in all (split over -rounds)")
	flag.IntVar(&c.rounds, "rounds", 3, "timed rounds: each round times every row for duration/rounds, in turn, so that a change of the machine's load meets every row alike")
	flag.Float64Var(&c.target, "target", 0.95, "recall@k each row must reach")
	flag.StringVar(&c.addrs, "addrs", "", "a running cluster (HOST:HTTP/GRPC,...) instead of -start")
	flag.BoolVar(&c.start, "start", true, "start a fresh cluster per layout with scripts/weaviate-cluster.sh")
	flag.BoolVar(&c.write, "write", false, "also write the table to -out")
	flag.StringVar(&c.out, "out", "bench/cluster/RESULTS.md", "file -write writes")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the synthetic vectors")
	compress := flag.String("compress", "none", "funnel layouts to run, by the compression of the prefix graph: none, bq, sq, rq (comma-separated)")
	flag.IntVar(&c.m, "m", 0, "maxConnections of the prefix graph (0: Weaviate's default, 32)")
	flag.IntVar(&c.efc, "efc", 0, "efConstruction of the prefix graph (0: Weaviate's default, 128)")
	flag.IntVar(&c.ef, "ef", 0, "ef of the prefix graph's searches (0: Weaviate's dynamic ef, 8 x the shortlist clamped to 100..500)")
	hnswEfs := flag.String("hnsw-efs", "100,150,200,250,300,350,400,450,500", "ef ladder of full-dim HNSW at limit k (a second hnsw row; \"\" leaves it out)")
	funnelEfs := flag.String("funnel-efs", "", "ef ladder of the prefix graph (a second row per funnel layout: the (shortlist, fixed ef) pair reaching -target with the least CPU per query in the recall probes; \"\" leaves it out)")
	flag.IntVar(&c.shards, "shards", 0, "shards of every cluster layout (0: Weaviate's default, one per node)")
	flag.IntVar(&c.replicas, "replicas", 1, "replication factor of every cluster layout (reads at ONE: a query touches one replica of each shard)")
	flag.BoolVar(&c.embedded, "embedded", true, "also run (c), the embedded funnel")
	flag.BoolVar(&c.twoTrips, "two-trips", true, "also run the first funnel layout as two stage queries")
	flag.StringVar(&c.pprof, "pprof", "", "directory for CPU profiles of every node and of this process during each row's first timed round (starts the nodes with MRL_WEAVIATE_PPROF=1; needs -start)")
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
	var err error
	if c.prefixes, err = ints("-prefix", *prefixes); err != nil || len(c.prefixes) == 0 {
		log.Fatalf("-prefix %q: want one or more dims (%v)", *prefixes, err)
	}
	if c.hnswEfs, err = ints("-hnsw-efs", *hnswEfs); err != nil {
		log.Fatal(err)
	}
	if c.funnelEfs, err = ints("-funnel-efs", *funnelEfs); err != nil {
		log.Fatal(err)
	}
	if c.shards < 0 || c.replicas < 1 || c.replicas > c.nodes {
		log.Fatalf("-shards %d -replicas %d: want shards >= 0 and 1 <= replicas <= -nodes (%d)", c.shards, c.replicas, c.nodes)
	}
	if c.addrs != "" {
		c.start = false
	}
	if c.rounds < 1 {
		log.Fatalf("-rounds %d: want >= 1", c.rounds)
	}
	if c.pprof != "" && !c.start {
		log.Fatal("-pprof needs the clusters -start starts")
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// ints parses a comma-separated list of positive integers.
func ints(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := strconv.Atoi(f)
		if err != nil || x < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, x)
	}
	return out, nil
}

type row struct {
	name, layout, knob string
	keep               int // the knob's value (shortlist, limit or ef)
	recall             float64
	qps                float64
	p50, p99           time.Duration
	errors             int
	ingest             time.Duration
	rss                []int64 // bytes per node
	heap               []int64 // live heap per node, minus the node's when empty
	mem                int64   // embedded: bytes of vectors and graph
	cpuClient          float64 // CPU seconds per query of this process
	cpuNodes           []float64

	search  func(q []float32) ([]uint64, error)
	prep    func() error // run before each timed slot (the row's ef)
	cluster *clusterRun  // nil for the embedded row

	lat        []time.Duration
	cpuClientS float64
	cpuNodesS  []float64
}

// clusterRun is one layout's cluster (or collection, with -addrs).
type clusterRun struct {
	state  string // "" with -addrs
	cl     *weaviate.Cluster
	col    *weaviate.Collection
	name   string
	empty  []int64
	pids   []int
	ingest time.Duration
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
	// The knob ladders: shortlists (and limits) from k up, finely where
	// the funnels and full HNSW reach the target.
	var keeps []int
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 40, 60, 80} {
		keeps = append(keeps, m*c.k)
	}
	var rows []*row

	// (c) embedded.
	if c.embedded {
		r, err := embeddedRow(c, v, queries, truth, keeps)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}

	// (a) and (b) on the cluster.
	type layout struct {
		name   string
		layout weaviate.Layout
		desc   string
	}
	var layouts []layout
	for _, p := range c.prefixes {
		for _, comp := range c.compress {
			l := weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Prefixes: []int{p}, Shards: c.shards, Replicas: c.replicas, HNSW: weaviate.HNSWConfig{M: c.m, EfConstruction: c.efc, Ef: c.ef, Compression: comp}}
			name, desc := fmt.Sprintf("weaviate funnel p%d", p), fmt.Sprintf("HNSW p%d + flat full", p)
			if comp != "" {
				name, desc = fmt.Sprintf("weaviate funnel p%d %s", p, comp), fmt.Sprintf("HNSW p%d (%s) + flat full", p, strings.ToUpper(comp))
			}
			layouts = append(layouts, layout{name, l, desc})
		}
	}
	layouts = append(layouts, layout{"weaviate hnsw", weaviate.Layout{Dim: c.d, Metric: mrl.Cosine, Full: weaviate.HNSW, Shards: c.shards, Replicas: c.replicas}, fmt.Sprintf("HNSW on the full %d dims", c.d)})
	var runs []*clusterRun
	defer func() {
		for _, cr := range runs {
			if cr.state != "" {
				script(c, cr.state, "stop")
				os.RemoveAll(cr.state)
			} else if cr.cl != nil {
				cr.cl.Drop(context.Background(), cr.name)
			}
		}
	}()
	for li, lay := range layouts {
		cr := &clusterRun{name: "BenchCluster" + strconv.Itoa(li+1)}
		runs = append(runs, cr)
		rs, err := clusterRows(c, cr, lay.layout, li == 0 && c.twoTrips, v, queries, truth, keeps)
		if err != nil {
			return fmt.Errorf("%s: %w", lay.name, err)
		}
		for _, r := range rs {
			r.layout = lay.desc + r.layout
			r.name = lay.name + r.name
		}
		rows = append(rows, rs...)
	}

	// The timed rounds, every row in turn.
	if c.pprof != "" {
		if err := os.MkdirAll(c.pprof, 0o755); err != nil {
			return err
		}
	}
	slot := c.dur / time.Duration(c.rounds)
	for round := range c.rounds {
		for _, r := range rows {
			if err := timed(c, r, queries, slot, round == 0 && c.pprof != ""); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
		}
	}
	for _, r := range rows {
		finish(c, r)
	}

	table := render(c, rows)
	fmt.Print(table)
	if c.write {
		return os.WriteFile(c.out, []byte(table), 0o644)
	}
	return nil
}

// recallOf runs every query once and returns the mean recall@k and the
// number of failed searches.
func recallOf(c config, queries []float32, truth [][]uint64, search func([]float32) ([]uint64, error)) (float64, int) {
	var rec float64
	errs := 0
	for i := range c.nq {
		got, err := search(queries[i*c.d : (i+1)*c.d])
		if err != nil {
			errs++
			continue
		}
		n := 0
		for _, id := range got {
			if slices.Contains(truth[i], id) {
				n++
			}
		}
		rec += float64(n) / float64(len(truth[i]))
	}
	return rec / float64(c.nq), errs
}

// embeddedRow is (c): our HNSW on the first prefix and an exact rerank,
// at the smallest keep of the ladder reaching the target.
func embeddedRow(c config, v *index.Vectors, queries []float32, truth [][]uint64, keeps []int) (*row, error) {
	p := c.prefixes[0]
	t0 := time.Now()
	h, err := index.NewHNSW(v, index.HNSWOptions{Dim: p, Seed: c.seed})
	if err != nil {
		return nil, err
	}
	build := time.Since(t0)
	var r *row
	for _, keep := range keeps {
		plan := index.Plan{{Dim: p, Keep: keep}, {Dim: c.d, Keep: c.k}}
		f, err := index.NewFunnel(v, plan, h.WithEf(max(keep, 64)))
		if err != nil {
			return nil, err
		}
		search := func(q []float32) ([]uint64, error) {
			hits, err := f.Search(q, c.d, c.k, nil)
			out := make([]uint64, len(hits))
			for i, x := range hits {
				out[i] = x.ID
			}
			return out, err
		}
		r = &row{search: search}
		r.recall, r.errors = recallOf(c, queries, truth, search)
		r.knob = "keep " + strconv.Itoa(keep) + ", ef " + strconv.Itoa(max(keep, 64))
		if r.recall >= c.target {
			break
		}
	}
	r.name, r.layout = "embedded funnel", fmt.Sprintf("HNSW p%d + exact rerank at %d", p, c.d)
	r.ingest, r.mem = build, v.MemBytes()+h.MemBytes()
	return r, nil
}

// clusterRows ingests v into a collection laid out as l (on a fresh
// cluster with -start) and returns the rows to time at the smallest knob
// reaching the target: of the one-round-trip funnel (and, with twoTrips,
// of the two-stage-query funnel at the same shortlist) when l has a
// prefix; of plain search over the limit ladder (dynamic ef) and, with
// -hnsw-efs, over the ef ladder at limit k otherwise.
func clusterRows(c config, cr *clusterRun, l weaviate.Layout, twoTrips bool, v *index.Vectors, queries []float32, truth [][]uint64, keeps []int) ([]*row, error) {
	ctx := context.Background()
	addrs := c.addrs
	if c.start {
		dir, err := os.MkdirTemp("", "mrl-bench-cluster-")
		if err != nil {
			return nil, err
		}
		cr.state = dir
		out, err := script(c, cr.state, "start", strconv.Itoa(c.nodes))
		if err != nil {
			return nil, fmt.Errorf("start the cluster: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		addrs = lines[len(lines)-1]
		time.Sleep(2 * time.Second) // let start-up's garbage be collected
		if cr.empty, err = liveHeaps(cr.state, c.nodes); err != nil {
			return nil, err
		}
	}
	as, err := weaviate.ParseAddrs(addrs)
	if err != nil {
		return nil, err
	}
	if cr.cl, err = weaviate.Dial(ctx, weaviate.Options{Addrs: as, Consistency: weaviate.One, Timeout: 120 * time.Second}); err != nil {
		return nil, err
	}
	if err := cr.cl.Drop(ctx, cr.name); err != nil {
		return nil, err
	}
	col, err := cr.cl.Create(ctx, cr.name, l)
	if err != nil {
		return nil, err
	}
	cr.col = col
	t0 := time.Now()
	const chunk = 4096
	for lo := 0; lo < v.N(); lo += chunk {
		var pts []api.Point
		for i := lo; i < min(lo+chunk, v.N()); i++ {
			pts = append(pts, api.Point{ID: api.IntID(v.ID(i)), Vector: v.Row(i)})
		}
		// At ALL: every replica holds the batch before the restarts.
		if _, err := col.Upsert(ctx, pts, weaviate.WriteOptions{Consistency: weaviate.All}); err != nil {
			return nil, err
		}
	}
	cr.ingest = time.Since(t0)
	if cr.state != "" {
		// A restart flushes the memtables ingest filled; the node then
		// holds the collection as it serves it.
		for i := 1; i <= c.nodes; i++ {
			if out, err := script(c, cr.state, "restart", strconv.Itoa(i)); err != nil {
				return nil, fmt.Errorf("restart node %d: %v\n%s", i, err, out)
			}
		}
		for i := 1; i <= c.nodes; i++ {
			b, err := os.ReadFile(filepath.Join(cr.state, "node"+strconv.Itoa(i), "pid"))
			if err != nil {
				return nil, err
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			cr.pids = append(cr.pids, pid)
		}
	}
	setEf := func(ef int) func() error {
		return func() error {
			if err := col.SetEf(ctx, ef); err != nil {
				return err
			}
			time.Sleep(time.Second) // the schema change reaches every node
			return nil
		}
	}
	// ladder probes the rungs in turn and returns the row of the first
	// reaching the target (the last if none does).
	ladder := func(rungs []int, knob func(int) string, search func(int) func([]float32) ([]uint64, error), prep func(int) func() error) (*row, error) {
		var r *row
		for _, x := range rungs {
			r = &row{search: search(x), cluster: cr, knob: knob(x), keep: x, ingest: cr.ingest}
			if prep != nil {
				r.prep = prep(x)
				if err := r.prep(); err != nil {
					return nil, err
				}
			}
			r.recall, r.errors = recallOf(c, queries, truth, r.search)
			if r.recall >= c.target {
				break
			}
		}
		return r, nil
	}
	var rows []*row
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
		efNote := ", dynamic ef"
		if l.HNSW.Ef != 0 {
			efNote = ", ef " + strconv.Itoa(l.HNSW.Ef)
		}
		// The layout's own ef (Weaviate's dynamic ef unless -ef), set
		// again before each of its slots when the fixed-ef row below
		// changes it.
		own := setEf(cmp.Or(l.HNSW.Ef, -1))
		var ownPrep func() error
		if len(c.funnelEfs) > 0 {
			ownPrep = own
		}
		var prepOf func(int) func() error
		if ownPrep != nil {
			prepOf = func(int) func() error { return ownPrep }
		}
		r, err := ladder(keeps, func(k int) string { return "shortlist " + strconv.Itoa(k) + efNote }, funnel(false), prepOf)
		if err != nil {
			return nil, err
		}
		r.layout = ", 1 round trip (local rerank)"
		r.prep = ownPrep
		rows = append(rows, r)
		if len(c.funnelEfs) > 0 {
			// The cheapest (shortlist, fixed ef) pair reaching the
			// target, by CPU per query in the recall probes.
			name := l.PrefixName(l.Prefixes[0])
			probe := func(keep, ef int) (probeResult, error) {
				if err := setEf(ef)(); err != nil {
					return probeResult{}, err
				}
				p := probeCPU(c, cr, queries, truth, funnel(false)(keep))
				log.Printf("probe %s %s: shortlist %d, ef %d: recall %.4f, %d errors, CPU %.2f ms/query", cr.name, name, keep, max(ef, keep), p.recall, p.errors, 1e3*p.cpu)
				return p, nil
			}
			kp, p, ok, err := cheapest(c.funnelEfs, keeps, c.target, probe)
			if err != nil {
				return nil, err
			}
			if !ok {
				log.Printf("%s: no (shortlist, ef) pair of the ladders reaches recall %.2f: no fixed-ef funnel row", cr.name, c.target)
				return rows, memory(c, cr, rows)
			}
			ef := max(kp.ef, kp.keep)
			rf := &row{name: ", fixed ef", layout: ", 1 round trip (local rerank)", search: funnel(false)(kp.keep), prep: setEf(ef), cluster: cr,
				knob: fmt.Sprintf("shortlist %d, ef %d", kp.keep, ef), keep: kp.keep, ingest: cr.ingest, recall: p.recall, errors: p.errors}
			rows = append(rows, rf)
			if err := own(); err != nil {
				return nil, err
			}
		}
		if twoTrips {
			r2 := &row{name: ", 2 trips", layout: ", 2 stage queries (rerank on the cluster)", search: funnel(true)(r.keep), prep: ownPrep, cluster: cr, knob: r.knob, keep: r.keep, ingest: cr.ingest}
			r2.recall, r2.errors = recallOf(c, queries, truth, r2.search)
			rows = append(rows, r2)
		}
		return rows, memory(c, cr, rows)
	}
	plain := func(limit int) func(q []float32) ([]uint64, error) {
		return func(q []float32) ([]uint64, error) {
			hits, _, err := col.Search(ctx, q, weaviate.SearchOptions{K: limit})
			return hitIDs(hits, c.k), err
		}
	}
	// Over-fetching raises the dynamic ef (8 x limit, 100..500).
	r, err := ladder(keeps, func(k int) string { return "limit " + strconv.Itoa(k) + ", dynamic ef" }, plain, func(int) func() error { return setEf(-1) })
	if err != nil {
		return nil, err
	}
	r.prep = setEf(-1)
	rows = append(rows, r)
	if len(c.hnswEfs) > 0 {
		r, err := ladder(c.hnswEfs, func(ef int) string { return fmt.Sprintf("limit %d, ef %d", c.k, ef) }, func(int) func([]float32) ([]uint64, error) { return plain(c.k) }, setEf)
		if err != nil {
			return nil, err
		}
		r.name = ", fixed ef"
		rows = append(rows, r)
	}
	return rows, memory(c, cr, rows)
}

// probeResult is a recall probe's outcome: every query once, one at a
// time.
type probeResult struct {
	recall float64
	errors int
	cpu    float64 // CPU seconds per query: this process and the cluster's nodes
}

// probeCPU runs the recall probe of search and measures its CPU per query
// (of this process and of cr's nodes; with -addrs, this process alone).
func probeCPU(c config, cr *clusterRun, queries []float32, truth [][]uint64, search func([]float32) ([]uint64, error)) probeResult {
	cpu := func() float64 {
		t := cpuSeconds(os.Getpid())
		for _, p := range cr.pids {
			t += cpuSeconds(p)
		}
		return t
	}
	t0 := cpu()
	var p probeResult
	p.recall, p.errors = recallOf(c, queries, truth, search)
	p.cpu = (cpu() - t0) / float64(c.nq)
	return p
}

// knobPair is a funnel's knobs: the shortlist and the prefix graph's
// fixed search ef (Weaviate searches at max(ef, shortlist)).
type knobPair struct{ keep, ef int }

// cheapest finds the (shortlist, ef) pair reaching target with the least
// CPU per query. It walks a staircase: for each ef of efs, from the
// largest down, the smallest shortlist of keeps up to ef reaching target,
// starting from the previous ef's (a smaller ef needs no shorter
// shortlist) and going up until one does; it stops at the first ef that
// no shortlist up to it rescues (a shortlist past the ef searches at
// ef = shortlist, and a graph whose recall is bound by its ef gains
// nothing from more objects). ok is false if no pair reaches target.
// Each pair is probed at most once.
func cheapest(efs, keeps []int, target float64, probe func(keep, ef int) (probeResult, error)) (best knobPair, bestP probeResult, ok bool, err error) {
	j := 0
	for _, ef := range slices.Backward(slices.Sorted(slices.Values(efs))) {
		found := false
		for ; j < len(keeps) && keeps[j] <= ef; j++ {
			kp := knobPair{keeps[j], ef}
			p, err := probe(kp.keep, kp.ef)
			if err != nil {
				return best, bestP, ok, err
			}
			if p.recall >= target {
				if !ok || p.cpu < bestP.cpu {
					best, bestP, ok = kp, p, true
				}
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return best, bestP, ok, nil
}

// memory reads the live heap (minus the node's when empty) and the RSS
// of each node of cr's cluster into rows, after the recall probes (one
// query at a time, so that little of a node's heap is a query's garbage)
// and before the timed rounds.
func memory(c config, cr *clusterRun, rows []*row) error {
	if cr.state == "" {
		return nil
	}
	heap, err := liveHeaps(cr.state, c.nodes)
	if err != nil {
		return err
	}
	var rss []int64
	for i := range heap {
		heap[i] -= cr.empty[i]
		rss = append(rss, rssOf(filepath.Join(cr.state, "node"+strconv.Itoa(i+1), "pid")))
	}
	for _, r := range rows {
		r.heap, r.rss = heap, rss
	}
	return nil
}

// timed runs c.conc clients of r's search for d, adding to r's latencies
// and errors, and the CPU time this process and r's nodes spent. With
// profile, it records CPU profiles of the nodes and of this process
// meanwhile, into c.pprof.
func timed(c config, r *row, queries []float32, d time.Duration, profile bool) error {
	if r.prep != nil {
		if err := r.prep(); err != nil {
			return err
		}
	}
	var pids []int
	if r.cluster != nil {
		pids = r.cluster.pids
	}
	var pwg sync.WaitGroup
	var perr error
	if profile {
		slug := strings.NewReplacer(" ", "-", ",", "").Replace(r.name)
		f, err := os.Create(filepath.Join(c.pprof, slug+"-client.pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		if r.cluster != nil && r.cluster.state != "" {
			secs := max(1, int(d.Seconds())-1)
			for i := range c.nodes {
				pwg.Add(1)
				go func() {
					defer pwg.Done()
					if err := nodeProfile(r.cluster.state, i+1, secs, filepath.Join(c.pprof, fmt.Sprintf("%s-node%d.pprof", slug, i+1))); err != nil {
						perr = err
					}
				}()
			}
		}
	}
	self0, nodes0 := cpuSeconds(os.Getpid()), make([]float64, len(pids))
	for i, p := range pids {
		nodes0[i] = cpuSeconds(p)
	}
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	off := len(r.lat) // later rounds go on through the queries
	for w := range c.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs := 0
			for i := w + off; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if _, err := r.search(queries[(i%c.nq)*c.d : (i%c.nq+1)*c.d]); err != nil {
					errs++
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			r.lat = append(r.lat, mine...)
			r.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.cpuClientS += cpuSeconds(os.Getpid()) - self0
	if r.cpuNodesS == nil {
		r.cpuNodesS = make([]float64, len(pids))
	}
	for i, p := range pids {
		r.cpuNodesS[i] += cpuSeconds(p) - nodes0[i]
	}
	pwg.Wait()
	return perr
}

// finish turns r's timed rounds into its QPS, latencies and CPU per query.
func finish(c config, r *row) {
	lat := r.lat
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	r.qps = float64(len(lat)) / c.dur.Seconds()
	r.p50 = lat[len(lat)/2]
	r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	r.cpuClient = r.cpuClientS / float64(len(lat))
	for _, s := range r.cpuNodesS {
		r.cpuNodes = append(r.cpuNodes, s/float64(len(lat)))
	}
}

// cpuSeconds is the user + system CPU time of process pid (0 if it cannot
// be read), from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	// Fields after the command: state is f[0], utime f[11], stime f[12].
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// nodeProfile writes a CPU profile of node i of the cluster in state,
// taken over secs seconds, to file.
func nodeProfile(state string, i, secs int, file string) error {
	port, err := nodePort(state, i, "PPROF")
	if err != nil {
		return err
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%s/debug/pprof/profile?seconds=%d", port, secs))
	if err != nil {
		return fmt.Errorf("node %d profile: %w", i, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("node %d profile: %s", i, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("node %d profile: %w", i, err)
	}
	return os.WriteFile(file, b, 0o644)
}

// nodePort reads port key (METRICS, PPROF, ...) of node i from the
// cluster script's state.
func nodePort(state string, i int, key string) (string, error) {
	file := filepath.Join(state, "node"+strconv.Itoa(i), "ports")
	ports, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(ports), "\n") {
		if p, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.TrimSpace(p), nil
		}
	}
	return "", fmt.Errorf("node %d: no %s port in %s", i, key, file)
}

// liveHeaps reads each node's live heap from its Prometheus metrics:
// go_memstats_next_gc_bytes / (1 + GOGC/100), the heap goal the last GC
// set from the heap it found live.
func liveHeaps(state string, nodes int) ([]int64, error) {
	out := make([]int64, nodes)
	for i := range nodes {
		port, err := nodePort(state, i+1, "METRICS")
		if err != nil {
			return nil, err
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

func script(c config, state string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{"scripts/weaviate-cluster.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "MRL_WEAVIATE_STATE="+state)
	if c.pprof != "" {
		cmd.Env = append(cmd.Env, "MRL_WEAVIATE_PPROF=1")
	}
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

func render(c config, rows []*row) string {
	var b strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "# bench/cluster: %d Matryoshka-like vectors of %d dims, cosine, k = %d, target recall@%d >= %.2f\n\n", c.n, c.d, c.k, c.k, c.target)
	fmt.Fprintf(&b, "%s, %s %s, %d cores, %d clients, %v per row in %d alternating rounds, %d nodes per cluster (one cluster per layout, all running meanwhile), load average at the end %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), c.conc, c.dur, c.rounds, c.nodes, strings.TrimSpace(string(load)))
	b.WriteString("Memory: index = live heap per node after ingest, a restart and the recall probes (before the timed rounds), minus the node's live heap when empty (live heap = go_memstats_next_gc_bytes / (1 + GOGC/100)); RSS includes the server (~120 MB a node) and cached pages of on-disk vectors. CPU per query: user + system time of this process (the client: encoding, decoding, the local rerank) and of each node, over the timed rounds, divided by the queries answered; less sensitive to other load on the machine than QPS.\n\n")
	b.WriteString("| row | layout | knob | recall@10 | QPS | p50 | p99 | errors | CPU ms/query: client + nodes | ingest/build | index memory (MB per node) | RSS (MB per node) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
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
	for _, r := range rows {
		heap, rss := mb(r.heap), mb(r.rss)
		if r.mem > 0 {
			heap, rss = fmt.Sprintf("%.1f (vectors + graph, one process)", float64(r.mem)/1e6), "n/a"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.4f | %.0f | %v | %v | %d | %s | %v | %s | %s |\n", r.name, r.layout, r.knob, r.recall, r.qps,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, cpuText(r), r.ingest.Round(time.Millisecond), heap, rss)
	}
	var hnsw []*row
	for _, r := range rows {
		if strings.HasPrefix(r.name, "weaviate hnsw") && len(r.heap) > 0 {
			hnsw = append(hnsw, r)
		}
	}
	for _, h := range hnsw {
		fmt.Fprintf(&b, "\nAgainst %s (%s; targets: recall@10 >= target, index memory <= 40%%, QPS >= 0.8x):\n\n", h.name, h.knob)
		for _, r := range rows {
			if !strings.HasPrefix(r.name, "weaviate funnel") || len(r.heap) == 0 {
				continue
			}
			mr, rr := sum(r.heap)/max(1, sum(h.heap)), sum(r.rss)/max(1, sum(h.rss))
			qr := r.qps / max(h.qps, 1e-9)
			cpu := ""
			if hc, rc := cpuTotal(h), cpuTotal(r); hc > 0 && rc > 0 {
				cpu = fmt.Sprintf(", CPU per query %.2fx (QPS if CPU-bound %.2fx)", rc/hc, hc/rc)
			}
			fmt.Fprintf(&b, "- %s: recall %.4f (%s), index memory %.0f%% (%s), RSS %.0f%%, QPS %.2fx (%s)%s\n", r.name, r.recall, met(r.recall >= c.target),
				100*mr, met(mr <= 0.4), 100*rr, qr, met(qr >= 0.8), cpu)
		}
	}
	return b.String()
}

// cpuText is r's CPU per query in ms: the client's, then each node's.
func cpuText(r *row) string {
	if r.cpuClient == 0 && len(r.cpuNodes) == 0 {
		return "n/a"
	}
	s := fmt.Sprintf("%.2f", r.cpuClient*1e3)
	if len(r.cpuNodes) > 0 {
		parts := make([]string, len(r.cpuNodes))
		for i, x := range r.cpuNodes {
			parts[i] = fmt.Sprintf("%.2f", x*1e3)
		}
		s += " + " + strings.Join(parts, " / ") + fmt.Sprintf(" = %.2f", cpuTotal(r)*1e3)
	}
	return s
}

// cpuTotal is r's CPU seconds per query, client and nodes.
func cpuTotal(r *row) float64 {
	t := r.cpuClient
	for _, x := range r.cpuNodes {
		t += x
	}
	return t
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
