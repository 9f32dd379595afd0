package data

import (
	"bytes"
	"math"
	"testing"
)

// The seed corpora live in testdata/fuzz/<target>/ and are written by
// TestFixtures -update. Run a target with, e.g.,
//
//	go test ./data -run '^$' -fuzz '^FuzzReadNPY$' -fuzztime 500000x
//
// A count rather than a duration: with a duration, Go 1.26's fuzz
// coordinator can end a clean run with a spurious "context deadline
// exceeded" (go.dev/issue/75804, fixed in Go 1.27).

func FuzzReadIDXImages(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		x, n, h, w, err := ReadIDXImages(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(x) != n*h*w {
			t.Fatalf("len(x) = %d, want n*h*w = %d*%d*%d", len(x), n, h, w)
		}
		// Round trip: the pixels re-encode to the bytes that were read.
		px := make([]byte, len(x))
		for i, v := range x {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("x[%d] = %v outside [0,1]", i, v)
			}
			px[i] = byte(math.Round(float64(v) * 255))
		}
		enc := idxImages(idxImagesMagic, uint32(n), uint32(h), uint32(w), px)
		if !bytes.Equal(enc, b[:len(enc)]) {
			t.Fatalf("re-encoded images differ from the input")
		}
	})
}

func FuzzReadIDXLabels(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		y, err := ReadIDXLabels(bytes.NewReader(b))
		if err != nil {
			return
		}
		raw := make([]byte, len(y))
		for i, v := range y {
			if v < 0 || v > 255 {
				t.Fatalf("y[%d] = %d outside [0,255]", i, v)
			}
			raw[i] = byte(v)
		}
		enc := idxLabels(idxLabelsMagic, uint32(len(y)), raw)
		if !bytes.Equal(enc, b[:len(enc)]) {
			t.Fatalf("re-encoded labels differ from the input")
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		ReadNPYLabels(bytes.NewReader(b)) // must not panic
		data, shape, err := ReadNPY(bytes.NewReader(b))
		if err != nil {
			return
		}
		count := 1
		for _, d := range shape {
			count *= d
		}
		if len(data) != count {
			t.Fatalf("len(data) = %d, want product of shape %v = %d", len(data), shape, count)
		}
		// Round trip through WriteNPY ('<f4') keeps every bit.
		var buf bytes.Buffer
		if err := WriteNPY(&buf, data, shape); err != nil {
			t.Fatalf("WriteNPY(shape %v): %v", shape, err)
		}
		again, shape2, err := ReadNPY(&buf)
		if err != nil || !equal(shape, shape2) || len(again) != len(data) {
			t.Fatalf("ReadNPY(WriteNPY(...)) = shape %v, %v; want %v", shape2, err, shape)
		}
		for i := range data {
			if math.Float32bits(data[i]) != math.Float32bits(again[i]) {
				t.Fatalf("element %d: %x after round trip, want %x", i, math.Float32bits(again[i]), math.Float32bits(data[i]))
			}
		}
	})
}
