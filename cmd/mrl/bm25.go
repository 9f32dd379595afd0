package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gomrl/mrl/bm25"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
)

const bm25Help = `Usage: mrl bm25 [flags]

Reads a text set, prints its counts and hash, and ranks one split's
documents for each of its queries with BM25 (query i's relevant document is
document i): recall@1/10/100, MRR@10 and nDCG@10. This is the lexical
baseline of text retrieval; for debian-descriptions the task is to find a
package's long description from its synopsis among all descriptions of the
split.

The data is either --data debian-descriptions (apt's lists; fetch them with
apt-get update -o Acquire::Languages=en) or --pairs FILE.jsonl (lines of
{"query": ..., "doc": ..., "label": ...}; or TRAIN,VAL,TEST files).

With --query-emb and --doc-emb (NPY matrices whose rows are the split's
queries and documents in order, as mrl embed writes them for the pairs that
--export writes), it also prints the embeddings' metrics at every prefix dim
(cosine of re-normalised prefixes) and those of their reciprocal-rank fusion
with BM25 (score = sum of 1/(k + rank) over the two rankings, k = --rrf-k).

Examples:
  mrl bm25 --data debian-descriptions
  mrl bm25 --data debian-descriptions --k1 1.2 --b 0.75 --json bm25.json
  mrl bm25 --data debian-descriptions --export test.jsonl   # the split as JSONL pairs
`

// BM25Result is what mrl bm25 writes as JSON.
type BM25Result struct {
	Data    string           `json:"data"`
	Source  string           `json:"source"`
	SHA256  string           `json:"sha256"`
	Stats   data.TextStats   `json:"stats"`
	Train   int              `json:"train"`
	Val     int              `json:"val"`
	Test    int              `json:"test"`
	Classes int              `json:"classes"`
	Split   string           `json:"split"`
	Seed    uint64           `json:"seed"`
	K1      float64          `json:"k1"`
	B       float64          `json:"b"`
	Stem    bool             `json:"stem"`
	Stop    bool             `json:"stop_words"`
	Terms   int              `json:"terms"`
	Metrics eval.PairMetrics `json:"metrics"`
	// With --query-emb and --doc-emb: the embeddings' metrics per prefix
	// dim, and those of their rank fusion with BM25 (RRFK).
	Embedding []eval.PairMetrics `json:"embedding,omitempty"`
	Fused     []eval.PairMetrics `json:"fused,omitempty"`
	RRFK      int                `json:"rrf_k,omitempty"`
}

