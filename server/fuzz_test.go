package server

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The decoders must never panic, must answer every bad input with an
// *apiError, and what they accept must be valid.

func FuzzDecodeUpsert(f *testing.F) {
	for _, s := range []string{
		`{"points":[{"id":1,"vector":[1,2,3],"payload":{"a":"b","n":1,"t":true}}]}`,
		`{"points":[{"id":18446744073709551615,"vector":[1e38,-1e-45,0]}]}`,
		`{"points":[{"id":1,"vector":[1,2]}]}`,
		`{"points":[]}`, `{"points":null}`, `[]`, `{"points":[{"id":1,"vector":[1,2,3],"payload":{"a":{}}}]} x`,
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
			if len(p.Vector) != 3 || seen[p.ID] {
				t.Fatalf("accepted %q with point %+v", b, p)
			}
			seen[p.ID] = true
			for _, x := range p.Vector {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("accepted non-finite %v", x)
				}
			}
			// The record encoding round-trips what was accepted.
			got, err := decodeUpsert(encodeUpsert(nil, []Point{p}, 3), 3)
			if err != nil || got[0].ID != p.ID {
				t.Fatalf("record round trip of %+v: %v %v", p, got, err)
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
		if !validName(m.Name) || m.Dim < 1 || m.Nesting.Max() != m.Dim {
			t.Fatalf("accepted %q as %+v", b, m)
		}
	})
}

// FuzzLogRecords: recovery reads log files as outside bytes: readRecords,
// the record decoders and validAfter must never panic, and readRecords'
// valid prefix must re-read without error.
func FuzzLogRecords(f *testing.F) {
	var b []byte
	b = appendRecord(b, 1, opUpsert, encodeUpsert(nil, []Point{{ID: 3, Vector: []float32{1, 2}, Payload: map[string]any{"a": "b"}}}, 2))
	b = appendRecord(b, 2, opDelete, encodeDelete(nil, []uint64{3, 4}))
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(seq uint64, op byte, body []byte) error {
			if op == opUpsert {
				decodeUpsert(body, 2)
			} else {
				decodeDelete(body)
			}
			return nil
		}
		valid, last, err := readRecords(b, 0, decode)
		if valid < 0 || valid > len(b) || (err == nil) != (valid == len(b)) {
			t.Fatalf("readRecords: valid %d of %d, err %v", valid, len(b), err)
		}
		if _, _, err := readRecords(b[:valid], 0, decode); err != nil {
			t.Fatalf("the valid prefix of %d bytes: %v", valid, err)
		}
		validAfter(b, valid, last)
	})
}

// FuzzReadSidecar: a snapshot side file is read from disk; readSidecar
// must never panic, and a file it writes must read back.
func FuzzReadSidecar(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := writeSidecar(good, snapshotSidecar{Seq: 7, Rows: 2, Payloads: map[string]map[string]any{"1": {"a": "<b>"}}}); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add([]byte(`{"seq":7,"rows":2,"payloads":{}}`))
	f.Add([]byte(`{"format":2,"crc32c":0,"body":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		readSidecar(p)
	})
}
