// Command ceiling asks whether any linear map can give an embedding set
// prefixes that beat PCA at recall@k against the full-dim neighbours (issue
// 15: "at dims ≤ D/8 the adapter ≥ PCA + 3 points"), before more adapter
// knobs are tried. For the queries -queries over the database -db it prints:
//
//   - spectrum: the fraction of the database's variance in its top m
//     principal directions, and the fraction of the variance of the
//     neighbour differences u_i − u_j (u unit rows, j one of query i's k
//     full-space neighbours; "local") that the best m-dim subspace for them
//     holds, against m/D for isotropic differences. Neighbourhoods that
//     differ in many directions are ranked by all of them, which no m-dim
//     map of one row at a time keeps;
//   - the local intrinsic dimension of the neighbourhoods (maximum
//     likelihood, Levina and Bickel 2004, over the 20 nearest rows by
//     chord distance of unit rows), mean and median over the queries;
//   - the overfit ceiling: per dim m, an m×D map W and a bias b,
//     initialised to PCA, trained ON THE EVALUATION QUERIES THEMSELVES by
//     full-batch Adam on a listwise loss aimed at recall@k: for each query
//     i and each of its k full-space neighbours p, −log of the softmax at
//     temperature τ of cos(f(q_i), f(x_p)) against cos(f(q_i), f(x_j)) for
//     every database row j outside the k (all negatives, no sampling);
//     f(x) = W·(x − μ) + b maps queries and rows alike. The best recall@k
//     over the iterations is printed: a figure no held-out query can be
//     expected to beat with a linear map of that size. With -train-queries
//     (or -train-db-queries) the map trains on other queries instead, and
//     the recall after the last iteration is the held-out figure.
//
// Usage:
//
//	go run ./bench/adapter/ceiling -db test_doc.npy -queries test_query.npy -nq 2000 -dims 8,16
//	go run ./bench/adapter/ceiling -db syn.npy -queries synq.npy -dims 8,16 -iters 300
//
// Nothing is written; everything is printed. The loss's gradient is checked
// by -gradcheck (central differences in float64 on a small random set).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/eval"
	"github.com/gomrl/mrl/internal/kernel"
)

