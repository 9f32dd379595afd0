package index

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/data"
)

func TestReadJSONL(t *testing.T) {
	in := `{"id": 12, "vector": [0.5, -1, 2e3], "text": "ignored"}

{"vector": [1e-3, 0, -0.0], "id": 18446744073709551615}
`
	v, err := ReadJSONL(strings.NewReader(in), mrl.L2)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []uint64{12, math.MaxUint64}
	wantData := []float32{0.5, -1, 2000, 1e-3, 0, float32(math.Copysign(0, -1))}
	if v.N() != 2 || v.Dim() != 3 || !slices.Equal(v.ids, wantIDs) || !slices.Equal(v.data, wantData) {
		t.Errorf("ReadJSONL = %d×%d ids %v data %v, want 2×3 ids %v data %v", v.N(), v.Dim(), v.ids, v.data, wantIDs, wantData)
	}
}

func TestReadJSONLErrors(t *testing.T) {
	ok := `{"id": 1, "vector": [1, 2]}` + "\n"
	tests := []struct {
		name string
		in   string
		want error
		line string // expected at the start of the message
	}{
		{"empty", "", ErrInput, ""},
		{"blank lines only", "\n  \n", ErrInput, ""},
		{"bad JSON", ok + "{\"id\": 2, \"vector\": [1, 2]\n", ErrInput, "line 2:"},
		{"not an object", ok + "[1, 2]\n", ErrInput, "line 2:"},
		{"no id", ok + `{"vector": [1, 2]}`, ErrInput, "line 2:"},
		{"negative id", `{"id": -1, "vector": [1, 2]}`, ErrInput, "line 1:"},
		{"string after number ids", ok + `{"id": "a", "vector": [1, 2]}`, ErrInput, "line 2:"},
		{"number after string ids", `{"id": "a", "vector": [1, 2]}` + "\n" + ok, ErrInput, "line 2:"},
		{"empty string id", `{"id": "", "vector": [1, 2]}`, ErrInput, "line 1:"},
		{"duplicate string id", `{"id": "a", "vector": [1, 2]}` + "\n" + `{"id": "a", "vector": [1, 2]}`, ErrDuplicateID, "line 2:"},
		{"fractional id", `{"id": 1.5, "vector": [1, 2]}`, ErrInput, "line 1:"},
		{"null id", `{"id": null, "vector": [1, 2]}`, ErrInput, "line 1:"},
		{"object id", `{"id": {"a": 1}, "vector": [1, 2]}`, ErrInput, "line 1:"},
		{"no vector", `{"id": 1}`, ErrInput, "line 1:"},
		{"empty vector", `{"id": 1, "vector": []}`, ErrInput, "line 1:"},
		{"null element", `{"id": 1, "vector": [1, null]}`, ErrInput, "line 1:"},
		{"string element", `{"id": 1, "vector": [1, "x"]}`, ErrInput, "line 1:"},
		{"dim mismatch", ok + "\n" + `{"id": 2, "vector": [1, 2, 3]}`, ErrDimMismatch, "line 3:"},
		{"duplicate id", ok + ok, ErrDuplicateID, "line 2:"},
		{"NaN", ok + `{"id": 2, "vector": [NaN, 2]}`, ErrNotFinite, "line 2:"},
		{"Infinity", `{"id": 2, "vector": [-Infinity, 2]}`, ErrNotFinite, "line 1:"},
		{"first error wins", ok + ok + `{"id": 3, "vector": [1e39, 2]}`, ErrDuplicateID, "line 2:"},
		{"float32 overflow", ok + `{"id": 3, "vector": [1e39, 2]}`, ErrNotFinite, "line 2:"},
		{"float64 overflow", `{"id": 3, "vector": [1, 1e999]}`, ErrNotFinite, "line 1:"},
		{"line too long", ok + `{"id": 3, "vector": [` + strings.Repeat("1,", maxJSONLLine/2) + `1]}`, ErrInput, "line 2:"},
	}
	for _, tt := range tests {
		v, err := ReadJSONL(strings.NewReader(tt.in), mrl.Cosine)
		if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), tt.line) {
			t.Errorf("%s: ReadJSONL = %v, %v, want error %v starting %q", tt.name, v, err, tt.want, tt.line)
		}
	}
}

func TestReadNPY(t *testing.T) {
	npy := func(x []float32, shape ...int) *bytes.Buffer {
		var b bytes.Buffer
		if err := data.WriteNPY(&b, x, shape); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	x := []float32{1, 2, 3, 4, 5, 6}
	v, err := ReadNPY(npy(x, 2, 3), mrl.Cosine, []uint64{7, 8})
	if err != nil || v.N() != 2 || v.Dim() != 3 || v.ID(1) != 8 || !slices.Equal(v.Data(), x) {
		t.Fatalf("ReadNPY(2×3) = %v, %v", v, err)
	}
	bad := slices.Clone(x)
	bad[4] = float32(math.Inf(1))
	tests := []struct {
		name string
		r    *bytes.Buffer
		ids  []uint64
		want error
		msg  string
	}{
		{"1-D", npy(x, 6), nil, ErrInput, "shape [6]"},
		{"3-D", npy(x, 1, 2, 3), nil, ErrInput, "shape"},
		{"zero dims", npy(nil, 2, 0), nil, ErrInput, "shape"},
		{"Inf", npy(bad, 2, 3), nil, ErrNotFinite, "row 1, dim 1"},
		{"ids", npy(x, 2, 3), []uint64{1}, ErrDimMismatch, "ids"},
		{"not npy", bytes.NewBufferString("hello"), nil, ErrInput, ""},
	}
	for _, tt := range tests {
		v, err := ReadNPY(tt.r, mrl.Cosine, tt.ids)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: ReadNPY = %v, %v, want error %v mentioning %q", tt.name, v, err, tt.want, tt.msg)
		}
	}
}

func fuzzJSONLSeeds() map[string][]byte {
	return map[string][]byte{
		"two":      []byte("{\"id\": 1, \"vector\": [0.5, -1]}\n{\"id\": 2, \"vector\": [3, 4e-5]}\n"),
		"extra":    []byte(`{"id": 9, "text": "x", "vector": [1], "vector2": [1, 2]}`),
		"mismatch": []byte("{\"id\": 1, \"vector\": [1, 2]}\n{\"id\": 2, \"vector\": [1]}\n"),
		"nan":      []byte(`{"id": 1, "vector": [NaN]}`),
		"overflow": []byte(`{"id": 1, "vector": [1e39]}`),
		"strings":  []byte("{\"id\": \"a\", \"vector\": [1, 2]}\n{\"id\": \"b\\u00e9\", \"vector\": [3, 4]}\n"),
		"crlf":     []byte("{\"id\": 1, \"vector\": [1]}\r\n\r\n{\"id\": 2, \"vector\": [2]}\r\n"),
	}
}

func TestWriteJSONLFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the corpus")
	}
	writeCorpus(t, "FuzzReadJSONL", fuzzJSONLSeeds())
}

// FuzzReadJSONL checks that ReadJSONL never panics and that what it
// accepts writes back (WriteJSONL) to input that reads to the same
// vectors.
func FuzzReadJSONL(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadJSONL(bytes.NewReader(b), mrl.InnerProduct)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteJSONL(&out, v); err != nil {
			t.Fatal(err)
		}
		v2, err := ReadJSONL(&out, mrl.InnerProduct)
		if err != nil || !sameVectors(v, v2) {
			t.Fatalf("ReadJSONL(WriteJSONL(ReadJSONL(b))) = %v, %v, want the same vectors", v2, err)
		}
	})
}
