package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/train"
)

const indexHelp = `Usage: mrl index build|info|search|tune|push [flags]

Builds, inspects and searches index files (package index): one stored vector
per row serves every Matryoshka prefix dim.

  build   write an index file from a checkpoint's embeddings, NPY or JSONL
  info    print the rows, dims, metric, graph and size of an index file
  search  run queries through Flat, HNSW or a funnel plan; QPS, latency, recall
  tune    pick the cheapest funnel plan meeting a recall target or FLOP budget
  push    load an index file, NPY or JSONL into a Weaviate cluster, laid out for a plan

Run "mrl index SUBCOMMAND -h" for its flags.
`

const indexBuildHelp = `Usage: mrl index build --out FILE (--from-ckpt CKPT [--data NAME] [--split train|test] | --npy X.npy | --jsonl F.jsonl) [flags]

Writes an index file of the vectors given by exactly one source:
  --from-ckpt  the checkpoint's embeddings of a dataset split (ids = row numbers)
  --npy        a 2-D float32/float64 NumPy array (ids = row numbers)
  --jsonl      one {"id": 12, "vector": [...]} per line; ids all numbers, or
               all strings ({"id": "doc-12", ...}), which the index keeps
With --hnsw it also builds and stores an HNSW graph on the --hnsw-dim prefix.
With --adapter it indexes the vectors mapped through a Matryoshka adapter
(mrl adapt), keeping their ids; queries must then be adapted too
(mrl adapt apply).

Examples:
  mrl index build --out runs/mnist.idx --from-ckpt runs/quickstart.ckpt --split train
  mrl index build --out vecs.idx --jsonl vecs.jsonl --metric ip --hnsw --hnsw-dim 64
`

const indexInfoHelp = `Usage: mrl index info FILE

Prints the rows, dims and metric of an index file, whether it holds an HNSW
graph (and its dim), and the file size.

Example:
  mrl index info runs/mnist.idx
`

const indexSearchHelp = `Usage: mrl index search FILE (--npy Q.npy | --from-ckpt CKPT [--data NAME] [--split test] [--n 1000]) [flags]

Runs the queries one at a time and prints QPS and the mean and p99 latency.
The searcher is a funnel when --plan is given (its first stage on the
file's HNSW graph if it has one, else Flat; per-stage timings are printed),
else the file's HNSW graph if it has one, else exact Flat. --tier binary or
int8 builds a quantised tier (index.Quantized) of sign or int8 codes of the
--tier-dim prefix (default: the plan's first dim, else --dim) and uses it
as the funnel's first stage, or alone without --plan: it ranks all rows by
code, re-scores the best --rescore·k exactly and prints its bytes per
vector. --exact-check also reports recall@k against exact Flat at the full
dim. --int8-filter searches exactly instead, all queries in one batch
(index.Flat's SearchBatch) through the int8 filter (index.FlatOptions:
int8 codes of the rows bound every score and only the rows that could
enter a query's top k are scored in float; on CPUs with AVX512-VNNI, the
float scan elsewhere; the results are the float scan's), and prints the
batch's QPS. --queries is an alias of --npy. Queries must have the index's dim D
(from a checkpoint: its embedding size); --truncate-queries searches wider
or narrower ones by their leading dims instead (a Matryoshka prefix).

Examples:
  mrl index search runs/mnist.idx --from-ckpt runs/quickstart.ckpt --n 1000 --plan 16:200,512:10 --exact-check
  mrl index search vecs.idx --npy q.npy --k 10 --dim 64 --ef 128 --out hits.jsonl
  mrl index search vecs.idx --npy q.npy --plan 64:200,768:10 --tier binary --exact-check
  mrl index search vecs.idx --npy q.npy --k 10 --int8-filter --out hits.jsonl
  mrl index search docs.idx --from-ckpt runs/text.ckpt --query "an extensible text editor" --k 5

With a text checkpoint (mrl train --model text), --query TEXT (repeatable)
embeds the texts as the queries and prints each one's hits (ids, scores).
`

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, indexHelp)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stderr, indexHelp)
		return flag.ErrHelp
	case "build":
		return runIndexBuild(ctx, args[1:], stdout, stderr)
	case "info":
		return runIndexInfo(args[1:], stdout, stderr)
	case "search":
		return runIndexSearch(ctx, args[1:], stdout, stderr)
	case "tune":
		return runIndexTune(args[1:], stdout, stderr)
	case "push":
		return runIndexPush(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "mrl index: unknown subcommand %q (want build, info, search, tune or push)\n\n%s", args[0], indexHelp)
	return errUsage
}

