package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomrl/mrl/nn"
)

// simLossRef is simLoss's definition as plain float64 loops: the weighted
// total wPair·pairMean + wTop·topMean.
func simLossRef(z []float64, b, ld, m int, t []float32, wPair float64, pairs []pair, wTop, wRank, tau float64, bnd *boundaryTerm) float64 {
	cos := func(i, j int) float64 { return refCos(z, ld, m, i, j) }
	var p, q float64
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			if i != j {
				e := cos(i, j) - float64(t[i*b+j])
				p += e * e
			}
		}
	}
	for _, pr := range pairs {
		e := cos(int(pr.i), int(pr.j)) - float64(t[int(pr.i)*b+int(pr.j)])
		q += e * e
	}
	var kl float64
	for i := 0; i < b; i++ {
		var zp, zq float64
		for j := 0; j < b; j++ {
			if j != i {
				zp += math.Exp(float64(t[i*b+j]) / tau)
				zq += math.Exp(cos(i, j) / tau)
			}
		}
		for j := 0; j < b; j++ {
			if j != i {
				pj := math.Exp(float64(t[i*b+j])/tau) / zp
				qj := math.Exp(cos(i, j)/tau) / zq
				kl += pj * math.Log(pj/qj)
			}
		}
	}
	total := wPair*p/float64(b*(b-1)) + wRank*kl/float64(b)
	if len(pairs) > 0 {
		total += wTop * q / float64(len(pairs))
	}
	if bnd != nil && len(bnd.pos) > 0 {
		// ℓ_ip = −log(exp(s_ip/τ) / (exp(s_ip/τ) + Σ_{h of anchor i} exp(s_ih/τ)))
		var sum float64
		for _, pp := range bnd.pos {
			i := int(pp.i)
			e := math.Exp(cos(i, int(pp.j)) / bnd.tau)
			den := e
			for _, h := range bnd.neg {
				if int(h.i) == i {
					den += math.Exp(cos(i, int(h.j)) / bnd.tau)
				}
			}
			sum -= math.Log(e / den)
		}
		total += bnd.w * sum / float64(len(bnd.pos))
	}
	return total
}

// isoLossRef is isoLoss's definition as plain float64 loops.
func isoLossRef(z []float64, lz int, x []float32, lx, b int) float64 {
	dist := func(i, j int) (dz, dx float64) {
		for k := 0; k < lz; k++ {
			e := z[i*lz+k] - z[j*lz+k]
			dz += e * e
		}
		for k := 0; k < lx; k++ {
			e := float64(x[i*lx+k]) - float64(x[j*lx+k])
			dx += e * e
		}
		return
	}
	var sig, sum float64
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			if i != j {
				_, dx := dist(i, j)
				sig += dx
			}
		}
	}
	pairs := float64(b * (b - 1))
	sig /= pairs
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			if i != j {
				dz, dx := dist(i, j)
				sum += (dz - dx) * (dz - dx)
			}
		}
	}
	return sum / (pairs * sig * sig)
}

func randRows(r *rand.Rand, n, d int) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// fdCheck compares the analytic gradient g of f at z with central finite
// differences in float64 (eps 1e-4: the reference is float64, so rounding
// is ~1e-12/eps and truncation ~eps²); the tolerance 2e-3 relative to the
// larger of |g| and 1e-2 covers the float32 arithmetic of the fast path.
func fdCheck(t *testing.T, name string, z []float64, g []float32, f func([]float64) float64) {
	t.Helper()
	fdCheckExcept(t, name, z, g, f, 0, 0)
}

// fdCheckExcept is fdCheck over the coordinates of z outside [lo, hi).
func fdCheckExcept(t *testing.T, name string, z []float64, g []float32, f func([]float64) float64, lo, hi int) {
	t.Helper()
	const eps = 1e-4
	for k := range z {
		if k >= lo && k < hi {
			continue
		}
		old := z[k]
		z[k] = old + eps
		up := f(z)
		z[k] = old - eps
		down := f(z)
		z[k] = old
		num := (up - down) / (2 * eps)
		if diff := math.Abs(num - float64(g[k])); diff > 2e-3*math.Max(math.Abs(num), 1e-2) {
			t.Errorf("%s: dL/dz[%d] = %.6g, finite differences %.6g", name, k, g[k], num)
		}
	}
}

