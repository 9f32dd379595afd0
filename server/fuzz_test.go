package server

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server/api"
)

// The decoders must never panic, must answer every bad input with an
// *apiError, and what they accept must be valid.

func FuzzDecodeUpsert(f *testing.F) {
	for _, s := range []string{
		`{"points":[{"id":1,"vector":[1,2,3],"payload":{"a":"b","n":1,"t":true}}]}`,
		`{"points":[{"id":18446744073709551615,"vector":[1e38,-1e-45,0]}]}`,
		`{"points":[{"id":1,"vector":[1,2]}]}`,
		`{"points":[]}`, `{"points":null}`, `[]`, `{"points":[{"id":1,"vector":[1,2,3],"payload":{"a":{}}}]} x`,
		`{"points":[{"id":1,"text":"a text"},{"id":2,"vector":[1,2,3]}]}`, `{"points":[{"id":1,"text":"a","vector":[1,2,3]}]}`,
		`{"points":[{"id":1,"text":""}]}`, `{"points":[{"id":1,"text":7}]}`,
		`{"points":[{"id":"550e8400-e29b-41d4-a716-446655440000","vector":[1,2,3]},{"id":"urn:uuid:550E8400E29B41D4A716446655440000","vector":[1,2,3]}]}`,
		`{"points":[{"id":"{936DA01F-9ABD-4d9d-80C7-02AF85C822A8}","vector":[1,2,3]},{"id":-0,"vector":[1,2,3]},{"id":"","vector":[1,2,3]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeUpsertRequest(b, 3, "", 100)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 || ae.message == "" {
				t.Fatalf("decodeUpsertRequest(%q) error %#v is not a 400 apiError", b, err)
			}
			return
		}
		seen := map[uint64]bool{}
		for _, p := range r.Points {
			if (p.Text == "" && len(p.Vector) != 3) || (p.Text != "" && p.Vector != nil) || seen[num(p.ID)] {
				t.Fatalf("accepted %q with point %+v", b, p)
			}
			seen[num(p.ID)] = true
			for _, x := range p.Vector {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("accepted non-finite %v", x)
				}
			}
			if _, err := json.Marshal(p.Payload); err != nil {
				t.Fatalf("payload %v: %v", p.Payload, err)
			}
		}
	})
}

func FuzzDecodeSearch(f *testing.F) {
	for _, s := range []string{
		`{"vector":[1,2,3],"k":5,"plan":"1:10,3:5","filter":{"a":1}}`,
		`{"vectors":[[1,2,3],[4,5,6]],"target_recall":0.9,"dim":2}`,
		`{"vector":[1,2,3],"k":-1}`, `{"vector":[1,2,3],"filter":{"a":[1]}}`, `{"vector":[],"vectors":[]}`, `{`, ``,
		`{"text":"some words","k":3}`, `{"texts":["a","b"],"plan":"auto"}`, `{"text":"a","vector":[1,2,3]}`, `{"texts":[]}`, `{"text":""}`, `{"texts":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeSearchRequest(b)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("decodeSearchRequest(%q) error %#v is not a 400 apiError", b, err)
			}
			return
		}
		given := 0
		for _, set := range []bool{r.Vector != nil, r.Vectors != nil, r.Text != "", r.Texts != nil} {
			if set {
				given++
			}
		}
		if r.K < 1 || r.K > maxK || given != 1 || (r.Texts != nil && len(r.Texts) == 0) || r.TargetRecall < 0 || r.TargetRecall > 1 {
			t.Fatalf("accepted %q as %+v", b, r)
		}
	})
}

