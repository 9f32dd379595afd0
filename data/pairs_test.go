package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadPairs(t *testing.T) {
	f, err := os.Open("testdata/pairs/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs, classes, err := ReadPairs(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"admin", "games", "net"}; !slices.Equal(classes, want) {
		t.Errorf("classes = %v, want %v", classes, want)
	}
	want := []TextPair{
		{"resize a partition", "GParted is a graphical partition editor.", 0},
		{"play chess", "GNU Chess is a chess engine.", 1},
		{"chess board", "XBoard is a graphical chess board.", 1},
		{"chess engine again", "GNU Chess is a chess engine.", 1},
		{"download a file", "curl transfers data with URLs.", 2},
	}
	if !slices.Equal(pairs, want) {
		t.Errorf("pairs = %+v\nwant %+v", pairs, want)
	}

	// No labels: -1 and nil classes; a BOM and CRLF line ends are accepted.
	b, _ := os.ReadFile("testdata/pairs/plain.jsonl")
	pairs, classes, err = ReadPairs(strings.NewReader(string(b)))
	if err != nil || classes != nil || !slices.Equal(pairs, []TextPair{{"q1", "d1", -1}, {"q2", "d2", -1}}) {
		t.Errorf("plain.jsonl: %+v, %v, %v", pairs, classes, err)
	}
}

func TestReadPairsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bad json", `{"query": "a", "doc": }`, "line 1: data: malformed or unsupported input: want a JSON object"},
		{"not an object", `["a", "b"]`, "line 1: data: malformed or unsupported input: want a JSON object"},
		{"missing doc", "\n" + `{"query": "a"}`, `line 2: data: malformed or unsupported input: no "doc" field`},
		{"missing query", `{"doc": "a"}`, `line 1: data: malformed or unsupported input: no "query" field`},
		{"empty query", `{"query": "  ", "doc": "a"}`, `line 1: data: malformed or unsupported input: empty "query"`},
		{"null doc", `{"query": "q", "doc": null}`, `line 1: data: malformed or unsupported input: no "doc" field`},
		{"unknown field", `{"query": "q", "document": "a"}`, `line 1: data: malformed or unsupported input: want a JSON object {"query": ..., "doc": ...}: json: unknown field "document"`},
		{"numeric label", `{"query": "q", "doc": "a", "label": 3}`, `line 1: data: malformed or unsupported input: "label" must be a string class name, got 3`},
		{"empty label", `{"query": "q", "doc": "a", "label": ""}`, `line 1: data: malformed or unsupported input: empty "label"`},
		{"two values", `{"query": "q", "doc": "a"} {}`, "line 1: data: malformed or unsupported input: more than one JSON value"},
		{"mixed labels", `{"query": "q", "doc": "a", "label": "x"}` + "\n" + `{"query": "q", "doc": "b"}`, "line 2: data: malformed or unsupported input: the pair has no label but the pair at line 1 has a label"},
		{"too long", `{"query": "q", "doc": "` + strings.Repeat("x", DefaultMaxLineBytes) + `"}`, "line 1: data: malformed or unsupported input: longer than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadPairs(strings.NewReader(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrFormat) {
				t.Errorf("error = %v\nwant one starting %q wrapping ErrFormat", err, tc.want)
			}
		})
	}
}

func TestLoadPairs(t *testing.T) {
	ctx := context.Background()
	// One file, everything in train: the repeated doc is dropped.
	set, err := ResolveText(ctx, "", "testdata/pairs/labelled.jsonl", TextOptions{ValFrac: -1, TestFrac: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	if set.Name != "labelled" || len(set.Train) != 4 || set.Stats != (TextStats{Read: 5, Kept: 4, DuplicateDoc: 1}) || len(set.Hash) != 64 {
		t.Errorf("set %q: %d train pairs, stats %+v, hash %q; want labelled, 4, 1 duplicate doc, a SHA-256", set.Name, len(set.Train), set.Stats, set.Hash)
	}
	// Three files: used as they are, classes shared; VAL may be empty.
	dir := t.TempDir()
	test := filepath.Join(dir, "test.jsonl")
	os.WriteFile(test, []byte(`{"query": "q", "doc": "d", "label": "zzz"}`+"\n"), 0o644)
	set, err = LoadText(ctx, "jsonl:testdata/pairs/labelled.jsonl,,"+test, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Train) != 4 || len(set.Val) != 0 || len(set.Test) != 1 || !slices.Equal(set.Classes, []string{"admin", "games", "net", "zzz"}) || set.Test[0].Label != 3 {
		t.Errorf("three files: %d/%d/%d pairs, classes %v, test label %d", len(set.Train), len(set.Val), len(set.Test), set.Classes, set.Test[0].Label)
	}
	// A labelled train file and an unlabelled test file do not mix.
	_, err = LoadPairs(ctx, "testdata/pairs/labelled.jsonl,,testdata/pairs/plain.jsonl", TextOptions{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "give every pair a label or none") {
		t.Errorf("mixed files: error = %v", err)
	}
	for _, tc := range []struct{ data, pairs, want string }{
		{"", "", "no text data"},
		{"debian-descriptions", "x.jsonl", "not both"},
		{"", "a,b", "want FILE or TRAIN,VAL,TEST"},
		{"", ",,b", "train and test files are required"},
		{"", filepath.Join(dir, "missing.jsonl"), "no such file"},
		{"nope", "", `unknown text set "nope"`},
	} {
		if _, err := ResolveText(ctx, tc.data, tc.pairs, TextOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ResolveText(%q, %q) = %v, want an error with %q", tc.data, tc.pairs, err, tc.want)
		}
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	if _, err := LoadPairs(ctx, empty, TextOptions{}); err == nil || !strings.Contains(err.Error(), "empty.jsonl: data: malformed or unsupported input: no pairs") {
		t.Errorf("empty file: error = %v", err)
	}
}

func TestTextSetPairs(t *testing.T) {
	s := &TextSet{Name: "x", Train: []TextPair{{"a", "b", -1}}, Test: []TextPair{{"c", "d", -1}, {"e", "f", -1}}}
	for split, n := range map[string]int{"train": 1, "val": 0, "test": 2} {
		if ps, err := s.Pairs(split); err != nil || len(ps) != n {
			t.Errorf("Pairs(%q) = %d pairs, %v; want %d", split, len(ps), err, n)
		}
	}
	if _, err := s.Pairs("dev"); err == nil || !strings.Contains(err.Error(), `no split "dev"`) {
		t.Errorf("Pairs(dev) error = %v", err)
	}
}
