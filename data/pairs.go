package data

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// The JSONL pairs format, for users' own text data: one JSON object a line,
//
//	{"query": "how do I resize a partition", "doc": "GParted is ...", "label": "admin"}
//
// "query" and "doc" are required, non-empty (after trimming white space)
// strings. "label" is optional: a string naming the pair's class; classes
// are numbered in sorted order of their names. A number is refused rather
// than guessed at (quote it: "label": "3"). Either every pair of a set has
// a label or none has. Any other key is an error, so that a typo such as
// "document" is reported rather than read as a missing field. Blank lines
// are skipped; a UTF-8 byte order mark before the first line is ignored.
// Errors name the line (1-based) and wrap ErrFormat.

// pairLine is one decoded line of a pairs file.
type pairLine struct {
	query, doc, label string
	labelled          bool
	line              int
}

// jsonPair is the JSON shape of a line; Label stays raw so that a number
// gets a clear error.
type jsonPair struct {
	Query *string         `json:"query"`
	Doc   *string         `json:"doc"`
	Label json.RawMessage `json:"label"`
}

// ReadPairs parses a JSONL pairs file (see the format above): the pairs in
// file order, with Label indexing classes (the sorted label names), or all
// -1 and classes nil when the pairs carry no labels. Lines longer than
// DefaultMaxLineBytes are an error.
func ReadPairs(r io.Reader) (pairs []TextPair, classes []string, err error) {
	ls, err := readPairLines(r, DefaultMaxLineBytes, nil)
	if err != nil {
		return nil, nil, err
	}
	classes, err = pairClasses(ls)
	if err != nil {
		return nil, nil, err
	}
	return labelPairs(ls, classes), classes, nil
}

func readPairLines(r io.Reader, maxLine int, check func() error) ([]pairLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine+1)
	var out []pairLine
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if check != nil && n%4096 == 0 {
			if err := check(); err != nil {
				return nil, err
			}
		}
		p, err := decodePair(b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w: %v", n, ErrFormat, err)
		}
		p.line = n
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w: longer than %d bytes", n+1, ErrFormat, maxLine)
		}
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}

func decodePair(b []byte) (pairLine, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j jsonPair
	if err := dec.Decode(&j); err != nil {
		return pairLine{}, fmt.Errorf("want a JSON object {\"query\": ..., \"doc\": ...}: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return pairLine{}, errors.New("more than one JSON value on the line")
	}
	var p pairLine
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
	}{{"query", j.Query, &p.query}, {"doc", j.Doc, &p.doc}} {
		switch {
		case f.v == nil:
			return pairLine{}, fmt.Errorf("no %q field", f.name)
		case strings.TrimSpace(*f.v) == "":
			return pairLine{}, fmt.Errorf("empty %q", f.name)
		}
		*f.dst = *f.v
	}
	if j.Label != nil {
		if err := json.Unmarshal(j.Label, &p.label); err != nil || j.Label[0] != '"' {
			return pairLine{}, fmt.Errorf("\"label\" must be a string class name, got %.40s", j.Label)
		}
		if strings.TrimSpace(p.label) == "" {
			return pairLine{}, errors.New("empty \"label\"")
		}
		p.labelled = true
	}
	return p, nil
}

