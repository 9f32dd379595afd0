package onnx

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gomrl/mrl/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// fields decodes one level of a protobuf message: field number -> the
// raw values (bytes for length-delimited fields, varints as uint64).
func fields(t *testing.T, b []byte) map[protowire.Number][]any {
	t.Helper()
	out := map[protowire.Number][]any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal("bad varint")
			}
			out[num] = append(out[num], v)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad bytes")
			}
			out[num] = append(out[num], v)
			b = b[n:]
		case protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				t.Fatal("bad fixed32")
			}
			out[num] = append(out[num], v)
			b = b[n:]
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
	}
	return out
}

func str(v any) string { return string(v.([]byte)) }

func tinyModel(t *testing.T, arch, heads string) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Arch: model.Arch(arch), InH: 28, InW: 28, InC: 1, Hidden: 16, Width: 4, Embed: 16, Nesting: []int{8, 16}, Heads: model.Heads(heads), Classes: 10}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEncodeStructure(t *testing.T) {
	for _, c := range []struct {
		arch    string
		opt     Options
		ops     []string // op types in order
		outputs []string
	}{
		{"mlp", Options{}, []string{"Gemm", "BatchNormalization", "Relu", "Gemm", "BatchNormalization", "Relu", "Slice"}, []string{"embedding"}},
		{"mlp", Options{Dim: 8, Heads: true}, []string{"Gemm", "BatchNormalization", "Relu", "Gemm", "BatchNormalization", "Relu", "Slice", "Slice", "Gemm", "Slice", "Gemm"}, []string{"embedding", "logits_8", "logits_16"}},
		{"cnn", Options{}, []string{"Reshape", "Transpose", "Conv", "BatchNormalization", "Relu",
			"Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Conv", "BatchNormalization", "Add", "Relu",
			"Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Conv", "BatchNormalization", "Add", "Relu",
			"Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Slice"}, []string{"embedding"}},
	} {
		m := tinyModel(t, c.arch, "mrl")
		b, err := Encode(m, c.opt)
		if err != nil {
			t.Fatalf("%s %+v: %v", c.arch, c.opt, err)
		}
		mp := fields(t, b)
		if mp[1][0].(uint64) != irVersion || len(mp[7]) != 1 || len(mp[8]) != 1 {
			t.Fatalf("%s: model fields %v", c.arch, mp)
		}
		if op := fields(t, mp[8][0].([]byte)); op[2][0].(uint64) != opsetVer {
			t.Fatalf("%s: opset %v", c.arch, op)
		}
		g := fields(t, mp[7][0].([]byte))
		var ops []string
		produced := map[string]bool{"input": true}
		for _, n := range g[5] { // initializers
			produced[str(fields(t, n.([]byte))[8][0])] = true
		}
		for _, n := range g[1] {
			nf := fields(t, n.([]byte))
			ops = append(ops, str(nf[4][0]))
			for _, in := range nf[1] {
				if !produced[str(in)] {
					t.Fatalf("%s: node %s reads %q before anything produces it", c.arch, str(nf[4][0]), str(in))
				}
			}
			produced[str(nf[2][0])] = true
		}
		if !slices.Equal(ops, c.ops) {
			t.Errorf("%s %+v: ops %v, want %v", c.arch, c.opt, ops, c.ops)
		}
		var outs []string
		for _, o := range g[12] {
			outs = append(outs, str(fields(t, o.([]byte))[1][0]))
		}
		if !slices.Equal(outs, c.outputs) {
			t.Errorf("%s %+v: outputs %v, want %v", c.arch, c.opt, outs, c.outputs)
		}
	}
}

// TestConvWeightLayout: a conv weight is written in ONNX's OIHW order.
func TestConvWeightLayout(t *testing.T) {
	m := tinyModel(t, "cnn", "mrl")
	var w []float32
	var shape []int
	for _, p := range m.Params() {
		if p.Name == "backbone.layer1.conv1.weight" {
			w, shape = p.W, p.Shape // [out][kh][kw][in]
		}
	}
	b, err := Encode(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := fields(t, fields(t, b)[7][0].([]byte))
	for _, ti := range g[5] {
		tf := fields(t, ti.([]byte))
		if str(tf[8][0]) != "backbone.layer1.conv1.weight" {
			continue
		}
		var dims []int
		for _, d := range tf[1] {
			dims = append(dims, int(d.(uint64)))
		}
		o, kh, kw, ci := shape[0], shape[1], shape[2], shape[3]
		if !slices.Equal(dims, []int{o, ci, kh, kw}) {
			t.Fatalf("dims %v, want [%d %d %d %d]", dims, o, ci, kh, kw)
		}
		raw := tf[9][0].([]byte)
		at := func(a, c, y, x int) float32 {
			i := ((a*ci+c)*kh+y)*kw + x
			return math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		for _, idx := range [][4]int{{0, 0, 0, 0}, {1, 2, 0, 1}, {o - 1, ci - 1, kh - 1, kw - 1}, {2, 1, 2, 0}} {
			a, c, y, x := idx[0], idx[1], idx[2], idx[3]
			if got, want := at(a, c, y, x), w[((a*kh+y)*kw+x)*ci+c]; got != want {
				t.Fatalf("W[%d,%d,%d,%d] = %v, want %v", a, c, y, x, got, want)
			}
		}
		return
	}
	t.Fatal("conv weight not written")
}

func TestEncodeErrors(t *testing.T) {
	m := tinyModel(t, "mlp", "mrl")
	if _, err := Encode(m, Options{Dim: 17}); err == nil {
		t.Error("dim past the embedding: no error")
	}
	if _, err := Encode(m, Options{Dim: -1}); err == nil {
		t.Error("negative dim: no error")
	}
	e := tinyModel(t, "mlp", "mrl-e")
	if _, err := Encode(e, Options{Heads: true}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("mrl-e heads: err = %v, want ErrUnsupported", err)
	}
	if _, err := Encode(e, Options{}); err != nil {
		t.Errorf("mrl-e backbone only: %v", err)
	}
}