// parseInterspersed parses args with fs allowing positional arguments
// before, between and after the flags; it returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, help string, args []string, stderr io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, help, args, stderr); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// queries returns the query vectors: n rows embedded from the checkpoint
// when --from-ckpt is set, else the rows of the NPY file npy.
func (c *ckptSource) queries(n int, npy string, metric mrl.Metric) (q []float32, rows, d int, err error) {
	if len(c.texts) > 0 {
		return c.embedTexts()
	}
	if c.ckpt != "" {
		if n < 1 {
			return nil, 0, 0, fmt.Errorf("--n %d: want at least 1", n)
		}
		return c.embed(n)
	}
	qv, err := readVectorFile(npy, metric, false)
	if err != nil {
		return nil, 0, 0, err
	}
	return qv.Data(), qv.N(), qv.Dim(), nil
}

// checkQueryDim reports queries of dim qd that an index of dim D at the
// search's dim need cannot take: narrower than need, or (without truncate)
// of another dim than D, which would be another model's or space's
// vectors searched silently by their first dims.
func checkQueryDim(qd, need, D int, truncate bool, path string) error {
	switch {
	case qd < need:
		return fmt.Errorf("queries have %d dims, need %d (index %s has D=%d)", qd, need, path, D)
	case qd != D && !truncate:
		return fmt.Errorf("queries have %d dims, index %s has D=%d: a dimension mismatch (another model's vectors?); --truncate-queries searches by their first dims", qd, path, D)
	}
	return nil
}

// ckptSource is the --from-ckpt family of flags.
type ckptSource struct {
	ckpt, data, split string
	ctx               context.Context // cancels the checkpoint's read (nil: none)
	texts             []string        // --query: texts a text checkpoint embeds as the queries
}

// embedTexts embeds the --query texts with the text checkpoint.
func (c *ckptSource) embedTexts() (x []float32, rows, d int, err error) {
	if c.ckpt == "" {
		return nil, 0, 0, errors.New("--query needs --from-ckpt: the text model that embeds it")
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	m, err := model.Load(ctx, c.ckpt)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--from-ckpt: %w", err)
	}
	if !m.Config.IsText() {
		return nil, 0, 0, fmt.Errorf("--query: %s: %w: give image queries with --npy or a dataset split", c.ckpt, model.ErrImageModel)
	}
	x, err = m.EmbedTexts(c.texts, 0)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--query: %w", err)
	}
	return x, len(c.texts), m.Config.Embed, nil
}

func (c *ckptSource) register(fs *flag.FlagSet, split string) {
	fs.StringVar(&c.ckpt, "from-ckpt", "", "embed a dataset split with this checkpoint")
	fs.StringVar(&c.data, "data", "", "dataset for --from-ckpt (default: the one the checkpoint was trained on)")
	fs.StringVar(&c.split, "split", split, "split for --from-ckpt: train or test")
}

// embed returns the checkpoint's embeddings of the first n rows of the
// split (n <= 0: all), row-major with the embedding size as stride.
func (c *ckptSource) embed(n int) (x []float32, rows, d int, err error) {
	if c.split != "train" && c.split != "test" {
		return nil, 0, 0, fmt.Errorf("--split %q: want train or test", c.split)
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	m, st, _, err := train.LoadModelContext(ctx, c.ckpt)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--from-ckpt: %w", err)
	}
	if m.Config.IsText() {
		return nil, 0, 0, fmt.Errorf("--from-ckpt %s: %w: search with --query TEXT, or embed texts with mrl embed --in and build from --npy", c.ckpt, model.ErrTextModel)
	}
	spec := c.data
	if spec == "" && st != nil {
		spec = st.Data
	}
	if spec == "" {
		return nil, 0, 0, fmt.Errorf("%s: no dataset recorded in the checkpoint: give --data", c.ckpt)
	}
	tr, test, err := data.Load(spec)
	if err != nil {
		return nil, 0, 0, err
	}
	set := tr
	if c.split == "test" {
		set = test
	}
	if set.Dim != m.InputDim() {
		return nil, 0, 0, fmt.Errorf("%s: the model expects %d features per example, %s has %d", c.ckpt, m.InputDim(), spec, set.Dim)
	}
	rows = set.N
	if n > 0 {
		rows = min(n, set.N)
	}
	return m.EmbedAll(set.X, rows, 512), rows, m.Config.Embed, nil
}