func runBM25(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bm25", flag.ContinueOnError)
	dataName := fs.String("data", "", "text set: debian-descriptions")
	pairs := fs.String("pairs", "", "JSONL pairs file, or TRAIN,VAL,TEST files")
	split := fs.String("split", "test", "the split to rank: test, val or train")
	seed := fs.Uint64("seed", data.DefaultTextSeed, "split seed")
	valFrac := fs.Float64("val-frac", data.DefaultValFrac, "validation fraction when the data is one set (negative: none)")
	testFrac := fs.Float64("test-frac", data.DefaultTestFrac, "test fraction when the data is one set (negative: none)")
	k1 := fs.Float64("k1", bm25.DefaultK1, "BM25 k1 (term frequency saturation)")
	b := fs.Float64("b", bm25.DefaultB, "BM25 b (length normalisation, 0..1)")
	stem := fs.Bool("stem", true, "Snowball English stemming")
	stop := fs.Bool("stop", false, "drop English stop words")
	limit := fs.Int("limit", 0, "rank only the first N pairs of the split (0: all)")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	export := fs.String("export", "", "write the split's pairs as JSONL to this file (for other engines)")
	queryEmb := fs.String("query-emb", "", "NPY embeddings of the split's queries (rows in pair order), to compare and fuse with BM25")
	docEmb := fs.String("doc-emb", "", "NPY embeddings of the split's documents (rows in pair order)")
	dimsFlag := fs.String("dims", "", "prefix dims of the embeddings to evaluate (default 8, 16, 32, ... and the full dim)")
	rrfK := fs.Int("rrf-k", eval.DefaultRRFK, "k of reciprocal-rank fusion")
	if err := parseFlags(fs, bm25Help, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	bopts := bm25.Options{K1: *k1, B: *b, Analyzer: bm25.Analyzer{Stem: *stem, StopWords: *stop}}
	if *k1 == 0 {
		bopts.K1 = -1 // --k1 0 means 0, not the default
	}
	if *b == 0 {
		bopts.B = -1
	}
	if err := bopts.WithDefaults().Validate(); err != nil {
		return err
	}
	if (*queryEmb == "") != (*docEmb == "") {
		return fmt.Errorf("--query-emb and --doc-emb go together")
	}
	dims, err := parseInts(*dimsFlag)
	if err != nil {
		return fmt.Errorf("--dims: %w", err)
	}
	opts := data.TextOptions{Seed: *seed, ValFrac: *valFrac, TestFrac: *testFrac}
	if *valFrac == 0 {
		opts.ValFrac = -1
	}
	if *testFrac == 0 {
		opts.TestFrac = -1
	}
	set, err := data.ResolveText(ctx, *dataName, *pairs, opts)
	if err != nil {
		return err
	}
	ps, err := set.Pairs(*split)
	if err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	if *limit > 0 && *limit < len(ps) {
		ps = ps[:*limit]
	}
	if len(ps) == 0 {
		return fmt.Errorf("%s: the %s split is empty", set.Name, *split)
	}
	fmt.Fprintf(stdout, "data     %s: train %d, val %d, test %d pairs; %d classes\n", set.Name, len(set.Train), len(set.Val), len(set.Test), len(set.Classes))
	st := set.Stats
	fmt.Fprintf(stdout, "read     %d entries, kept %d; dropped %d duplicate keys (md5), %d duplicate docs, %d empty docs, %d without a class\n",
		st.Read, st.Kept, st.DuplicateKey, st.DuplicateDoc, st.EmptyDoc, st.NoLabel)
	fmt.Fprintf(stdout, "source   %s\nsha256   %s\n", set.Source, set.Hash)

	if *export != "" {
		f, err := os.Create(*export)
		if err != nil {
			return err
		}
		if err := data.WritePairs(f, ps, set.Classes); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", *export, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "export   %d %s pairs to %s\n", len(ps), *split, *export)
	}

	docs, queries := make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		docs[i], queries[i] = p.Doc, p.Query
	}
	start := time.Now()
	x, err := bm25.New(docs, bopts)
	if err != nil {
		return err
	}
	built := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	start = time.Now()
	hits := x.SearchBatch(queries, eval.PairDepth)
	searched := time.Since(start)
	m, err := eval.MeanPairMetrics(hits, nil)
	if err != nil {
		return err
	}
	o := x.Options()
	fmt.Fprintf(stdout, "bm25     k1=%g b=%g stem=%v stop=%v: %d docs, %d terms (index %v, %d queries %v)\n",
		o.K1, o.B, *stem, *stop, x.Len(), x.Terms(), built.Round(time.Millisecond), len(queries), searched.Round(time.Millisecond))
	fmt.Fprintf(stdout, "%s: recall@1 %.4f  recall@10 %.4f  recall@100 %.4f  MRR@10 %.4f  nDCG@10 %.4f\n",
		*split, m.Recall1, m.Recall10, m.Recall100, m.MRR10, m.NDCG10)
	var embM, fusedM []eval.PairMetrics
	if *queryEmb != "" {
		embM, fusedM, err = fuseEmbeddings(stdout, *queryEmb, *docEmb, len(ps), dims, *rrfK, hits)
		if err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		res := BM25Result{Embedding: embM, Fused: fusedM, Data: set.Name, Source: set.Source, SHA256: set.Hash, Stats: set.Stats,
			Train: len(set.Train), Val: len(set.Val), Test: len(set.Test), Classes: len(set.Classes),
			Split: *split, Seed: *seed, K1: o.K1, B: o.B, Stem: *stem, Stop: *stop, Terms: x.Terms(), Metrics: m}
		if embM != nil {
			res.RRFK = *rrfK
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fuseEmbeddings reads the query and document embeddings (n rows each),
// prints their pair metrics at every dim and those of their rank fusion
// with the BM25 rankings bm, and returns both lists.
func fuseEmbeddings(stdout io.Writer, qPath, dPath string, n int, dims []int, rrfK int, bm [][]bm25.Hit) (emb, fused []eval.PairMetrics, err error) {
	q, dq, err := readNPYMatrix(qPath, n)
	if err != nil {
		return nil, nil, err
	}
	d, dd, err := readNPYMatrix(dPath, n)
	if err != nil {
		return nil, nil, err
	}
	if dq != dd {
		return nil, nil, fmt.Errorf("%s has %d dims, %s has %d", qPath, dq, dPath, dd)
	}
	if len(dims) == 0 {
		for m := 8; m < dq; m *= 2 {
			dims = append(dims, m)
		}
		dims = append(dims, dq)
	}
	set, err := eval.NewPairSet(q, n, d, n, dq, nil)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "\nembeddings (%d dims) alone, and fused with BM25 (reciprocal rank, k=%d):\n", dq, rrfK)
	fmt.Fprintf(stdout, "%6s  %8s %9s %10s %7s %8s  | %8s %9s %10s %7s %8s\n", "dim", "R@1", "R@10", "R@100", "MRR@10", "nDCG@10", "R@1", "R@10", "R@100", "MRR@10", "nDCG@10")
	for _, m := range dims {
		hits, err := set.Rank(m, eval.PairDepth)
		if err != nil {
			return nil, nil, err
		}
		em, err := eval.MeanPairMetrics(hits, nil)
		if err != nil {
			return nil, nil, err
		}
		fh, err := eval.ReciprocalRankFusion(rrfK, eval.PairDepth, hits, bm)
		if err != nil {
			return nil, nil, err
		}
		fm, err := eval.MeanPairMetrics(fh, nil)
		if err != nil {
			return nil, nil, err
		}
		em.Dim, fm.Dim = m, m
		emb, fused = append(emb, em), append(fused, fm)
		fmt.Fprintf(stdout, "%6d  %8.4f %9.4f %10.4f %7.4f %8.4f  | %8.4f %9.4f %10.4f %7.4f %8.4f\n", m,
			em.Recall1, em.Recall10, em.Recall100, em.MRR10, em.NDCG10, fm.Recall1, fm.Recall10, fm.Recall100, fm.MRR10, fm.NDCG10)
	}
	return emb, fused, nil
}

// readNPYMatrix reads an NPY file of n rows and returns its values and its
// row length.
func readNPYMatrix(path string, n int) ([]float32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	x, shape, err := data.ReadNPY(bufio.NewReader(f))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(shape) != 2 || shape[0] != n || shape[1] < 1 {
		return nil, 0, fmt.Errorf("%s: shape %v, want (%d, D): one row per pair of the split", path, shape, n)
	}
	return x, shape[1], nil
}
