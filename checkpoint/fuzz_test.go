package checkpoint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are written to testdata/fuzz/FuzzDecode by go test -update, so
// that the committed corpus can be regenerated when the format changes.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"small":          encode(t, &small),
		"empty":          encode(t, &File{}),
		"version2":       sealed(map[string]string{"version": "2"}, nil, nil),
		"plain":          craft(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)),
		"f16":            sealed(nil, []entry{{name: "h", dtype: "F16", shape: []uint64{4}, begin: 0, end: 8}}, make([]byte, 8)),
		"short":          encode(t, &small)[:40],
		"header_len_max": {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'},
	}
	for i, tt := range roundTripTests {
		if len(tt.f.Tensors) > 0 && len(tt.f.Tensors[0].Data) > 1000 {
			continue // keep the corpus small
		}
		seeds[fmt.Sprintf("roundtrip%d", i)] = encode(t, &tt.f)
	}
	return seeds
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for name, b := range fuzzSeeds(t) {
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// re-encodes to bytes that decode to the same File and re-encode to the
// same bytes.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		f1, err := Decode(b)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, f1); err != nil {
			t.Fatalf("Encode(Decode(b)): %v", err)
		}
		b2 := buf.Bytes()
		f2, err := Decode(b2)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))): %v", err)
		}
		if err := sameFile(f2, f1); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		buf.Reset()
		if err := Encode(&buf, f2); err != nil || !bytes.Equal(buf.Bytes(), b2) {
			t.Fatalf("Encode is not a fixed point: %v", err)
		}
	})
}

// FuzzDecodeUnchecked is FuzzDecode with the checksums skipped, so that
// the fuzzer can change the header and the data and still reach the
// layout checks and the round trip; checksums make almost every mutation
// fail early in FuzzDecode. It shares FuzzDecode's seed corpus.
func FuzzDecodeUnchecked(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		f1, err := decode(b, false)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, f1); err != nil {
			t.Fatalf("Encode(decode(b)): %v", err)
		}
		f2, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("Decode(Encode(decode(b))): %v", err)
		}
		if err := sameFile(f2, f1); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