// pairClasses returns the sorted label names of ls, nil when no line has a
// label, and an error naming the first line that breaks "all or none".
func pairClasses(ls []pairLine, more ...[]pairLine) ([]string, error) {
	all := append([][]pairLine{ls}, more...)
	var first *pairLine
	names := map[string]bool{}
	for _, ls := range all {
		for i := range ls {
			if first == nil {
				first = &ls[i]
			}
			if ls[i].labelled != first.labelled {
				with := map[bool]string{true: "has a label", false: "has no label"}
				return nil, fmt.Errorf("line %d: %w: the pair %s but the pair at line %d %s; give every pair a label or none",
					ls[i].line, ErrFormat, with[ls[i].labelled], first.line, with[first.labelled])
			}
			if ls[i].labelled {
				names[ls[i].label] = true
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	return slices.Sorted(maps.Keys(names)), nil
}

func labelPairs(ls []pairLine, classes []string) []TextPair {
	out := make([]TextPair, len(ls))
	for i, l := range ls {
		out[i] = TextPair{Query: l.query, Doc: l.doc, Label: -1}
		if l.labelled {
			j, _ := slices.BinarySearch(classes, l.label)
			out[i].Label = int32(j)
		}
	}
	return out
}

// LoadPairs reads a text set from JSONL pairs files (format above; each
// plain, gzip or lz4). spec is one file, split by [SplitOf] of each pair's
// doc text with opts' seed and fractions, or three comma-separated files
// TRAIN,VAL,TEST used as they are (VAL may be empty: "a.jsonl,,b.jsonl").
// Within a split, a pair whose doc repeats an earlier pair's doc is
// dropped and counted in Stats.DuplicateDoc, since a split's documents
// must be distinct. The set is named after the (first) file without its
// extensions; Source lists the files and Hash is the SHA-256 of their
// bytes as stored.
func LoadPairs(ctx context.Context, spec string, opts TextOptions) (*TextSet, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	files := strings.Split(spec, ",")
	switch {
	case spec == "":
		return nil, fmt.Errorf("data: pairs: no file given")
	case len(files) != 1 && len(files) != 3:
		return nil, fmt.Errorf("data: pairs %q: want FILE or TRAIN,VAL,TEST", spec)
	case files[0] == "" || len(files) == 3 && files[2] == "":
		return nil, fmt.Errorf("data: pairs %q: the train and test files are required", spec)
	}
	sum := sha256.New()
	parts := make([][]pairLine, len(files))
	var read []string
	for i, path := range files {
		if path == "" {
			continue
		}
		err := readList(path, sum, opts, func(r io.Reader) (err error) {
			parts[i], err = readPairLines(r, opts.MaxLineBytes, ctx.Err)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("data: pairs: %w", err)
		}
		if len(parts[i]) == 0 {
			return nil, fmt.Errorf("data: pairs: %s: %w: no pairs", path, ErrFormat)
		}
		read = append(read, path)
	}
	classes, err := pairClasses(parts[0], parts[1:]...)
	if err != nil {
		return nil, fmt.Errorf("data: pairs: %s: %w", spec, err)
	}
	name := filepath.Base(files[0])
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	set := &TextSet{Name: name, Classes: classes, Source: strings.Join(read, ", ")}
	var splits [3][]TextPair
	if len(files) == 1 {
		for _, p := range labelPairs(parts[0], classes) {
			s := SplitOf(opts.Seed, p.Doc, opts.ValFrac, opts.TestFrac)
			splits[s] = append(splits[s], p)
		}
	} else {
		for i := range files {
			splits[i] = labelPairs(parts[i], classes)
		}
	}
	for i := range splits {
		set.Stats.Read += len(splits[i])
		seen := map[string]bool{}
		kept := splits[i][:0]
		for _, p := range splits[i] {
			if seen[p.Doc] {
				set.Stats.DuplicateDoc++
				continue
			}
			seen[p.Doc] = true
			kept = append(kept, p)
		}
		splits[i] = kept
		set.Stats.Kept += len(kept)
	}
	set.Train, set.Val, set.Test = splits[SplitTrain], splits[SplitVal], splits[SplitTest]
	set.Hash = hex.EncodeToString(sum.Sum(nil))
	return set, nil
}

// WritePairs writes pairs in the JSONL pairs format, one object a line,
// with "label" set to classes[p.Label] when classes is not nil. ReadPairs
// reads the output back to the same pairs when every class is used.
func WritePairs(w io.Writer, pairs []TextPair, classes []string) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	type line struct {
		Query string `json:"query"`
		Doc   string `json:"doc"`
		Label string `json:"label,omitempty"`
	}
	for i, p := range pairs {
		l := line{Query: p.Query, Doc: p.Doc}
		if classes != nil {
			if p.Label < 0 || int(p.Label) >= len(classes) {
				return fmt.Errorf("data: write pairs: pair %d has label %d, want [0,%d)", i, p.Label, len(classes))
			}
			l.Label = classes[p.Label]
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return bw.Flush()
}
