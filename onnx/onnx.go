// Package onnx writes a trained model as an ONNX graph (opset 13, IR
// version 7) that any ONNX runtime can run: the backbone from the
// flattened input to the embedding (optionally cut to a prefix dim) and,
// optionally, the MRL heads' logits at every nesting dim.
//
// The ONNX protobuf messages are encoded directly with
// google.golang.org/protobuf/encoding/protowire (the field numbers are
// those of onnx.proto), so the package needs no generated code.
//
// Layout: the graph's input "input" is [N, H·W·C], the rows mrl embed and
// the server take (NHWC images flattened). The CNN reshapes and transposes
// it to NCHW; our Conv2d weights, [out][kh][kw][in], are written in ONNX's
// [out][in][kh][kw]. Outputs: "embedding" [N, dim], and with Heads
// "logits_M" [N, classes] for every nesting dim M (each head reads the
// first M dims of the full embedding, as in training).
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gomrl/mrl/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// Options select what the graph computes.
type Options struct {
	// Dim cuts the "embedding" output to its first Dim dims (0: the whole
	// embedding).
	Dim int
	// Heads adds a "logits_M" output per nesting dim M (MRL heads only).
	Heads bool
	// Producer is written as the model's producer_version (e.g. the mrl
	// version); optional.
	Producer string
}

// ErrUnsupported is returned for a model the exporter cannot write.
var ErrUnsupported = errors.New("onnx: unsupported model")

const (
	irVersion   = 7
	opsetVer    = 13
	tensorFloat = 1
	tensorInt64 = 7
	attrFloat   = 1
	attrInt     = 2
	attrInts    = 7
	bnEpsilon   = 1e-5
)

// Write encodes m as an ONNX model to w.
func Write(w io.Writer, m *model.Model, opt Options) error {
	b, err := Encode(m, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Encode returns m as the bytes of an ONNX ModelProto.
func Encode(m *model.Model, opt Options) ([]byte, error) {
	c := m.Config
	if opt.Dim < 0 || opt.Dim > c.Embed {
		return nil, fmt.Errorf("onnx: dim %d: the embedding has %d dims", opt.Dim, c.Embed)
	}
	if opt.Heads && c.Heads != "mrl" {
		return nil, fmt.Errorf("%w: heads %q: only mrl heads are exported (export without heads)", ErrUnsupported, c.Heads)
	}
	g := &graph{tensors: map[string]tensor{}}
	for _, p := range m.Params() {
		g.tensors[p.Name] = tensor{p.Shape, p.W}
	}
	for _, b := range m.Buffers() {
		g.tensors[b.Name] = tensor{b.Shape, b.W}
	}
	in := m.InputDim()
	var full string
	var err error
	switch c.Arch {
	case "mlp":
		full, err = g.mlp("input")
	case "cnn":
		full, err = g.cnn("input", c.InH, c.InW, c.InC)
	default:
		err = fmt.Errorf("%w: arch %q", ErrUnsupported, c.Arch)
	}
	if err != nil {
		return nil, err
	}
	dim := c.Embed
	if opt.Dim > 0 {
		dim = opt.Dim
	}
	g.prefix(full, dim, "embedding")
	outputs := []msg{valueInfo("embedding", -1, dim)}
	if opt.Heads {
		for i, d := range c.Nesting {
			name := fmt.Sprintf("logits_%d", d)
			z := g.prefix(full, d, "")
			head := fmt.Sprintf("head.nesting_classifier_%d", i)
			if err := g.gemm(z, head, name); err != nil {
				return nil, err
			}
			outputs = append(outputs, valueInfo(name, -1, c.Classes))
		}
	}
	var gp msg
	for _, n := range g.nodes {
		gp.sub(1, n)
	}
	gp.str(2, "mrl_"+c.Arch.String())
	for _, t := range g.inits {
		gp.sub(5, t)
	}
	gp.str(10, fmt.Sprintf("mrl %s backbone (%s heads, nesting %v); input: rows of %d floats (NHWC images flattened)", c.Arch, c.Heads, c.Nesting, in))
	gp.sub(11, valueInfo("input", -1, in))
	for _, o := range outputs {
		gp.sub(12, o)
	}
	var mp msg
	mp.i64(1, irVersion)
	mp.str(2, "mrl")
	if opt.Producer != "" {
		mp.str(3, opt.Producer)
	}
	mp.str(4, "github.com/gomrl/mrl")
	mp.str(6, m.Describe())
	mp.sub(7, gp)
	var opset msg
	opset.str(1, "")
	opset.i64(2, opsetVer)
	mp.sub(8, opset)
	return mp, nil
}

// msg is a protobuf message being appended to.
type msg []byte

func (b *msg) str(f protowire.Number, s string) {
	*b = protowire.AppendTag(*b, f, protowire.BytesType)
	*b = protowire.AppendString(*b, s)
}

func (b *msg) bytes(f protowire.Number, v []byte) {
	*b = protowire.AppendTag(*b, f, protowire.BytesType)
	*b = protowire.AppendBytes(*b, v)
}

func (b *msg) i64(f protowire.Number, v int64) {
	*b = protowire.AppendTag(*b, f, protowire.VarintType)
	*b = protowire.AppendVarint(*b, uint64(v))
}

func (b *msg) f32(f protowire.Number, v float32) {
	*b = protowire.AppendTag(*b, f, protowire.Fixed32Type)
	*b = protowire.AppendFixed32(*b, math.Float32bits(v))
}

func (b *msg) sub(f protowire.Number, m msg) { b.bytes(f, m) }

type tensor struct {
	shape []int
	data  []float32
}

// graph collects nodes and initializers; tensors are the model's, by name.
type graph struct {
	tensors map[string]tensor
	nodes   []msg
	inits   []msg
	seq     int
}

func (g *graph) tmp(op string) string {
	g.seq++
	return fmt.Sprintf("%s_%d", op, g.seq)
}

// node adds op(inputs) -> out with attributes.
func (g *graph) node(op string, inputs []string, out string, attrs ...msg) {
	var n msg
	for _, in := range inputs {
		n.str(1, in)
	}
	n.str(2, out)
	n.str(3, out)
	n.str(4, op)
	for _, a := range attrs {
		n.sub(5, a)
	}
	g.nodes = append(g.nodes, n)
}

// param adds the model tensor name as an initializer (conv weights
// permuted from OHWI to OIHW) and returns its name.
func (g *graph) param(name string) (string, error) {
	t, ok := g.tensors[name]
	if !ok {
		return "", fmt.Errorf("%w: no tensor %q in the model", ErrUnsupported, name)
	}
	shape, data := t.shape, t.data
	if len(shape) == 4 { // [out][kh][kw][in] -> [out][in][kh][kw]
		o, kh, kw, ci := shape[0], shape[1], shape[2], shape[3]
		p := make([]float32, len(data))
		for a := 0; a < o; a++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					for c := 0; c < ci; c++ {
						p[((a*ci+c)*kh+y)*kw+x] = data[((a*kh+y)*kw+x)*ci+c]
					}
				}
			}
		}
		shape, data = []int{o, ci, kh, kw}, p
	}
	g.floatInit(name, shape, data)
	return name, nil
}