func readVectorFile(path string, metric mrl.Metric, jsonl bool) (*index.Vectors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var v *index.Vectors
	if jsonl {
		v, err = index.ReadJSONL(bufio.NewReader(f), metric)
	} else {
		v, err = index.ReadNPY(bufio.NewReader(f), metric, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func runIndexBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index build", flag.ContinueOnError)
	out := fs.String("out", "", "index file to write (required)")
	src := ckptSource{ctx: ctx}
	src.register(fs, "train")
	npy := fs.String("npy", "", "read the vectors from this 2-D NPY file")
	jsonl := fs.String("jsonl", "", "read the vectors from this JSONL file")
	metric := mrl.Cosine
	textVar(fs, &metric, "metric", "similarity: cosine, ip or l2")
	useHNSW := fs.Bool("hnsw", false, "also build and store an HNSW graph")
	var opt index.HNSWOptions
	fs.IntVar(&opt.Dim, "hnsw-dim", 0, "prefix dim of the HNSW graph (default: the full dim)")
	fs.IntVar(&opt.M, "m", 16, "HNSW neighbours per node (2·M on layer 0)")
	fs.IntVar(&opt.EfConstruction, "ef-construction", 100, "HNSW build beam width")
	seed := fs.Uint64("seed", 1, "HNSW level seed")
	fs.IntVar(&opt.Threads, "build-threads", runtime.NumCPU(), "goroutines inserting HNSW nodes (1: the same graph for the same seed)")
	adapterPath := fs.String("adapter", "", "map the vectors through this adapter (mrl adapt) and index the adapted ones")
	pos, err := parseInterspersed(fs, indexBuildHelp, args, stderr)
	if err != nil {
		return err
	}
	opt.Seed = *seed
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mrl index build: unexpected argument %q\n", pos[0])
		return errUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "mrl index build: --out is required")
		return errUsage
	}
	nsrc := 0
	for _, s := range []string{src.ckpt, *npy, *jsonl} {
		if s != "" {
			nsrc++
		}
	}
	if nsrc != 1 {
		fmt.Fprintf(stderr, "mrl index build: give exactly one of --from-ckpt, --npy, --jsonl (got %d)\n", nsrc)
		return errUsage
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	start := time.Now()
	var v *index.Vectors
	switch {
	case src.ckpt != "":
		x, n, d, err := src.embed(0)
		if err != nil {
			return err
		}
		if v, err = index.NewVectors(x, n, d, metric, nil); err != nil {
			return fmt.Errorf("%s embeddings: %w", src.ckpt, err)
		}
	case *npy != "":
		if v, err = readVectorFile(*npy, metric, false); err != nil {
			return err
		}
	default:
		if v, err = readVectorFile(*jsonl, metric, true); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if *adapterPath != "" {
		if v, err = adaptVectors(*adapterPath, v); err != nil {
			return err
		}
	}
	if opt.Dim > v.Dim() {
		return fmt.Errorf("--hnsw-dim %d: the vectors have %d dims", opt.Dim, v.Dim())
	}
	loaded := time.Since(start)
	var graph *index.HNSW
	t0 := time.Now()
	if *useHNSW {
		opt.Progress = buildProgress(stderr, t0)
		if graph, err = index.NewHNSW(v, opt); err != nil {
			return err
		}
	}
	buildTime := time.Since(t0)
	if graph != nil {
		err = index.SaveHNSW(*out, graph)
	} else {
		err = index.Save(*out, v)
	}
	if err != nil {
		return err
	}
	size := fileSize(*out)
	fmt.Fprintf(stdout, "wrote %s: N=%d D=%d metric=%s\n", *out, v.N(), v.Dim(), v.Metric())
	fmt.Fprintf(stdout, "memory per vector: %d B vectors+id", 4*v.Dim()+8)
	if graph != nil && v.N() > 0 {
		fmt.Fprintf(stdout, ", %.0f B HNSW graph (M=%d, dim %d, with its prefix copy)", float64(graph.MemBytes())/float64(v.N()), opt.M, graph.Dim())
	}
	if v.N() > 0 {
		fmt.Fprintf(stdout, "; file %.1f B/row", float64(size)/float64(v.N()))
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "build time: read %v", loaded.Round(time.Millisecond))
	if graph != nil {
		fmt.Fprintf(stdout, ", hnsw %v", buildTime.Round(time.Millisecond))
	}
	fmt.Fprintln(stdout)
	return nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// loadIndex reads an index file with its graph if it has one.
func loadIndex(path string) (*index.Vectors, *index.HNSW, error) { return index.Open(path) }

func runIndexInfo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index info", flag.ContinueOnError)
	pos, err := parseInterspersed(fs, indexInfoHelp, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mrl index info: want one FILE, got %d arguments\n\n%s", len(pos), indexInfoHelp)
		return errUsage
	}
	v, h, err := loadIndex(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "file:   %s (%d bytes)\n", pos[0], fileSize(pos[0]))
	fmt.Fprintf(stdout, "N:      %d\nD:      %d\nmetric: %s\n", v.N(), v.Dim(), v.Metric())
	ids := "uint64"
	if v.Named() {
		ids = "strings"
	}
	fmt.Fprintf(stdout, "ids:    %s\n", ids)
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	perRow := func(b int64) float64 { return float64(b) / float64(max(v.N(), 1)) }
	fmt.Fprintf(stdout, "memory: %.1f MiB of vectors, ids and caches (%.0f bytes/vector) when loaded\n", mib(v.MemBytes()), perRow(v.MemBytes()))
	if h != nil {
		fmt.Fprintf(stdout, "graph:  HNSW on dim %d, ef %d; %.1f MiB (%.0f bytes/vector, with its copy of the %d-dim prefixes)\n",
			h.Dim(), h.Ef(), mib(h.MemBytes()), perRow(h.MemBytes()), h.Dim())
	} else {
		fmt.Fprintln(stdout, "graph:  none (Flat)")
	}
	return nil
}

// stageTotal sums one funnel stage's SearchStats over the queries.
type stageTotal struct {
	dim     int
	in, out int64
	elapsed time.Duration
}

func runIndexSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index search", flag.ContinueOnError)
	src := ckptSource{ctx: ctx}
	src.register(fs, "test")
	npy := fs.String("npy", "", "read the queries from this 2-D NPY file")
	fs.StringVar(npy, "queries", "", "alias of --npy")
	nq := fs.Int("n", 1000, "with --from-ckpt: number of queries (the first rows of the split)")
	k := fs.Int("k", 10, "results per query")
	dimFlag := fs.Int("dim", 0, "prefix dim to rank by (default: the full dim)")
	planStr := fs.String("plan", "", "funnel plan dim:keep,... ending at the full dim, e.g. 16:200,512:10")
	ef := fs.Int("ef", 64, "HNSW search beam width")
	var tier optionalTier
	textVar(fs, &tier, "tier", "quantised first stage: binary or int8 (default: none)")
	tierDim := fs.Int("tier-dim", 0, "with --tier: coded prefix dim (default: the plan's first dim, else --dim)")
	rescore := fs.Int("rescore", 0, "with --tier: rows re-scored exactly per row wanted (default: 16 binary, 4 int8)")
	exact := fs.Bool("exact-check", false, "report recall@k against exact Flat at the full dim")
	hitsOut := fs.String("out", "", "write the hits as JSONL (query, ids, scores) to this file")
	truncate := fs.Bool("truncate-queries", false, "accept queries whose dim is not the index's D and search by their leading dims")
	int8Filter := fs.Bool("int8-filter", false, "search exactly (Flat, not the file's graph) in one batch through the int8 filter (AVX512-VNNI; the float scan's results) and print its QPS")
	fs.Func("query", "with a text model's --from-ckpt: a text to search for (repeatable); its hits are printed", func(s string) error {
		src.texts = append(src.texts, s)
		return nil
	})
	pos, err := parseInterspersed(fs, indexSearchHelp, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mrl index search: want one index FILE, got %d arguments\n\n%s", len(pos), indexSearchHelp)
		return errUsage
	}
	if (src.ckpt == "") == (*npy == "") {
		fmt.Fprintln(stderr, "mrl index search: give exactly one query source: --npy Q.npy or --from-ckpt CKPT")
		return errUsage
	}
	if *k < 1 {
		return fmt.Errorf("--k %d: want at least 1", *k)
	}
	if *ef < 1 {
		return fmt.Errorf("--ef %d: want at least 1", *ef)
	}
	tierOpt := index.QuantOptions{Kind: tier.kind}
	if !tier.set && (*tierDim != 0 || *rescore != 0) {
		return fmt.Errorf("--tier-dim and --rescore need --tier binary or int8")
	}
	if *int8Filter && (*planStr != "" || tier.set) {
		return fmt.Errorf("--int8-filter searches exactly: it takes no --plan or --tier")
	}
	path := pos[0]
	v, graph, err := loadIndex(path)
	if err != nil {
		return err
	}
	if *int8Filter {
		graph = nil // exact search: the batch goes through Flat
	}
	D := v.Dim()
	dim := *dimFlag
	if dim == 0 {
		dim = D
	}
	if dim < 1 || dim > D {
		return fmt.Errorf("--dim %d: %s has %d dims (want 1..%d)", dim, path, D, D)
	}
	var plan index.Plan
	if *planStr != "" {
		if plan, err = index.ParsePlan(*planStr); err != nil {
			return fmt.Errorf("--plan: %w", err)
		}
		if err := plan.Validate(D, *k); err != nil {
			return fmt.Errorf("--plan for %s (D=%d, k=%d): %w", path, D, *k, err)
		}
		if graph != nil && !tier.set && plan[0].Dim < graph.Dim() {
			return fmt.Errorf("--plan: first stage dim %d is below the HNSW graph dim %d of %s", plan[0].Dim, graph.Dim(), path)
		}
	} else if graph != nil && !tier.set && dim < graph.Dim() {
		return fmt.Errorf("--dim %d: below the HNSW graph dim %d of %s", dim, graph.Dim(), path)
	}

	// Queries.
	q, n, qd, err := src.queries(*nq, *npy, v.Metric())
	if err != nil {
		return err
	}
	need := dim
	if *exact || plan != nil {
		need = D
	}
	if err := checkQueryDim(qd, need, D, *truncate, path); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no queries")
	}

	// Searcher: the tier, else the file's graph, else Flat; with a plan,
	// the first stage of its funnel.
	spec := index.Spec{Kind: index.KindFlat, Ef: *ef}
	if graph != nil {
		spec.Kind, spec.Graph = index.KindHNSW, graph
	}
	if tier.set {
		tierOpt.Dim, tierOpt.Rescore = *tierDim, *rescore
		if tierOpt.Dim == 0 {
			tierOpt.Dim = dim
			if plan != nil {
				tierOpt.Dim = plan[0].Dim
			}
		}
		if tierOpt.Dim < 1 || tierOpt.Dim > D {
			return fmt.Errorf("--tier-dim %d: %s has %d dims (want 1..%d)", tierOpt.Dim, path, D, D)
		}
		spec.Kind, spec.Quant = index.KindBinary, tierOpt
		if tierOpt.Kind == index.Int8 {
			spec.Kind = index.KindInt8
		}
	}
	t0 := time.Now()
	built, err := index.Build(v, spec, plan)
	if err != nil {
		if tier.set {
			return fmt.Errorf("--tier: %w", err)
		}
		return err
	}
	if tier := built.Quant; tier != nil {
		fmt.Fprintf(stdout, "tier %s dim %d: %d B per vector (float: %d B), %.2f MB, rescore %d·k, built in %s\n",
			tier.Kind(), tier.Dim(), tier.BytesPerVector(), 4*tier.Dim(), float64(tier.MemoryBytes())/1e6, tier.Rescore(), time.Since(t0).Round(time.Millisecond))
	}
	searcher, funnel, kind := built.Searcher(), built.Funnel, built.String()
	if err := v.Prepare(dim); err != nil {
		return err
	}

	hits := make([][]index.Hit, n)
	header := fmt.Sprintf("%s: N=%d D=%d metric=%s; %d queries, k=%d, dim %d, %s\n", path, v.N(), D, v.Metric(), n, *k, dim, kind)
	var wall time.Duration
	if *int8Filter {
		var on bool
		if wall, on, err = searchInt8Batch(v, q, qd, n, dim, *k, hits); err != nil {
			return err
		}
		fmt.Fprint(stdout, header)
		status := "on"
		switch {
		case !kernel.HasScanTileInt8():
			status = "off: this CPU has no AVX512-VNNI, the float scan ran"
		case !on:
			status = "off: at this dim the float scan is faster and ran"
		}
		fmt.Fprintf(stdout, "QPS %.0f  (one batch on %d threads, int8 filter %s; %s)\n", float64(n)/wall.Seconds(), kernel.Threads(), status, kernel.Describe())
	} else if wall, err = searchOneByOne(ctx, q, qd, n, dim, *k, searcher, funnel, hits, stdout, header); err != nil {
		return err
	}
	if *exact {
		found, total := 0, 0
		var ex []index.Hit
		t0 := time.Now()
		for i := range n {
			if ex, err = built.Flat.Search(q[i*qd:(i+1)*qd], D, *k, ex); err != nil {
				return fmt.Errorf("exact query %d: %w", i, err)
			}
			for _, e := range ex {
				for _, h := range hits[i] {
					if h.Index == e.Index {
						found++
						break
					}
				}
			}
			total += len(ex)
		}
		exTime := time.Since(t0)
		recall := 1.0
		if total > 0 {
			recall = float64(found) / float64(total)
		}
		fmt.Fprintf(stdout, "recall@%d vs exact flat at dim %d: %.4f (exact: QPS %.0f, %.1fx the time)\n",
			*k, D, recall, float64(n)/exTime.Seconds(), exTime.Seconds()/wall.Seconds())
	}
	for i, text := range src.texts {
		fmt.Fprintf(stdout, "query %q:", clip(text, 60))
		for _, h := range hits[i] {
			var id any = h.ID
			if v.Named() {
				id = v.Name(int(h.Index))
			}
			fmt.Fprintf(stdout, " %v (%.4f)", id, h.Score)
		}
		fmt.Fprintln(stdout)
	}
	if *hitsOut != "" {
		if err := writeHits(*hitsOut, v, hits); err != nil {
			return fmt.Errorf("--out %s: %w", *hitsOut, err)
		}
		fmt.Fprintf(stdout, "wrote %d queries' hits to %s\n", n, *hitsOut)
	}
	return nil
}

