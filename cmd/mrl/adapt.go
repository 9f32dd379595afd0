package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/internal/kernel"
)

const adaptHelp = `Usage: mrl adapt --in EMB.npy|EMB.jsonl --out ADAPTER.safetensors [--labels L.npy] [--pair-queries Q.npy] [flags]
       mrl adapt apply --adapter A --in EMB --out ADAPTED.npy|.jsonl
       mrl adapt eval --adapter A --in DB [--queries Q | --nq 1000] [--labels ...] [--funnel]
       mrl adapt synth --out X.npy [--labels-out Y.npy] [--n 10000 --d 128]

Learns a Matryoshka adapter (package adapter) on frozen embeddings, from a
provider or a model not trained with MRL, so that the prefixes of the
adapted embeddings f(e)[:m] find what the full embeddings find:
f(e) = R·(e − μ) + b (+ a residual MLP with --hidden), starting from PCA.
Unsupervised by default (pairwise, top-k, listwise and isometry terms over
every nesting dim); --labels adds MRL classification heads, and
--pair-queries the contrastive Matryoshka loss over (query, document)
pairs: Q.npy (or .jsonl) holds one query embedding per row of --in, row i
a query whose relevant document is row i of --in (so --in holds the
documents in pair order, as "mrl embed" writes them for the two fields of
a pairs file). Every epoch
prints the losses and the recall@10 of each nesting dim of held-out rows,
as queries, against their exact full-dim neighbours among (up to 10000 of)
the training rows (epoch 0 is the PCA start).

  apply  map embeddings through an adapter (NPY or JSONL in and out; JSONL
         ids are kept)
  eval   per dim: recall@k against exact full-dim neighbours (and with
         labels, 1-NN top-1 and mAP@10) of truncation, PCA and the adapter;
         --funnel: the speed-up at equal recall of funnels whose first
         stage scans (or walks an HNSW graph on) adapted prefixes, or scans
         plain ones, and rerank with the originals
  synth  a synthetic set with energy spread over all dims (adapter.Synthetic)

Examples:
  mrl adapt synth --n 20000 --d 256 --out x.npy --labels-out y.npy
  mrl adapt --in x.npy --epochs 10 --out x.adapter
  mrl adapt eval --adapter x.adapter --in x.npy --nq 1000 --funnel
  mrl adapt apply --adapter x.adapter --in x.npy --out x-adapted.npy
`