func main() {
	dbPath := flag.String("db", "", "database embeddings (NPY)")
	qPath := flag.String("queries", "", "evaluation queries (NPY)")
	nqMax := flag.Int("nq", 0, "first queries used (0: all)")
	trPath := flag.String("train-queries", "", "queries to train the map on (default: the evaluation queries: the overfit ceiling)")
	trDB := flag.Int("train-db-queries", 0, "train the map on the database's first N rows as queries instead (each row's own row left out): the held-out check, as the adapter trains")
	dimsStr := flag.String("dims", "8,16", "prefix dims")
	k := flag.Int("k", 10, "recall@k")
	iters := flag.Int("iters", 300, "Adam iterations per dim")
	lr := flag.Float64("lr", 0.01, "Adam learning rate (the map is in units of the rows' RMS norm)")
	tau := flag.Float64("tau", 0.05, "softmax temperature")
	every := flag.Int("every", 25, "evaluate recall every this many iterations")
	gradcheck := flag.Bool("gradcheck", false, "check the loss's gradient by central differences and exit")
	flag.Parse()
	if *gradcheck {
		os.Exit(checkGrad())
	}
	db, ndb, d := readNPY(*dbPath)
	q, nq, dq := readNPY(*qPath)
	if dq != d {
		fail(fmt.Errorf("queries of dim %d for a database of dim %d", dq, d))
	}
	if *nqMax > 0 && *nqMax < nq {
		nq = *nqMax
		q = q[:nq*d]
	}
	var dims []int
	for _, s := range strings.Split(*dimsStr, ",") {
		m, err := strconv.Atoi(s)
		if err != nil || m < 1 || m > d {
			fail(fmt.Errorf("-dims %q", *dimsStr))
		}
		dims = append(dims, m)
	}
	ctx := context.Background()
	truth, err := adapter.NeighborsContext(ctx, db, ndb, d, q, nq, d, d, *k, false)
	must(err)
	tq, ntq := q, nq
	ttruth := truth
	var self []int32 // each training query's own database row, or −1
	switch {
	case *trDB > 0:
		ntq = min(*trDB, ndb)
		tq = db[:ntq*d]
		ttruth, err = adapter.NeighborsContext(ctx, db, ndb, d, tq, ntq, d, d, *k, true)
		must(err)
		for i := range ntq {
			self = append(self, int32(i))
		}
	case *trPath != "":
		tq, ntq, _ = readNPY(*trPath)
		ttruth, err = adapter.NeighborsContext(ctx, db, ndb, d, tq, ntq, d, d, *k, false)
		must(err)
	}
	fmt.Printf("db %s: %d × %d; %d queries; recall@%d against exact %d-dim cosine neighbours\n", *dbPath, ndb, d, nq, *k, d)

	// Spectrum of the database and of the neighbour differences.
	pca, err := eval.FitPCA(db, ndb, d, d)
	must(err)
	var tot float64
	for _, v := range pca.Variances {
		tot += v
	}
	loc := localSpectrum(db, d, q, nq, truth)
	var ltot float64
	for _, v := range loc {
		ltot += v
	}
	lid := lidMLE(db, ndb, d, q, nq, 20)
	fmt.Printf("local intrinsic dimension (MLE, 20 neighbours): mean %.1f, median %.1f\n", mean(lid), median(lid))
	trained := "the evaluation queries themselves (the overfit ceiling)"
	if *trDB > 0 || *trPath != "" {
		trained = fmt.Sprintf("%d other queries (held out from the evaluation)", ntq)
	}
	fmt.Printf("the linear maps train on %s\n", trained)
	fmt.Println("   dim  PCA var  local var (isotropic m/D)  PCA recall  final recall  final − PCA  best recall (iter)")
	for _, m := range dims {
		var pv, lv float64
		for i := 0; i < m; i++ {
			pv += pca.Variances[i]
			lv += loc[i]
		}
		w := slices.Clone(pca.Components[:m*d])
		b := make([]float32, m)
		base := recallOf(db, ndb, d, q, nq, pca.Mean, w, b, m, truth)
		t0 := time.Now()
		final, best, at := fit(db, ndb, d, tq, ntq, ttruth, self, q, nq, truth, pca.Mean, w, b, m, *iters, *every, *lr, *tau)
		fmt.Printf("%6d  %7.3f  %9.3f (%.3f)          %10.4f  %12.4f  %+11.4f  %11.4f (%4d)  [%v]\n",
			m, pv/tot, lv/ltot, float64(m)/float64(d), base, final, final-base, best, at, time.Since(t0).Round(time.Second))
	}
}

// recallOf is the recall@k of the queries' m-dim images W·(x − μ) + b among
// the database's.
func recallOf(db []float32, ndb, d int, q []float32, nq int, mu, w, b []float32, m int, truth [][]int32) float64 {
	zdb := project(db, ndb, d, mu, w, b, m)
	zq := project(q, nq, d, mu, w, b, m)
	r, err := adapter.PrefixRecall(zdb, ndb, m, zq, nq, []int{m}, truth, false)
	must(err)
	return r[0]
}

func project(x []float32, n, d int, mu, w, b []float32, m int) []float32 {
	xc := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			xc[i*d+j] = x[i*d+j] - mu[j]
		}
	}
	z := make([]float32, n*m)
	kernel.Sgemm(false, true, n, m, d, 1, xc, d, w, d, 0, z, m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			z[i*m+j] += b[j]
		}
	}
	return z
}

// fit trains w (m×d) and b by full-batch Adam on the listwise loss of the
// training queries tq against the database, in units of σ (the centred
// rows' RMS norm), and returns the evaluation queries' recall@k after the
// last iteration and the best seen every `every` iterations (and its
// iteration; 0 is the start). The best is chosen on the evaluation
// queries: a ceiling, not a held-out figure; with other training queries
// the final one is the held-out figure.
func fit(db []float32, ndb, d int, tq []float32, ntq int, ttruth [][]int32, self []int32, q []float32, nq int, truth [][]int32,
	mu, w, b []float32, m, iters, every int, lr, tau float64) (final, best float64, at int) {
	sigma := rms(db, ndb, d, mu)
	xc := centred(db, ndb, d, mu, 1/sigma)
	qc := centred(tq, ntq, d, mu, 1/sigma)
	bs := make([]float32, m) // b in σ units
	for j := range bs {
		bs[j] = b[j] / float32(sigma)
	}
	l := &listwise{tau: tau, self: self}
	dw := make([]float32, m*d)
	db_ := make([]float32, m)
	adW, adB := newAdam(len(w)), newAdam(m)
	unscaled := func() []float32 {
		bb := make([]float32, m)
		for j := range bb {
			bb[j] = bs[j] * float32(sigma)
		}
		return bb
	}
	best = recallOf(db, ndb, d, q, nq, mu, w, b, m, truth)
	for it := 1; it <= iters; it++ {
		l.loss(xc, ndb, qc, ntq, d, w, bs, m, ttruth, dw, db_)
		adW.step(w, dw, lr, it)
		adB.step(bs, db_, lr, it)
		if it%every == 0 || it == iters {
			r := recallOf(db, ndb, d, q, nq, mu, w, unscaled(), m, truth)
			if r > best {
				best, at = r, it
			}
			final = r
		}
	}
	return final, best, at
}

