package collection

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
)

// CheckMeta fills m's defaults (metric cosine, the default nesting for its
// dim, index kind flat) and checks it; every problem is reported at once,
// in an error that is ErrInvalid.
func CheckMeta(m *Meta) error {
	var p []string
	if !ValidName(m.Name) {
		p = append(p, fmt.Sprintf("name %q: want 1 to 64 of A-Z a-z 0-9 _ -", m.Name))
	}
	if m.Dim < 1 || m.Dim > maxDim {
		p = append(p, fmt.Sprintf("dim %d: want 1..%d", m.Dim, maxDim))
	}
	if m.Metric == "" {
		m.Metric = "cosine"
	}
	if met, err := mrl.ParseMetric(m.Metric); err != nil {
		p = append(p, fmt.Sprintf("metric %q: want cosine, ip or l2", m.Metric))
	} else {
		m.Metric = met.String()
	}
	if m.Dim >= 1 && m.Dim <= maxDim {
		if len(m.Nesting) == 0 {
			m.Nesting = mrl.DefaultNesting(m.Dim)
		}
		if err := m.Nesting.Validate(m.Dim); err != nil {
			p = append(p, fmt.Sprintf("nesting %v: %v", []int(m.Nesting), err))
		} else if m.Nesting.Max() != m.Dim {
			p = append(p, fmt.Sprintf("nesting %v: last dim must be the collection dim %d", []int(m.Nesting), m.Dim))
		}
	}
	ix := &m.Index
	if ix.Kind == "" {
		ix.Kind = "flat"
	}
	hnswSet := ix.M != 0 || ix.EfConstruction != 0 || ix.EfSearch != 0 || ix.GraphDim != 0
	ivfSet := ix.Lists != 0 || ix.Probe != 0 || ix.ClusterDim != 0
	quantSet := ix.CodeDim != 0 || ix.Rescore != 0
	switch ix.Kind {
	case "flat":
		if hnswSet || ivfSet || quantSet || ix.Seed != 0 {
			p = append(p, "index: kind flat takes no options")
		}
	case "binary", "int8":
		if hnswSet || ivfSet || ix.Seed != 0 {
			p = append(p, fmt.Sprintf("index: kind %s takes only code_dim and rescore", ix.Kind))
		}
		if err := quantOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.CodeDim < 0 || ix.CodeDim > m.Dim {
			p = append(p, fmt.Sprintf("index: code_dim %d: want 0 (the collection dim) or 1..%d", ix.CodeDim, m.Dim))
		}
	case "hnsw":
		if quantSet {
			p = append(p, "index: code_dim and rescore are binary and int8 options, kind is hnsw")
		}
		if ivfSet {
			p = append(p, "index: lists, probe and cluster_dim are ivf options, kind is hnsw")
		}
		if err := hnswOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.GraphDim < 0 || ix.GraphDim > m.Dim {
			p = append(p, fmt.Sprintf("index: graph_dim %d: want 0 (the collection dim) or 1..%d", ix.GraphDim, m.Dim))
		}
	case "ivf":
		if hnswSet || quantSet {
			p = append(p, "index: m, ef_construction, ef_search and graph_dim are hnsw options, code_dim and rescore binary and int8 ones, kind is ivf")
		}
		if err := ivfOptions(m).Validate(); err != nil {
			p = append(p, err.Error())
		}
		if ix.ClusterDim < 0 || ix.ClusterDim > m.Dim {
			p = append(p, fmt.Sprintf("index: cluster_dim %d: want 0 (default) or 1..%d", ix.ClusterDim, m.Dim))
		}
	default:
		p = append(p, fmt.Sprintf("index: kind %q: want flat, hnsw, ivf, binary or int8", ix.Kind))
	}
	if m.Input != nil {
		p = append(p, checkInput(m.Input, m.Dim)...)
	}
	if len(p) > 0 {
		return invalidf("%s", strings.Join(p, "; "))
	}
	return nil
}

// checkInput lists the problems of a collection's input transform. The
// store keeps it and hands it back; the server applies it.
func checkInput(in *InputSpec, dim int) []string {
	if in.Model == nil && in.Adapter == nil {
		return []string{"input: empty, want a model, an adapter or both (or no input)"}
	}
	var p []string
	if mr := in.Model; mr != nil {
		if !ValidName(mr.Name) {
			p = append(p, fmt.Sprintf("input.model.name %q: want 1 to 64 of A-Z a-z 0-9 _ -", mr.Name))
		}
		if !validSHA256(mr.SHA256) {
			p = append(p, fmt.Sprintf("input.model.sha256 %q: want 64 lower-case hex digits", mr.SHA256))
		}
		if mr.Arch == "" {
			p = append(p, "input.model.arch: required")
		}
	}
	if ar := in.Adapter; ar != nil {
		if ar.Path == "" || filepath.IsAbs(ar.Path) || !filepath.IsLocal(ar.Path) {
			p = append(p, fmt.Sprintf("input.adapter.path %q: want a relative path inside the server's model root", ar.Path))
		}
		if !validSHA256(ar.SHA256) {
			p = append(p, fmt.Sprintf("input.adapter.sha256 %q: want 64 lower-case hex digits", ar.SHA256))
		}
		if ar.InputDim < 1 || ar.InputDim > maxDim {
			p = append(p, fmt.Sprintf("input.adapter.input_dim %d: want 1..%d", ar.InputDim, maxDim))
		} else if ar.InputDim < dim {
			p = append(p, fmt.Sprintf("input.adapter.input_dim %d: less than the collection dim %d (an adapter maps to at most its input dim)", ar.InputDim, dim))
		}
	}
	return p
}