func runAdapt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "apply":
			return runAdaptApply(args[1:], stdout, stderr)
		case "eval":
			return runAdaptEval(ctx, args[1:], stdout, stderr)
		case "synth":
			return runAdaptSynth(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("adapt", flag.ContinueOnError)
	in := fs.String("in", "", "embeddings to train on: .npy (rows × dims) or .jsonl (required)")
	out := fs.String("out", "", "adapter file to write (required)")
	labels := fs.String("labels", "", "optional 1-D NPY of integer labels, one per row: adds MRL classification heads")
	anchorQ := fs.String("query-anchors", "", "optional unlabelled query embeddings (any number of rows): extra anchors whose full-space neighbours among --in the prefixes keep; validation then holds out queries")
	pairQ := fs.String("pair-queries", "", "optional query embeddings aligned with --in (row i: a query whose document is row i of --in): adds the contrastive Matryoshka loss")
	nestStr := fs.String("nesting", "", "comma-separated prefix dims (default 8,16,... up to --out-dim)")
	var o adapter.Options
	fs.IntVar(&o.Out, "out-dim", 0, "adapted dim D' ≤ D (default D)")
	fs.IntVar(&o.Hidden, "hidden", 0, "width of the residual MLP (0: linear adapter)")
	fs.IntVar(&o.ResidualDims, "residual-dims", 0, "with --hidden: the leading output dims the residual MLP writes (0: all); the later dims are the orthonormal R alone")
	fs.IntVar(&o.Epochs, "epochs", 10, "epochs")
	fs.IntVar(&o.Anchors, "anchors", 0, "anchor rows per step (default 64)")
	fs.IntVar(&o.K, "k", 0, "full-space neighbours found per row (default 10)")
	fs.IntVar(&o.Sampled, "sampled", 0, "neighbours of each anchor per batch (default 3)")
	fs.StringVar(&o.Optimizer, "optimizer", "sgd", "sgd (Nesterov momentum 0.9) or adamw")
	fs.Float64Var(&o.LR, "lr", 0, "peak learning rate (default 0.1 sgd, 1e-3 adamw)")
	fs.Float64Var(&o.PairWeight, "pair-weight", 0, "weight of the pairwise term (default 1; negative: off)")
	fs.Float64Var(&o.TopKWeight, "topk-weight", 0, "weight of the top-k term (default 1; negative: off)")
	fs.Float64Var(&o.RankWeight, "rank-weight", 0, "weight of the listwise term (default 1; negative: off)")
	fs.Float64Var(&o.IsoWeight, "iso-weight", 0, "weight of the isometry term (default 0.1; negative: off)")
	fs.Float64Var(&o.Temperature, "temperature", 0, "τ of the listwise term (default 0.05)")
	fs.IntVar(&o.HardNegatives, "hard", 0, "rows sampled per anchor from its full-space ranks K+1..--hard-rank into the batch, with the boundary term (default 0: none)")
	fs.IntVar(&o.HardRank, "hard-rank", 0, "with --hard: the last full-space rank of the hard negatives (default max(50, 2·--k))")
	fs.Float64Var(&o.BoundaryWeight, "boundary-weight", 0, "with --hard: weight of the boundary term (default 1; negative: off, the hard negatives only join the batch)")
	fs.Float64Var(&o.BoundaryTemperature, "boundary-temperature", 0, "with --hard: τ of the boundary term (default --temperature)")
	fs.Float64Var(&o.RecallWeight, "recall-weight", 0, "weight of the recall term: each anchor's K full-space neighbours ranked above every other training row at every prefix (default 0: off)")
	fs.IntVar(&o.RecallNegatives, "recall-negatives", 0, "with --recall-weight: training rows drawn per step as its negatives (default 0: all of them)")
	fs.Float64Var(&o.RecallTemperature, "recall-temperature", 0, "with --recall-weight: τ of the recall term (default --temperature)")
	fs.Float64Var(&o.SupervisedWeight, "supervised-weight", 0, "weight of the classification heads with --labels (default 0.3)")
	fs.Float64Var(&o.ContrastiveWeight, "contrastive-weight", 0, "weight of the contrastive term with --pair-queries (default 1)")
	fs.Float64Var(&o.ContrastiveTemperature, "contrastive-temperature", 0, "τ of the contrastive term (default 0.05)")
	fs.IntVar(&o.OrthoEvery, "ortho-every", 0, "re-orthonormalise R every this many steps (default 10; negative: never)")
	dimW := fs.String("dim-weights", "", "comma-separated weight per nesting dim (default all 1)")
	fs.Float64Var(&o.ValFrac, "val-frac", 0, "fraction of rows held out for validation (default 0.1, at most --val-rows; negative: none)")
	fs.IntVar(&o.ValRows, "val-rows", 0, "most held-out rows (default 2000)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the split, batches and initial weights")
	threads := fs.Int("threads", 0, "compute threads (default all cores)")
	if err := parseFlags(fs, adaptHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl adapt: unexpected argument %q (subcommands apply, eval and synth come first)\n", fs.Arg(0))
		return errUsage
	}
	if *in == "" || *out == "" {
		fmt.Fprintln(stderr, "mrl adapt: --in and --out are required")
		return errUsage
	}
	if *threads > 0 {
		defer kernel.SetThreads(kernel.SetThreads(*threads))
	}
	x, n, d, _, err := readEmbeddings(*in)
	if err != nil {
		return err
	}
	if *nestStr != "" {
		if o.Nesting, err = mrl.ParseNesting(*nestStr); err != nil {
			return fmt.Errorf("--nesting: %w", err)
		}
	}
	if *dimW != "" {
		for _, f := range strings.Split(*dimW, ",") {
			var w float64
			if _, err := fmt.Sscan(strings.TrimSpace(f), &w); err != nil {
				return fmt.Errorf("--dim-weights: %q is not a number", f)
			}
			o.DimWeights = append(o.DimWeights, w)
		}
	}
	if *labels != "" {
		if o.Labels, err = readLabels(*labels, n); err != nil {
			return err
		}
	}
	if *pairQ != "" {
		q, qn, qd, _, err := readEmbeddings(*pairQ)
		if err != nil {
			return err
		}
		if qn != n || qd != d {
			return fmt.Errorf("--pair-queries %s: %d rows of %d dims for the %d rows of %d of --in (one query per document, in order): %w", *pairQ, qn, qd, n, d, adapter.ErrDim)
		}
		o.PairQueries = q
	}
	if *anchorQ != "" {
		q, _, qd, _, err := readEmbeddings(*anchorQ)
		if err != nil {
			return err
		}
		if qd != d {
			return fmt.Errorf("--query-anchors %s: %d dims, --in has %d: %w", *anchorQ, qd, d, adapter.ErrDim)
		}
		o.QueryAnchors = q
	}
	start := time.Now()
	o.Progress = func(s adapter.EpochStats) {
		if s.Epoch == 0 {
			fmt.Fprintf(stdout, "epoch 0 (PCA start): val recall@10 %s\n", fmtRecall(s.Recall))
			return
		}
		fmt.Fprintf(stdout, "epoch %d/%d: loss %.4f (pair %.4f topk %.4f rank %.4f iso %.4f", s.Epoch, s.Epochs, s.Loss, s.Pair, s.TopK, s.Rank, s.Iso)
		if o.HardNegatives > 0 {
			fmt.Fprintf(stdout, " boundary %.4f", s.Boundary)
		}
		if o.RecallWeight > 0 {
			fmt.Fprintf(stdout, " recall %.4f", s.RecallTerm)
		}
		if o.Labels != nil {
			fmt.Fprintf(stdout, " sup %.4f", s.Supervised)
		}
		if o.PairQueries != nil {
			fmt.Fprintf(stdout, " contrastive %.4f", s.Contrastive)
		}
		fmt.Fprintf(stdout, ") %d steps in %v; val recall@10 %s\n", s.Steps, s.Elapsed.Round(time.Millisecond), fmtRecall(s.Recall))
	}
	a, res, err := adapter.Train(ctx, x, n, d, o)
	if err != nil {
		return err
	}
	if err := adapter.Save(*out, a); err != nil {
		return err
	}
	held := "held-out rows"
	if o.QueryAnchors != nil {
		held = fmt.Sprintf("held-out queries, %d query anchors", res.QueryAnchors)
	}
	fmt.Fprintf(stdout, "wrote %s: %d → %d dims, nesting %s, hidden %d; %d training + %d %s; neighbours %v, total %v\n",
		*out, a.In, a.Out, a.Nesting, a.Hidden(), res.TrainRows, res.ValRows, held, res.NeighborTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

func fmtRecall(r []float64) string {
	if r == nil {
		return "(no held-out rows)"
	}
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = fmt.Sprintf("%.3f", v)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// readEmbeddings reads a .npy or .jsonl file of embeddings (by extension)
// and checks that it has rows; v is the JSONL file's Vectors (for its
// ids), nil for NPY.
func readEmbeddings(path string) (x []float32, n, d int, v *index.Vectors, err error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".npy" && ext != ".jsonl" && ext != ".ndjson" {
		return nil, 0, 0, nil, fmt.Errorf("%s: name it .npy or .jsonl", path)
	}
	v, err = readVectorFile(path, mrl.Cosine, ext != ".npy")
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if v.N() == 0 {
		return nil, 0, 0, nil, fmt.Errorf("%s: no rows", path)
	}
	return v.Data(), v.N(), v.Dim(), v, nil
}

func readLabels(path string, n int) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	y, err := data.ReadNPYLabels(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(y) != n {
		return nil, fmt.Errorf("%s: %d labels for %d embeddings", path, len(y), n)
	}
	return y, nil
}

func writeEmbeddings(path string, z []float32, n, d int, like *index.Vectors) error {
	ext := strings.ToLower(filepath.Ext(path))
	write := func(w io.Writer) error {
		if ext == ".npy" {
			return data.WriteNPY(w, z, []int{n, d})
		}
		var v *index.Vectors
		var err error
		switch {
		case like != nil && like.Named():
			names := make([]string, n)
			for i := range names {
				names[i] = like.Name(i)
			}
			v, err = index.NewVectorsNamed(z, n, d, mrl.Cosine, names)
		case like != nil:
			ids := make([]uint64, n)
			for i := range ids {
				ids[i] = like.ID(i)
			}
			v, err = index.NewVectors(z, n, d, mrl.Cosine, ids)
		default:
			v, err = index.NewVectors(z, n, d, mrl.Cosine, nil)
		}
		if err != nil {
			return err
		}
		return index.WriteJSONL(w, v)
	}
	if ext != ".npy" && ext != ".jsonl" && ext != ".ndjson" {
		return fmt.Errorf("%s: name it .npy or .jsonl", path)
	}
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// adaptAll maps the rows of x through a, reporting a dim mismatch with the
// file's name.
func adaptAll(a *adapter.Adapter, path string, x []float32, n, d int) ([]float32, error) {
	if d != a.In {
		return nil, fmt.Errorf("%s: %d dims per row, the adapter takes %d: %w", path, d, a.In, adapter.ErrDim)
	}
	return a.Apply(x, n)
}

const adaptApplyHelp = `Usage: mrl adapt apply --adapter A --in EMB.npy|.jsonl --out ADAPTED.npy|.jsonl

Maps every row through the adapter and writes the adapted embeddings
(Out dims); JSONL output keeps the input's ids (NPY input: ids 0..N-1).
`

func runAdaptApply(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("adapt apply", flag.ContinueOnError)
	ad := fs.String("adapter", "", "adapter file (required)")
	in := fs.String("in", "", "embeddings, .npy or .jsonl (required)")
	out := fs.String("out", "", "output, .npy or .jsonl (required)")
	if err := parseFlags(fs, adaptApplyHelp, args, stderr); err != nil {
		return err
	}
	if *ad == "" || *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "mrl adapt apply: --adapter, --in and --out are required, and nothing else")
		return errUsage
	}
	a, err := adapter.Load(*ad)
	if err != nil {
		return err
	}
	x, n, d, v, err := readEmbeddings(*in)
	if err != nil {
		return err
	}
	z, err := adaptAll(a, *in, x, n, d)
	if err != nil {
		return err
	}
	if err := writeEmbeddings(*out, z, n, a.Out, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows × %d dims (adapted from %d)\n", *out, n, a.Out, d)
	return nil
}

const adaptSynthHelp = `Usage: mrl adapt synth --out X.npy [--labels-out Y.npy] [--queries-out Q.npy --nq 1000 [--query-labels-out QY.npy]] [--n 10000] [--d 128] [--seed 1]

Writes adapter.Synthetic's set: hierarchical clusters in a random rotation,
energy spread over all dims (truncation fails, PCA is the strong baseline),
and the cluster labels. With --queries-out it draws n + nq rows of the one
distribution and writes the last nq to --queries-out (and their labels to
--query-labels-out): held-out queries for "mrl adapt eval --queries", rows
the adapter never saw in training.
`

func runAdaptSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("adapt synth", flag.ContinueOnError)
	var o adapter.SyntheticOptions
	fs.IntVar(&o.N, "n", 10000, "rows")
	fs.IntVar(&o.D, "d", 128, "dims")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed")
	out := fs.String("out", "", "embeddings .npy or .jsonl (required)")
	lab := fs.String("labels-out", "", "cluster labels as a 1-D int32 NPY")
	qout := fs.String("queries-out", "", "held-out query rows .npy or .jsonl (drawn with the database, not in it)")
	nq := fs.Int("nq", 1000, "with --queries-out: query rows")
	qlab := fs.String("query-labels-out", "", "with --queries-out: the queries' cluster labels as a 1-D int32 NPY")
	if err := parseFlags(fs, adaptSynthHelp, args, stderr); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "mrl adapt synth: --out is required")
		return errUsage
	}
	if *qout == "" && *qlab != "" || *qout != "" && *nq < 1 {
		fmt.Fprintln(stderr, "mrl adapt synth: --query-labels-out needs --queries-out, and --queries-out at least one row (--nq)")
		return errUsage
	}
	n, d := o.N, o.D
	if n == 0 {
		n = 10000
	}
	if d == 0 {
		d = 128
	}
	if *qout == "" {
		*nq = 0
	}
	o.N = n + *nq
	x, y, err := adapter.Synthetic(o)
	if err != nil {
		return err
	}
	writeSet := func(path, labPath string, x []float32, y []int32, rows int) error {
		if err := writeEmbeddings(path, x, rows, d, nil); err != nil {
			return err
		}
		if labPath != "" {
			if err := atomicfile.Write(labPath, func(w io.Writer) error { return writeInt32NPY(w, y) }); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %s: %d rows × %d dims\n", path, rows, d)
		return nil
	}
	if err := writeSet(*out, *lab, x[:n*d], y[:n], n); err != nil {
		return err
	}
	if *qout != "" {
		return writeSet(*qout, *qlab, x[n*d:], y[n:], *nq)
	}
	return nil
}

// writeInt32NPY writes y as a 1-D '<i4' NPY array.
func writeInt32NPY(w io.Writer, y []int32) error {
	h := fmt.Sprintf("{'descr': '<i4', 'fortran_order': False, 'shape': (%d,), }", len(y))
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	for _, v := range y {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	_, err := w.Write(b)
	return err
}

const adaptEvalHelp = `Usage: mrl adapt eval --adapter A --in DB.npy|.jsonl [--queries Q | --nq 1000] [--labels L.npy --query-labels QL.npy] [flags]

Compares, per prefix dim, plain truncation, PCA (fitted on the database)
and the adapter: recall@k of exact cosine search over the prefixes against
the exact full-dim neighbours of the original embeddings; with labels,
1-NN top-1 and mAP@10 (relevant: same label). The queries are --queries
(the first --nq of them if --nq is given), or the last --nq rows of --in
(then held out of the database; their labels are the last rows of
--labels).

--funnel also times, against exact full-dim search on the originals,
two-stage funnels (index.Funnel) whose first stage shortlists K rows by an
m-prefix and whose second reranks them with the original full embeddings:
"adapter" scans a copy of the adapted m-prefixes (adapter.Searcher with
Dims m: the query is mapped to m dims only), "adapter-hnsw" walks an HNSW
graph built on that copy (for the dims of --hnsw-dims; its build time is
printed apart), "truncation" scans the original m-prefixes. Each plan is
timed batched (all queries in one call, on every thread) and one query at
a time (one thread, the first --single-nq queries), and each speed-up is
over exact search timed the same way; it prints each plan's recall@k, cost
model (multiply-adds of exact search over the plan's, the query's mapping
included; "-" for a graph), the load average (times taken on a busy
machine are provisional) and, per first stage, the fastest plans reaching
--target-recall.

--mrl adds the end-to-end MRL column: MRL.npy holds the embeddings of the
same database rows (and --mrl-queries those of the same queries; without
--queries, the last --nq rows of MRL.npy) from a model trained with the
Matryoshka loss on the same data; its column is the recall@k of its own
m-prefixes against its own exact full-dim neighbours (the question each
column answers: does the prefix find what the full embedding finds?),
and with labels its 1-NN top-1 and mAP@10.
`

func runAdaptEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("adapt eval", flag.ContinueOnError)
	ad := fs.String("adapter", "", "adapter file (required)")
	in := fs.String("in", "", "database embeddings (required)")
	qpath := fs.String("queries", "", "query embeddings (default: the last --nq rows of --in)")
	nqFlag := fs.Int("nq", 1000, "rows of --in used as queries; with --queries, the first --nq of them (0: all)")
	labels := fs.String("labels", "", "labels of --in's rows (1-D integer NPY)")
	qlabels := fs.String("query-labels", "", "labels of --queries' rows")
	k := fs.Int("k", 10, "neighbours: recall@k")
	dimsStr := fs.String("dims", "", "dims to report (default: the adapter's nesting)")
	funnel := fs.Bool("funnel", false, "time funnels with adapted and plain first stages against exact search")
	keepsStr := fs.String("keeps", "50,100,200,400,800,1600", "with --funnel: shortlist sizes K to try")
	target := fs.Float64("target-recall", 0.95, "with --funnel: the recall@k to reach")
	hnswDims := fs.String("hnsw-dims", "16,32", "with --funnel: adapted prefix dims to build an HNSW first stage on (empty: none)")
	hnswM := fs.Int("hnsw-m", 16, "with --funnel: M of those graphs")
	ef := fs.Int("ef", 0, "with --funnel: beam width of the HNSW first stages (0: the plan's first keep)")
	singleNQ := fs.Int("single-nq", 500, "with --funnel: queries timed one at a time (the first ones)")
	mrlPath := fs.String("mrl", "", "embeddings of --in's rows from an end-to-end MRL model: adds its column")
	mrlQPath := fs.String("mrl-queries", "", "with --mrl and --queries: the MRL model's embeddings of --queries' rows")
	if err := parseFlags(fs, adaptEvalHelp, args, stderr); err != nil {
		return err
	}
	if *ad == "" || *in == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "mrl adapt eval: --adapter and --in are required")
		return errUsage
	}
	if (*mrlQPath != "") != (*mrlPath != "" && *qpath != "") {
		fmt.Fprintln(stderr, "mrl adapt eval: --mrl-queries goes with --mrl and --queries (without --queries, the queries are the last --nq rows of --mrl)")
		return errUsage
	}
	a, err := adapter.Load(*ad)
	if err != nil {
		return err
	}
	db, n, d, _, err := readEmbeddings(*in)
	if err != nil {
		return err
	}
	if d != a.In {
		return fmt.Errorf("%s: %d dims per row, the adapter takes %d: %w", *in, d, a.In, adapter.ErrDim)
	}
	var dbLab, qLab []int32
	if *labels != "" {
		if dbLab, err = readLabels(*labels, n); err != nil {
			return err
		}
	}
	var q []float32
	var nq int
	if *qpath != "" {
		var qd int
		if q, nq, qd, _, err = readEmbeddings(*qpath); err != nil {
			return err
		}
		if qd != d {
			return fmt.Errorf("%s: queries of %d dims, the database has %d: %w", *qpath, qd, d, adapter.ErrDim)
		}
		if *qlabels != "" {
			if qLab, err = readLabels(*qlabels, nq); err != nil {
				return err
			}
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "nq" })
		if set && *nqFlag > 0 && *nqFlag < nq {
			nq = *nqFlag
			q = q[:nq*d]
			if qLab != nil {
				qLab = qLab[:nq]
			}
		}
	} else {
		nq = *nqFlag
		if nq < 1 || nq >= n {
			return fmt.Errorf("--nq %d: want 1..%d (the rows of %s less one)", nq, n-1, *in)
		}
		n -= nq
		db, q = db[:n*d], db[n*d:]
		if dbLab != nil {
			dbLab, qLab = dbLab[:n], dbLab[n:]
		}
	}
	if (dbLab == nil) != (qLab == nil) {
		return errors.New("labels: give both --labels and --query-labels (or --labels without --queries)")
	}
	var mrlRep *mrlEmbeddings
	if *mrlPath != "" {
		if mrlRep, err = readMRL(*mrlPath, *mrlQPath, n, nq, *qpath == ""); err != nil {
			return err
		}
	}
	dims := []int(a.Nesting)
	if *dimsStr != "" {
		if dims, err = parseInts(*dimsStr); err != nil {
			return fmt.Errorf("--dims: %w", err)
		}
	}
	for _, m := range dims {
		if m < 1 || m > a.Out {
			return fmt.Errorf("--dims: %d outside 1..%d (the adapter's output)", m, a.Out)
		}
	}
	t0 := time.Now()
	truth, err := adapter.Neighbors(db, n, d, q, nq, d, d, *k, false)
	if err != nil {
		return err
	}
	pca, err := eval.FitPCA(db, n, d, a.Out)
	if err != nil {
		return err
	}
	zdb, err := a.Apply(db, n)
	if err != nil {
		return err
	}
	zq, err := a.Apply(q, nq)
	if err != nil {
		return err
	}
	type rep struct {
		name  string
		db, q []float32
		d     int
	}
	reps := []rep{{"truncation", db, q, d}, {"pca", pca.Project(db, n, d), pca.Project(q, nq, d), a.Out}, {"adapter", zdb, zq, a.Out}}
	truths := [][][]int32{truth, truth, truth}
	var mrlDims []int // the dims the MRL embeddings have; "-" for the others
	if mrlRep != nil {
		for _, m := range dims {
			if m > mrlRep.d {
				break // the column stops at the first dim past the MRL embeddings'
			}
			mrlDims = append(mrlDims, m)
		}
		mt, err := adapter.Neighbors(mrlRep.db, n, mrlRep.d, mrlRep.q, nq, mrlRep.d, mrlRep.d, *k, false)
		if err != nil {
			return err
		}
		reps = append(reps, rep{"mrl", mrlRep.db, mrlRep.q, mrlRep.d})
		truths = append(truths, mt)
	}
	recall := make([][]float64, len(reps))
	top1 := make([][]float64, len(reps))
	mapk := make([][]float64, len(reps))
	for i, r := range reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rd := dims
		if r.name == "mrl" {
			rd = mrlDims
		}
		if recall[i], err = adapter.PrefixRecall(r.db, n, r.d, r.q, nq, rd, truths[i], false); err != nil {
			return err
		}
		if dbLab != nil {
			s, err := eval.NewRetrievalSet(r.db, dbLab, n, r.q, qLab, nq, r.d)
			if err != nil {
				return err
			}
			res, err := s.Exact(rd, []int{1, 10})
			if err != nil {
				return err
			}
			for _, dm := range res {
				top1[i] = append(top1[i], dm.Metrics[0].HitRate)
				mapk[i] = append(mapk[i], dm.Metrics[1].MAP)
			}
		}
	}
	fmt.Fprintf(stdout, "%s: %d database rows, %d queries, D=%d; adapter %s (%d → %d, nesting %s); %v\n", *in, n, nq, d, *ad, a.In, a.Out, a.Nesting, time.Since(t0).Round(time.Millisecond))
	fmt.Fprintf(stdout, "recall@%d vs exact full-dim (D=%d) neighbours\n", *k, d)
	if mrlRep != nil {
		fmt.Fprintf(stdout, "mrl: %s, D=%d, recall@%d vs its own exact full-dim neighbours\n", *mrlPath, mrlRep.d, *k)
	}
	fmt.Fprintf(stdout, "%6s %10s %10s %10s", "dim", "truncation", "pca", "adapter")
	if mrlRep != nil {
		fmt.Fprintf(stdout, " %10s", "mrl")
	}
	if dbLab != nil {
		fmt.Fprintf(stdout, " | 1-NN top-1: %5s %5s %5s", "trunc", "pca", "adapt")
		if mrlRep != nil {
			fmt.Fprintf(stdout, " %5s", "mrl")
		}
		fmt.Fprintf(stdout, " | mAP@10: %5s %5s %5s", "trunc", "pca", "adapt")
		if mrlRep != nil {
			fmt.Fprintf(stdout, " %5s", "mrl")
		}
	}
	fmt.Fprintln(stdout)
	// mrlCol formats the MRL column's value v of dim j ("-" past its dim).
	mrlCol := func(vals [][]float64, j int, width int, prec int) string {
		if j < len(mrlDims) {
			return fmt.Sprintf(" %*.*f", width, prec, vals[3][j])
		}
		return fmt.Sprintf(" %*s", width, "-")
	}
	for j, m := range dims {
		fmt.Fprintf(stdout, "%6d %10.4f %10.4f %10.4f", m, recall[0][j], recall[1][j], recall[2][j])
		if mrlRep != nil {
			fmt.Fprint(stdout, mrlCol(recall, j, 10, 4))
		}
		if dbLab != nil {
			fmt.Fprintf(stdout, " |             %.3f %.3f %.3f", top1[0][j], top1[1][j], top1[2][j])
			if mrlRep != nil {
				fmt.Fprint(stdout, mrlCol(top1, j, 5, 3))
			}
			fmt.Fprintf(stdout, " |         %.3f %.3f %.3f", mapk[0][j], mapk[1][j], mapk[2][j])
			if mrlRep != nil {
				fmt.Fprint(stdout, mrlCol(mapk, j, 5, 3))
			}
		}
		fmt.Fprintln(stdout)
	}
	if !*funnel {
		return nil
	}
	fo := funnelOptions{dims: dims, k: *k, target: *target, hnswM: *hnswM, ef: *ef, singleNQ: *singleNQ}
	if fo.keeps, err = parseInts(*keepsStr); err != nil {
		return fmt.Errorf("--keeps: %w", err)
	}
	if fo.hnswDims, err = parseInts(*hnswDims); err != nil {
		return fmt.Errorf("--hnsw-dims: %w", err)
	}
	return evalFunnels(ctx, stdout, a, db, n, d, q, nq, truth, fo)
}

