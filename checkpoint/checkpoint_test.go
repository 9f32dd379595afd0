package checkpoint

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
)

var update = flag.Bool("update", false, "rewrite testdata/golden.ckpt and the FuzzDecode seed corpus")

// sameFile reports whether a and b hold the same metadata and tensors, in
// any tensor order, comparing floats bit for bit and treating nil and empty
// slices and maps alike.
func sameFile(a, b *File) error {
	if len(a.Meta) != len(b.Meta) {
		return fmt.Errorf("Meta = %q, want %q", a.Meta, b.Meta)
	}
	for k, v := range a.Meta {
		if w, ok := b.Meta[k]; !ok || w != v {
			return fmt.Errorf("Meta = %q, want %q", a.Meta, b.Meta)
		}
	}
	if len(a.Tensors) != len(b.Tensors) {
		return fmt.Errorf("%d tensors, want %d", len(a.Tensors), len(b.Tensors))
	}
	for _, t := range a.Tensors {
		u, ok := b.Get(t.Name)
		if !ok {
			return fmt.Errorf("extra tensor %q", t.Name)
		}
		if !slices.Equal(t.Shape, u.Shape) {
			return fmt.Errorf("tensor %q: Shape = %v, want %v", t.Name, t.Shape, u.Shape)
		}
		if !slices.EqualFunc(t.Data, u.Data, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
			return fmt.Errorf("tensor %q: Data = %v, want %v", t.Name, t.Data, u.Data)
		}
	}
	return nil
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

func seq(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i) + 0.5
	}
	return d
}

