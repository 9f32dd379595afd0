package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The small files under testdata/ are written by this file's generator:
//
//	go test ./data -run TestFixtures -update
//
// TestFixtures fails when a committed file differs from what the generator
// makes, so the two cannot drift. Files under testdata/numpy/ were written by
// NumPy itself (see testdata/numpy/make.py) and check our reader against the
// real writer.
var update = flag.Bool("update", false, "rewrite the generated files under testdata/")

// Pixels of the 3 good 2x3 images; labels 0, 2, 1.
var (
	goodPixels = []byte{
		0, 255, 51, 102, 153, 204,
		1, 2, 3, 4, 5, 6,
		255, 255, 255, 0, 0, 0,
	}
	goodLabels = []byte{0, 2, 1}
)

func idxImages(magic, n, h, w uint32, px []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, n)
	b = binary.BigEndian.AppendUint32(b, h)
	b = binary.BigEndian.AppendUint32(b, w)
	return append(b, px...)
}

func idxLabels(magic, n uint32, y []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, n)
	return append(b, y...)
}

// npyFile builds a .npy file of the given version around a header dict,
// padding the header to a multiple of 64 bytes as NumPy does.
func npyFile(major byte, dict string, payload []byte) []byte {
	lenSize := 2
	if major > 1 {
		lenSize = 4
	}
	pad := 63 - (len(npyMagic)+2+lenSize+len(dict))%64
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	b := append([]byte(npyMagic), major, 0)
	if major > 1 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	}
	b = append(b, hdr...)
	return append(b, payload...)
}

func npyDict(descr string, fortran bool, shape string) string {
	f := "False"
	if fortran {
		f = "True"
	}
	return fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, f, shape)
}