// searchInt8Batch searches the n queries (qd apart) at dim as one batch
// through a Flat with the int8 filter, writing hits (len n), and returns
// the batch's time (coding the rows before it is not counted; the rows'
// shifts at dim are computed by one query first, as prefix norms are by
// Prepare) and whether the batch took the filter.
func searchInt8Batch(v *index.Vectors, q []float32, qd, n, dim, k int, hits [][]index.Hit) (time.Duration, bool, error) {
	f, err := index.NewFlatWith(v, index.FlatOptions{Int8Filter: true})
	if err != nil {
		return 0, false, fmt.Errorf("--int8-filter: %w", err)
	}
	if _, err := f.SearchBatch(q[:qd], qd, dim, k, nil); err != nil {
		return 0, false, err
	}
	start := time.Now()
	if _, err := f.SearchBatch(q[:n*qd], qd, dim, k, hits); err != nil { // fills hits: it has room for n
		return 0, false, err
	}
	return time.Since(start), f.Int8Filter(dim), nil
}

// searchOneByOne runs the n queries one at a time through the funnel (if
// not nil) or searcher, writing hits, prints header and the figures and
// returns the wall time.
func searchOneByOne(ctx context.Context, q []float32, qd, n, dim, k int, searcher index.Searcher, funnel *index.Funnel,
	hits [][]index.Hit, stdout io.Writer, header string) (time.Duration, error) {
	lat := make([]time.Duration, n)
	var stats []index.StageStat
	var totals []stageTotal
	var err error
	start := time.Now()
	for i := range n {
		qi := q[i*qd : (i+1)*qd]
		t0 := time.Now()
		if funnel != nil {
			hits[i], stats, err = funnel.SearchStats(qi, dim, k, make([]index.Hit, 0, k), stats)
		} else {
			hits[i], err = searcher.Search(qi, dim, k, make([]index.Hit, 0, k))
		}
		lat[i] = time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("query %d: %w", i, err)
		}
		for j, s := range stats {
			if j == len(totals) {
				totals = append(totals, stageTotal{dim: s.Dim})
			}
			totals[j].in += int64(s.In)
			totals[j].out += int64(s.Out)
			totals[j].elapsed += s.Elapsed
		}
		if i%256 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	wall := time.Since(start)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	p99 := sorted[min(n-1, (99*n+99)/100-1)]
	fmt.Fprint(stdout, header)
	fmt.Fprintf(stdout, "QPS %.0f  mean %s  p99 %s  (%s)\n", float64(n)/wall.Seconds(), fmtDur(sum/time.Duration(n)), fmtDur(p99), kernel.Describe())
	for j, t := range totals {
		fmt.Fprintf(stdout, "  stage %d: dim %d, rows in %.0f, out %.0f, mean %s\n", j+1, t.dim,
			float64(t.in)/float64(n), float64(t.out)/float64(n), fmtDur(t.elapsed/time.Duration(n)))
	}
	return wall, nil
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) + "µs"
}

