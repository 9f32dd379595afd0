package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

const indexPushHelp = `Usage: mrl index push FILE --weaviate ADDR[,ADDR...] --collection NAME [flags]

Loads the vectors of FILE into a collection on a Weaviate cluster (package
weaviate), laid out for a funnel plan: one named vector per plan stage, an
HNSW index on the first stage's prefix and flat (exact) indexes on the
later ones, so that searches run the plan as stage queries on the cluster.

FILE is an index file (mrl index build), a 2-D NPY file (.npy; ids = row
numbers) or JSONL (.jsonl; {"id": 12, "vector": [...]} per line). Points
of a file with string ids get row numbers as ids and the string in the
payload field "name".

An address is HOST:HTTP[/GRPC] (gRPC port default 50051), as
scripts/weaviate-cluster.sh addrs prints them. An existing collection is
written into if its layout matches, and refused otherwise (--drop
replaces it).

Examples:
  mrl index push runs/fm.idx --weaviate 127.0.0.1:8080/50051 --collection fm --plan 64:200,512:10
  mrl index push vecs.npy --weaviate $(scripts/weaviate-cluster.sh addrs) --collection docs --replicas 2
`

func runIndexPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index push", flag.ContinueOnError)
	var addrs weaviate.Addrs
	fs.TextVar(&addrs, "weaviate", weaviate.Addrs{}, "the cluster's nodes, HOST:HTTP[/GRPC],... (required)")
	name := fs.String("collection", "", "the collection (required): a letter, then letters, digits or _")
	planS := fs.String("plan", "", "the funnel plan the layout serves, e.g. 64:200,512:10 (default: 64-dim HNSW shortlist of 200, or a quarter of D when D <= 64)")
	metricS := fs.String("metric", "cosine", "metric of NPY and JSONL vectors: cosine, ip or l2 (index files carry theirs)")
	full := fs.String("full", weaviate.Flat, "index of the full vector: flat (exact rerank, on disk) or hnsw")
	shards := fs.Int("shards", 0, "shards (0: one per node)")
	replicas := fs.Int("replicas", 1, "replication factor")
	m := fs.Int("m", 0, "HNSW maxConnections (0: Weaviate's default)")
	efc := fs.Int("ef-construction", 0, "HNSW efConstruction (0: Weaviate's default)")
	cons := weaviate.Quorum
	fs.TextVar(&cons, "consistency", weaviate.Quorum, "write consistency: one, quorum or all")
	batch := fs.Int("batch", 512, "points per batch request")
	timeout := fs.Duration("timeout", 60*time.Second, "timeout of one request")
	drop := fs.Bool("drop", false, "drop an existing collection of that name first")
	pos, err := parseInterspersed(fs, indexPushHelp, args, stderr)
	if err != nil {
		return err
	}
	var problems []string
	if len(pos) != 1 {
		problems = append(problems, fmt.Sprintf("want one FILE, got %d arguments", len(pos)))
	}
	if len(addrs) == 0 {
		problems = append(problems, "--weaviate is required")
	}
	if *name == "" {
		problems = append(problems, "--collection is required")
	}
	metric, err := mrl.ParseMetric(*metricS)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "mrl index push: %s\n", strings.Join(problems, "; "))
		return errUsage
	}
	path := pos[0]
	v, err := loadPushFile(path, metric)
	if err != nil {
		return err
	}
	d := v.Dim()
	var plan index.Plan
	if *planS == "" {
		first := 64
		if d <= 64 {
			first = max(1, d/4)
		}
		plan = index.Plan{{Dim: first, Keep: 200}, {Dim: d, Keep: 10}}
		if first == d {
			plan = plan[1:]
		}
	} else if plan, err = index.ParsePlan(*planS); err != nil {
		return err
	}
	if err := plan.Validate(d, 0); err != nil {
		return fmt.Errorf("--plan for %s (dim %d): %w", path, d, err)
	}
	l := weaviate.LayoutFor(d, v.Metric(), plan)
	l.Full, l.Shards, l.Replicas = *full, *shards, *replicas
	l.HNSW = weaviate.HNSWConfig{M: *m, EfConstruction: *efc}
	if err := l.WithDefaults().Validate(); err != nil {
		return err
	}
	cl, err := weaviate.Dial(ctx, weaviate.Options{Addrs: addrs, Consistency: cons, Timeout: *timeout, BatchSize: *batch})
	if err != nil {
		return err
	}
	if *drop {
		if err := cl.Drop(ctx, *name); err != nil {
			return err
		}
	}
	col, err := cl.Create(ctx, *name, l)
	if err != nil {
		return err
	}
	n := v.N()
	fmt.Fprintf(stderr, "pushing %d vectors of %d dims (%s) from %s into %s: prefixes %v (first HNSW), full %s, %d replicas, writes at %s\n",
		n, d, v.Metric(), path, *name, l.Prefixes, l.WithDefaults().Full, l.WithDefaults().Replicas, cons)
	start := time.Now()
	last := start
	chunk := 8 * *batch
	pts := make([]api.Point, 0, chunk)
	done := 0
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("push interrupted after %d of %d points: %w", done, n, err)
		}
		hi := min(lo+chunk, n)
		pts = pts[:0]
		for i := lo; i < hi; i++ {
			p := api.Point{ID: api.IntID(v.ID(i)), Vector: v.Row(i)}
			if v.Named() {
				p.ID = api.IntID(uint64(i))
				p.Payload = map[string]any{"name": v.Name(i)}
			}
			pts = append(pts, p)
		}
		got, err := col.Upsert(ctx, pts, weaviate.WriteOptions{})
		done += got
		if err != nil {
			return fmt.Errorf("after %d of %d points: %w", done, n, err)
		}
		if time.Since(last) >= 2*time.Second || hi == n {
			last = time.Now()
			el := time.Since(start)
			fmt.Fprintf(stderr, "pushed %d/%d (%d%%) in %v, %.0f points/s\n", done, n, 100*done/n, el.Round(time.Second), float64(done)/el.Seconds())
		}
	}
	count, err := col.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "collection %s: %d points pushed in %v, %d in the collection; search it with --plan %s\n", *name, done, time.Since(start).Round(time.Millisecond), count, plan)
	return nil
}

// loadPushFile reads an index file, or NPY/JSONL by extension.
func loadPushFile(path string, metric mrl.Metric) (*index.Vectors, error) {
	switch {
	case strings.HasSuffix(path, ".npy"):
		return readVectorFile(path, metric, false)
	case strings.HasSuffix(path, ".jsonl"):
		return readVectorFile(path, metric, true)
	}
	v, _, err := index.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (an index file; NPY and JSONL files need the .npy or .jsonl extension)", path, err)
	}
	return v, nil
}