// validSHA256 reports whether s is a SHA-256 in lower-case hex.
func validSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// metaMetric parses the collection's metric (validateMeta has checked it).
func metaMetric(m *Meta) (mrl.Metric, error) { return mrl.ParseMetric(m.Metric) }

// indexSpec returns the index.Spec of m's index (checked by CheckMeta).
func indexSpec(m *Meta) (index.Spec, error) {
	kind, err := index.ParseKind(m.Index.Kind)
	if err != nil {
		return index.Spec{}, err
	}
	return index.Spec{Kind: kind, HNSW: hnswOptions(m), IVF: ivfOptions(m), Quant: quantOptions(m)}, nil
}

func hnswOptions(m *Meta) index.HNSWOptions {
	return index.HNSWOptions{Dim: m.Index.GraphDim, M: m.Index.M, EfConstruction: m.Index.EfConstruction, EfSearch: m.Index.EfSearch, Seed: m.Index.Seed}
}

func quantOptions(m *Meta) index.QuantOptions {
	kind := index.Binary
	if m.Index.Kind == "int8" {
		kind = index.Int8
	}
	return index.QuantOptions{Kind: kind, Dim: m.Index.CodeDim, Rescore: m.Index.Rescore}
}

func ivfOptions(m *Meta) index.IVFOptions {
	return index.IVFOptions{ClusterDim: m.Index.ClusterDim, Lists: m.Index.Lists, Probe: m.Index.Probe, Seed: m.Index.Seed}
}

const maxDim = 65536

// ValidName reports whether s is a valid collection name: 1 to 64 of
// A-Z a-z 0-9 _ - (the server names its models by the same rule).
func ValidName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func writeJSONFile(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// invalidError is an ErrInvalid whose text is its message alone, so that
// callers (the HTTP layer) can show it as it is.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// maxSqNorm bounds the squared norm of a stored vector or a query: an
// eighth of the float32 maximum (a norm of about 6.5e18), so that the
// squared distance of any two of them, at most 2(‖x‖² + ‖q‖²), their dot
// product and every partial sum stay finite in float32.
const maxSqNorm = math.MaxFloat32 / 8

// CheckVector reports (as ErrInvalid) a vector v of a length other than
// dim, with a NaN or infinite value, or whose arithmetic would overflow
// float32 under metric: a squared norm above an eighth of the float32
// maximum, or for cosine a prefix whose norm is so small (but not zero)
// that its inverse overflows. what names v in the message.
func CheckVector(what string, v []float32, dim int, metric mrl.Metric) error {
	if len(v) != dim {
		return invalidf("%s: length %d, want %d", what, len(v), dim)
	}
	for j, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return invalidf("%s[%d]: %v is not finite", what, j, x)
		}
	}
	return CheckNorm(what, v, metric)
}

// CheckNorm is the norm part of CheckVector, for a finite v.
func CheckNorm(what string, v []float32, metric mrl.Metric) error {
	var ss float64
	for j, x := range v {
		ss += float64(x) * float64(x)
		if ss > maxSqNorm {
			return invalidf("%s: squared norm exceeds %.3g at element %d (%v): the limit keeps distances and dot products finite in float32; scale the vectors down", what, maxSqNorm, j, x)
		}
		if metric == mrl.Cosine && ss > 0 && 1/math.Sqrt(ss) > math.MaxFloat32 {
			return invalidf("%s[%d]: %v: metric cosine divides by the norm of every prefix and the norm of %s[:%d] is too small (want |x| >= %.3g or 0)", what, j, x, what, j+1, 1/math.MaxFloat32)
		}
	}
	return nil
}

// CheckPayload reports (as ErrInvalid) a payload field that is not a JSON
// scalar (string, float64 or bool).
func CheckPayload(what string, p map[string]any) error {
	for k, v := range p {
		switch {
		case isScalar(v):
		case v == nil:
			return invalidf("%s.%s: null is not allowed (omit the field)", what, k)
		default:
			return invalidf("%s.%s: want a string, number or boolean, got %s", what, k, kindOf(v))
		}
	}
	return nil
}

// checkPoints checks a batch for Upsert: CheckVector and CheckPayload of
// each point, and no id twice.
func checkPoints(pts []Point, dim int, metric mrl.Metric) error {
	seen := make(map[PointID]int, len(pts))
	for i, p := range pts {
		if j, ok := seen[p.ID]; ok {
			return invalidf("points[%d].id: %v repeats points[%d].id", i, p.ID, j)
		}
		seen[p.ID] = i
		if p.Text != "" {
			return invalidf("points[%d].text: the store takes vectors; embed the text first (the server does so for a collection with a model)", i)
		}
		if err := CheckVector(fmt.Sprintf("points[%d].vector", i), p.Vector, dim, metric); err != nil {
			return err
		}
		if err := CheckPayload(fmt.Sprintf("points[%d].payload", i), p.Payload); err != nil {
			return err
		}
	}
	return nil
}

// kindOf names the JSON kind of a decoded value that is not a scalar.
func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