// hitsLine is one line of search --out.
// hitsLine is one query's hits in --out: ids are numbers, or strings for
// an index built from string ids.
type hitsLine struct {
	Query  int       `json:"query"`
	IDs    []any     `json:"ids"`
	Scores []float32 `json:"scores"`
}

func writeHits(path string, v *index.Vectors, hits [][]index.Hit) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i, hs := range hits {
		l := hitsLine{Query: i, IDs: make([]any, len(hs)), Scores: make([]float32, len(hs))}
		for j, h := range hs {
			l.IDs[j], l.Scores[j] = h.ID, h.Score
			if v.Named() {
				l.IDs[j] = v.Name(int(h.Index))
			}
		}
		if err := enc.Encode(l); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const indexTuneHelp = `Usage: mrl index tune FILE (--npy Q.npy | --from-ckpt CKPT [--data NAME] [--split test] [--n 1000]) (--target-recall R | --max-mflops X | --max-latency T) [flags]

Picks a funnel plan for the index (package index, Tune): the queries are
split into a calibration part and a held-out part (--holdout, the last
rows); candidate plans over the --dims and --keeps grids are measured on the
calibration queries, cheapest first by the cost model, against exact Flat
at the full dim. The first stage is the file's HNSW graph when it holds one
(plans then start at the graph dim, and each plan is tried at every --efs
beam width), else exact Flat (or with --flat-first). It prints the table of
measured plans, the chosen plan, its calibration and held-out recall@k,
MFLOPs and mean latency per query. With --target-recall the chosen plan is
the cheapest meeting it (within --max-mflops and --max-latency if given);
with budgets alone, the plan of highest recall within them. Latencies are
measured here and now: on a busy machine they are noisy. --queries is an
alias of --npy.

Examples:
  mrl index tune runs/mnist.idx --from-ckpt runs/quickstart.ckpt --n 1000 --target-recall 0.95
  mrl index tune vecs.idx --queries q.npy --max-mflops 0.5 --k 10 --holdout 0.5
`

func runIndexTune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index tune", flag.ContinueOnError)
	var src ckptSource
	src.register(fs, "test")
	npy := fs.String("npy", "", "read the queries from this 2-D NPY file")
	fs.StringVar(npy, "queries", "", "alias of --npy")
	nq := fs.Int("n", 1000, "with --from-ckpt: number of queries (the first rows of the split)")
	var opt index.TuneOptions
	fs.IntVar(&opt.K, "k", 10, "results per query; recall@k is measured")
	fs.Float64Var(&opt.TargetRecall, "target-recall", 0, "recall@k to reach against exact full-dim search, e.g. 0.95")
	mflops := fs.Float64("max-mflops", 0, "per-query budget in millions of FLOPs (0: none)")
	fs.IntVar(&opt.MaxStages, "max-stages", 2, "shortlisting stages before the full-dim rerank: 1 or 2")
	truncate := fs.Bool("truncate-queries", false, "accept queries whose dim is not the index's D and use their first D dims")
	dimsStr := fs.String("dims", "", "candidate shortlist dims, comma-separated (default: powers of two from 8 below D)")
	keepsStr := fs.String("keeps", "", "candidate shortlist sizes, comma-separated (default 50,100,200,400,800,1600)")
	holdout := fs.Float64("holdout", 0.5, "fraction of the queries held out to check the chosen plan (0: none)")
	fs.DurationVar(&opt.MaxLatency, "max-latency", 0, "per-query budget in mean wall-clock time, e.g. 500us (0: none)")
	efsStr := fs.String("efs", "32,64,128,256", "HNSW beam widths to try when FILE holds a graph")
	flatFirst := fs.Bool("flat-first", false, "tune with an exact Flat first stage even if FILE holds an HNSW graph")
	pos, err := parseInterspersed(fs, indexTuneHelp, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mrl index tune: want one index FILE, got %d arguments\n\n%s", len(pos), indexTuneHelp)
		return errUsage
	}
	if (src.ckpt == "") == (*npy == "") {
		fmt.Fprintln(stderr, "mrl index tune: give exactly one query source: --npy Q.npy or --from-ckpt CKPT")
		return errUsage
	}
	if *holdout < 0 || *holdout >= 1 {
		return fmt.Errorf("--holdout %g: want 0 <= h < 1", *holdout)
	}
	if *mflops < 0 {
		return fmt.Errorf("--max-mflops %g: want at least 0", *mflops)
	}
	opt.MaxFLOPs = int64(*mflops * 1e6)
	if opt.Dims, err = parseInts(*dimsStr); err != nil {
		return fmt.Errorf("--dims: %w", err)
	}
	if opt.Keeps, err = parseInts(*keepsStr); err != nil {
		return fmt.Errorf("--keeps: %w", err)
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	efs, err := parseInts(*efsStr)
	if err != nil {
		return fmt.Errorf("--efs: %w", err)
	}
	path := pos[0]
	v, graph, err := loadIndex(path)
	if err != nil {
		return err
	}
	D := v.Dim()
	var first index.Searcher // nil: Flat
	if graph != nil && !*flatFirst {
		first, opt.Knobs = graph, efs
		if err := opt.Validate(); err != nil {
			return fmt.Errorf("--efs: %w", err)
		}
	}

	q, n, qd, err := src.queries(*nq, *npy, v.Metric())
	if err != nil {
		return err
	}
	if err := checkQueryDim(qd, D, D, *truncate, path); err != nil {
		return err
	}
	nHeld := int(float64(n) * *holdout)
	nCal := n - nHeld
	if nCal < 1 {
		return fmt.Errorf("%d queries leave none for calibration with --holdout %g", n, *holdout)
	}

	res, tuneErr := index.Tune(v, first, q[:nCal*qd], nCal, opt)
	if tuneErr != nil && res.Plan == nil {
		return tuneErr
	}
	firstName := "flat"
	if first != nil {
		firstName = fmt.Sprintf("hnsw at dim %d", graph.Dim())
	}
	fmt.Fprintf(stdout, "%s: N=%d D=%d metric=%s; first stage %s; %d calibration + %d held-out queries, k=%d\n",
		path, v.N(), D, v.Metric(), firstName, nCal, nHeld, res.K)
	fmt.Fprintf(stdout, "%-28s %6s %8s %10s %10s\n", "plan", "ef", "recall", "MFLOPs", "latency")
	for _, e := range res.Evaluated {
		ef := "-"
		if e.Knob > 0 {
			ef = strconv.Itoa(e.Knob)
		}
		fmt.Fprintf(stdout, "%-28s %6s %8.4f %10.3f %10s\n", e.Plan, ef, e.Recall, float64(e.FLOPs)/1e6, fmtDur(e.Latency))
	}
	exact := index.Plan{{Dim: D, Keep: res.K}}.FLOPs(v.N())
	fmt.Fprintf(stdout, "chosen plan: %s\n", res.Plan)
	if res.Knob > 0 {
		fmt.Fprintf(stdout, "  HNSW ef:               %d\n", res.Knob)
	}
	fmt.Fprintf(stdout, "  calibration recall@%d: %.4f", res.K, res.Recall)
	if opt.TargetRecall > 0 {
		fmt.Fprintf(stdout, " (needed %.4f: the target plus one standard error)", opt.TargetRecall+res.Margin)
	}
	fmt.Fprintln(stdout)
	if nHeld > 0 {
		held, err := res.Check(v, first, q[nCal*qd:], nHeld)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  held-out recall@%d:    %.4f\n", res.K, held)
	}
	fmt.Fprintf(stdout, "  MFLOPs per query:      %.3f (exact flat %.3f, %.1fx fewer)\n",
		float64(res.FLOPs)/1e6, float64(exact)/1e6, float64(exact)/float64(res.FLOPs))
	fmt.Fprintf(stdout, "  mean latency:          %s\n", fmtDur(res.Latency))
	return tuneErr
}

// parseInts reads a comma-separated list of integers; "" gives nil.
func parseInts(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, x)
	}
	return out, nil
}

