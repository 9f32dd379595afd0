package index

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
)

// ReadNPY reads a 2-D NumPy array of N rows of D floats (see data.ReadNPY
// for the dtypes; float64 is converted to float32) into Vectors with the
// given metric and ids (nil means 0..N-1). A NaN or infinite value (also
// one that overflows float32) is an error wrapping ErrNotFinite that names
// its row and dim; a shape other than (N, D) with D >= 1 wraps ErrInput.
func ReadNPY(r io.Reader, metric mrl.Metric, ids []uint64) (*Vectors, error) {
	x, shape, err := data.ReadNPY(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if len(shape) != 2 || shape[1] < 1 {
		return nil, fmt.Errorf("%w: npy shape %v, want (rows, dims)", ErrInput, shape)
	}
	return NewVectors(x, shape[0], shape[1], metric, ids)
}

// maxJSONLLine bounds the length of one JSONL line (a 65536-dim vector
// written with full float32 precision fits).
const maxJSONLLine = 1 << 22

// jsonlRecord is one line of JSONL input. Other fields are ignored.
type jsonlRecord struct {
	ID     json.RawMessage `json:"id"`
	Vector []json.Number   `json:"vector"`
}

// ReadJSONL reads one vector per line, written as
//
//	{"id": 12, "vector": [0.1, -0.25, ...]}
//	{"id": "doc-12", "vector": [0.1, -0.25, ...]}
//
// into Vectors with the given metric. Ids are unique, and either all
// unsigned integers or all non-empty strings (then the Vectors are
// NewVectorsNamed's); other fields are ignored and blank lines skipped. Every vector must have
// the first one's length. Errors name the line (counted from 1) and wrap
// ErrInput (bad JSON, a missing id or vector, no vectors at all),
// ErrDimMismatch, ErrDuplicateID or ErrNotFinite (NaN, Infinity, or a value
// that overflows float32).
func ReadJSONL(r io.Reader, metric mrl.Metric) (*Vectors, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxJSONLLine)
	var (
		vecs    []float32
		ids     []uint64
		names   []string
		d       int
		first   int            // line of the first vector
		idLine  map[uint64]int // id -> line
		strLine map[string]int // string id -> line
		line    int
	)
	idLine = make(map[uint64]int)
	strLine = make(map[string]int)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec jsonlRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			if bytes.Contains(b, []byte("NaN")) || bytes.Contains(b, []byte("Infinity")) {
				return nil, fmt.Errorf("line %d: %w: NaN or Infinity", line, ErrNotFinite)
			}
			return nil, fmt.Errorf("line %d: %w: %w", line, ErrInput, err)
		}
		switch {
		case len(rec.ID) == 0 || string(rec.ID) == "null":
			return nil, fmt.Errorf("line %d: %w: no \"id\"", line, ErrInput)
		case len(rec.Vector) == 0:
			return nil, fmt.Errorf("line %d: %w: no \"vector\" or an empty one", line, ErrInput)
		case d == 0:
			d, first = len(rec.Vector), line
		case len(rec.Vector) != d:
			return nil, fmt.Errorf("line %d: %w: %d dims, want %d as on line %d", line, ErrDimMismatch, len(rec.Vector), d, first)
		}
		str := rec.ID[0] == '"'
		if line > first && str != (names != nil) {
			return nil, fmt.Errorf("line %d: %w: \"id\" is %s, but on line %d it was %s", line, ErrInput, idKind(str), first, idKind(!str))
		}
		if str {
			var name string
			if err := json.Unmarshal(rec.ID, &name); err != nil || name == "" || len(name) > MaxNameLen {
				return nil, fmt.Errorf("line %d: %w: \"id\" %.40s is not a non-empty string of at most %d bytes", line, ErrInput, rec.ID, MaxNameLen)
			}
			if l, ok := strLine[name]; ok {
				return nil, fmt.Errorf("line %d: %w: %q, already on line %d", line, ErrDuplicateID, name, l)
			}
			strLine[name] = line
			if names == nil {
				names = []string{}
			}
			names = append(names, name)
		} else {
			id, err := strconv.ParseUint(string(rec.ID), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w: \"id\" %.40s is not an unsigned integer or a string", line, ErrInput, rec.ID)
			}
			if l, ok := idLine[id]; ok {
				return nil, fmt.Errorf("line %d: %w: %d, already on line %d", line, ErrDuplicateID, id, l)
			}
			idLine[id] = line
			ids = append(ids, id)
		}
		for j, s := range rec.Vector {
			x, err := strconv.ParseFloat(string(s), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("line %d: %w: vector[%d] = %q", line, ErrInput, j, s)
			}
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, fmt.Errorf("line %d: %w: vector[%d] = %s overflows float32", line, ErrNotFinite, j, s)
			}
			vecs = append(vecs, float32(x))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w: %w", line+1, ErrInput, err)
	}
	if d == 0 {
		return nil, fmt.Errorf("%w: no vectors", ErrInput)
	}
	if names != nil {
		return NewVectorsNamed(vecs, len(names), d, metric, names)
	}
	return NewVectors(vecs, len(ids), d, metric, ids)
}

// idKind names the kind of a JSONL id for errors.
func idKind(str bool) string {
	if str {
		return "a string"
	}
	return "a number"
}

// WriteJSONL writes v one row per line in the form ReadJSONL reads, each
// float with the fewest digits that read back to the same float32.
func WriteJSONL(w io.Writer, v *Vectors) error {
	bw := bufio.NewWriter(w)
	var b []byte
	for i := 0; i < v.n; i++ {
		b = append(b[:0], `{"id":`...)
		if v.names != nil {
			q, err := json.Marshal(v.names[i])
			if err != nil {
				return err
			}
			b = append(b, q...)
		} else {
			b = strconv.AppendUint(b, v.ids[i], 10)
		}
		b = append(b, `,"vector":[`...)
		for j, x := range v.Row(i) {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
		}
		b = append(b, "]}\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
