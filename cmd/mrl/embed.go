package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/model"
)

const embedHelp = `Usage: mrl embed --ckpt CKPT [--split test] [--data NAME | --in X.npy] --out FILE [flags]

Embeds examples with a trained checkpoint and writes their embeddings, cut to
a prefix dim, as NPY (float32, rows × dim) or as JSONL, one
{"id": ROW, "vector": [...]} per line: the forms "mrl index build --npy/--jsonl"
and the server's point uploads read.

The examples are a split of the dataset the checkpoint was trained on (or of
--data), or the rows of an NPY file of raw examples (--in; 2-D, with as many
columns as the model takes, float32, float64 or integer).

Examples:
  mrl embed --ckpt runs/quickstart.ckpt --split test --out test.npy
  mrl embed --ckpt runs/quickstart.ckpt --split train --dim 64 --normalize --out train64.jsonl
  mrl embed --ckpt runs/cnn.ckpt --in images.npy --dim 128 --out emb.npy
`

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	var src ckptSource
	fs.StringVar(&src.ckpt, "ckpt", "", "the checkpoint (required)")
	fs.StringVar(&src.data, "data", "", "dataset of --split (default: the one the checkpoint was trained on)")
	fs.StringVar(&src.split, "split", "test", "split to embed: train or test")
	in := fs.String("in", "", "embed the rows of this NPY file of raw examples instead of a dataset split")
	out := fs.String("out", "", "output file, .npy or .jsonl (required)")
	format := fs.String("format", "", "npy or jsonl (default: from --out's extension)")
	dim := fs.Int("dim", 0, "prefix dim to keep (default: the whole embedding)")
	normalize := fs.Bool("normalize", false, "scale every row to unit length after cutting it to --dim")
	n := fs.Int("n", 0, "embed at most this many rows (default: all)")
	if err := parseFlags(fs, embedHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl embed: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	var problems []string
	if src.ckpt == "" {
		problems = append(problems, "--ckpt is required")
	}
	if *out == "" {
		problems = append(problems, "--out is required")
	}
	if *dim < 0 {
		problems = append(problems, fmt.Sprintf("--dim %d: want 0 (all) or a prefix size", *dim))
	}
	if *n < 0 {
		problems = append(problems, fmt.Sprintf("--n %d: want 0 (all) or a row count", *n))
	}
	kind := *format
	if kind == "" {
		switch strings.ToLower(filepath.Ext(*out)) {
		case ".npy":
			kind = "npy"
		case ".jsonl", ".ndjson":
			kind = "jsonl"
		default:
			if *out != "" {
				problems = append(problems, fmt.Sprintf("--out %s: cannot tell the format from the extension: name it .npy or .jsonl, or give --format", *out))
			}
		}
	} else if kind != "npy" && kind != "jsonl" {
		problems = append(problems, fmt.Sprintf("--format %q: want npy or jsonl", kind))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "mrl embed: %s\n", p)
		}
		return errUsage
	}

	t0 := time.Now()
	var (
		x          []float32
		rows, full int
		err        error
	)
	if *in != "" {
		x, rows, full, err = embedFile(ctx, src.ckpt, *in, *n)
	} else {
		x, rows, full, err = src.embed(*n)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := full
	if *dim > 0 {
		if *dim > full {
			return fmt.Errorf("--dim %d: the checkpoint's embedding has %d dims", *dim, full)
		}
		d = *dim
	}
	emb := make([]float32, 0, rows*d)
	for i := 0; i < rows; i++ {
		row := x[i*full : i*full+d]
		start := len(emb)
		emb = append(emb, row...)
		if *normalize {
			kernel.Normalize(emb[start:])
		}
	}
	write := func(w io.Writer) error {
		if kind == "npy" {
			return data.WriteNPY(w, emb, []int{rows, d})
		}
		v, err := index.NewVectors(emb, rows, d, mrl.InnerProduct, nil) // ids 0..rows-1
		if err != nil {
			return err
		}
		return index.WriteJSONL(w, v)
	}
	if err := atomicfile.Write(*out, write); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	norm := ""
	if *normalize {
		norm = ", unit length"
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows × %d dims (of %d%s) as %s in %v\n", *out, rows, d, full, norm, kind, time.Since(t0).Round(time.Millisecond))
	return nil
}

// embedFile embeds the rows of the NPY file path (raw examples, 2-D) with
// the checkpoint ckpt: at most n rows (n <= 0: all).
func embedFile(ctx context.Context, ckpt, path string, n int) (x []float32, rows, d int, err error) {
	m, err := model.Load(ctx, ckpt)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--ckpt: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--in: %w", err)
	}
	defer f.Close()
	raw, shape, err := data.ReadNPY(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("--in %s: %w", path, err)
	}
	if len(shape) != 2 {
		return nil, 0, 0, fmt.Errorf("--in %s: shape %v: want 2-D (rows, %d features)", path, shape, m.InputDim())
	}
	if shape[1] != m.InputDim() {
		return nil, 0, 0, fmt.Errorf("--in %s: %d features per row, the model expects %d", path, shape[1], m.InputDim())
	}
	if shape[0] == 0 {
		return nil, 0, 0, fmt.Errorf("--in %s: no rows", path)
	}
	for i, v := range raw {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, 0, 0, fmt.Errorf("--in %s: row %d, column %d is %v: want finite values", path, i/shape[1], i%shape[1], v)
		}
	}
	rows = shape[0]
	if n > 0 {
		rows = min(n, rows)
	}
	return m.EmbedAll(raw, rows, 512), rows, m.Config.Embed, nil
}
