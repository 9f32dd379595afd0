package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
)

var update = flag.Bool("update", false, "rewrite the committed fuzz corpus in testdata/fuzz")

func mustNew(t testing.TB, data []float32, n, d int, metric mrl.Metric, ids []uint64) *Vectors {
	t.Helper()
	v, err := NewVectors(data, n, d, metric, ids)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func encode(t testing.TB, v *Vectors) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sameVectors(a, b *Vectors) bool {
	if a.n != b.n || a.d != b.d || a.metric != b.metric || !slices.Equal(a.ids, b.ids) || len(a.data) != len(b.data) ||
		a.Named() != b.Named() || !slices.Equal(a.names, b.names) {
		return false
	}
	for i := range a.data {
		if math.Float32bits(a.data[i]) != math.Float32bits(b.data[i]) {
			return false
		}
	}
	return true
}

// small is a 3×3 L2 index: odd D, so the VECS section is padded.
func small(t testing.TB) *Vectors {
	return mustNew(t, []float32{1, -2, 3.5, 0, float32(math.Copysign(0, -1)), 1e-30, 7, 8, 9}, 3, 3, mrl.L2, []uint64{42, 1 << 63, 0})
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []*Vectors{
		small(t),
		mustNew(t, nil, 0, 5, mrl.Cosine, nil),
		mustNew(t, []float32{1, 2, 3, 4}, 1, 4, mrl.InnerProduct, []uint64{math.MaxUint64}),
		mustNew(t, make([]float32, 6*7), 6, 7, mrl.Cosine, nil),
	}
	for i, v := range tests {
		b := encode(t, v)
		if len(b)%8 != 0 {
			t.Errorf("test %d: Encode wrote %d bytes, not a multiple of 8", i, len(b))
		}
		got, err := Decode(b)
		if err != nil || !sameVectors(got, v) {
			t.Errorf("test %d: Decode(Encode(%d×%d %v)) = %v, %v, want the same vectors", i, v.n, v.d, v.metric, got, err)
		}
	}
}

// reseal fixes the file length and header checksum of a crafted file.
func reseal(b []byte) []byte {
	le := binary.LittleEndian
	le.PutUint64(b[32:], uint64(len(b)))
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

// withSection appends a well-formed section and reseals.
func withSection(b []byte, tag string, payload []byte) []byte {
	b = slices.Clone(b)
	le := binary.LittleEndian
	b = append(b, tag...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	b = append(b, make([]byte, pad8(uint64(len(payload)))-uint64(len(payload)))...)
	b = le.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	b = le.AppendUint32(b, 0)
	return reseal(b)
}

func modified(b []byte, fn func(b []byte)) []byte {
	b = slices.Clone(b)
	fn(b)
	return b
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, small(t))
	le := binary.LittleEndian
	withNaN := encode(t, small(t))
	vecs := len(withNaN) - 8 - 40 // payload of VECS: 36 bytes + 4 padding, then footer
	le.PutUint32(withNaN[vecs:], math.Float32bits(float32(math.NaN())))
	le.PutUint32(withNaN[vecs+40:], crc32.Checksum(withNaN[vecs:vecs+36], castagnoli))
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"not an index", []byte("PK\x03\x04 a zip file, perhaps"), ErrFormat},
		{"header cut", good[:40], ErrTruncated},
		{"body cut", good[:len(good)-8], ErrTruncated},
		{"trailing bytes", append(slices.Clone(good), 0), ErrCorrupt},
		{"newer version", modified(good, func(b []byte) { le.PutUint32(b[8:], FileVersion+1) }), ErrVersion},
		{"version 0", modified(good, func(b []byte) { le.PutUint32(b[8:], 0) }), ErrCorrupt},
		{"header bit flip", modified(good, func(b []byte) { b[20] ^= 1 }), ErrCorrupt},
		{"vector bit flip", modified(good, func(b []byte) { b[len(b)-20] ^= 0x10 }), ErrCorrupt},
		{"id bit flip", modified(good, func(b []byte) { b[headerSize+sectionHeader] ^= 1 }), ErrCorrupt},
		{"reserved header", reseal(modified(good, func(b []byte) { b[45] = 1 })), ErrCorrupt},
		{"metric", reseal(modified(good, func(b []byte) { le.PutUint32(b[12:], 9) })), ErrCorrupt},
		{"rows mismatch", reseal(modified(good, func(b []byte) { le.PutUint64(b[16:], 4) })), ErrCorrupt},
		{"huge shape", reseal(modified(good, func(b []byte) { le.PutUint64(b[16:], 1<<40) })), ErrCorrupt},
		{"zero dim", reseal(modified(good, func(b []byte) { le.PutUint64(b[24:], 0) })), ErrCorrupt},
		{"NaN", withNaN, ErrNotFinite},
		{"unknown required section", withSection(good, "HNSW", []byte{1, 2, 3}), ErrVersion},
		{"repeated section", withSection(good, "IDS_", make([]byte, 24)), ErrCorrupt},
		{"missing sections", reseal(slices.Clone(good[:headerSize])), ErrCorrupt},
	}
	for _, tt := range tests {
		v, err := Decode(tt.b)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Decode = %v, %v, want error %v", tt.name, v, err, tt.want)
		}
	}
	// An unknown optional section (lower-case tag) is skipped.
	v, err := Decode(withSection(good, "stat", []byte("a later version's extra")))
	if err != nil || !sameVectors(v, small(t)) {
		t.Errorf("Decode(with optional section) = %v, %v, want the vectors", v, err)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "small.mrli")
	v := small(t)
	if err := Save(path, v); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, v); err != nil { // over an existing file
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil || !sameVectors(got, v) {
		t.Fatalf("Load(Save(v)) = %v, %v, want v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("after Save the directory holds %d entries, want 1 (no temporary files)", len(entries))
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want %v", err, os.ErrNotExist)
	}
	if err := os.WriteFile(path, []byte("MRLINDEX\x02"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrTruncated) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Errorf("Load(short file) error = %v, want %v naming the path", err, ErrTruncated)
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir"), v); err == nil {
		t.Errorf("Save into a missing directory: no error")
	}
}

// fuzzDecodeSeeds are written to testdata/fuzz/FuzzDecode by go test
// -update, so that the committed corpus follows the format.
func fuzzDecodeSeeds(t testing.TB) map[string][]byte {
	good := encode(t, small(t))
	return map[string][]byte{
		"small":    good,
		"empty":    encode(t, mustNew(t, nil, 0, 4, mrl.Cosine, nil)),
		"cosine":   encode(t, mustNew(t, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4, mrl.Cosine, []uint64{9, 3})),
		"optional": withSection(good, "stat", []byte("x")),
		"version3": modified(good, func(b []byte) { binary.LittleEndian.PutUint32(b[8:], FileVersion+1) }),
		"named":    encode(t, mustNamed(t, []float32{1, 2, 3, 4}, 2, 2, []string{"a", "bc"})),
		"cut":      good[:len(good)-12],
		"huge":     reseal(modified(good, func(b []byte) { binary.LittleEndian.PutUint64(b[24:], 1<<31) })),
	}
}

func writeCorpus(t *testing.T, name string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for seed, b := range seeds {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, seed), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteDecodeFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the corpus")
	}
	writeCorpus(t, "FuzzDecode", fuzzDecodeSeeds(t))
}