func f32le(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64le(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func i64le(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func i32le(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// goodX is the 3x4 feature matrix of the good NPY fixtures.
var goodX = []float32{0, 0.5, 1, -1, 2, 3, 4, 5, 1e-3, 1e3, -7, 0.25}

// fixtures returns the generated files by path under testdata/.
func fixtures() map[string][]byte {
	const img, lab = idxImagesMagic, idxLabelsMagic
	m := map[string][]byte{
		// IDX
		"idx/images.idx":           idxImages(img, 3, 2, 3, goodPixels),
		"idx/labels.idx":           idxLabels(lab, 3, goodLabels),
		"idx/images-empty.idx":     idxImages(img, 0, 28, 28, nil),
		"idx/labels-empty.idx":     idxLabels(lab, 0, nil),
		"idx/images-badmagic.idx":  idxImages(lab, 3, 2, 3, goodPixels),
		"idx/labels-badmagic.idx":  idxLabels(img, 3, goodLabels),
		"idx/images-truncated.idx": idxImages(img, 3, 2, 3, goodPixels[:10]),
		"idx/images-header.idx":    idxImages(img, 3, 2, 3, nil)[:11],
		"idx/labels-truncated.idx": idxLabels(lab, 3, goodLabels[:1]),
		"idx/images-zerosize.idx":  idxImages(img, 3, 0, 3, nil),
		// A header claiming 2^31-1 images of 28x28 (1.7 TB) in 16 bytes.
		"idx/images-huge.idx": idxImages(img, 1<<31-1, 28, 28, nil),
		// A header claiming 10^6 images (784 MB) followed by 100 bytes.
		"idx/images-lying.idx": idxImages(img, 1e6, 28, 28, make([]byte, 100)),
		"idx/labels-two.idx":   idxLabels(lab, 2, goodLabels[:2]),

		// NPY
		"npy/x-f4.npy":        npyFile(1, npyDict("<f4", false, "(3, 4)"), f32le(goodX...)),
		"npy/x-f8-v2.npy":     npyFile(2, npyDict("<f8", false, "(3, 4)"), f64le(f64s(goodX)...)),
		"npy/x-f4-v3.npy":     npyFile(3, npyDict("<f4", false, "(3, 4)"), f32le(goodX...)),
		"npy/x-u1-nhwc.npy":   npyFile(1, npyDict("|u1", false, "(3, 2, 3, 1)"), goodPixels),
		"npy/x-u1-nhw.npy":    npyFile(1, npyDict("|u1", false, "(3, 2, 3)"), goodPixels),
		"npy/x-1d.npy":        npyFile(1, npyDict("<f4", false, "(12,)"), f32le(goodX...)),
		"npy/x-scalar.npy":    npyFile(1, npyDict("<f8", false, "()"), f64le(2.5)),
		"npy/x-fortran.npy":   npyFile(1, npyDict("<f4", true, "(3, 4)"), f32le(goodX...)),
		"npy/x-bigendian.npy": npyFile(1, npyDict(">f4", false, "(3, 4)"), f32le(goodX...)),
		"npy/x-complex.npy":   npyFile(1, npyDict("<c8", false, "(3, 2)"), f32le(goodX...)),
		"npy/x-truncated.npy": npyFile(1, npyDict("<f4", false, "(3, 4)"), f32le(goodX[:5]...)),
		"npy/x-badmagic.npy":  append([]byte("\x93NUMPX"), npyFile(1, npyDict("<f4", false, "(3, 4)"), f32le(goodX...))[6:]...),
		"npy/x-version.npy":   append([]byte("\x93NUMPY\x04\x00"), npyFile(1, npyDict("<f4", false, "(3, 4)"), f32le(goodX...))[8:]...),
		"npy/x-nokey.npy":     npyFile(1, "{'descr': '<f4', 'shape': (3, 4), }", f32le(goodX...)),
		"npy/x-huge.npy":      npyFile(1, npyDict("<f4", false, "(1000000000000, 1000000)"), nil),
		"npy/x-nan.npy":       npyFile(1, npyDict("<f4", false, "(3, 4)"), f32le(append(slices.Clone(goodX[:11]), float32(math.NaN()))...)),
		"npy/y-i8.npy":        npyFile(1, npyDict("<i8", false, "(3,)"), i64le(0, 2, 1)),
		"npy/y-i4.npy":        npyFile(1, npyDict("<i4", false, "(3,)"), i32le(0, 2, 1)),
		"npy/y-u1.npy":        npyFile(1, npyDict("|u1", false, "(3,)"), goodLabels),
		"npy/y-two.npy":       npyFile(1, npyDict("<i8", false, "(2,)"), i64le(0, 2)),
		"npy/y-2d.npy":        npyFile(1, npyDict("<i8", false, "(3, 1)"), i64le(0, 2, 1)),
		"npy/y-f4.npy":        npyFile(1, npyDict("<f4", false, "(3,)"), f32le(0, 2, 1)),
		"npy/y-negative.npy":  npyFile(1, npyDict("<i8", false, "(3,)"), i64le(0, -2, 1)),
		"npy/y-wide.npy":      npyFile(1, npyDict("<i8", false, "(3,)"), i64le(0, 1<<40, 1)),
	}
	// Seed corpora for the fuzz targets, in the go test fuzz v1 format.
	seeds := map[string][]string{
		"FuzzReadIDXImages": {"idx/images.idx", "idx/images-empty.idx", "idx/images-badmagic.idx",
			"idx/images-truncated.idx", "idx/images-huge.idx", "idx/images-zerosize.idx"},
		"FuzzReadIDXLabels": {"idx/labels.idx", "idx/labels-empty.idx", "idx/labels-badmagic.idx",
			"idx/labels-truncated.idx"},
		"FuzzReadNPY": {"npy/x-f4.npy", "npy/x-f8-v2.npy", "npy/x-f4-v3.npy", "npy/x-u1-nhwc.npy",
			"npy/x-scalar.npy", "npy/x-fortran.npy", "npy/x-bigendian.npy", "npy/y-i8.npy",
			"npy/x-huge.npy", "npy/x-truncated.npy"},
	}
	for target, files := range seeds {
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			m[filepath.Join("fuzz", target, name)] = []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m[f]))
		}
	}
	return m
}

func f64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestFixtures(t *testing.T) {
	for name, want := range fixtures() {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test -run TestFixtures -update)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator (run go test -run TestFixtures -update)", path)
		}
	}
}

// gzipFile writes a gzipped copy of testdata/name into dir and returns its path.
func gzipFile(t *testing.T, dir, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	path := filepath.Join(dir, filepath.Base(name)+".gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