func (g *graph) floatInit(name string, shape []int, data []float32) {
	var t msg
	for _, d := range shape {
		t.i64(1, int64(d))
	}
	t.i64(2, tensorFloat)
	t.str(8, name)
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	t.bytes(9, raw)
	g.inits = append(g.inits, t)
}

func (g *graph) int64Init(name string, data []int64) string {
	var t msg
	t.i64(1, int64(len(data)))
	t.i64(2, tensorInt64)
	t.str(8, name)
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	t.bytes(9, raw)
	g.inits = append(g.inits, t)
	return name
}

func attrI(name string, v int64) msg {
	var a msg
	a.str(1, name)
	a.i64(3, v)
	a.i64(20, attrInt)
	return a
}

func attrF(name string, v float32) msg {
	var a msg
	a.str(1, name)
	a.f32(2, v)
	a.i64(20, attrFloat)
	return a
}

func attrIs(name string, vs ...int64) msg {
	var a msg
	a.str(1, name)
	for _, v := range vs {
		a.i64(8, v)
	}
	a.i64(20, attrInts)
	return a
}

// valueInfo describes a float tensor [rows, cols]; rows < 0 is the
// symbolic batch size "N".
func valueInfo(name string, rows, cols int) msg {
	dim := func(v int) msg {
		var d msg
		if v < 0 {
			d.str(2, "N")
		} else {
			d.i64(1, int64(v))
		}
		return d
	}
	var shape msg
	shape.sub(1, dim(rows))
	shape.sub(1, dim(cols))
	var tt msg
	tt.i64(1, tensorFloat)
	tt.sub(2, shape)
	var typ msg
	typ.sub(1, tt)
	var vi msg
	vi.str(1, name)
	vi.sub(2, typ)
	return vi
}

// gemm adds x·Wᵀ + b with the Linear layer prefix's weight and bias.
func (g *graph) gemm(x, prefix, out string) error {
	w, err := g.param(prefix + ".weight")
	if err != nil {
		return err
	}
	b, err := g.param(prefix + ".bias")
	if err != nil {
		return err
	}
	g.node("Gemm", []string{x, w, b}, out, attrI("transB", 1))
	return nil
}