func TestSimLossGradient(t *testing.T) {
	for _, tc := range []struct {
		b, ld, m     int
		wPair, wTop  float64
		wRank, tau   float64
		pairs        []pair
		zeroFirstRow bool
		// the boundary term: positives are pairs, negatives neg
		wBnd, tauBnd float64
		neg          []pair
	}{
		{b: 5, ld: 6, m: 6, wPair: 1, wTop: 0},
		{b: 5, ld: 6, m: 3, wPair: 0.5, wTop: 2, pairs: []pair{{0, 3}, {1, 4}, {0, 2}}},
		{b: 6, ld: 5, m: 2, wPair: 0, wTop: 0, wRank: 1, tau: 0.3},
		{b: 6, ld: 5, m: 5, wPair: 1, wTop: 1, pairs: []pair{{0, 5}}, wRank: 0.5, tau: 0.1},
		{b: 7, ld: 4, m: 1, wPair: 1, wTop: 1, pairs: []pair{{2, 5}}},
		{b: 2*rankGrain + 3, ld: 3, m: 2, wPair: 0.3, wRank: 1, tau: 0.2}, // the listwise rows in several chunks
		{b: 4, ld: 5, m: 4, wPair: 1, wTop: 1, pairs: []pair{{1, 2}}, zeroFirstRow: true},
		// The boundary term alone and with the others; anchors 0 and 1 with
		// two positives and two or three negatives, anchor 2 without
		// negatives, anchor 3 with negatives but no positive.
		{b: 9, ld: 5, m: 3, wBnd: 1, tauBnd: 0.2, pairs: []pair{{0, 4}, {0, 5}, {1, 6}, {2, 8}}, neg: []pair{{0, 6}, {0, 7}, {1, 2}, {1, 7}, {1, 8}, {3, 0}}},
		{b: 9, ld: 5, m: 5, wPair: 0.5, wTop: 1, wRank: 0.5, tau: 0.3, wBnd: 2, tauBnd: 0.1, pairs: []pair{{0, 4}, {1, 6}}, neg: []pair{{0, 5}, {1, 7}, {1, 8}}},
	} {
		t.Run(fmt.Sprintf("b%d_m%d_of%d", tc.b, tc.m, tc.ld), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.b*100+tc.m)))
			z := randRows(r, tc.b, tc.ld)
			if tc.zeroFirstRow {
				clear(z[:tc.m])
			}
			tt := make([]float32, tc.b*tc.b)
			for i := range tc.b {
				for j := range tc.b {
					tt[i*tc.b+j] = float32(r.Float64()*2 - 1)
				}
			}
			dz := make([]float32, len(z))
			var sc simScratch
			rk := rankTerm{w: tc.wRank, tau: tc.tau}
			var bt *boundaryTerm
			if tc.wBnd > 0 {
				bt = &boundaryTerm{w: tc.wBnd, tau: tc.tauBnd, pos: tc.pairs, neg: tc.neg}
			}
			refTau := tc.tau
			if refTau == 0 {
				refTau = 1 // the term is off; any τ avoids 0/0
			}
			pm, tm, km, bm := simLoss(&sc, z, tc.b, tc.ld, tc.m, tt, tc.wPair, tc.pairs, tc.wTop, &rk, bt, dz)
			z64 := to64(z)
			f := func(z []float64) float64 {
				return simLossRef(z, tc.b, tc.ld, tc.m, tt, tc.wPair, tc.pairs, tc.wTop, tc.wRank, refTau, bt)
			}
			got := tc.wPair*pm + tc.wTop*tm + tc.wRank*km + tc.wBnd*bm
			if want := f(z64); math.Abs(got-want) > 1e-5*math.Max(1, want) {
				t.Errorf("loss = %.8g, reference %.8g", got, want)
			}
			for j := tc.m; j < tc.ld; j++ {
				if dz[j] != 0 {
					t.Fatalf("dz[%d] = %v beyond the prefix %d, want 0", j, dz[j], tc.m)
				}
			}
			if tc.zeroFirstRow {
				z64[0] = 0 // finite differences around a zero row are not defined
				for k := 0; k < tc.ld; k++ {
					if dz[k] != 0 {
						t.Errorf("zero row: dz[%d] = %v, want 0", k, dz[k])
					}
				}
				return
			}
			fdCheck(t, "simLoss", z64, dz, f)
		})
	}
}