// listwise is the loss of fit. With z = W·x + b for the nq queries and the
// n rows, u = z/|z|, s_ij = u_qi·u_j and P_i the k positives of query i,
//
//	L = (1/(nq·k)) Σ_i Σ_{p∈P_i} −log( e^{s_ip/τ} / (e^{s_ip/τ} + N_i) ),  N_i = Σ_{j∉P_i} e^{s_ij/τ}
//
// so positives do not compete with each other, and
//
//	∂L/∂s_ip = (σ_ip − 1)/(τ·nq·k),  ∂L/∂s_ij = e^{s_ij/τ}·Σ_p 1/(e^{s_ip/τ}+N_i) /(τ·nq·k)  (j ∉ P_i)
//
// with σ_ip the softmax value above.
type listwise struct {
	tau  float64
	self []int32 // if set, query i's own row self[i] is neither positive nor negative

	zx, zq, ux, uq, nx []float32
	nqn                []float32
	s, g               []float32
	dux, duq, dzx, dzq []float32
}

func (l *listwise) loss(x []float32, n int, q []float32, nq, d int, w, b []float32, m int, pos [][]int32, dw, db []float32) float64 {
	l.zx, l.ux, l.nx = fwd(l.zx, l.ux, l.nx, x, n, d, w, b, m)
	l.zq, l.uq, l.nqn = fwd(l.zq, l.uq, l.nqn, q, nq, d, w, b, m)
	l.s = slices.Grow(l.s[:0], nq*n)[:nq*n]
	l.g = slices.Grow(l.g[:0], nq*n)[:nq*n]
	kernel.Sgemm(false, true, nq, n, m, 1, l.uq, m, l.ux, m, 0, l.s, n)
	var total float64
	kk := 0
	for _, p := range pos {
		kk += len(p)
	}
	scale := 1 / (l.tau * float64(kk))
	var mtx sync.Mutex
	kernel.ParallelFor(nq, 16, func(lo, hi int) {
		isPos := make([]bool, n)
		var part float64
		for i := lo; i < hi; i++ {
			s, g := l.s[i*n:(i+1)*n], l.g[i*n:(i+1)*n]
			for _, p := range pos[i] {
				isPos[p] = true
			}
			own := -1
			if l.self != nil {
				own = int(l.self[i])
				isPos[own] = true // skipped like a positive, then zeroed
			}
			// Shift by the row's largest similarity for stability; g
			// holds the exponentials, then the gradient.
			mx := float64(slices.Max(s)) / l.tau
			var neg float64
			for j, v := range s {
				if !isPos[j] {
					e := math.Exp(float64(v)/l.tau - mx)
					g[j] = float32(e)
					neg += e
				}
			}
			var inv float64
			for _, p := range pos[i] {
				e := math.Exp(float64(s[p])/l.tau - mx)
				den := e + neg
				part += -math.Log(e / den)
				inv += 1 / den
				g[p] = float32((e/den - 1) * scale)
			}
			f := float32(inv * scale)
			for j := range s {
				if !isPos[j] {
					g[j] *= f
				}
			}
			for _, p := range pos[i] {
				isPos[p] = false
			}
			if own >= 0 {
				isPos[own] = false
				g[own] = 0
			}
		}
		mtx.Lock()
		total += part
		mtx.Unlock()
	})
	// dU_q = G·U_x, dU_x = Gᵀ·U_q; then through the normalisation and W.
	l.duq = slices.Grow(l.duq[:0], nq*m)[:nq*m]
	l.dux = slices.Grow(l.dux[:0], n*m)[:n*m]
	kernel.Sgemm(false, false, nq, m, n, 1, l.g, n, l.ux, m, 0, l.duq, m)
	kernel.Sgemm(true, false, n, m, nq, 1, l.g, n, l.uq, m, 0, l.dux, m)
	l.dzq = bwdNorm(l.dzq, l.duq, l.uq, l.nqn, nq, m)
	l.dzx = bwdNorm(l.dzx, l.dux, l.ux, l.nx, n, m)
	kernel.Sgemm(true, false, m, d, nq, 1, l.dzq, m, q, d, 0, dw, d)
	kernel.Sgemm(true, false, m, d, n, 1, l.dzx, m, x, d, 1, dw, d)
	clear(db)
	for _, dz := range [][]float32{l.dzq, l.dzx} {
		for i := 0; i < len(dz)/m; i++ {
			for j := 0; j < m; j++ {
				db[j] += dz[i*m+j]
			}
		}
	}
	return total / float64(kk)
}

