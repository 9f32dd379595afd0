package index

import (
	"fmt"
	"strings"
)

// Kind names the searcher a Build runs: the searcher of a plain search
// and the first stage of a plan. Its text form ("flat", "hnsw", "ivf",
// "binary", "int8") is what collections' meta.json and the CLI use.
type Kind uint8

const (
	KindFlat   Kind = iota // exact scan (Flat)
	KindHNSW               // HNSW graph on a prefix
	KindIVF                // IVF lists clustered on a prefix
	KindBinary             // Quantized sign codes, re-scored exactly
	KindInt8               // Quantized int8 codes, re-scored exactly
)

var kindNames = [...]string{KindFlat: "flat", KindHNSW: "hnsw", KindIVF: "ivf", KindBinary: "binary", KindInt8: "int8"}

// String returns the kind's text form.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind parses a kind's text form.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: kind %q: want %s", ErrOptions, s, strings.Join(kindNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("%w: %v", ErrOptions, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Spec chooses the searcher Build makes over a set of vectors: its kind and
// the options of that kind (the options of the other kinds are ignored).
type Spec struct {
	Kind  Kind
	HNSW  HNSWOptions  // KindHNSW
	IVF   IVFOptions   // KindIVF
	Quant QuantOptions // KindBinary, KindInt8 (Quant.Kind is set from Kind)
	// Graph, for KindHNSW, is a graph already built over the vectors (read
	// with them by Open), used as is instead of building one from HNSW.
	Graph *HNSW
	// Ef and Probe, when > 0, search the graph (the lists) with this ef
	// (probe) through a view (HNSW.WithEf, IVF.WithProbe) instead of the
	// index's own setting.
	Ef, Probe int
}

// Built is a searcher built by Build: the exact Flat, the searcher of the
// spec's kind (also a plan's first stage) and, with a plan, its funnel.
// Its searchers are safe for concurrent use.
type Built struct {
	Vectors *Vectors
	Spec    Spec
	Flat    *Flat
	// First is the searcher of the kind (Flat for KindFlat), through its
	// Ef or Probe view when the spec asks for one.
	First Searcher
	// The index of the kind, or nil: for persisting it and reporting its
	// memory.
	Graph *HNSW
	IVF   *IVF
	Quant *Quantized
	// Funnel runs the plan given to Build with First as its first stage,
	// or is nil.
	Funnel *Funnel
}

// Build makes the searcher of spec over v and, with a non-nil plan, the
// funnel running plan on it. It is the one way the CLI, the collection
// store and the benchmarks put a first stage and a plan together.
func Build(v *Vectors, spec Spec, plan Plan) (*Built, error) {
	b := &Built{Vectors: v, Spec: spec, Flat: NewFlat(v)}
	switch spec.Kind {
	case KindFlat:
		b.First = b.Flat
	case KindHNSW:
		h := spec.Graph
		if h == nil {
			var err error
			if h, err = NewHNSW(v, spec.HNSW); err != nil {
				return nil, err
			}
		} else if h.Vectors() != v {
			return nil, fmt.Errorf("%w: the spec's graph searches other vectors", ErrOptions)
		}
		b.Graph, b.First = h, h
		if spec.Ef > 0 {
			b.First = h.WithEf(spec.Ef)
		}
	case KindIVF:
		f, err := NewIVF(v, spec.IVF)
		if err != nil {
			return nil, err
		}
		b.IVF, b.First = f, f
		if spec.Probe > 0 {
			b.First = f.WithProbe(spec.Probe)
		}
	case KindBinary, KindInt8:
		o := spec.Quant
		o.Kind = Binary
		if spec.Kind == KindInt8 {
			o.Kind = Int8
		}
		q, err := NewQuantized(v, o)
		if err != nil {
			return nil, err
		}
		b.Quant, b.First = q, q
	default:
		return nil, fmt.Errorf("%w: %v", ErrOptions, spec.Kind)
	}
	if plan != nil {
		f, err := NewFunnel(v, plan, b.First)
		if err != nil {
			return nil, err
		}
		b.Funnel = f
	}
	return b, nil
}

// Searcher returns the funnel if Build was given a plan, else First.
func (b *Built) Searcher() Searcher {
	if b.Funnel != nil {
		return b.Funnel
	}
	return b.First
}

// Serves reports whether First can search at dim: every kind can, but an
// HNSW graph only at its own dim and above.
func (b *Built) Serves(dim int) bool { return b.Graph == nil || dim >= b.Graph.Dim() }

// At returns the searcher of a search at dim without a plan: First, or
// the exact Flat where First cannot serve dim (see Serves).
func (b *Built) At(dim int) Searcher {
	if !b.Serves(dim) {
		return b.Flat
	}
	return b.First
}

// Plan returns a funnel running plan over the same vectors, whose first
// stage is At(plan[0].Dim).
func (b *Built) Plan(plan Plan) (*Funnel, error) {
	if len(plan) == 0 {
		return nil, fmt.Errorf("%w: empty plan", ErrPlan)
	}
	return NewFunnel(b.Vectors, plan, b.At(plan[0].Dim))
}

// IndexBytes is the memory of the index beside the vectors: an HNSW graph
// with its prefix copy, or the quantised codes; 0 for Flat and IVF.
func (b *Built) IndexBytes() int64 {
	switch {
	case b.Graph != nil:
		return b.Graph.MemBytes()
	case b.Quant != nil:
		return b.Quant.MemoryBytes()
	}
	return 0
}

// String describes the searcher: "flat", "hnsw dim 64, ef 50",
// "binary tier dim 64", "ivf dim 32, 100 lists, probe 8", and with a plan
// "funnel 16:200,64:10 (first stage hnsw dim 16, ef 50)".
func (b *Built) String() string {
	var first string
	switch {
	case b.Graph != nil:
		ef := b.Graph.Ef()
		if b.Spec.Ef > 0 {
			ef = b.Spec.Ef
		}
		first = fmt.Sprintf("hnsw dim %d, ef %d", b.Graph.Dim(), ef)
	case b.IVF != nil:
		probe := b.IVF.Probe()
		if b.Spec.Probe > 0 {
			probe = b.Spec.Probe
		}
		first = fmt.Sprintf("ivf dim %d, %d lists, probe %d", b.IVF.ClusterDim(), b.IVF.Lists(), probe)
	case b.Quant != nil:
		first = fmt.Sprintf("%s tier dim %d", b.Quant.Kind(), b.Quant.Dim())
	default:
		first = "flat"
	}
	if b.Funnel == nil {
		return first
	}
	return fmt.Sprintf("funnel %s (first stage %s)", b.Funnel.plan, first)
}
