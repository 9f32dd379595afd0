package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/onnx"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
)

const exportHelp = `Usage: mrl export onnx --ckpt CKPT --out model.onnx [--dim M] [--heads]
       mrl export collection --name C --out FILE.jsonl|FILE.npy [--server URL] [--token T]

export onnx writes a checkpoint's model as an ONNX graph (opset 13) that ONNX
runtimes run: input "input" [N, H·W·C] (rows as mrl embed --in takes them, NHWC
images flattened), output "embedding" [N, dim]; with --heads also "logits_M"
[N, classes] for every nesting dim M (MRL heads only). Batch norm uses its
running statistics (inference).

export collection pages through a collection of a running mrl serve (GET
/v1/collections/C/points, in id order: integers, then UUIDs) and writes its
points as JSONL ({"id", "vector", "payload"} per line, what the points API
takes back; an id is a number or a UUID string) or as NPY (the vectors only,
rows in id order; the ids go to FILE.ids.txt, one a line, integers in decimal
and UUIDs in canonical form).

Examples:
  mrl export onnx --ckpt runs/quickstart.ckpt --out mnist.onnx
  mrl export onnx --ckpt runs/cnn.ckpt --dim 64 --heads --out cnn64.onnx
  mrl export collection --name docs --out docs.jsonl
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, exportHelp)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	if args[0] == "collection" {
		return runExportCollection(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "onnx" {
		fmt.Fprintf(stderr, "mrl export: unknown kind %q (want onnx or collection)\n\n%s", args[0], exportHelp)
		return errUsage
	}
	fs := flag.NewFlagSet("export onnx", flag.ContinueOnError)
	ckpt := fs.String("ckpt", "", "the checkpoint (required)")
	out := fs.String("out", "", "the ONNX file to write (required)")
	dim := fs.Int("dim", 0, "cut the embedding output to this prefix dim (default: all)")
	heads := fs.Bool("heads", false, "also output the logits of every nesting dim's head")
	if err := parseFlags(fs, exportHelp, args[1:], stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl export onnx: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if *ckpt == "" || *out == "" {
		fmt.Fprintln(stderr, "mrl export onnx: --ckpt and --out are required")
		return errUsage
	}
	t0 := time.Now()
	m, err := model.Load(ctx, *ckpt)
	if err != nil {
		return fmt.Errorf("--ckpt: %w", err)
	}
	if m.Config.IsText() {
		return fmt.Errorf("--ckpt %s: %w: ONNX export covers image models only", *ckpt, model.ErrTextModel)
	}
	b, err := onnx.Encode(m, onnx.Options{Dim: *dim, Heads: *heads, Producer: versionLine()})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*out, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	d := m.Config.Embed
	if *dim > 0 {
		d = *dim
	}
	fmt.Fprintf(stdout, "wrote %s: %s, input [N, %d], embedding [N, %d]", *out, m.Describe(), m.InputDim(), d)
	if *heads {
		fmt.Fprintf(stdout, ", logits at dims %v", m.Config.Nesting)
	}
	fmt.Fprintf(stdout, "; %d bytes in %v\n", len(b), time.Since(t0).Round(time.Millisecond))
	return nil
}

func runExportCollection(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export collection", flag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:7700", "the server's base URL")
	token := fs.String("token", os.Getenv("MRL_TOKEN"), "bearer token (default $MRL_TOKEN)")
	name := fs.String("name", "", "the collection (required)")
	out := fs.String("out", "", "output file, .jsonl or .npy (required)")
	page := fs.Int("page", 1000, "points per request")
	if err := parseFlags(fs, exportHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 || *name == "" || *out == "" {
		fmt.Fprintln(stderr, "mrl export collection: --name and --out are required, and no arguments")
		return errUsage
	}
	kind := strings.ToLower(filepath.Ext(*out))
	if kind != ".jsonl" && kind != ".npy" {
		fmt.Fprintf(stderr, "mrl export collection: --out %s: name it .jsonl or .npy\n", *out)
		return errUsage
	}
	t0 := time.Now()
	c := client.New(*server, *token)
	n, d := 0, 0
	var ids []api.PointID
	var vecs []float32
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		err := c.All(ctx, *name, *page, func(p api.Point) error {
			if d == 0 {
				d = len(p.Vector)
			}
			n++
			if kind == ".npy" {
				ids = append(ids, p.ID)
				vecs = append(vecs, p.Vector...)
				return nil
			}
			b, err := json.Marshal(p)
			if err != nil {
				return err
			}
			bw.Write(b)
			return bw.WriteByte('\n')
		})
		if err != nil {
			return err
		}
		if kind == ".npy" {
			if n == 0 {
				return fmt.Errorf("collection %q is empty: nothing to write as NPY", *name)
			}
			return data.WriteNPY(bw, vecs, []int{n, d})
		}
		return bw.Flush()
	}
	if err := atomicfile.Write(*out, write); err != nil {
		return fmt.Errorf("export %s: %w", *name, err)
	}
	if kind == ".npy" {
		idsPath := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".ids.txt"
		err := atomicfile.Write(idsPath, func(w io.Writer) error {
			bw := bufio.NewWriter(w)
			for _, id := range ids {
				fmt.Fprintln(bw, id)
			}
			return bw.Flush()
		})
		if err != nil {
			return fmt.Errorf("write %s: %w", idsPath, err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %d points of dim %d from collection %q in %v\n", *out, n, d, *name, time.Since(t0).Round(time.Millisecond))
	return nil
}