// FuzzDecode checks that Decode never panics nor allocates past what the
// input can hold, and that what it accepts re-encodes to a file that
// decodes to the same vectors.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		b2 := encode(t, v)
		v2, err := Decode(b2)
		if err != nil || !sameVectors(v, v2) {
			t.Fatalf("Decode(Encode(Decode(b))) = %v, %v, want the same vectors", v2, err)
		}
		if !bytes.Equal(encode(t, v2), b2) {
			t.Fatalf("Encode is not deterministic")
		}
	})
}

func TestNamedRoundTrip(t *testing.T) {
	in := `{"id": "doc-a", "vector": [1, 0, 0]}
{"id": "δοκιμή \"b\"", "vector": [0, 1, 0]}
{"id": "c", "vector": [0.6, 0.8, 0]}
`
	v, err := ReadJSONL(strings.NewReader(in), mrl.Cosine)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Named() || v.Name(1) != `δοκιμή "b"` || v.ID(2) != 2 {
		t.Fatalf("ReadJSONL: named %v, Name(1) %q, ID(2) %d", v.Named(), v.Name(1), v.ID(2))
	}
	b := encode(t, v)
	if ver := binary.LittleEndian.Uint32(b[8:]); ver != 2 {
		t.Errorf("a file with string ids is version %d, want 2", ver)
	}
	if ver := binary.LittleEndian.Uint32(encode(t, small(t))[8:]); ver != 1 {
		t.Errorf("a file without string ids is version %d, want 1", ver)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.names, v.names) || !slices.Equal(got.data, v.data) {
		t.Fatalf("Decode(Encode) names %q, want %q", got.names, v.names)
	}
	if i, ok := got.LookupName("c"); !ok || i != 2 {
		t.Errorf("LookupName(c) = %d, %v", i, ok)
	}
	hits, err := NewFlat(got).Search([]float32{0, 1, 0}, 3, 1, nil)
	if err != nil || len(hits) != 1 || got.Name(int(hits[0].ID)) != `δοκιμή "b"` {
		t.Errorf("Search = %v, %v: want the row named %q", hits, err, `δοκιμή "b"`)
	}
	var out strings.Builder
	if err := WriteJSONL(&out, got); err != nil {
		t.Fatal(err)
	}
	again, err := ReadJSONL(strings.NewReader(out.String()), mrl.Cosine)
	if err != nil || !slices.Equal(again.names, v.names) {
		t.Errorf("ReadJSONL(WriteJSONL) = %v, %v; want names %q", again, err, v.names)
	}

	// Corrupt NAME sections.
	named, err := NewVectorsNamed([]float32{1, 2}, 2, 1, mrl.InnerProduct, []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	good := encode(t, named)
	nameOff := len(good) - sectionFooter - 16 // payload: 2 lengths + "xy", padded to 16
	if _, err := Decode(withPayload(good, nameOff, func([]byte) {})); err != nil {
		t.Fatalf("Decode(resealed NAME section) = %v", err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"length overruns", withPayload(good, nameOff, func(p []byte) { p[0] = 9 })},
		{"stray bytes", withPayload(good, nameOff, func(p []byte) { p[0] = 0 })},
		{"duplicate name", withPayload(good, nameOff, func(p []byte) { p[9] = 'x' })},
	} {
		if _, err := Decode(tt.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode = %v, want ErrCorrupt", tt.name, err)
		}
	}
	for _, tt := range []struct {
		names []string
		want  error
	}{
		{[]string{"x"}, ErrDimMismatch},
		{[]string{"x", ""}, ErrInput},
		{[]string{"x", "x"}, ErrDuplicateID},
		{[]string{"x", strings.Repeat("y", MaxNameLen+1)}, ErrInput},
	} {
		if _, err := NewVectorsNamed([]float32{1, 2}, 2, 1, mrl.InnerProduct, tt.names); !errors.Is(err, tt.want) {
			t.Errorf("NewVectorsNamed(%.20q) = %v, want %v", tt.names, err, tt.want)
		}
	}
}

// withPayload returns a copy of b with the 4+4+2-byte NAME payload at off
// (two lengths, then "xy") changed by f and its checksum recomputed.
func withPayload(b []byte, off int, f func(p []byte)) []byte {
	b = slices.Clone(b)
	p := b[off : off+10]
	f(p)
	binary.LittleEndian.PutUint32(b[off+16:], crc32.Checksum(p, castagnoli))
	return b
}

func mustNamed(t testing.TB, data []float32, n, d int, names []string) *Vectors {
	t.Helper()
	v, err := NewVectorsNamed(data, n, d, mrl.L2, names)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
