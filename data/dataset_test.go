package data

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// seq returns a Dataset of n rows of dim features where X[i*dim+j] =
// i + j/100 and Y[i] = i % classes.
func seq(n, dim, classes int) *Dataset {
	d := &Dataset{Name: "seq", X: make([]float32, n*dim), Y: make([]int32, n), N: n, Dim: dim, Classes: classes}
	for i := range n {
		for j := range dim {
			d.X[i*dim+j] = float32(i) + float32(j)/100
		}
		d.Y[i] = int32(i % classes)
	}
	return d
}

func TestRow(t *testing.T) {
	d := seq(4, 3, 2)
	r := d.Row(2)
	if len(r) != 3 || cap(r) != 3 || r[0] != 2 || r[2] != 2.02 {
		t.Errorf("Row(2) = %v (cap %d), want [2 2.01 2.02] with cap 3", r, cap(r))
	}
	r[0] = -1
	if d.X[6] != -1 {
		t.Errorf("Row(2) is a copy, want a view")
	}
	_ = append(r, 99)
	if d.X[9] != 3 {
		t.Errorf("append to Row(2) overwrote row 3: X[9] = %v", d.X[9])
	}
}

func TestSubset(t *testing.T) {
	d := seq(5, 2, 3)
	d.H, d.W, d.C = 1, 2, 1
	s := d.Subset([]int{4, 0, 4})
	if s.N != 3 || s.Dim != 2 || s.Classes != 3 || s.H != 1 || s.W != 2 || s.C != 1 {
		t.Fatalf("Subset shape = %+v", *s)
	}
	if want := []float32{4, 4.01, 0, 0.01, 4, 4.01}; !equal(s.X, want) {
		t.Errorf("Subset X = %v, want %v", s.X, want)
	}
	if want := []int32{1, 0, 1}; !equal(s.Y, want) {
		t.Errorf("Subset Y = %v, want %v", s.Y, want)
	}
	s.X[0] = -1
	if d.X[8] == -1 {
		t.Errorf("Subset shares memory with its source")
	}
	if e := d.Subset(nil); e.N != 0 || len(e.X) != 0 || e.Validate() != nil {
		t.Errorf("Subset(nil) = %+v, %v", *e, e.Validate())
	}
}

func TestSplit(t *testing.T) {
	d := seq(1000, 3, 10)
	for _, tt := range []struct {
		frac float64
		nVal int
	}{{0, 0}, {0.1, 100}, {0.25, 250}, {0.0004, 0}, {0.0006, 1}, {0.9999, 1000}} {
		tr, va := d.Split(tt.frac, 1)
		if va.N != tt.nVal || tr.N != 1000-tt.nVal {
			t.Errorf("Split(%v) sizes = %d, %d; want %d, %d", tt.frac, tr.N, va.N, 1000-tt.nVal, tt.nVal)
		}
		// Every row appears exactly once, in its original relative order.
		seen := make([]bool, 1000)
		for _, part := range []*Dataset{tr, va} {
			prev := -1
			for i := range part.N {
				row := int(part.Row(i)[0])
				if seen[row] || row <= prev || part.Y[i] != int32(row%10) {
					t.Fatalf("Split(%v): row %d of %s is source row %d (prev %d, seen %v)", tt.frac, i, part.Name, row, prev, seen[row])
				}
				seen[row], prev = true, row
			}
		}
		if err := errors.Join(tr.Validate(), va.Validate()); err != nil {
			t.Errorf("Split(%v): %v", tt.frac, err)
		}
	}

	tr1, va1 := d.Split(0.2, 42)
	tr2, va2 := d.Split(0.2, 42)
	if !equal(tr1.X, tr2.X) || !equal(va1.Y, va2.Y) {
		t.Errorf("Split(0.2, 42) differs between two calls")
	}
	_, va3 := d.Split(0.2, 43)
	if equal(va1.X, va3.X) {
		t.Errorf("Split(0.2, 42) and Split(0.2, 43) chose the same validation rows")
	}
	if tr1.Name != "seq/train-split" || va1.Name != "seq/val" {
		t.Errorf("Split names = %q, %q; want seq/train-split, seq/val", tr1.Name, va1.Name)
	}
	// Pin the PCG stream so that a change of generator is noticed.
	if got := va1.Row(0)[0]; got != firstVal42 {
		t.Errorf("Split(0.2, 42): first validation row = %v, want %v", got, float32(firstVal42))
	}

	for _, frac := range []float64{-0.1, 1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Split(%v) did not panic", frac)
				}
			}()
			d.Split(frac, 1)
		}()
	}
}

// firstVal42 is the first validation row of seq(1000,3,10).Split(0.2, 42).
const firstVal42 = 4

func TestHead(t *testing.T) {
	d := seq(5, 2, 3)
	for _, tt := range []struct{ n, want int }{{3, 3}, {0, 0}, {-1, 0}, {9, 5}} {
		h := d.Head(tt.n)
		if h.N != tt.want || len(h.X) != tt.want*2 || len(h.Y) != tt.want || h.Validate() != nil {
			t.Errorf("Head(%d) = N %d, len X %d, len Y %d, %v; want N %d", tt.n, h.N, len(h.X), len(h.Y), h.Validate(), tt.want)
		}
	}
	h := d.Head(2)
	_ = append(h.X, 42)
	if d.X[4] != 2 {
		t.Errorf("append to Head(2).X overwrote row 2")
	}
}

func TestValidate(t *testing.T) {
	good := seq(4, 6, 3)
	good.H, good.W, good.C = 2, 3, 1
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(d *Dataset)
		wantErr []error
		wantMsg []string
	}{
		{"short X", func(d *Dataset) { d.X = d.X[:5] }, []error{ErrMismatch}, []string{"len(X) = 5, want N*Dim = 4*6 = 24"}},
		{"short Y", func(d *Dataset) { d.Y = d.Y[:3] }, []error{ErrMismatch}, []string{"len(Y) = 3, want N = 4"}},
		{"shape", func(d *Dataset) { d.C = 3 }, []error{ErrMismatch}, []string{"H*W*C = 2*3*3 != Dim = 6"}},
		{"labels", func(d *Dataset) { d.Y[1], d.Y[3] = 3, -1 }, []error{ErrLabel}, []string{"2 labels outside [0,3), first Y[1] = 3"}},
		{"nan and inf", func(d *Dataset) { d.X[7], d.X[20] = float32(math.NaN()), float32(math.Inf(1)) },
			[]error{ErrValue}, []string{"2 NaN/Inf features, first X[7] = NaN (row 1)"}},
		{"negative", func(d *Dataset) { d.N = -1 }, []error{ErrMismatch}, []string{"negative size"}},
		{"no classes", func(d *Dataset) { d.Classes = 0 }, []error{ErrLabel}, []string{"Classes = 0"}},
		{"everything at once", func(d *Dataset) { d.Y = d.Y[:3]; d.Y[0] = 7; d.X[0] = float32(math.NaN()) },
			[]error{ErrMismatch, ErrLabel, ErrValue}, nil},
	}
	for _, tt := range tests {
		d := seq(4, 6, 3)
		d.H, d.W, d.C = 2, 3, 1
		tt.mutate(d)
		err := d.Validate()
		for _, want := range tt.wantErr {
			if !errors.Is(err, want) {
				t.Errorf("%s: Validate() = %v, want %v", tt.name, err, want)
			}
		}
		for _, s := range tt.wantMsg {
			if err == nil || !strings.Contains(err.Error(), s) {
				t.Errorf("%s: Validate() = %v, want it to contain %q", tt.name, err, s)
			}
		}
	}
}