var roundTripTests = []struct {
	name string
	f    File
}{
	{"empty", File{}},
	{"meta only", File{Meta: map[string]string{"config": `{"lr":0.001,"dims":[8,16,32]}`, "": "empty key", "step": ""}}},
	{"scalar", File{Tensors: []Tensor{{Name: "step", Shape: []int{}, Data: []float32{42}}}}},
	{"scalar nil shape", File{Tensors: []Tensor{{Name: "s", Shape: nil, Data: []float32{-1}}}}},
	{"zero length", File{Tensors: []Tensor{
		{Name: "a", Shape: []int{0}},
		{Name: "b", Shape: []int{3, 0}, Data: []float32{}},
		{Name: "c", Shape: []int{0, math.MaxInt}},
		{Name: "d", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "e", Shape: []int{0}},
	}}},
	{"several unsorted", File{
		Meta: map[string]string{"epoch": "3"},
		Tensors: []Tensor{
			{Name: "layer2.weight", Shape: []int{4, 3}, Data: seq(12)},
			{Name: "layer1.bias", Shape: []int{3}, Data: seq(3)},
			{Name: "layer1.weight", Shape: []int{3, 2, 1}, Data: seq(6)},
			{Name: "adam.m/layer1.bias", Shape: []int{3}, Data: []float32{0, float32(math.Copysign(0, -1)), 1e-38}},
		},
	}},
	{"special floats", File{Tensors: []Tensor{{Name: "x", Shape: []int{6}, Data: []float32{
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7fc00001), math.Float32frombits(1), math.MaxFloat32,
	}}}}},
	{"unicode and escapes", File{
		Meta: map[string]string{"описание": "Матрёшка 🪆", "quote\"back\\slash": "tab\tnl\nctl\x01\x1f del\x7f", "html": "<a&b>", "ls": "\u2028\u2029"},
		Tensors: []Tensor{
			{Name: "матрёшка.w", Shape: []int{1, 1}, Data: []float32{1}},
			{Name: "日本語", Shape: []int{2}, Data: []float32{2, 3}},
			{Name: "🪆", Shape: []int{1}, Data: []float32{4}},
			{Name: "a\"b\\c\nd\x00e", Shape: []int{1}, Data: []float32{5}},
			{Name: " ", Shape: []int{1}, Data: []float32{6}},
		},
	}},
	{"large", File{Tensors: []Tensor{{Name: "big", Shape: []int{100, 200}, Data: seq(20000)}, {Name: "c", Shape: []int{9000}, Data: seq(9000)}}}},
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTripTests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(t, &tt.f)
			n := binary.LittleEndian.Uint64(b)
			if n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(f)) error: %v", err)
			}
			want := tt.f
			for i, w := range want.Tensors {
				if w.Shape == nil { // nil shape is a scalar, decoded as []
					want.Tensors[i].Shape = []int{}
				}
			}
			if err := sameFile(got, &want); err != nil {
				t.Fatalf("Decode(Encode(f)): %v", err)
			}
			if !slices.IsSortedFunc(got.Tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) }) {
				t.Errorf("Decode returned tensors out of name order")
			}
			if b2 := encode(t, got); !bytes.Equal(b, b2) {
				t.Errorf("Encode(Decode(b)) != b")
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		f    File
		want string
	}{
		{"empty name", File{Tensors: []Tensor{{Name: "", Shape: []int{}, Data: []float32{1}}}}, "empty name"},
		{"metadata name", File{Tensors: []Tensor{{Name: "__metadata__", Shape: []int{}, Data: []float32{1}}}}, "reserved"},
		{"bad utf8 name", File{Tensors: []Tensor{{Name: "a\xff", Shape: []int{}, Data: []float32{1}}}}, "UTF-8"},
		{"duplicate", File{Tensors: []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "b"}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}}, `two tensors named "a"`},
		{"negative dim", File{Tensors: []Tensor{{Name: "a", Shape: []int{2, -1}}}}, "negative"},
		{"short data", File{Tensors: []Tensor{{Name: "a", Shape: []int{2, 3}, Data: seq(5)}}}, `tensor "a": len(Data) = 5, want product of shape [2 3]`},
		{"scalar needs one", File{Tensors: []Tensor{{Name: "a"}}}, "len(Data) = 0"},
		{"overflow shape", File{Tensors: []Tensor{{Name: "a", Shape: []int{math.MaxInt, math.MaxInt}}}}, "len(Data) = 0"},
		{"reserved meta", File{Meta: map[string]string{"version": "2"}}, `metadata key "version" is reserved`},
		{"reserved crc", File{Meta: map[string]string{"header_crc32c": "0"}}, "reserved"},
		{"bad utf8 meta", File{Meta: map[string]string{"k": "\xc3"}}, "UTF-8"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := Encode(&buf, &tt.f)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
			t.Errorf("%s: Encode error = %v, want one containing %q", tt.name, err, tt.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Encode wrote %d bytes before failing", tt.name, buf.Len())
		}
	}
}

// small is the file the corruption tests damage. Its data bytes avoid JSON
// whitespace, so that a header length off by one cannot pass as padding.
var small = File{
	Meta:    map[string]string{"note": "small"},
	Tensors: []Tensor{{Name: "b", Shape: []int{2}, Data: []float32{1, -2}}, {Name: "w", Shape: []int{2, 2}, Data: []float32{0.5, 1, 2, 4}}},
}

func wantErr(t *testing.T, what string, err, sentinel error, substr ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: error = %v, want %v", what, err, sentinel)
		return
	}
	for _, s := range substr {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error = %q, want it to contain %q", what, err, s)
		}
	}
}

func TestFlipEveryBit(t *testing.T) {
	b := encode(t, &small)
	for i := range b {
		for bit := range 8 {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			f, err := Decode(c)
			if err == nil {
				t.Fatalf("Decode accepted byte %d bit %d flipped: %+v", i, bit, f)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrVersion) {
				t.Fatalf("byte %d bit %d: error %v wraps no sentinel", i, bit, err)
			}
		}
	}
}