func TestIsoLossGradient(t *testing.T) {
	for _, tc := range []struct{ b, lz, lx int }{{4, 3, 5}, {6, 5, 5}, {3, 1, 2}} {
		t.Run(fmt.Sprintf("b%d_%dto%d", tc.b, tc.lx, tc.lz), func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(tc.b)))
			z, x := randRows(r, tc.b, tc.lz), randRows(r, tc.b, tc.lx)
			dz := make([]float32, len(z))
			var sc isoScratch
			const w = 0.7
			got := isoLoss(&sc, z, tc.lz, x, tc.lx, tc.b, w, dz)
			f := func(z []float64) float64 { return w * isoLossRef(z, tc.lz, x, tc.lx, tc.b) }
			z64 := to64(z)
			if want := f(z64) / w; math.Abs(got-want) > 1e-4*math.Max(1, want) {
				t.Errorf("loss = %.8g, reference %.8g", got, want)
			}
			fdCheck(t, "isoLoss", z64, dz, f)
		})
	}
}

// TestNetGradient checks the adapter's training backward (R, b and the
// residual MLP) against central finite differences of L = Σ f(x)·proj,
// with nn's float32 tolerances (eps 1e-2, 2e-2 relative; see nn's
// gradCheck), and that the training forward equals Apply.
func TestNetGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	const n, d, out, hid = 6, 7, 5, 4
	x := randRows(r, 50, d)
	a, err := New(x, 50, d, out, []int{2, out}, hid, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.G2.W.W {
		a.G2.W.W[i] = float32(r.NormFloat64())
	}
	for i := range a.R.B.W {
		a.R.B.W[i] = float32(r.NormFloat64())
	}
	xb := x[:n*d]
	nt := net{a: a}
	proj := randRows(r, n, out)
	loss := func() float64 {
		z := nt.forward(xb, n)
		var s float64
		for i, v := range z.Data {
			s += float64(v) * float64(proj[i])
		}
		return s
	}
	z := nt.forward(xb, n)
	want, _ := a.Apply(xb, n)
	for i := range want {
		if math.Abs(float64(z.Data[i]-want[i])) > 1e-5 {
			t.Fatalf("training forward[%d] = %v, Apply %v", i, z.Data[i], want[i])
		}
	}
	for _, p := range a.Params() {
		clear(p.G)
	}
	dz := nn.NewTensor(n, out)
	copy(dz.Data, proj)
	nt.backward(dz)
	const eps = 1e-2
	for _, p := range a.Params() {
		for i := range p.W {
			old := p.W[i]
			p.W[i] = old + eps
			up := loss()
			p.W[i] = old - eps
			down := loss()
			p.W[i] = old
			num := (up - down) / (2 * eps)
			if diff := math.Abs(num - float64(p.G[i])); diff > 2e-2*math.Max(math.Abs(num), 1) {
				t.Errorf("%s[%d]: backward %.5g, finite differences %.5g", p.Name, i, p.G[i], num)
			}
		}
	}
}

// recallLossRef is recallTerm.loss's definition as plain float64 loops:
// the anchors are rows 0..na−1 of z and the candidates rows na..na+nc−1
// (stride ld); the weighted mean of ℓ_ip.
func recallLossRef(z []float64, na, ld, m int, r *recallTerm) float64 {
	cos := func(i, j int) float64 { return refCos(z, ld, m, i, j) }
	var sum float64
	npos := 0
	for i := 0; i < na; i++ {
		var neg float64
		for j := 0; j < r.nNeg; j++ {
			if j != int(r.self[i]) && !slices.Contains(r.pos[i], int32(j)) {
				neg += math.Exp(cos(i, na+j) / r.tau)
			}
		}
		for _, p := range r.pos[i] {
			e := math.Exp(cos(i, na+int(p)) / r.tau)
			sum -= math.Log(e / (e + r.negW[i]*neg))
			npos++
		}
	}
	return r.w * sum / float64(npos)
}

