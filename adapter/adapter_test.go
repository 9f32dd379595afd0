package adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/checkpoint"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/nn"
)

func synth(t testing.TB, n, d int) ([]float32, []int32) {
	t.Helper()
	x, y, err := Synthetic(SyntheticOptions{N: n, D: d, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return x, y
}

// TestPCAStart checks that a new adapter is the PCA baseline exactly: the
// same floats as eval.PCA.Project, hence the same recall at every dim.
func TestPCAStart(t *testing.T) {
	const n, d, out = 600, 32, 24
	x, _ := synth(t, n, d)
	nest := mrl.Nesting{4, 8, 16, 24}
	a, err := New(x, n, d, out, nest, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := eval.FitPCA(x, n, d, out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Apply(x, n)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Project(x, n, d)
	if !slices.Equal(got, want) {
		t.Fatal("Apply of a new adapter differs from eval.PCA.Project")
	}
	truth, err := Neighbors(x, n, d, x, 200, d, d, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := PrefixRecall(got, n, out, got, 200, nest, truth, true)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := PrefixRecall(want, n, out, want, 200, nest, truth, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ra, rp) {
		t.Errorf("recall of the new adapter %v, of PCA %v: want equal", ra, rp)
	}
	// With a residual MLP the start is the same: its last layer is zero.
	b, err := New(x, n, d, out, nest, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got2, _ := b.Apply(x, n); !slices.Equal(got2, want) {
		t.Error("a new adapter with a residual MLP differs from PCA")
	}
}

// TestTrainBeatsTruncation is the end-to-end check on a synthetic set whose
// energy is spread over all dims: after a few epochs the adapter's small
// prefixes find the full-dim neighbours far better than truncation, and
// no worse than PCA.
func TestTrainBeatsTruncation(t *testing.T) {
	const n, d = 2500, 64
	x, _, err := Synthetic(SyntheticOptions{N: n, D: d, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	nest := mrl.Nesting{8, 16, 64}
	var log []EpochStats
	a, res, err := Train(context.Background(), x, n, d, Options{Nesting: nest, Epochs: 4, LR: envLR(), ValFrac: 0.2, ValRows: 500,
		Progress: func(s EpochStats) { log = append(log, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 5 || len(res.Epochs) != 5 || res.ValRows != 500 || res.TrainRows != 2000 {
		t.Fatalf("progress %d calls, result %d epochs, %d+%d rows: want 5, 5, 2000+500", len(log), len(res.Epochs), res.TrainRows, res.ValRows)
	}
	// Held-out queries: the last 500 rows (Train's split is seeded and
	// random, so recompute the comparison on a fixed split here).
	q := x[2000*d:]
	truth, err := Neighbors(x, n, d, q, 500, d, d, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	trunc, err := PrefixRecall(x, n, d, q, 500, nest, truth, false)
	if err != nil {
		t.Fatal(err)
	}
	z, err := a.Apply(x, n)
	if err != nil {
		t.Fatal(err)
	}
	adapted, err := PrefixRecall(z, n, d, z[2000*d:], 500, nest, truth, false)
	if err != nil {
		t.Fatal(err)
	}
	start := res.Epochs[0].Recall // PCA, on Train's validation rows
	final := res.Epochs[4].Recall
	t.Logf("recall@10 at %v: truncation %.3f, adapter %.3f; validation PCA %.3f -> adapter %.3f", nest, trunc, adapted, start, final)
	if adapted[0] < trunc[0]+0.15 {
		t.Errorf("recall@10 at dim 8: adapter %.3f, truncation %.3f: want at least 0.15 better", adapted[0], trunc[0])
	}
	if final[0] < start[0] {
		t.Errorf("validation recall@10 at dim 8: %.3f after training, %.3f at the PCA start", final[0], start[0])
	}
}

func TestApplyErrors(t *testing.T) {
	x, _ := synth(t, 100, 16)
	a, err := New(x, 100, 16, 16, mrl.Nesting{8, 16}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	nan := slices.Clone(x[:32])
	nan[20] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		x    []float32
		n    int
		err  error
		msg  string
	}{
		{"wrong dim", x[:24], 2, ErrDim, "rows of 12 floats, the adapter takes 16"},
		{"ragged", x[:25], 2, ErrDim, "25 floats for 2 rows of 16"},
		{"nan", nan, 2, ErrInput, "row 1, dim 4 is NaN"},
	} {
		_, err := a.Apply(tc.x, tc.n)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Apply error %v, want %v containing %q", tc.name, err, tc.err, tc.msg)
		}
	}
	if z, err := a.Apply(nil, 0); err != nil || len(z) != 0 {
		t.Errorf("Apply of no rows = %v, %v; want none, nil", z, err)
	}
	if _, err := New(x[:0], 0, 16, 16, mrl.Nesting{16}, 0, 1); !errors.Is(err, ErrInput) {
		t.Errorf("New on zero rows: %v, want ErrInput", err)
	}
	if _, _, err := Train(context.Background(), nan, 2, 16, Options{}); !errors.Is(err, ErrInput) {
		t.Errorf("Train on a NaN row: %v, want ErrInput", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{Out: 40, Anchors: -1, Sampled: 20, LR: -1, DimWeights: []float64{1}, Labels: []int32{0, 1}, ResidualDims: -1}.WithDefaults(32)
	err := o.Validate(10, 32)
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("Validate = %v, want ErrOptions", err)
	}
	for _, want := range []string{"Out 40 outside 1..32", "Anchors -1", "Sampled 20 outside 0..K (10)", "LR -1", "2 Labels for 10 rows", "ResidualDims -1 outside 0..Out (40)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q lacks %q", err, want)
		}
	}
	if err := (Options{}).WithDefaults(32).Validate(10, 32); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestResidualDims: with ResidualDims the residual MLP trains the leading
// dims only, and the later dims of f are R's alone (an MLP without it
// writes them all); ResidualDims needs an MLP.
func TestResidualDims(t *testing.T) {
	const n, d = 400, 16
	x, _ := synth(t, n, d)
	for _, rd := range []int{0, 4} {
		a, _, err := Train(context.Background(), x, n, d, Options{Out: 8, Nesting: mrl.Nesting{4, 8}, Hidden: 8, ResidualDims: rd, Epochs: 2})
		if err != nil {
			t.Fatal(err)
		}
		h := a.Hidden()
		for o := range 8 {
			nz := 0
			for _, w := range a.G2.W.W[o*h : (o+1)*h] {
				if w != 0 {
					nz++
				}
			}
			if a.G2.B.W[o] != 0 {
				nz++
			}
			if past := rd > 0 && o >= rd; past != (nz == 0) {
				t.Errorf("ResidualDims %d: output dim %d of g has %d non-zero weights", rd, o, nz)
			}
		}
	}
	err := (Options{ResidualDims: 4}).WithDefaults(d).Validate(n, d)
	if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "ResidualDims 4 without a residual MLP") {
		t.Errorf("ResidualDims without Hidden: %v", err)
	}
}

// TestSupervisedAndExtra trains with labels and an extra term and checks
// that both run on every step with the batch's rows.
func TestSupervisedAndExtra(t *testing.T) {
	const n, d = 400, 16
	x, y := synth(t, n, d)
	for i := range y {
		y[i] = y[i] / 50 % 4 // of the group (Synthetic's 50 clusters each): linearly separable
	}
	calls, bad := 0, 0
	extra := func(z *nn.Tensor, rows []int, dz *nn.Tensor) float64 {
		calls++
		if z.N() != len(rows) || z.RowLen() != 8 || len(dz.Data) != len(z.Data) {
			bad++
		}
		for _, r := range rows {
			if r < 0 || r >= n {
				bad++
			}
		}
		return 0.5
	}
	_, res, err := Train(context.Background(), x, n, d, Options{Out: 8, Nesting: mrl.Nesting{4, 8}, Hidden: 8, Epochs: 4, Labels: y, Extra: extra,
		PairWeight: -1, TopKWeight: -1, RankWeight: -1, IsoWeight: -1})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Epochs[4]
	if calls != 4*last.Steps || bad != 0 || last.Extra != 0.5 {
		t.Errorf("extra: %d calls (want %d), %d bad batches, mean %v (want 0.5)", calls, 4*last.Steps, bad, last.Extra)
	}
	if !(res.Epochs[1].Supervised > last.Supervised) || last.Supervised <= 0 {
		t.Errorf("supervised loss %v then %v: want positive and falling", res.Epochs[1].Supervised, last.Supervised)
	}
}

func TestFileRoundTrip(t *testing.T) {
	x, _ := synth(t, 200, 16)
	for _, hidden := range []int{0, 8} {
		a, err := New(x, 200, 16, 12, mrl.Nesting{4, 12}, hidden, 3)
		if err != nil {
			t.Fatal(err)
		}
		if hidden > 0 {
			for i := range a.G2.W.W {
				a.G2.W.W[i] = float32(i%7) * 0.01 // a non-zero residual
			}
		}
		path := filepath.Join(t.TempDir(), "a.safetensors")
		if err := Save(path, a); err != nil {
			t.Fatal(err)
		}
		b, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		za, _ := a.Apply(x, 200)
		zb, _ := b.Apply(x, 200)
		if !slices.Equal(za, zb) || b.Hidden() != hidden || b.Nesting.String() != "4,12" || b.In != 16 || b.Out != 12 {
			t.Errorf("hidden %d: the loaded adapter differs", hidden)
		}
		raw, _ := os.ReadFile(path)
		enc, _ := Encode(a)
		if !bytes.Equal(raw, enc) {
			t.Errorf("hidden %d: Save and Encode differ", hidden)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	x, _ := synth(t, 100, 8)
	a, _ := New(x, 100, 8, 8, mrl.Nesting{8}, 0, 1)
	good, _ := Encode(a)
	if _, err := Decode(good[:len(good)-3]); err == nil {
		t.Error("a truncated file decoded")
	}
	bad := *a
	bad.Nesting = mrl.Nesting{4, 9}
	enc, _ := Encode(&bad)
	if _, err := Decode(enc); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("nesting beyond out: %v, want ErrFormat naming the nesting", err)
	}
	bad = *a
	bad.Mean = []float32{1, 2}
	if enc, err := Encode(&bad); err == nil {
		if _, err := Decode(enc); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"mean" has shape [2], want [8]`) {
			t.Errorf("short mean: %v", err)
		}
	}
}

// FuzzDecode checks that Decode never panics and that an adapter it
// accepts encodes to a file that decodes to the same map.
func FuzzDecode(f *testing.F) {
	x, _, _ := Synthetic(SyntheticOptions{N: 50, D: 8, Seed: 1})
	for _, h := range []int{0, 2} {
		a, err := New(x, 50, 8, 4, mrl.Nesting{2, 4}, h, 1)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := Encode(a)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(a)
		if err != nil {
			t.Fatalf("Encode(Decode(b)): %v", err)
		}
		a2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))): %v", err)
		}
		q := make([]float32, a.In)
		z1, err1 := a.Apply(q, 1)
		z2, err2 := a2.Apply(q, 1)
		if err1 != nil || err2 != nil || !slices.Equal(z1, z2) {
			t.Fatalf("round trip changed the map: %v %v", err1, err2)
		}
	})
}

func envLR() float64 {
	if s := os.Getenv("LR"); s != "" {
		var v float64
		fmt.Sscan(s, &v)
		return v
	}
	return 0
}

// FuzzFromFile fuzzes the metadata and tensor shapes of an otherwise valid
// checkpoint, which FuzzDecode's checksums keep the fuzzer from reaching:
// fromFile must never panic, and what it accepts must apply.
func FuzzFromFile(f *testing.F) {
	f.Add("8", "4", "0", "2,4", 8, 4, 8, 4)
	f.Add("8", "4", "2", "4", 8, 4, 8, 4)
	f.Add("x", "-1", "99999999", "4,2", 0, 0, 3, 1)
	f.Fuzz(func(t *testing.T, in, out, hidden, nesting string, meanLen, rRows, rCols, bLen int) {
		dim := func(x int) int { return ((x % 20) + 20) % 20 }
		file := &checkpoint.File{Meta: map[string]string{"kind": "mrl-adapter", "adapter_version": "1", "in": in, "out": out, "hidden": hidden, "nesting": nesting}}
		file.Add("mean", []int{dim(meanLen)}, make([]float32, dim(meanLen)))
		file.Add("r.weight", []int{dim(rRows), dim(rCols)}, make([]float32, dim(rRows)*dim(rCols)))
		file.Add("r.bias", []int{dim(bLen)}, make([]float32, dim(bLen)))
		a, err := fromFile(file)
		if err != nil {
			return
		}
		if _, err := a.Apply(make([]float32, a.In), 1); err != nil {
			t.Fatalf("accepted adapter %d→%d does not apply: %v", a.In, a.Out, err)
		}
	})
}

// orthonormalizeRef is orthonormalize's reference: modified Gram-Schmidt
// row by row in float64.
func orthonormalizeRef(w []float32, rows, cols int) {
	q := make([]float64, rows*cols)
	for i, v := range w[:rows*cols] {
		q[i] = float64(v)
	}
	mgs(q, rows, cols)
	for i := range q {
		w[i] = float32(q[i])
	}
}

func TestOrthonormalize(t *testing.T) {
	dot := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	// Sizes below, at and across the block of 32 rows, square and wide,
	// from a matrix with entries of mixed sign and a near-orthonormal one
	// (what training hands it).
	for _, tc := range []struct {
		rows, cols int
		near       bool
	}{{5, 8, false}, {1, 3, false}, {32, 40, false}, {33, 33, false}, {70, 96, false}, {96, 96, true}} {
		t.Run(fmt.Sprintf("%dx%d_near%v", tc.rows, tc.cols, tc.near), func(t *testing.T) {
			rows, cols := tc.rows, tc.cols
			w := make([]float32, rows*cols)
			for i := range w {
				w[i] = float32(math.Sin(float64(i*i + 1)))
			}
			if tc.near {
				orthonormalizeRef(w, rows, cols)
				for i := range w {
					w[i] += 1e-3 * float32(math.Cos(float64(3*i+1)))
				}
			}
			orig := slices.Clone(w)
			ref := slices.Clone(w)
			orthonormalize(w, rows, cols)
			orthonormalizeRef(ref, rows, cols)
			for i := range w {
				// Gram-Schmidt's result is unique (a QR factorisation with a
				// positive diagonal): the blocked form must agree with the
				// reference up to float32 rounding.
				if math.Abs(float64(w[i]-ref[i])) > 1e-4 {
					t.Fatalf("w[%d] = %v, reference %v", i, w[i], ref[i])
				}
			}
			for i := 0; i < rows; i++ {
				for j := 0; j <= i; j++ {
					want := 0.0
					if i == j {
						want = 1
					}
					if got := dot(w[i*cols:(i+1)*cols], w[j*cols:(j+1)*cols]); math.Abs(got-want) > 1e-5 {
						t.Errorf("row %d · row %d = %v, want %v", i, j, got, want)
					}
				}
				// Row i of the input lies in the span of the first i+1 output rows.
				res := slices.Clone(orig[i*cols : (i+1)*cols])
				for j := 0; j <= i; j++ {
					c := float32(dot(res, w[j*cols:(j+1)*cols]))
					for k := range res {
						res[k] -= c * w[j*cols+k]
					}
				}
				if n := dot(res, res); n > 1e-8*max(1, dot(orig[i*cols:(i+1)*cols], orig[i*cols:(i+1)*cols])) {
					t.Errorf("input row %d leaves the span of the first %d rows (residual %v)", i, i+1, n)
				}
			}
		})
	}
}

// TestSearcherFunnel checks adapter.Searcher as a funnel's first stage over
// the original vectors: a shortlist of every row gives exact search, and a
// query of the wrong dim is refused.
func TestSearcherFunnel(t *testing.T) {
	const n, d = 300, 16
	x, _ := synth(t, n, d)
	a, err := New(x, n, d, 8, mrl.Nesting{4, 8}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	z, _ := a.Apply(x, n)
	orig, _ := index.NewVectors(slices.Clone(x), n, d, mrl.Cosine, nil)
	zv, _ := index.NewVectors(z, n, 8, mrl.Cosine, nil)
	s := Searcher{A: a, S: index.NewFlat(zv)}
	f, err := index.NewFunnel(orig, index.Plan{{Dim: 4, Keep: n}, {Dim: d, Keep: 10}}, s)
	if err != nil {
		t.Fatal(err)
	}
	q := x[:20*d]
	got, err := f.SearchBatch(q, d, d, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := index.NewFlat(orig).SearchBatch(q, d, d, 10, nil)
	for i := range want {
		for j := range want[i] {
			if got[i][j].Index != want[i][j].Index {
				t.Fatalf("query %d hit %d: funnel row %d, exact row %d", i, j, got[i][j].Index, want[i][j].Index)
			}
		}
	}
	if _, err := s.Search(x[:d-1], 4, 10, nil); !errors.Is(err, ErrDim) {
		t.Errorf("short query: %v, want ErrDim", err)
	}
	if _, err := s.Search(x[:d], 9, 10, nil); !errors.Is(err, ErrDim) {
		t.Errorf("dim beyond the adapter's 8: %v, want ErrDim", err)
	}
}

// TestPairs checks the contrastive term on (query, document) pairs whose
// shared part the PCA start does not see: documents have large variance
// in their first 4 coordinates, and a document's query replaces those with
// fresh noise, so the PCA 4-prefix holds only what query and document do
// not share and query→document top-1 at dim 4 is near chance. Training on
// the pairs alone (the unsupervised terms off) must move the shared
// coordinates into the prefix. With the pairs and the extra hook at once
// the extra term must see the documents only.
func TestPairs(t *testing.T) {
	const n, d, m = 600, 16, 4
	r := rand.New(rand.NewPCG(7, 7))
	x, q := make([]float32, n*d), make([]float32, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			v := float32(r.NormFloat64())
			if j < m {
				x[i*d+j] = 4 * v
				q[i*d+j] = 4 * float32(r.NormFloat64())
			} else {
				x[i*d+j], q[i*d+j] = v, v
			}
		}
	}
	top1 := func(a *Adapter) float64 {
		zx, err := a.Apply(x, n)
		if err != nil {
			t.Fatal(err)
		}
		zq, _ := a.Apply(q, n)
		got, err := Neighbors(zx, n, d, zq, n, d, m, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		hit := 0
		for i, g := range got {
			if int(g[0]) == i {
				hit++
			}
		}
		return float64(hit) / n
	}
	pca, err := New(x, n, d, d, mrl.Nesting{m, d}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	extra := func(z *nn.Tensor, rs []int, dz *nn.Tensor) float64 {
		if z.N() != len(rs) || len(dz.Data) != len(z.Data) {
			t.Errorf("extra: %d rows of z, %d row numbers, %d gradient floats", z.N(), len(rs), len(dz.Data))
		}
		rows += len(rs)
		return 0
	}
	a, res, err := Train(context.Background(), x, n, d, Options{Nesting: mrl.Nesting{m, d}, Epochs: 8, ValFrac: -1, PairQueries: q, Extra: extra,
		PairWeight: -1, TopKWeight: -1, RankWeight: -1, IsoWeight: -1})
	if err != nil {
		t.Fatal(err)
	}
	before, after := top1(pca), top1(a)
	t.Logf("query→document top-1 at dim %d: PCA %.3f, adapter %.3f; contrastive loss %.3f → %.3f", m, before, after, res.Epochs[1].Contrastive, res.Epochs[8].Contrastive)
	if after < before+0.3 {
		t.Errorf("query→document top-1 at dim %d: PCA %.3f, adapter trained on pairs %.3f: want +0.3", m, before, after)
	}
	if !(res.Epochs[8].Contrastive < res.Epochs[1].Contrastive) {
		t.Errorf("contrastive loss %v then %v: want falling", res.Epochs[1].Contrastive, res.Epochs[8].Contrastive)
	}
	if want := 8 * n * (1 + 3); rows != want {
		t.Errorf("extra saw %d rows in all, want %d (the documents of every batch, not the queries)", rows, want)
	}
	// Queries that do not match the rows are refused.
	if _, _, err := Train(context.Background(), x, n, d, Options{PairQueries: q[:d], Epochs: 1}); !errors.Is(err, ErrOptions) {
		t.Errorf("short PairQueries: %v, want ErrOptions", err)
	}
	q[5] = float32(math.NaN())
	if _, _, err := Train(context.Background(), x, n, d, Options{PairQueries: q, Epochs: 1}); !errors.Is(err, ErrInput) {
		t.Errorf("NaN in PairQueries: %v, want ErrInput", err)
	}
}

// TestHardNegatives checks the batches of Options.HardNegatives: each
// anchor brings Sampled rows of its K nearest neighbours in the full space
// and HardNegatives rows of its ranks K+1..HardRank (checked against
// Neighbors through the Extra hook, which sees the batch's rows), and the
// boundary term is reported, positive and falling; options out of range
// are refused.
func TestHardNegatives(t *testing.T) {
	const n, d, k, hard, sampled, anchors, rank = 300, 16, 5, 2, 2, 20, 15
	x, _ := synth(t, n, d)
	nb, err := Neighbors(x, n, d, x, n, d, d, rank, true)
	if err != nil {
		t.Fatal(err)
	}
	rankOf := func(i, j int) int { // 1-based full-space rank of j among i's neighbours, 0 past rank
		return slices.Index(nb[i], int32(j)) + 1
	}
	steps, bad := 0, 0
	extra := func(z *nn.Tensor, rows []int, dz *nn.Tensor) float64 {
		if len(rows) != anchors*(1+sampled+hard) {
			return 0 // the last, short step
		}
		steps++
		for p := 0; p < anchors; p++ {
			a, off := rows[p], anchors+p*(sampled+hard)
			for q, r := range rows[off : off+sampled+hard] {
				if rk := rankOf(a, r); q < sampled && (rk < 1 || rk > k) || q >= sampled && (rk <= k || rk > rank) {
					bad++
				}
			}
		}
		return 0
	}
	_, res, err := Train(context.Background(), x, n, d, Options{Out: 8, Nesting: mrl.Nesting{4, 8}, Epochs: 3, K: k, Sampled: sampled,
		Anchors: anchors, HardNegatives: hard, HardRank: rank, ValFrac: -1, Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	if steps == 0 || bad != 0 {
		t.Errorf("%d full batches, %d rows outside their ranks", steps, bad)
	}
	if first, last := res.Epochs[1].Boundary, res.Epochs[3].Boundary; !(first > last) || last <= 0 {
		t.Errorf("boundary term %v then %v: want positive and falling", first, last)
	}
	o := Options{HardNegatives: 3, HardRank: 11, K: 10, BoundaryTemperature: -1}.WithDefaults(d)
	err = o.Validate(n, d)
	for _, want := range []string{"HardRank 11: want at least K + HardNegatives (13)", "BoundaryTemperature -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to say %q", err, want)
		}
	}
	if err := (Options{HardNegatives: -1}).WithDefaults(d).Validate(n, d); err == nil || !strings.Contains(err.Error(), "HardNegatives -1") {
		t.Errorf("Validate(HardNegatives -1) = %v", err)
	}
}

// TestQueryAnchors: documents whose largest variance (dims 0..3, the PCA
// 4-prefix) is noise that queries lack, and queries that vary only in
// dims 4..7, the clusters both share. The PCA 4-prefix of a query is
// near zero, so its neighbours among the documents at dim 4 are near
// chance; training with the queries as anchors must move the shared
// dims into the prefix (held-out queries' recall@10 against their full
// neighbours), and the validation must report held-out queries.
func TestQueryAnchors(t *testing.T) {
	const n, nq, d, m = 600, 400, 16, 4
	r := rand.New(rand.NewPCG(3, 3))
	const clusters = 60 // of 10 documents: a query's top 10 is mostly its cluster's
	centres := randRows(r, clusters, 4)
	x, q := make([]float32, n*d), make([]float32, nq*d)
	for i := 0; i < n; i++ {
		c := centres[r.IntN(clusters)*4:]
		for j := 0; j < d; j++ {
			switch {
			case j < 4:
				x[i*d+j] = 3 * float32(r.NormFloat64())
			case j < 8:
				x[i*d+j] = 2*c[j-4] + 0.3*float32(r.NormFloat64())
			default:
				x[i*d+j] = 0.3 * float32(r.NormFloat64())
			}
		}
	}
	for i := 0; i < nq; i++ {
		c := centres[r.IntN(clusters)*4:]
		for j := 4; j < 8; j++ {
			q[i*d+j] = 2*c[j-4] + 0.3*float32(r.NormFloat64())
		}
	}
	test := q[300*d:] // 100 queries neither run trains on
	truth, err := Neighbors(x, n, d, test, 100, d, d, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	recall := func(a *Adapter) float64 {
		zx, _ := a.Apply(x, n)
		zq, _ := a.Apply(test, 100)
		rc, err := PrefixRecall(zx, n, d, zq, 100, []int{m}, truth, false)
		if err != nil {
			t.Fatal(err)
		}
		return rc[0]
	}
	o := Options{Nesting: mrl.Nesting{m, d}, Epochs: 6}
	plain, _, err := Train(context.Background(), x, n, d, o)
	if err != nil {
		t.Fatal(err)
	}
	o.QueryAnchors = q[:300*d]
	a, res, err := Train(context.Background(), x, n, d, o)
	if err != nil {
		t.Fatal(err)
	}
	before, after := recall(plain), recall(a)
	t.Logf("held-out queries' recall@10 at dim %d: without query anchors %.3f, with %.3f; validation %v → %v", m, before, after, res.Epochs[0].Recall, res.Epochs[6].Recall)
	if after < before+0.1 {
		t.Errorf("recall@10 at dim %d: %.3f without query anchors, %.3f with: want +0.1", m, before, after)
	}
	if res.ValRows != 30 || res.QueryAnchors != 270 || res.TrainRows != n {
		t.Errorf("rows: %d validation (want 30 held-out queries), %d query anchors (want 270), %d training (want %d)", res.ValRows, res.QueryAnchors, res.TrainRows, n)
	}
	if !(res.Epochs[6].Recall[0] > res.Epochs[0].Recall[0]+0.1) {
		t.Errorf("validation recall@10 at dim %d: %v at the PCA start, %v after: want the held-out queries' gain", m, res.Epochs[0].Recall[0], res.Epochs[6].Recall[0])
	}
	for _, bad := range []Options{{QueryAnchors: q[:d+1]}, {QueryAnchors: q[:d], Labels: make([]int32, n)}} {
		if _, _, err := Train(context.Background(), x, n, d, bad); !errors.Is(err, ErrOptions) {
			t.Errorf("QueryAnchors of %d floats, labels %v: %v, want ErrOptions", len(bad.QueryAnchors), bad.Labels != nil, err)
		}
	}
}

// TestNeighborsContext checks that the blocked neighbour search returns
// what one batch does (queries across block boundaries, with skipSelf) and
// that a cancelled context stops it with the context's error.
func TestNeighborsContext(t *testing.T) {
	const n, d, k = neighborBlock + 300, 8, 3
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	got, err := Neighbors(x, n, d, x, n, d, d, k, true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := index.NewVectors(x, n, d, mrl.Cosine, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := index.NewFlat(v)
	for _, i := range []int{0, neighborBlock - 1, neighborBlock, n - 1} {
		hs, err := f.Search(x[i*d:(i+1)*d], d, k+1, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []int32
		for _, h := range hs {
			if int(h.Index) != i && len(want) < k {
				want = append(want, h.Index)
			}
		}
		if !slices.Equal(got[i], want) {
			t.Errorf("row %d: neighbours %v, want %v", i, got[i], want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NeighborsContext(ctx, x, n, d, x, n, d, d, k, true); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// TestRecallCandidates checks the recall term's candidates
// (trainer.candidates): with RecallNegatives 0 every training row, each
// its own candidate row; with a draw, RecallNegatives distinct training
// rows then the anchors' positives outside the draw; in both, each anchor's
// positives are its K nearest training rows, its own row is found, and
// w_i·(drawn negatives) = its negatives among all training rows.
func TestRecallCandidates(t *testing.T) {
	const nt, k = 40, 3
	nbrs := make([][]int32, nt+2) // rows nt, nt+1: query anchors
	r := rand.New(rand.NewPCG(8, 8))
	for i := range nbrs {
		for _, j := range r.Perm(nt)[:k+2] { // K neighbours and 2 hard negatives
			if j != i {
				nbrs[i] = append(nbrs[i], int32(j))
			}
		}
	}
	for _, tc := range []struct {
		name    string
		negs    int
		anchors []int
	}{
		{"all", 0, []int{0, 5, nt, 39}},
		{"all, more than the rows", nt + 5, []int{3}},
		{"drawn", 10, []int{0, 5, nt + 1, 39, 7}},
		{"drawn, one", 1, []int{2, nt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trainer{o: Options{K: k, RecallNegatives: tc.negs}, nt: nt, nbrs: nbrs, rng: rand.New(rand.NewPCG(1, 2))}
			for step := range 3 { // later steps reuse the buffers
				nc := tr.candidates(tc.anchors)
				cand := tr.cand[:nc]
				nNeg := tr.rec.nNeg
				wantNeg := tc.negs
				if tc.negs == 0 || tc.negs >= nt {
					wantNeg = nt
				}
				if nNeg != wantNeg {
					t.Fatalf("step %d: %d drawn candidates, want %d", step, nNeg, wantNeg)
				}
				seen := map[int32]bool{}
				for c, row := range cand {
					if row < 0 || row >= nt || seen[row] || tr.candPos[row] != int32(c) {
						t.Fatalf("step %d: candidate %d is row %d (position %d), repeated %v", step, c, row, tr.candPos[row], seen[row])
					}
					seen[row] = true
				}
				for a, i := range tc.anchors {
					pos := tr.rec.pos[a]
					if len(pos) != k {
						t.Fatalf("anchor %d: %d positives, want %d", i, len(pos), k)
					}
					inDraw := 0
					for q, c := range pos {
						if cand[c] != nbrs[i][q] {
							t.Errorf("anchor %d: positive %d is row %d, want %d", i, q, cand[c], nbrs[i][q])
						}
						if int(c) < nNeg {
							inDraw++
						}
					}
					self, all := tr.rec.self[a], nt-k
					if i < nt {
						all--
						if seen[int32(i)] != (self >= 0) || self >= 0 && cand[self] != int32(i) {
							t.Errorf("anchor %d: own candidate %d", i, self)
						}
					} else if self != -1 {
						t.Errorf("query anchor %d: own candidate %d, want -1", i, self)
					}
					drawn := nNeg - inDraw
					if self >= 0 && int(self) < nNeg {
						drawn--
					}
					if got := tr.rec.negW[a] * float64(drawn); drawn > 0 && math.Abs(got-float64(all)) > 1e-9 {
						t.Errorf("anchor %d: w_i·%d drawn negatives = %v, want %d", i, drawn, got, all)
					}
				}
			}
		})
	}
}

// TestRecallTerm trains with the recall term: alone in full batches (one
// step an epoch, so the epochs' values are of the same anchors and
// comparable), and over mini-batches with the other terms, linear and with
// a residual MLP, over all training rows and a draw, with query anchors.
// The term is reported positive and falling; with the other terms the
// small prefix's validation recall rises from the PCA start.
func TestRecallTerm(t *testing.T) {
	const n, d = 500, 16
	x, _ := synth(t, n, d)
	q, _ := synth(t, 200, d)
	for _, tc := range []struct {
		name   string
		o      Options
		epochs int
		val    bool // check the validation recall at dim 4
	}{
		{"alone, full batch", Options{PairWeight: -1, TopKWeight: -1, RankWeight: -1, IsoWeight: -1, Anchors: n, LR: 0.1, OrthoEvery: -1, RecallWeight: 0.1}, 20, false},
		{"with the others, MLP, drawn", Options{Hidden: 8, RecallNegatives: 100, RecallWeight: 0.1}, 6, true},
		{"with the others, query anchors", Options{QueryAnchors: q, RecallNegatives: 50, RecallWeight: 0.1}, 6, false}, // (20 held-out queries: too few to read)
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Out, o.Nesting, o.Epochs = 8, mrl.Nesting{4, 8}, tc.epochs
			_, res, err := Train(context.Background(), x, n, d, o)
			if err != nil {
				t.Fatal(err)
			}
			first, last := res.Epochs[1], res.Epochs[tc.epochs]
			t.Logf("recall term %.4f → %.4f; validation recall@10 %v → %v", first.RecallTerm, last.RecallTerm, res.Epochs[0].Recall, last.Recall)
			if !(first.RecallTerm > last.RecallTerm) || last.RecallTerm <= 0 {
				t.Errorf("recall term %v then %v: want positive and falling", first.RecallTerm, last.RecallTerm)
			}
			if tc.val && !(last.Recall[0] > res.Epochs[0].Recall[0]) {
				t.Errorf("validation recall@10 at dim 4: %v at the PCA start, %v after", res.Epochs[0].Recall[0], last.Recall[0])
			}
		})
	}
}

func TestRecallOptionsValidate(t *testing.T) {
	const n, d = 10, 32
	for _, tc := range []struct {
		name string
		o    Options
		want []string // nil: valid
	}{
		{"off", Options{}, nil},
		{"on", Options{RecallWeight: 1, RecallNegatives: 100}, nil},
		{"negative draw", Options{RecallWeight: 1, RecallNegatives: -1}, []string{"RecallNegatives -1 is negative"}},
		{"bad temperature", Options{RecallWeight: 1, RecallTemperature: -2}, []string{"RecallTemperature -2"}},
		{"infinite temperature", Options{RecallWeight: 0.5, RecallTemperature: math.Inf(1)}, []string{"RecallTemperature +Inf"}},
		{"NaN weight", Options{RecallWeight: math.NaN()}, []string{"RecallWeight NaN is not finite"}},
		{"all at once", Options{RecallWeight: 1, RecallNegatives: -3, RecallTemperature: -1, Anchors: -1},
			[]string{"RecallNegatives -3", "RecallTemperature -1", "Anchors -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.WithDefaults(d).Validate(n, d)
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrOptions) {
				t.Fatalf("Validate = %v, want ErrOptions", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to say %q", err, w)
				}
			}
		})
	}
	if o := (Options{RecallWeight: 1, Temperature: 0.1}).WithDefaults(d); o.RecallTemperature != 0.1 || o.RecallNegatives != 0 {
		t.Errorf("defaults: RecallTemperature %v (want Temperature, 0.1), RecallNegatives %d (want 0: all)", o.RecallTemperature, o.RecallNegatives)
	}
	if o := (Options{}).WithDefaults(d); o.RecallWeight != 0 {
		t.Errorf("default RecallWeight %v, want 0 (off)", o.RecallWeight)
	}
}

// TestLossSameOnThreads checks that the reported losses do not depend on
// the number of goroutines: the rank and recall terms sum one partial per
// goroutine's range, and partials left from an earlier call with other
// ranges were once added in (with query anchors, whose batches vary, the
// first epoch read 1.620 on one thread and 1.645 on two).
func TestLossSameOnThreads(t *testing.T) {
	const n, d = 500, 16
	x, _ := synth(t, n, d)
	q, _ := synth(t, 200, d)
	for _, o := range []Options{
		{QueryAnchors: q},
		{QueryAnchors: q, RecallWeight: 0.1, RecallNegatives: 50},
	} {
		o.Out, o.Nesting, o.Epochs = 8, mrl.Nesting{4, 8}, 2
		var losses [2][]float64
		for i, threads := range []int{1, 2} {
			prev := kernel.SetThreads(threads)
			_, res, err := Train(context.Background(), x, n, d, o)
			kernel.SetThreads(prev)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Epochs[1:] {
				losses[i] = append(losses[i], e.Loss, e.Rank, e.RecallTerm)
			}
		}
		for j := range losses[0] {
			if a, b := losses[0][j], losses[1][j]; math.Abs(a-b) > 1e-6*(1+math.Abs(a)) {
				t.Errorf("recall weight %v: loss figure %d is %v on one thread, %v on two", o.RecallWeight, j, a, b)
			}
		}
	}
}