// fwd computes z = x·Wᵀ + b, u = z/|z| and the norms.
func fwd(z, u, nrm, x []float32, n, d int, w, b []float32, m int) ([]float32, []float32, []float32) {
	z = slices.Grow(z[:0], n*m)[:n*m]
	u = slices.Grow(u[:0], n*m)[:n*m]
	nrm = slices.Grow(nrm[:0], n)[:n]
	kernel.Sgemm(false, true, n, m, d, 1, x, d, w, d, 0, z, m)
	for i := 0; i < n; i++ {
		zi, ui := z[i*m:(i+1)*m], u[i*m:(i+1)*m]
		var ss float64
		for j := range zi {
			zi[j] += b[j]
			ss += float64(zi[j]) * float64(zi[j])
		}
		r := math.Sqrt(ss)
		nrm[i] = float32(r)
		for j := range zi {
			ui[j] = float32(float64(zi[j]) / max(r, 1e-12))
		}
	}
	return z, u, nrm
}

// bwdNorm returns dz = (du − u·(u·du))/|z| row by row.
func bwdNorm(dz, du, u, nrm []float32, n, m int) []float32 {
	dz = slices.Grow(dz[:0], n*m)[:n*m]
	for i := 0; i < n; i++ {
		ui, gi := u[i*m:(i+1)*m], du[i*m:(i+1)*m]
		var dot float64
		for j := range ui {
			dot += float64(ui[j]) * float64(gi[j])
		}
		r := max(float64(nrm[i]), 1e-12)
		for j := range ui {
			dz[i*m+j] = float32((float64(gi[j]) - float64(ui[j])*dot) / r)
		}
	}
	return dz
}

type adam struct{ m1, m2 []float64 }

func newAdam(n int) *adam { return &adam{make([]float64, n), make([]float64, n)} }

func (a *adam) step(p, g []float32, lr float64, t int) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1, c2 := 1-math.Pow(b1, float64(t)), 1-math.Pow(b2, float64(t))
	for i, gi := range g {
		a.m1[i] = b1*a.m1[i] + (1-b1)*float64(gi)
		a.m2[i] = b2*a.m2[i] + (1-b2)*float64(gi)*float64(gi)
		p[i] -= float32(lr * (a.m1[i] / c1) / (math.Sqrt(a.m2[i]/c2) + eps))
	}
}

// localSpectrum returns the eigenvalues, largest first, of the mean of
// (u_i − u_j)(u_i − u_j)ᵀ over the queries i and their true neighbours j
// (u: unit rows).
func localSpectrum(db []float32, d int, q []float32, nq int, truth [][]int32) []float64 {
	c := mat.NewSymDense(d, nil)
	diff := make([]float64, d)
	ui, uj := make([]float32, d), make([]float32, d)
	var cnt float64
	acc := make([]float64, d*d)
	for i := 0; i < nq; i++ {
		copy(ui, q[i*d:(i+1)*d])
		kernel.Normalize(ui)
		for _, j := range truth[i] {
			copy(uj, db[int(j)*d:(int(j)+1)*d])
			kernel.Normalize(uj)
			for a := range diff {
				diff[a] = float64(ui[a] - uj[a])
			}
			for a := 0; a < d; a++ {
				row := acc[a*d : (a+1)*d]
				da := diff[a]
				for b := a; b < d; b++ {
					row[b] += da * diff[b]
				}
			}
			cnt++
		}
	}
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			c.SetSym(a, b, acc[a*d+b]/cnt)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(c, false) {
		fail(fmt.Errorf("local spectrum: eigendecomposition failed"))
	}
	v := es.Values(nil)
	slices.Reverse(v)
	return v
}