// mrlEmbeddings are an end-to-end MRL model's embeddings of the database
// rows and the queries, d dims each.
type mrlEmbeddings struct {
	db, q []float32
	d     int
}

// readMRL reads the MRL model's embeddings for adapt eval: of the n
// database rows and the nq queries, from dbPath and qPath, or with split,
// from dbPath alone, whose last nq rows are the queries (as --in's).
func readMRL(dbPath, qPath string, n, nq int, split bool) (*mrlEmbeddings, error) {
	x, rows, d, _, err := readEmbeddings(dbPath)
	if err != nil {
		return nil, err
	}
	if split {
		if rows != n+nq {
			return nil, fmt.Errorf("--mrl %s: %d rows, want %d (one per row of --in, in the same order)", dbPath, rows, n+nq)
		}
		return &mrlEmbeddings{db: x[:n*d], q: x[n*d : (n+nq)*d], d: d}, nil
	}
	if rows != n {
		return nil, fmt.Errorf("--mrl %s: %d rows, want %d (one per row of --in, in the same order)", dbPath, rows, n)
	}
	q, qrows, qd, _, err := readEmbeddings(qPath)
	if err != nil {
		return nil, err
	}
	if qrows < nq {
		return nil, fmt.Errorf("--mrl-queries %s: %d rows, want at least %d (one per query, in the same order)", qPath, qrows, nq)
	}
	if qd != d {
		return nil, fmt.Errorf("--mrl-queries %s: %d dims, --mrl has %d: %w", qPath, qd, d, adapter.ErrDim)
	}
	return &mrlEmbeddings{db: x, q: q[:nq*d], d: d}, nil
}

// adaptVectors returns v's rows mapped through the adapter at path, with
// v's ids (or names) and metric.
func adaptVectors(path string, v *index.Vectors) (*index.Vectors, error) {
	a, err := adapter.Load(path)
	if err != nil {
		return nil, fmt.Errorf("--adapter: %w", err)
	}
	n := v.N()
	if n == 0 {
		return nil, fmt.Errorf("--adapter %s: no vectors to map", path)
	}
	z, err := adaptAll(a, "the vectors", v.Data(), n, v.Dim())
	if err != nil {
		return nil, fmt.Errorf("--adapter %s: %w", path, err)
	}
	if v.Named() {
		names := make([]string, n)
		for i := range names {
			names[i] = v.Name(i)
		}
		return index.NewVectorsNamed(z, n, a.Out, v.Metric(), names)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = v.ID(i)
	}
	return index.NewVectors(z, n, a.Out, v.Metric(), ids)
}