func TestChecksums(t *testing.T) {
	b := encode(t, &small)
	n := 8 + int(binary.LittleEndian.Uint64(b))

	c := bytes.Clone(b)
	c[len(c)-1] ^= 0x80 // sign of the last float
	_, err := Decode(c)
	wantErr(t, "data flip", err, ErrCorrupt, "data checksum mismatch")

	// A header edit that keeps the JSON valid and the layout consistent.
	c = bytes.Replace(bytes.Clone(b), []byte(`"small"`), []byte(`"smalL"`), 1)
	_, err = Decode(c)
	wantErr(t, "meta edit", err, ErrCorrupt, "header checksum mismatch")

	// Editing the data and its checksum together is caught by the header
	// checksum, which covers the data checksum.
	c = bytes.Clone(b)
	c[len(c)-1] ^= 0x80
	f, _ := Decode(b)
	f.Tensors[1].Data[3] = -4
	good := encode(t, f)
	newCRC := fmt.Sprintf("%08x", crc32.Checksum(good[n:], castagnoli))
	oldCRC := fmt.Sprintf("%08x", crc32.Checksum(b[n:], castagnoli))
	c = bytes.Replace(c, []byte(oldCRC), []byte(newCRC), 1)
	_, err = Decode(c)
	wantErr(t, "data and crc edit", err, ErrCorrupt, "header checksum mismatch")

	// Whitespace in the header carries no meaning and is not checksummed.
	hdr := strings.Replace(string(b[8:n]), `,"w":`, "\n,\t\"w\"\r :", 1)
	c = craft(hdr, b[n:])
	if _, err := Decode(c); err != nil {
		t.Errorf("Decode with extra header whitespace: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	b := encode(t, &small)
	n := 8 + int(binary.LittleEndian.Uint64(b))
	for size := range len(b) {
		_, err := Decode(b[:size])
		switch {
		case size < 8:
			wantErr(t, fmt.Sprint("truncate to ", size), err, ErrCorrupt, "truncated", fmt.Sprintf("%d bytes, want at least 8", size))
		case size < n:
			wantErr(t, fmt.Sprint("truncate to ", size), err, ErrCorrupt, "larger than the file", fmt.Sprintf("want at least %d bytes, got %d", n, size))
		default:
			wantErr(t, fmt.Sprint("truncate to ", size), err, ErrCorrupt, "truncated", fmt.Sprintf("want %d bytes in all, got %d", len(b), size))
		}
	}
	_, err := Decode(append(bytes.Clone(b), 0))
	wantErr(t, "one byte appended", err, ErrCorrupt, "1 bytes after the last tensor")
}

// craft builds a file from a raw header and data, padding the header.
func craft(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// sealed builds a file with meta and entries whose checksums are right, so
// that Decode reaches the check under test.
func sealed(meta map[string]string, entries []entry, data []byte) []byte {
	m := map[string]string{KeyFormat: Format, KeyVersion: "1"}
	for k, v := range meta {
		m[k] = v
	}
	if _, ok := meta[KeyCRC32C]; !ok {
		m[KeyCRC32C] = hex32(crc32.Checksum(data, castagnoli))
	}
	if _, ok := meta[KeyHeaderCRC32C]; !ok {
		m[KeyHeaderCRC32C] = hex32(crc32.Checksum(appendHeader(nil, m, entries, true), castagnoli))
	}
	return craft(string(appendHeader(nil, m, entries, false)), data)
}

func TestDecodeErrors(t *testing.T) {
	f32 := func(name string, shape []uint64, begin, end uint64) entry {
		return entry{name: name, dtype: "F32", shape: shape, begin: begin, end: end}
	}
	data8 := make([]byte, 8)
	tests := []struct {
		name     string
		b        []byte
		sentinel error
		want     []string
	}{
		{"newer version", sealed(map[string]string{"version": "2"}, nil, nil), ErrVersion,
			[]string{"checkpoint: unsupported version", "file has version 2", "reads version 1"}},
		{"newer version, unknown tensor fields", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"17"},"w":{"dtype":"Q4","blocks":[1]}}`, nil), ErrVersion,
			[]string{"file has version 17"}},
		{"version zero", sealed(map[string]string{"version": "0"}, nil, nil), ErrCorrupt, []string{`version "0"`}},
		{"version not a number", sealed(map[string]string{"version": "1.0"}, nil, nil), ErrCorrupt, []string{`version "1.0"`}},
		{"version missing", craft(`{"__metadata__":{"format":"mrl-checkpoint"}}`, nil), ErrCorrupt, []string{`no "version"`}},
		{"wrong format", sealed(map[string]string{"format": "gguf"}, nil, nil), ErrFormat, []string{`format is "gguf", want "mrl-checkpoint"`}},
		{"format missing", craft(`{"__metadata__":{"version":"1"}}`, nil), ErrFormat, []string{`no "format" key`}},
		{"plain safetensors", craft(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data8), ErrFormat, []string{"no __metadata__"}},
		{"dtype F16", sealed(nil, []entry{{name: "h", dtype: "F16", shape: []uint64{4}, begin: 0, end: 8}}, data8), ErrFormat,
			[]string{`tensor "h" has dtype "F16"`, "only F32"}},
		{"shape mismatch", sealed(nil, []entry{f32("w", []uint64{3}, 0, 8)}, data8), ErrCorrupt,
			[]string{`tensor "w": shape [3] needs 12 bytes, data_offsets [0,8] hold 8`}},
		{"shape overflow", sealed(nil, []entry{f32("w", []uint64{1 << 32, 1 << 32}, 0, 8)}, data8), ErrCorrupt,
			[]string{`tensor "w"`, "more than 2^64"}},
		{"huge dim", sealed(nil, []entry{f32("w", []uint64{0, 1 << 63}, 0, 0)}, nil), ErrCorrupt, []string{"too large"}},
		{"reversed offsets", sealed(nil, []entry{f32("w", []uint64{0}, 8, 0)}, data8), ErrCorrupt, []string{"end before they begin"}},
		{"overlap", sealed(nil, []entry{f32("a", []uint64{2}, 0, 8), f32("b", []uint64{1}, 4, 8)}, data8), ErrCorrupt,
			[]string{`tensor "b": data_offsets [4,8] overlap tensor "a", which ends at 8`}},
		{"gap", sealed(nil, []entry{f32("a", []uint64{1}, 0, 4), f32("b", []uint64{}, 8, 12)}, make([]byte, 12)), ErrCorrupt,
			[]string{`tensor "b": data_offsets [8,12] leave a gap after tensor "a", which ends at 4`}},
		{"first not at 0", sealed(nil, []entry{f32("a", []uint64{1}, 4, 8)}, data8), ErrCorrupt, []string{"first tensor in name order must begin at 0"}},
		{"not in name order", sealed(nil, []entry{f32("a", []uint64{1}, 4, 8), f32("b", []uint64{1}, 0, 4)}, data8), ErrCorrupt, []string{"name order"}},
		{"trailing data", sealed(nil, []entry{f32("a", []uint64{1}, 0, 4)}, data8), ErrCorrupt, []string{"4 bytes after the last tensor"}},
		{"empty name", sealed(nil, []entry{f32("", []uint64{}, 0, 4)}, data8[:4]), ErrCorrupt, []string{"empty name"}},
		{"no crc", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"}}`, nil), ErrCorrupt, []string{`no "header_crc32c"`}},
		{"bad JSON", craft(`{"__metadata__":{"format":"mrl-checkpoint",}}`, nil), ErrCorrupt, []string{"header JSON"}},
		{"not an object", craft(`[1]`, nil), ErrCorrupt, []string{"header JSON"}},
		{"empty header", craft(``, nil), ErrCorrupt, []string{"header JSON"}},
		{"trailing JSON", craft(`{}{}`, nil), ErrCorrupt, []string{"after the header object"}},
		{"duplicate tensor", craft(`{"a":{},"a":{}}`, nil), ErrCorrupt, []string{`duplicate key "a"`}},
		{"duplicate meta key", craft(`{"__metadata__":{"format":"x","format":"y"}}`, nil), ErrCorrupt, []string{`duplicate key "format"`}},
		{"meta not string", craft(`{"__metadata__":{"format":1}}`, nil), ErrCorrupt, []string{`key "format"`}},
		{"meta null", craft(`{"__metadata__":null}`, nil), ErrCorrupt, []string{"__metadata__"}},
		{"invalid UTF-8", craft("{\"\xff\":{}}", nil), ErrCorrupt, []string{"not valid UTF-8"}},
		{"unknown field", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}}`, nil), ErrCorrupt,
			[]string{`tensor "w": unknown field "x"`}},
		{"field case", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"DTYPE":"F32","shape":[],"data_offsets":[0,4]}}`, nil), ErrCorrupt,
			[]string{`unknown field "DTYPE"`}},
		{"duplicate field", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}}`, nil), ErrCorrupt,
			[]string{`duplicate field "dtype"`}},
		{"missing field", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","shape":[]}}`, nil), ErrCorrupt,
			[]string{`missing "data_offsets"`}},
		{"negative dim", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, nil), ErrCorrupt,
			[]string{"-1 is not an integer"}},
		{"fractional offset", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4.0]}}`, nil), ErrCorrupt,
			[]string{"4.0 is not an integer"}},
		{"three offsets", craft(`{"__metadata__":{"format":"mrl-checkpoint","version":"1"},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4,8]}}`, nil), ErrCorrupt,
			[]string{"3 numbers, want 2"}},
		{"absurd header length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), ErrCorrupt,
			[]string{"header length field is larger than the file of 8 bytes"}},
	}
	for _, tt := range tests {
		f, err := Decode(tt.b)
		if err == nil {
			t.Errorf("%s: Decode = %+v, want error", tt.name, f)
			continue
		}
		wantErr(t, tt.name, err, tt.sentinel, tt.want...)
	}
}

// The golden file is small enough to check by hand with a hex dump; its
// header is the literal below, and its data is b = [1, -2] then
// w = [[0.5, 1], [2, 4]] as little-endian float32.
const goldenHeader = `{"__metadata__":{"crc32c":"fb1809f6","format":"mrl-checkpoint","header_crc32c":"d8e4cf87","note":"small","version":"1"},` +
	`"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}`

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "golden.ckpt")
	b := encode(t, &small)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("Encode(small) differs from %s; run go test -update if the format changed on purpose", path)
	}
	n := binary.LittleEndian.Uint64(want)
	if hdr := strings.TrimRight(string(want[8:8+n]), " "); hdr != goldenHeader {
		t.Errorf("golden header =\n%s\nwant\n%s", hdr, goldenHeader)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameFile(f, &small); err != nil {
		t.Error(err)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	for _, tt := range roundTripTests[4:6] {
		if err := Save(path, &tt.f); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameFile(got, &tt.f); err != nil {
			t.Errorf("%s: Load(Save(f)): %v", tt.name, err)
		}
	}
	// A failed Save leaves the old file and no temporary.
	bad := &File{Tensors: []Tensor{{Name: "a", Shape: []int{2}}}}
	if err := Save(path, bad); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Save(invalid) error = %v, want one naming %s", err, path)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load after failed Save: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries after Saves, want 1", len(ents))
	}

	if err := os.WriteFile(path, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	wantErr(t, "Load(garbage)", err, ErrCorrupt, path)
	_, err = Load(filepath.Join(dir, "missing.ckpt"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.ckpt") {
		t.Errorf("Load(missing) error = %v, want ErrNotExist naming the path", err)
	}
	if err := Save(filepath.Join(dir, "no", "such", "dir.ckpt"), &small); err == nil {
		t.Errorf("Save into a missing directory succeeded")
	}
}

func TestGet(t *testing.T) {
	var f File
	f.Add("w", []int{1}, []float32{3})
	f.Add("b", []int{}, []float32{4})
	if got, ok := f.Get("b"); !ok || got.Data[0] != 4 {
		t.Errorf("Get(b) = %v, %v, want data [4], true", got, ok)
	}
	if _, ok := f.Get("x"); ok {
		t.Errorf("Get(x) found a tensor")
	}
}