// lidMLE returns each query's maximum-likelihood local intrinsic dimension
// over its kn nearest database rows by chord distance of unit rows.
func lidMLE(db []float32, n, d int, q []float32, nq, kn int) []float64 {
	nb, err := adapter.Neighbors(db, n, d, q, nq, d, d, kn, false)
	must(err)
	ui, uj := make([]float32, d), make([]float32, d)
	out := make([]float64, 0, nq)
	for i := 0; i < nq; i++ {
		copy(ui, q[i*d:(i+1)*d])
		kernel.Normalize(ui)
		dist := make([]float64, 0, kn)
		for _, j := range nb[i] {
			copy(uj, db[int(j)*d:(int(j)+1)*d])
			kernel.Normalize(uj)
			s := float64(kernel.Dot(ui, uj))
			dist = append(dist, math.Sqrt(max(2-2*s, 0)))
		}
		slices.Sort(dist)
		dk := dist[len(dist)-1]
		var sum float64
		cnt := 0
		for _, v := range dist[:len(dist)-1] {
			if v > 0 && dk > 0 {
				sum += math.Log(v / dk)
				cnt++
			}
		}
		if cnt > 0 && sum < 0 {
			out = append(out, -float64(cnt)/sum)
		}
	}
	return out
}

func rms(x []float32, n, d int, mu []float32) float64 {
	var ss float64
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			c := float64(x[i*d+j] - mu[j])
			ss += c * c
		}
	}
	return math.Sqrt(ss / float64(n))
}

func centred(x []float32, n, d int, mu []float32, f float64) []float32 {
	out := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			out[i*d+j] = float32(float64(x[i*d+j]-mu[j]) * f)
		}
	}
	return out
}

// checkGrad compares the listwise loss's gradient with central differences
// on a small random set and returns the exit code.
func checkGrad() int {
	rng := rand.New(rand.NewPCG(1, 2))
	n, nq, d, m, k := 30, 5, 12, 4, 3
	x := make([]float32, n*d)
	q := make([]float32, nq*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	pos := make([][]int32, nq)
	for i := range pos {
		for _, j := range rng.Perm(n - nq)[:k] {
			pos[i] = append(pos[i], int32(j))
		}
	}
	w := make([]float32, m*d)
	b := make([]float32, m)
	for i := range w {
		w[i] = float32(rng.NormFloat64() / 3)
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64() / 3)
	}
	// The queries' own rows are the last nq (the held-out check's self).
	l := &listwise{tau: 0.5, self: []int32{25, 26, 27, 28, 29}}
	dw, db := make([]float32, m*d), make([]float32, m)
	l.loss(x, n, q, nq, d, w, b, m, pos, dw, db)
	bad := 0
	check := func(name string, p []float32, g []float32) {
		for i := range p {
			const h = 1e-2
			old := p[i]
			p[i] = old + h
			lp := l.loss(x, n, q, nq, d, w, b, m, pos, make([]float32, m*d), make([]float32, m))
			p[i] = old - h
			lm := l.loss(x, n, q, nq, d, w, b, m, pos, make([]float32, m*d), make([]float32, m))
			p[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(g[i])) > 2e-3*max(1, math.Abs(num)) {
				fmt.Printf("%s[%d]: analytic %.6f numeric %.6f\n", name, i, g[i], num)
				bad++
			}
		}
	}
	check("W", w, slices.Clone(dw))
	check("b", b, slices.Clone(db))
	if bad > 0 {
		fmt.Printf("gradient check: %d of %d coordinates differ\n", bad, len(w)+len(b))
		return 1
	}
	fmt.Printf("gradient check: all %d coordinates agree\n", len(w)+len(b))
	return 0
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func readNPY(path string) ([]float32, int, int) {
	f, err := os.Open(path)
	must(err)
	defer f.Close()
	x, shape, err := data.ReadNPY(bufio.NewReader(f))
	if err == nil && len(shape) != 2 {
		err = fmt.Errorf("shape %v: want rows × dims", shape)
	}
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	return x, shape[0], shape[1]
}

func must(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ceiling:", err)
	os.Exit(1)
}
