package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gomrl/mrl/internal/atomicfile"
	"github.com/gomrl/mrl/onnx"
	"github.com/gomrl/mrl/train"
)

const exportHelp = `Usage: mrl export onnx --ckpt CKPT --out model.onnx [--dim M] [--heads]

Writes a checkpoint's model as an ONNX graph (opset 13) that ONNX runtimes
run: input "input" [N, H·W·C] (rows as mrl embed --in takes them, NHWC images
flattened), output "embedding" [N, dim]; with --heads also "logits_M"
[N, classes] for every nesting dim M (MRL heads only). Batch norm uses its
running statistics (inference).

Examples:
  mrl export onnx --ckpt runs/quickstart.ckpt --out mnist.onnx
  mrl export onnx --ckpt runs/cnn.ckpt --dim 64 --heads --out cnn64.onnx
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, exportHelp)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	if args[0] != "onnx" {
		fmt.Fprintf(stderr, "mrl export: unknown format %q (want onnx)\n\n%s", args[0], exportHelp)
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
	m, _, _, err := train.LoadModel(*ckpt)
	if err != nil {
		return fmt.Errorf("--ckpt: %w", err)
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