func TestRecallTermGradient(t *testing.T) {
	for _, tc := range []struct {
		name          string
		na, nc, nNeg  int
		ld, m         int
		pos           [][]int32
		self          []int32
		negW          []float64
		w, tau        float64
		zeroCandidate int // a candidate row set to 0 (−1: none)
	}{
		{name: "all candidates", na: 3, nc: 9, nNeg: 9, ld: 5, m: 5, pos: [][]int32{{0, 4}, {2}, {7, 8, 1}}, self: []int32{3, -1, 5},
			negW: []float64{1, 1, 1}, w: 1, tau: 0.2, zeroCandidate: -1},
		{name: "prefix", na: 2, nc: 7, nNeg: 7, ld: 6, m: 2, pos: [][]int32{{1}, {2, 3}}, self: []int32{-1, -1},
			negW: []float64{1, 1}, w: 0.7, tau: 0.5, zeroCandidate: -1},
		// Sampled: candidates 0..4 drawn, 5..7 positives outside the draw;
		// anchor 2 has no positive (its negatives get no gradient).
		{name: "sampled", na: 3, nc: 8, nNeg: 5, ld: 4, m: 3, pos: [][]int32{{5, 1}, {6, 7}, {}}, self: []int32{2, -1, 4},
			negW: []float64{3.5, 2, 1}, w: 2, tau: 0.1, zeroCandidate: -1},
		{name: "chunks", na: 2*recallGrain + 3, nc: 6, nNeg: 6, ld: 3, m: 3, w: 1, tau: 0.3, zeroCandidate: -1},
		{name: "zero candidate", na: 2, nc: 6, nNeg: 6, ld: 4, m: 4, pos: [][]int32{{0}, {1}}, self: []int32{-1, -1},
			negW: []float64{1, 1}, w: 1, tau: 0.2, zeroCandidate: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(4, uint64(tc.na*100+tc.nc)))
			if tc.pos == nil { // one positive per anchor, no own row
				for i := range tc.na {
					tc.pos = append(tc.pos, []int32{int32(i % tc.nc)})
					tc.self = append(tc.self, -1)
					tc.negW = append(tc.negW, 1)
				}
			}
			z := randRows(r, tc.na+tc.nc, tc.ld)
			if tc.zeroCandidate >= 0 {
				clear(z[(tc.na+tc.zeroCandidate)*tc.ld : (tc.na+tc.zeroCandidate)*tc.ld+tc.m])
			}
			rt := recallTerm{w: tc.w, tau: tc.tau, pos: tc.pos, self: tc.self, negW: tc.negW, nNeg: tc.nNeg}
			dz := make([]float32, len(z))
			off := tc.na * tc.ld
			got := tc.w * rt.loss(z, tc.na, z[off:], tc.nc, tc.ld, tc.m, dz, dz[off:])
			z64 := to64(z)
			f := func(z []float64) float64 { return recallLossRef(z, tc.na, tc.ld, tc.m, &rt) }
			if want := f(z64); math.Abs(got-want) > 1e-5*math.Max(1, want) {
				t.Errorf("loss = %.8g, reference %.8g", got, want)
			}
			for i := range tc.na + tc.nc {
				for j := tc.m; j < tc.ld; j++ {
					if dz[i*tc.ld+j] != 0 {
						t.Fatalf("dz[%d][%d] = %v beyond the prefix %d, want 0", i, j, dz[i*tc.ld+j], tc.m)
					}
				}
			}
			if c := tc.zeroCandidate; c >= 0 {
				row := dz[(tc.na+c)*tc.ld : (tc.na+c+1)*tc.ld]
				if slices.ContainsFunc(row, func(v float32) bool { return v != 0 }) {
					t.Errorf("zero candidate row: dz %v, want 0", row)
				}
				// Finite differences around a zero row are not defined:
				// check the other rows only.
				fdCheckExcept(t, "recallTerm", z64, dz, f, (tc.na+c)*tc.ld, (tc.na+c+1)*tc.ld)
				return
			}
			fdCheck(t, "recallTerm", z64, dz, f)
		})
	}
}

// refCos is the float64 cosine of the m-prefixes of rows i and j of z
// (stride ld), 0 when either is zero.
func refCos(z []float64, ld, m, i, j int) float64 {
	var d, ni, nj float64
	for k := 0; k < m; k++ {
		d += z[i*ld+k] * z[j*ld+k]
		ni += z[i*ld+k] * z[i*ld+k]
		nj += z[j*ld+k] * z[j*ld+k]
	}
	if ni == 0 || nj == 0 {
		return 0
	}
	return d / math.Sqrt(ni*nj)
}
