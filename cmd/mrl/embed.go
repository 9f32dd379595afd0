package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

For a text checkpoint (mrl train --model text), --in is a file of texts: a
.jsonl or .ndjson file holds one JSON object a line and the string field
--field of each is embedded ("text" by default; "query" or "doc" for a pairs
file); any other file holds one text a line (a final newline ends the last
text, it does not add an empty one). Row i of the output is the i-th text. A
text with no words (letters, digits, CJK characters or emoji) is an error
naming its line. The throughput in texts/s is printed at the end.

Examples:
  mrl embed --ckpt runs/quickstart.ckpt --split test --out test.npy
  mrl embed --ckpt runs/quickstart.ckpt --split train --dim 64 --normalize --out train64.jsonl
  mrl embed --ckpt runs/cnn.ckpt --in images.npy --dim 128 --out emb.npy
  mrl embed --ckpt runs/pairs-text.ckpt --in docs.jsonl --field doc --dim 64 --normalize --out docs64.npy
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
	field := fs.String("field", "text", "text models, JSONL --in: the string field of each object to embed")
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
	var rate string
	if *in != "" {
		x, rows, full, rate, err = embedFile(ctx, src.ckpt, *in, *n, *field)
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
	fmt.Fprintf(stdout, "wrote %s: %d rows × %d dims (of %d%s) as %s in %v%s\n", *out, rows, d, full, norm, kind, time.Since(t0).Round(time.Millisecond), rate)
	return nil
}

// embedFile embeds the rows of the NPY file path (raw examples, 2-D) with
// the checkpoint ckpt, or for a text checkpoint the texts of path (see
// embedTexts): at most n rows (n <= 0: all). rate is a note on the
// throughput, for text models.
func embedFile(ctx context.Context, ckpt, path string, n int, field string) (x []float32, rows, d int, rate string, err error) {
	m, err := model.Load(ctx, ckpt)
	if err != nil {
		return nil, 0, 0, "", fmt.Errorf("--ckpt: %w", err)
	}
	if m.Config.IsText() {
		return embedTexts(m, path, n, field)
	}
	x, rows, d, err = embedNPY(m, path, n)
	return x, rows, d, "", err
}

// embedNPY embeds the rows of the NPY file path with an image model.
func embedNPY(m *model.Model, path string, n int) (x []float32, rows, d int, err error) {
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

// embedTexts embeds the texts of path (JSONL objects' field, or lines) with
// a text model: at most n (n <= 0: all).
func embedTexts(m *model.Model, path string, n int, field string) (x []float32, rows, d int, rate string, err error) {
	texts, lines, err := readTexts(path, field, n)
	if err != nil {
		return nil, 0, 0, "", err
	}
	t0 := time.Now()
	x, err = m.EmbedTexts(texts, 512)
	var nw *model.NoWordsError
	if errors.As(err, &nw) {
		return nil, 0, 0, "", fmt.Errorf("--in %s:%d: the text %q has no words to embed", path, lines[nw.Index], clip(nw.Text, 40))
	}
	if err != nil {
		return nil, 0, 0, "", err
	}
	secs := time.Since(t0).Seconds()
	return x, len(texts), m.Config.Embed, fmt.Sprintf("; %.0f texts/s (tokenize + embed, %d threads)", float64(len(texts))/secs, kernel.Threads()), nil
}

// readTexts reads at most n (<= 0: all) texts from path, with the line
// number of each: the string field of JSONL objects (.jsonl, .ndjson) or
// the lines of any other file.
func readTexts(path, field string, n int) (texts []string, lines []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--in: %w", err)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	jsonl := ext == ".jsonl" || ext == ".ndjson"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	line := 0
	for sc.Scan() && (n <= 0 || len(texts) < n) {
		line++
		s := sc.Text()
		if jsonl {
			if strings.TrimSpace(s) == "" {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(s), &obj); err != nil {
				return nil, nil, fmt.Errorf("--in %s:%d: %v", path, line, err)
			}
			raw, ok := obj[field]
			if !ok {
				return nil, nil, fmt.Errorf("--in %s:%d: no field %q (choose one with --field)", path, line, field)
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, nil, fmt.Errorf("--in %s:%d: field %q: want a string, got %s", path, line, field, clip(string(raw), 40))
			}
		}
		texts = append(texts, s)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("--in %s:%d: %w", path, line+1, err)
	}
	if len(texts) == 0 {
		return nil, nil, fmt.Errorf("--in %s: no texts", path)
	}
	return texts, lines, nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