// bn adds inference batch norm with the running statistics of prefix.
func (g *graph) bn(x, prefix string) (string, error) {
	var in []string
	for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		p, err := g.param(prefix + "." + s)
		if err != nil {
			return "", err
		}
		in = append(in, p)
	}
	out := g.tmp("bn")
	g.node("BatchNormalization", append([]string{x}, in...), out, attrF("epsilon", bnEpsilon))
	return out, nil
}

func (g *graph) relu(x string) string {
	out := g.tmp("relu")
	g.node("Relu", []string{x}, out)
	return out
}

// conv adds a convolution without bias (square kernel k, stride, pad).
func (g *graph) conv(x, prefix string, k, stride, pad int) (string, error) {
	w, err := g.param(prefix + ".weight")
	if err != nil {
		return "", err
	}
	out := g.tmp("conv")
	g.node("Conv", []string{x, w}, out, attrIs("kernel_shape", int64(k), int64(k)),
		attrIs("strides", int64(stride), int64(stride)), attrIs("pads", int64(pad), int64(pad), int64(pad), int64(pad)))
	return out, nil
}

func (g *graph) convBN(x, conv, bn string, k, stride, pad int) (string, error) {
	y, err := g.conv(x, conv, k, stride, pad)
	if err != nil {
		return "", err
	}
	return g.bn(y, bn)
}

// mlp is Linear-BN-ReLU-Linear-BN-ReLU (see model.mlp).
func (g *graph) mlp(x string) (string, error) {
	h := g.tmp("fc")
	if err := g.gemm(x, "backbone.fc1", h); err != nil {
		return "", err
	}
	h, err := g.bn(h, "backbone.bn1")
	if err != nil {
		return "", err
	}
	h2 := g.tmp("fc")
	if err := g.gemm(g.relu(h), "backbone.fc2", h2); err != nil {
		return "", err
	}
	h2, err = g.bn(h2, "backbone.bn2")
	if err != nil {
		return "", err
	}
	return g.relu(h2), nil
}

// block is a ResNet basic block with a projection shortcut (see
// model.block; both of the cnn's blocks change shape).
func (g *graph) block(x, prefix string, stride int) (string, error) {
	y, err := g.convBN(x, prefix+".conv1", prefix+".bn1", 3, stride, 1)
	if err != nil {
		return "", err
	}
	y, err = g.convBN(g.relu(y), prefix+".conv2", prefix+".bn2", 3, 1, 1)
	if err != nil {
		return "", err
	}
	s := x
	if _, ok := g.tensors[prefix+".shortcut.conv.weight"]; ok {
		if s, err = g.convBN(x, prefix+".shortcut.conv", prefix+".shortcut.bn", 1, stride, 0); err != nil {
			return "", err
		}
	}
	sum := g.tmp("add")
	g.node("Add", []string{y, s}, sum)
	return g.relu(sum), nil
}

// cnn is the small ResNet of model.cnn, from flattened NHWC rows.
func (g *graph) cnn(x string, h, w, c int) (string, error) {
	shape := g.int64Init("input_shape", []int64{-1, int64(h), int64(w), int64(c)})
	nhwc := g.tmp("reshape")
	g.node("Reshape", []string{x, shape}, nhwc)
	nchw := g.tmp("transpose")
	g.node("Transpose", []string{nhwc}, nchw, attrIs("perm", 0, 3, 1, 2))
	y, err := g.convBN(nchw, "backbone.stem.conv", "backbone.stem.bn", 3, 1, 1)
	if err != nil {
		return "", err
	}
	y = g.relu(y)
	if y, err = g.block(y, "backbone.layer1", 2); err != nil {
		return "", err
	}
	if y, err = g.block(y, "backbone.layer2", 2); err != nil {
		return "", err
	}
	if y, err = g.convBN(y, "backbone.embed.conv", "backbone.embed.bn", 1, 1, 0); err != nil {
		return "", err
	}
	pooled := g.tmp("pool")
	g.node("GlobalAveragePool", []string{g.relu(y)}, pooled)
	flat := g.tmp("flatten")
	g.node("Flatten", []string{pooled}, flat, attrI("axis", 1))
	return flat, nil
}

// prefix adds x[:, :dim] named out ("" for a fresh name).
func (g *graph) prefix(x string, dim int, out string) string {
	if out == "" {
		out = g.tmp("prefix")
	}
	id := g.tmp("dim")
	starts := g.int64Init(id+"_starts", []int64{0})
	ends := g.int64Init(id+"_ends", []int64{int64(dim)})
	axes := g.int64Init(id+"_axes", []int64{1})
	g.node("Slice", []string{x, starts, ends, axes}, out)
	return out
}
