package data

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadNPY(t *testing.T) {
	u1 := make([]float32, len(goodPixels))
	for i, p := range goodPixels {
		u1[i] = float32(p) // ReadNPY converts by value; LoadNPY scales
	}
	tests := []struct {
		file      string
		want      []float32
		shape     []int
		wantErr   error
		wantInMsg string
	}{
		{file: "x-f4.npy", want: goodX, shape: []int{3, 4}},
		{file: "x-f8-v2.npy", want: goodX, shape: []int{3, 4}},
		{file: "x-f4-v3.npy", want: goodX, shape: []int{3, 4}},
		{file: "x-u1-nhwc.npy", want: u1, shape: []int{3, 2, 3, 1}},
		{file: "x-1d.npy", want: goodX, shape: []int{12}},
		{file: "x-scalar.npy", want: []float32{2.5}, shape: []int{}},
		{file: "y-i8.npy", want: []float32{0, 2, 1}, shape: []int{3}},
		{file: "x-fortran.npy", wantErr: ErrFormat, wantInMsg: "fortran_order is True"},
		{file: "x-bigendian.npy", wantErr: ErrFormat, wantInMsg: `dtype ">f4" is not little-endian`},
		{file: "x-complex.npy", wantErr: ErrFormat, wantInMsg: `unsupported dtype "<c8"`},
		{file: "x-truncated.npy", wantErr: ErrTruncated, wantInMsg: "npy data: expected 48 bytes, got 20"},
		{file: "x-badmagic.npy", wantErr: ErrMagic, wantInMsg: `expected "\x93NUMPY", got "\x93NUMPX"`},
		{file: "x-version.npy", wantErr: ErrFormat, wantInMsg: "version 4.0"},
		{file: "x-nokey.npy", wantErr: ErrFormat, wantInMsg: `missing key "fortran_order"`},
		{file: "x-huge.npy", wantErr: ErrFormat, wantInMsg: "holds more than"},
	}
	for _, tt := range tests {
		got, shape, err := ReadNPY(bytes.NewReader(readFixture(t, "npy/"+tt.file)))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("ReadNPY(%s) error = %v, want %v containing %q", tt.file, err, tt.wantErr, tt.wantInMsg)
			}
			continue
		}
		if err != nil || !equal(got, tt.want) || !equal(shape, tt.shape) {
			t.Errorf("ReadNPY(%s) = %v, %v, %v; want %v, %v", tt.file, got, shape, err, tt.want, tt.shape)
		}
	}
}

// The files under testdata/numpy were written by NumPy (make.py there).
func TestReadNPYFromNumPy(t *testing.T) {
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i)/8 - 1
	}
	for _, f := range []string{"x-f4.npy", "x-f8.npy", "x-f4-v2.npy", "x-f4-v3.npy"} {
		got, shape, err := ReadNPY(bytes.NewReader(readFixture(t, "numpy/"+f)))
		if err != nil || !equal(got, x) || !equal(shape, []int{4, 6}) {
			t.Errorf("ReadNPY(numpy/%s) = %v, %v, %v; want %v, [4 6]", f, got, shape, err, x)
		}
	}
	for _, f := range []string{"x-fortran.npy", "x-bigendian.npy"} {
		if _, _, err := ReadNPY(bytes.NewReader(readFixture(t, "numpy/"+f))); !errors.Is(err, ErrFormat) {
			t.Errorf("ReadNPY(numpy/%s) error = %v, want ErrFormat", f, err)
		}
	}
	for _, f := range []string{"y-i8.npy", "y-u1.npy"} {
		y, err := ReadNPYLabels(bytes.NewReader(readFixture(t, "numpy/"+f)))
		if err != nil || !equal(y, []int32{3, 0, 2, 1}) {
			t.Errorf("ReadNPYLabels(numpy/%s) = %v, %v; want [3 0 2 1]", f, y, err)
		}
	}
	d, err := LoadNPY("np", filepath.Join("testdata", "numpy", "x-u1-nhwc.npy"), filepath.Join("testdata", "numpy", "y-u1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 4 || d.H != 2 || d.W != 3 || d.C != 2 || d.Dim != 12 || d.Classes != 4 {
		t.Errorf("LoadNPY(numpy/x-u1-nhwc.npy) = %+v", *d)
	}
	// Element (n=1, y=0, x=2, c=1) is index 1*12 + (0*3+2)*2 + 1 = 17 in C order.
	if want := float32(17*5%256) / 255; d.X[17] != want {
		t.Errorf("X[17] = %v, want %v", d.X[17], want)
	}
}

