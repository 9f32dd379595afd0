package adapter

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/nn"
)

// FileVersion is the adapter file version this package writes and the
// newest it reads.
const FileVersion = 1

// Metadata keys of an adapter file (a checkpoint file, package
// checkpoint, with its checksums).
const (
	keyKind    = "kind" // "mrl-adapter"
	keyVersion = "adapter_version"
	keyIn      = "in"
	keyOut     = "out"
	keyNesting = "nesting"
	keyHidden  = "hidden"
	fileKind   = "mrl-adapter"
)

// Encode returns a's file: a checkpoint (safetensors layout with CRC-32C
// checksums, package checkpoint) holding the tensors "mean" [In],
// "r.weight" [Out][In], "r.bias" [Out] and, with a residual MLP,
// "g.0.weight" [H][In], "g.0.bias" [H], "g.2.weight" [Out][H], "g.2.bias"
// [Out], and the metadata kind "mrl-adapter", adapter_version, in, out,
// hidden and nesting ("8,16,...").
func Encode(a *Adapter) ([]byte, error) {
	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, toFile(a)); err != nil {
		return nil, fmt.Errorf("adapter: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func toFile(a *Adapter) *checkpoint.File {
	f := &checkpoint.File{Meta: map[string]string{
		keyKind: fileKind, keyVersion: strconv.Itoa(FileVersion),
		keyIn: strconv.Itoa(a.In), keyOut: strconv.Itoa(a.Out),
		keyHidden: strconv.Itoa(a.Hidden()), keyNesting: a.Nesting.String(),
	}}
	f.Add("mean", []int{a.In}, a.Mean)
	for _, p := range a.Params() {
		f.Add(p.Name, p.Shape, p.W)
	}
	return f
}

// Save writes a's file (Encode) to path atomically.
func Save(path string, a *Adapter) error {
	if err := checkpoint.Save(path, toFile(a)); err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	return nil
}

// Load reads an adapter file written by Save.
func Load(path string) (*Adapter, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	a, err := fromFile(f)
	if err != nil {
		return nil, fmt.Errorf("adapter: load %s: %w", path, err)
	}
	return a, nil
}

// Decode reads an adapter file from memory. It checks the checkpoint's
// checksums (checkpoint.Decode), the kind and version, that in, out,
// hidden and nesting are consistent, that every tensor has its expected
// shape and that every value is finite; errors wrap ErrFormat (or the
// checkpoint package's errors).
func Decode(b []byte) (*Adapter, error) {
	f, err := checkpoint.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	return fromFile(f)
}

// maxDim bounds the dims an adapter file may declare.
const maxDim = 1 << 16

func fromFile(f *checkpoint.File) (*Adapter, error) {
	m := f.Meta
	if m[keyKind] != fileKind {
		return nil, fmt.Errorf("%w: kind %q, want %q (a model checkpoint, not an adapter?)", ErrFormat, m[keyKind], fileKind)
	}
	v, err := strconv.Atoi(m[keyVersion])
	if err != nil || v < 1 {
		return nil, fmt.Errorf("%w: adapter_version %q", ErrFormat, m[keyVersion])
	}
	if v > FileVersion {
		return nil, fmt.Errorf("%w: adapter_version %d is newer than this build reads (%d)", ErrFormat, v, FileVersion)
	}
	num := func(key string, lo int) (int, error) {
		x, err := strconv.Atoi(m[key])
		if err != nil || x < lo || x > maxDim {
			return 0, fmt.Errorf("%w: %s %q: want an integer in %d..%d", ErrFormat, key, m[key], lo, maxDim)
		}
		return x, nil
	}
	in, err := num(keyIn, 1)
	if err != nil {
		return nil, err
	}
	out, err := num(keyOut, 1)
	if err != nil {
		return nil, err
	}
	hidden, err := num(keyHidden, 0)
	if err != nil {
		return nil, err
	}
	if out > in {
		return nil, fmt.Errorf("%w: out %d exceeds in %d", ErrFormat, out, in)
	}
	nesting, err := mrl.ParseNesting(m[keyNesting])
	if err == nil {
		err = nesting.Validate(out)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: nesting %q: %w", ErrFormat, m[keyNesting], err)
	}
	want := map[string][]int{"mean": {in}, "r.weight": {out, in}, "r.bias": {out}}
	if hidden > 0 {
		want["g.0.weight"], want["g.0.bias"] = []int{hidden, in}, []int{hidden}
		want["g.2.weight"], want["g.2.bias"] = []int{out, hidden}, []int{out}
	}
	if len(f.Tensors) != len(want) {
		return nil, fmt.Errorf("%w: %d tensors, want %d for in %d, out %d, hidden %d", ErrFormat, len(f.Tensors), len(want), in, out, hidden)
	}
	get := func(name string) ([]float32, error) {
		t, ok := f.Get(name)
		if !ok {
			return nil, fmt.Errorf("%w: no tensor %q", ErrFormat, name)
		}
		s := want[name]
		if len(t.Shape) != len(s) || (len(s) == 2 && (t.Shape[0] != s[0] || t.Shape[1] != s[1])) || t.Shape[0] != s[0] {
			return nil, fmt.Errorf("%w: tensor %q has shape %v, want %v", ErrFormat, name, t.Shape, s)
		}
		for i, x := range t.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: tensor %q element %d is %v", ErrFormat, name, i, x)
			}
		}
		return t.Data, nil
	}
	a := &Adapter{In: in, Out: out, Nesting: nesting}
	if a.Mean, err = get("mean"); err != nil {
		return nil, err
	}
	lin := func(prefix string, i, o int) (*nn.Linear, error) {
		l := &nn.Linear{In: i, Out: o, W: &nn.Param{Shape: []int{o, i}}, B: &nn.Param{Shape: []int{o}, NoDecay: true}}
		if l.W.W, err = get(prefix + ".weight"); err != nil {
			return nil, err
		}
		if l.B.W, err = get(prefix + ".bias"); err != nil {
			return nil, err
		}
		l.W.G, l.B.G = make([]float32, len(l.W.W)), make([]float32, len(l.B.W))
		return l, nil
	}
	if a.R, err = lin("r", in, out); err != nil {
		return nil, err
	}
	if hidden > 0 {
		if a.G1, err = lin("g.0", in, hidden); err != nil {
			return nil, err
		}
		if a.G2, err = lin("g.2", hidden, out); err != nil {
			return nil, err
		}
	}
	a.name()
	return a, nil
}