// buildProgress returns an HNSWOptions.Progress that prints a line to w at
// every 10% of a build that has run for at least two seconds (short builds
// stay quiet), with the time an equal rate needs for the rest.
func buildProgress(w io.Writer, start time.Time) func(done, total int) {
	last := 0
	return func(done, total int) {
		pct := 100 * done / total
		el := time.Since(start)
		if pct/10 == last/10 || el < 2*time.Second {
			return
		}
		last = pct
		eta := time.Duration(float64(el) * float64(total-done) / float64(done)).Round(time.Second)
		fmt.Fprintf(w, "hnsw build: %d%% (%d/%d nodes) in %v, eta %v\n", pct, done, total, el.Round(time.Second), eta)
	}
}

// optionalTier is --tier: unset (no tier), or the kind of a quantised
// first stage.
type optionalTier struct {
	kind index.QuantKind
	set  bool
}

// MarshalText implements encoding.TextMarshaler: "" when unset.
func (t optionalTier) MarshalText() ([]byte, error) {
	if !t.set {
		return nil, nil
	}
	return t.kind.MarshalText()
}

// UnmarshalText implements encoding.TextUnmarshaler: "" unsets.
func (t *optionalTier) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = optionalTier{}
		return nil
	}
	if err := t.kind.UnmarshalText(b); err != nil {
		return &flagError{fmt.Sprintf("--tier %q: want binary or int8", b)}
	}
	t.set = true
	return nil
}