func TestReadNPYLabels(t *testing.T) {
	tests := []struct {
		file      string
		want      []int32
		wantErr   error
		wantInMsg string
	}{
		{file: "y-i8.npy", want: []int32{0, 2, 1}},
		{file: "y-i4.npy", want: []int32{0, 2, 1}},
		{file: "y-u1.npy", want: []int32{0, 2, 1}},
		{file: "y-negative.npy", want: []int32{0, -2, 1}},
		{file: "y-2d.npy", wantErr: ErrFormat, wantInMsg: "shape [3 1], want 1-D"},
		{file: "y-f4.npy", wantErr: ErrFormat, wantInMsg: "dtype <f4, want an integer dtype"},
		{file: "y-wide.npy", wantErr: ErrLabel, wantInMsg: "element 1 = 1099511627776 does not fit in int32"},
		{file: "x-bigendian.npy", wantErr: ErrFormat, wantInMsg: "not little-endian"},
	}
	for _, tt := range tests {
		got, err := ReadNPYLabels(bytes.NewReader(readFixture(t, "npy/"+tt.file)))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("ReadNPYLabels(%s) error = %v, want %v containing %q", tt.file, err, tt.wantErr, tt.wantInMsg)
			}
			continue
		}
		if err != nil || !equal(got, tt.want) {
			t.Errorf("ReadNPYLabels(%s) = %v, %v; want %v", tt.file, got, err, tt.want)
		}
	}
}

func TestLoadNPY(t *testing.T) {
	p := func(f string) string { return filepath.Join("testdata", "npy", f) }
	tests := []struct {
		x, y                 string
		n, dim, h, w, c, cls int
	}{
		{"x-f4.npy", "y-i8.npy", 3, 4, 0, 0, 0, 3},
		{"x-f8-v2.npy", "y-u1.npy", 3, 4, 0, 0, 0, 3},
		{"x-u1-nhwc.npy", "y-i4.npy", 3, 6, 2, 3, 1, 3},
		{"x-u1-nhw.npy", "y-i4.npy", 3, 6, 2, 3, 1, 3},
	}
	for _, tt := range tests {
		d, err := LoadNPY("t", p(tt.x), p(tt.y))
		if err != nil {
			t.Errorf("LoadNPY(%s, %s): %v", tt.x, tt.y, err)
			continue
		}
		if d.N != tt.n || d.Dim != tt.dim || d.H != tt.h || d.W != tt.w || d.C != tt.c || d.Classes != tt.cls {
			t.Errorf("LoadNPY(%s, %s) = N %d Dim %d HWC %d,%d,%d Classes %d; want %+v", tt.x, tt.y, d.N, d.Dim, d.H, d.W, d.C, d.Classes, tt)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("LoadNPY(%s, %s).Validate(): %v", tt.x, tt.y, err)
		}
		if strings.HasPrefix(tt.x, "x-u1") && (d.X[1] != 1 || d.X[2] != float32(51)/255) {
			t.Errorf("LoadNPY(%s) did not scale uint8 by 1/255: X[:3] = %v", tt.x, d.X[:3])
		}
	}

	errTests := []struct {
		x, y      string
		wantErr   error
		wantInMsg []string
	}{
		{"x-f4.npy", "y-two.npy", ErrMismatch, []string{"3 rows in", "x-f4.npy", "2 labels in", "y-two.npy"}},
		{"x-1d.npy", "y-i8.npy", ErrFormat, []string{"x-1d.npy", "X shape [12]"}},
		{"x-f4.npy", "y-negative.npy", ErrLabel, []string{"y-negative.npy", "Y[1] = -2"}},
		{"x-nan.npy", "y-i8.npy", ErrValue, []string{"x-nan.npy", "element 11 (row 2) is NaN"}},
		{"x-fortran.npy", "y-i8.npy", ErrFormat, []string{"x-fortran.npy", "fortran_order"}},
		{"x-f4.npy", "y-f4.npy", ErrFormat, []string{"y-f4.npy", "integer dtype"}},
	}
	for _, tt := range errTests {
		_, err := LoadNPY("t", p(tt.x), p(tt.y))
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("LoadNPY(%s, %s) error = %v, want %v", tt.x, tt.y, err, tt.wantErr)
			continue
		}
		for _, s := range tt.wantInMsg {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("LoadNPY(%s, %s) error = %q, want it to contain %q", tt.x, tt.y, err, s)
			}
		}
	}
}

func TestWriteNPYRoundTrip(t *testing.T) {
	tests := []struct {
		data  []float32
		shape []int
	}{
		{goodX, []int{3, 4}},
		{goodX, []int{12}},
		{goodX, []int{2, 3, 2, 1}},
		{[]float32{float32(math.Inf(-1))}, []int{}},
		{nil, []int{0, 5}},
		{make([]float32, 40000), []int{200, 200}}, // more than one write chunk
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteNPY(&buf, tt.data, tt.shape); err != nil {
			t.Fatalf("WriteNPY(%v): %v", tt.shape, err)
		}
		if off := bytes.IndexByte(buf.Bytes(), '\n') + 1; off%64 != 0 {
			t.Errorf("WriteNPY(%v) data starts at byte %d, want a multiple of 64", tt.shape, off)
		}
		got, shape, err := ReadNPY(&buf)
		if err != nil || !equal(got, tt.data) || !equal(shape, tt.shape) {
			t.Errorf("ReadNPY(WriteNPY(%v)) = len %d, %v, %v", tt.shape, len(got), shape, err)
		}
	}
	if err := WriteNPY(&bytes.Buffer{}, goodX, []int{5, 2}); !errors.Is(err, ErrMismatch) {
		t.Errorf("WriteNPY(12 values, shape [5 2]) error = %v, want ErrMismatch", err)
	}
}
