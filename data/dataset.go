package data

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Errors wrapped by the readers and by [Dataset.Validate].
var (
	ErrMagic     = errors.New("data: wrong magic number")
	ErrTruncated = errors.New("data: truncated input")
	ErrFormat    = errors.New("data: malformed or unsupported input")
	ErrMismatch  = errors.New("data: count mismatch")
	ErrLabel     = errors.New("data: label out of range")
	ErrValue     = errors.New("data: NaN or Inf feature")
	ErrNotFound  = errors.New("data: dataset files not found")
)

// Dataset is a labelled set of examples stored row-major.
type Dataset struct {
	Name    string    // e.g. "mnist/train"
	X       []float32 // N*Dim features; images are scaled to [0,1], stored NHWC (H, W, C) per row
	Y       []int32   // N labels in [0, Classes)
	N, Dim  int
	Classes int
	H, W, C int // image shape when the rows are images (H*W*C == Dim); 0,0,0 otherwise
}

// Row returns the features of example i, X[i*Dim:(i+1)*Dim], without a
// copy. Its capacity is capped at Dim, so appending to it never overwrites
// row i+1.
func (d *Dataset) Row(i int) []float32 {
	return d.X[i*d.Dim : (i+1)*d.Dim : (i+1)*d.Dim]
}

// Subset returns a new Dataset holding copies of the rows idx[0], idx[1], ...
// in that order (indices may repeat). It panics if an index is out of range.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.like(d.Name, len(idx))
	for j, i := range idx {
		copy(s.X[j*d.Dim:(j+1)*d.Dim], d.Row(i))
		s.Y[j] = d.Y[i]
	}
	return s
}

// like returns an empty Dataset of n rows with d's shape and classes.
func (d *Dataset) like(name string, n int) *Dataset {
	return &Dataset{
		Name: name, X: make([]float32, n*d.Dim), Y: make([]int32, n),
		N: n, Dim: d.Dim, Classes: d.Classes, H: d.H, W: d.W, C: d.C,
	}
}

// Split shuffles the row indices with a PCG generator seeded by seed and
// puts round(valFrac*N) of them in val and the rest in train. Each side keeps
// the rows in their original relative order, so the result depends only on
// (d, valFrac, seed). The classes are not stratified. Names get the suffixes
// "/train-split" and "/val". Split panics if valFrac is outside [0,1).
func (d *Dataset) Split(valFrac float64, seed uint64) (train, val *Dataset) {
	if !(valFrac >= 0 && valFrac < 1) {
		panic("data: Split valFrac outside [0,1)")
	}
	r := rand.New(rand.NewPCG(seed, 0x6d726c2d73706c74)) // "mrl-splt"
	perm := r.Perm(d.N)
	nVal := min(int(math.Round(valFrac*float64(d.N))), d.N)
	vi, ti := perm[:nVal], perm[nVal:]
	slices.Sort(vi)
	slices.Sort(ti)
	train, val = d.Subset(ti), d.Subset(vi)
	train.Name, val.Name = d.Name+"/train-split", d.Name+"/val"
	return train, val
}

// Head returns the first n rows (all of them if n > N, none if n < 0) as a
// view that shares X and Y with d; capacities are capped so appends to the
// view do not touch d.
func (d *Dataset) Head(n int) *Dataset {
	n = max(0, min(n, d.N))
	h := *d
	h.X = d.X[: n*d.Dim : n*d.Dim]
	h.Y = d.Y[:n:n]
	h.N = n
	return &h
}

// Validate reports every inconsistency at once, joined: negative sizes,
// len(X) != N*Dim, len(Y) != N, an image shape that does not multiply to
// Dim, labels outside [0, Classes) and NaN or Inf features. Repeated label
// and value problems are reported once, with the first index and a count.
func (d *Dataset) Validate() error {
	var errs []error
	add := func(sentinel error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", sentinel, d.Name, fmt.Sprintf(format, args...)))
	}
	if d.N < 0 || d.Dim < 0 || d.Classes < 0 || d.H < 0 || d.W < 0 || d.C < 0 {
		add(ErrMismatch, "negative size (N=%d Dim=%d Classes=%d H=%d W=%d C=%d)", d.N, d.Dim, d.Classes, d.H, d.W, d.C)
		return errors.Join(errs...)
	}
	if d.N > 0 && d.Dim > 0 && d.N > math.MaxInt/d.Dim {
		add(ErrMismatch, "N*Dim overflows (N=%d Dim=%d)", d.N, d.Dim)
		return errors.Join(errs...)
	}
	if len(d.X) != d.N*d.Dim {
		add(ErrMismatch, "len(X) = %d, want N*Dim = %d*%d = %d", len(d.X), d.N, d.Dim, d.N*d.Dim)
	}
	if len(d.Y) != d.N {
		add(ErrMismatch, "len(Y) = %d, want N = %d", len(d.Y), d.N)
	}
	if (d.H != 0 || d.W != 0 || d.C != 0) && d.H*d.W*d.C != d.Dim {
		add(ErrMismatch, "image shape H*W*C = %d*%d*%d != Dim = %d", d.H, d.W, d.C, d.Dim)
	}
	if d.N > 0 && d.Classes == 0 {
		add(ErrLabel, "Classes = 0 with %d rows", d.N)
	}
	bad, first := 0, 0
	for i, y := range d.Y {
		if y < 0 || int(y) >= d.Classes {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		add(ErrLabel, "%d labels outside [0,%d), first Y[%d] = %d", bad, d.Classes, first, d.Y[first])
	}
	bad = 0
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		add(ErrValue, "%d NaN/Inf features, first X[%d] = %v (row %d)", bad, first, d.X[first], first/max(d.Dim, 1))
	}
	return errors.Join(errs...)
}

// setClasses sets d.Classes to max label + 1 (0 when there are no rows) and
// reports a negative label.
func (d *Dataset) setClasses() error {
	d.Classes = 0
	for i, y := range d.Y {
		if y < 0 {
			return fmt.Errorf("%w: %s: label Y[%d] = %d is negative", ErrLabel, d.Name, i, y)
		}
		d.Classes = max(d.Classes, int(y)+1)
	}
	return nil
}
