package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadIDXImages(t *testing.T) {
	tests := []struct {
		file      string
		n, h, w   int
		wantErr   error
		wantInMsg string
	}{
		{file: "images.idx", n: 3, h: 2, w: 3},
		{file: "images-empty.idx", n: 0, h: 28, w: 28},
		{file: "images-badmagic.idx", wantErr: ErrMagic, wantInMsg: "expected 0x00000803, got 0x00000801"},
		{file: "labels.idx", wantErr: ErrTruncated, wantInMsg: "IDX image header: expected 16 bytes, got 11"},
		{file: "images-truncated.idx", wantErr: ErrTruncated, wantInMsg: "expected 18 bytes, got 10"},
		{file: "images-header.idx", wantErr: ErrTruncated, wantInMsg: "expected 16 bytes, got 11"},
		{file: "images-zerosize.idx", wantErr: ErrFormat, wantInMsg: "image size 0x3"},
		{file: "images-huge.idx", wantErr: ErrFormat, wantInMsg: "claims 2147483647 images of 28x28"},
		{file: "images-lying.idx", wantErr: ErrTruncated, wantInMsg: "expected 784000000 bytes, got 100"},
	}
	for _, tt := range tests {
		x, n, h, w, err := ReadIDXImages(bytes.NewReader(readFixture(t, "idx/"+tt.file)))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("ReadIDXImages(%s) error = %v, want %v containing %q", tt.file, err, tt.wantErr, tt.wantInMsg)
			}
			continue
		}
		if err != nil || n != tt.n || h != tt.h || w != tt.w || len(x) != n*h*w {
			t.Errorf("ReadIDXImages(%s) = len %d, %d, %d, %d, %v; want %d, %d, %d", tt.file, len(x), n, h, w, err, tt.n, tt.h, tt.w)
		}
	}
}

func TestReadIDXImagesScaling(t *testing.T) {
	x, _, _, _, err := ReadIDXImages(bytes.NewReader(readFixture(t, "idx/images.idx")))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range goodPixels {
		if want := float32(p) / 255; x[i] != want {
			t.Errorf("x[%d] = %v, want %v", i, x[i], want)
		}
	}
	if x[0] != 0 || x[1] != 1 {
		t.Errorf("x[0], x[1] = %v, %v, want 0, 1", x[0], x[1])
	}
}

// A header that claims 784 MB must not make the reader allocate it.
func TestReadIDXImagesLyingHeaderAllocation(t *testing.T) {
	b := readFixture(t, "idx/images-lying.idx")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ReadIDXImages(bytes.NewReader(b))
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("reading a 116-byte file claiming 784 MB allocated %d bytes, want < 1 MiB", got)
	}
}

func TestReadIDXLabels(t *testing.T) {
	tests := []struct {
		file      string
		want      []int32
		wantErr   error
		wantInMsg string
	}{
		{file: "labels.idx", want: []int32{0, 2, 1}},
		{file: "labels-empty.idx", want: []int32{}},
		{file: "labels-badmagic.idx", wantErr: ErrMagic, wantInMsg: "expected 0x00000801, got 0x00000803"},
		{file: "labels-truncated.idx", wantErr: ErrTruncated, wantInMsg: "expected 3 bytes, got 1"},
	}
	for _, tt := range tests {
		y, err := ReadIDXLabels(bytes.NewReader(readFixture(t, "idx/"+tt.file)))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("ReadIDXLabels(%s) error = %v, want %v containing %q", tt.file, err, tt.wantErr, tt.wantInMsg)
			}
			continue
		}
		if err != nil || !equal(y, tt.want) {
			t.Errorf("ReadIDXLabels(%s) = %v, %v; want %v", tt.file, y, err, tt.want)
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenIDXGzip(t *testing.T) {
	dir := t.TempDir()
	gz := gzipFile(t, dir, "idx/images.idx")
	for _, path := range []string{gz, filepath.Join("testdata", "idx", "images.idx")} {
		rc, err := OpenIDX(path)
		if err != nil {
			t.Fatalf("OpenIDX(%s): %v", path, err)
		}
		_, n, _, _, err := ReadIDXImages(rc)
		rc.Close()
		if err != nil || n != 3 {
			t.Errorf("ReadIDXImages(OpenIDX(%s)) n = %d, %v; want 3, nil", path, n, err)
		}
	}
	// A file with the gzip magic but a broken gzip header.
	bad := filepath.Join(dir, "bad.gz")
	os.WriteFile(bad, []byte{0x1f, 0x8b, 0, 0}, 0o644)
	if _, err := OpenIDX(bad); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), bad) {
		t.Errorf("OpenIDX(%s) error = %v, want ErrFormat naming the file", bad, err)
	}
	if _, err := OpenIDX(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenIDX(missing) error = %v, want os.ErrNotExist", err)
	}
}

func TestLoadIDX(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join("testdata", "idx", "images.idx")
	lab := filepath.Join("testdata", "idx", "labels.idx")
	for _, paths := range [][2]string{{img, lab}, {gzipFile(t, dir, "idx/images.idx"), gzipFile(t, dir, "idx/labels.idx")}} {
		d, err := LoadIDX("tiny", paths[0], paths[1])
		if err != nil {
			t.Fatalf("LoadIDX(%v): %v", paths, err)
		}
		if d.N != 3 || d.Dim != 6 || d.H != 2 || d.W != 3 || d.C != 1 || d.Classes != 3 || d.Name != "tiny" {
			t.Errorf("LoadIDX(%v) = %+v", paths, *d)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}

	errTests := []struct {
		images, labels string
		wantErr        error
		wantInMsg      []string
	}{
		{"images.idx", "labels-two.idx", ErrMismatch, []string{"3 images in", "2 labels in", "labels-two.idx"}},
		{"images-badmagic.idx", "labels.idx", ErrMagic, []string{"images-badmagic.idx", "expected 0x00000803"}},
		{"images.idx", "labels-truncated.idx", ErrTruncated, []string{"labels-truncated.idx", "expected 3 bytes, got 1"}},
		{"images.idx", "missing.idx", os.ErrNotExist, []string{"missing.idx"}},
	}
	for _, tt := range errTests {
		ip, lp := filepath.Join("testdata", "idx", tt.images), filepath.Join("testdata", "idx", tt.labels)
		_, err := LoadIDX("tiny", ip, lp)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("LoadIDX(%s, %s) error = %v, want %v", tt.images, tt.labels, err, tt.wantErr)
			continue
		}
		for _, s := range tt.wantInMsg {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("LoadIDX(%s, %s) error = %q, want it to contain %q", tt.images, tt.labels, err, s)
			}
		}
	}
}
