package server

import (
	"encoding/json"
	"errors"
	"math"
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
		`{"points":[{"id":"550e8400-e29b-41d4-a716-446655440000","vector":[1,2,3]},{"id":"urn:uuid:550E8400E29B41D4A716446655440000","vector":[1,2,3]}]}`,
		`{"points":[{"id":"{936DA01F-9ABD-4d9d-80C7-02AF85C822A8}","vector":[1,2,3]},{"id":-0,"vector":[1,2,3]},{"id":"","vector":[1,2,3]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeUpsertRequest(b, 3, 100)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 || ae.message == "" {
				t.Fatalf("decodeUpsertRequest(%q) error %#v is not a 400 apiError", b, err)
			}
			return
		}
		seen := map[uint64]bool{}
		for _, p := range r.Points {
			if len(p.Vector) != 3 || seen[num(p.ID)] {
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
		if r.K < 1 || r.K > maxK || (r.Vector == nil) == (r.Vectors == nil) || r.TargetRecall < 0 || r.TargetRecall > 1 {
			t.Fatalf("accepted %q as %+v", b, r)
		}
	})
}

func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","dim":8,"metric":"ip","nesting":[2,4,8],"index":{"kind":"hnsw","m":8}}`,
		`{"name":"b","dim":4,"index":{"kind":"ivf","lists":2,"probe":1}}`,
		`{"name":"","dim":-1}`, `{"name":"a","dim":4,"nesting":[8]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeCreateRequest(b)
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