// fuzzAttach is attachInput over two loaded models: "txt", a text model
// of 8 dims nested 2, 4, 8, and "img", an image model of 8 dims; and one
// adapter file, "a.adapter", from 8 dims to 4 nested 2, 4.
func fuzzAttach(r *CreateCollectionRequest, m *Meta) error {
	in := &collection.InputSpec{}
	switch r.Adapter {
	case "":
	case "a.adapter":
		if m.Dim == 0 {
			m.Dim = 4
		}
		if m.Dim != 4 {
			return badRequest("adapter %q: maps 8 dims to 4 but the collection's dim is %d", r.Adapter, m.Dim)
		}
		if len(m.Nesting) == 0 {
			m.Nesting = []int{2, 4}
		}
		in.Adapter = &collection.AdapterRef{Path: r.Adapter, SHA256: strings.Repeat("cd", 32), InputDim: 8}
	default:
		return badRequest("adapter %q: not found", r.Adapter)
	}
	if r.Model != "" {
		var arch string
		switch r.Model {
		case "txt":
			arch = "text"
		case "img":
			arch = "mlp"
		default:
			return badRequest("model %q: not loaded", r.Model)
		}
		if in.Adapter == nil {
			if m.Dim == 0 {
				m.Dim = 8
			}
			if m.Dim != 8 {
				return badRequest("model %q: embeds 8 dims but the collection's dim is %d", r.Model, m.Dim)
			}
			if arch == "text" && len(m.Nesting) == 0 {
				m.Nesting = []int{2, 4, 8}
			}
		}
		in.Model = &collection.ModelRef{Name: r.Model, Path: r.Model + ".ckpt", SHA256: strings.Repeat("ab", 32), Arch: arch}
	}
	m.Input = in
	return nil
}

func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","dim":8,"metric":"ip","nesting":[2,4,8],"index":{"kind":"hnsw","m":8}}`,
		`{"name":"b","dim":4,"index":{"kind":"ivf","lists":2,"probe":1}}`,
		`{"name":"","dim":-1}`, `{"name":"a","dim":4,"nesting":[8]}`,
		`{"name":"t","model":"txt"}`, `{"name":"t","dim":8,"model":"txt","metric":"ip"}`, `{"name":"t","dim":4,"model":"txt"}`,
		`{"name":"t","model":"img"}`, `{"name":"t","model":"none"}`, `{"name":"t","model":""}`, `{"name":"t","model":"a/b"}`,
		`{"name":"a","adapter":"a.adapter"}`, `{"name":"a","adapter":"a.adapter","model":"txt"}`, `{"name":"a","dim":8,"adapter":"a.adapter"}`, `{"name":"a","adapter":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeCreateRequest(b, fuzzAttach)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("decodeCreateRequest(%q) error %#v is not a 400 apiError", b, err)
			}
			return
		}
		if !collection.ValidName(m.Name) || m.Dim < 1 || m.Nesting.Max() != m.Dim {
			t.Fatalf("accepted %q as %+v", b, m)
		}
		if in := m.Input; in != nil && in.Adapter == nil && (in.Model == nil || in.Model.Name != "txt" && in.Model.Name != "img" || m.Dim != 8) {
			t.Fatalf("accepted %q with input %+v", b, in.Model)
		}
		if in := m.Input; in != nil && in.Adapter != nil && (in.Adapter.Path != "a.adapter" || m.Dim != 4 || in.Adapter.InputDim != 8) {
			t.Fatalf("accepted %q with adapter %+v and dim %d", b, in.Adapter, m.Dim)
		}
	})
}

// FuzzDecodeDelete: a delete body is refused with a 400 naming the
// problem, or gives 1..maxIDs ids whose text parses back to them.
func FuzzDecodeDelete(f *testing.F) {
	for _, s := range []string{
		`{"ids":[1,2]}`, `{"ids":["550e8400-e29b-41d4-a716-446655440000",7]}`, `{"ids":[]}`,
		`{"ids":[-1]}`, `{"ids":["42"]}`, `{"ids":[1.5]}`, `{"ids":[18446744073709551616]}`, `{"ids":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeDeleteRequest(b, 100)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 || ae.message == "" {
				t.Fatalf("decodeDeleteRequest(%q) error %#v is not a 400 apiError", b, err)
			}
			return
		}
		if len(r.IDs) == 0 || len(r.IDs) > 100 {
			t.Fatalf("accepted %q with %d ids", b, len(r.IDs))
		}
		for _, id := range r.IDs {
			if back, err := api.ParseID(id.String()); err != nil || back != id {
				t.Fatalf("id %v of %q does not round-trip: %v %v", id, b, back, err)
			}
		}
	})
}
