package adapter

import (
	"math"

	"github.com/gomrl/mrl/internal/kernel"
)

// simScratch holds the buffers of simLoss, reused across steps.
type simScratch struct {
	zn, s, dzn []float32
	norms      []float32
}

// pair is an (anchor, neighbour) pair of batch rows of the top-k term.
type pair struct{ i, j int32 }

// simLoss computes, for the m-prefixes of the b rows of z (stride ld) and
// the target similarities t ([b][b], t_ij = cos(e_i, e_j)), with s^m_ij
// the cosine of the re-normalised prefixes,
//
//	pairMean = mean_{i≠j} (s^m_ij − t_ij)²
//	topMean  = mean_{(i,j) in pairs} (s^m_ij − t_ij)²
//
// and adds d(wPair·pairMean + wTop·topMean)/dz into dz (stride ld, first m
// columns). A zero prefix has no direction: its row gets no gradient.
// The reference is simLossRef.
func simLoss(sc *simScratch, z []float32, b, ld, m int, t []float32, wPair float64, pairs []pair, wTop float64, rk *rankTerm, bt *boundaryTerm, dz []float32) (pairMean, topMean, rankMean, bndMean float64) {
	sc.zn = grow(sc.zn, b*m)
	sc.s = grow(sc.s, b*b)
	sc.dzn = grow(sc.dzn, b*m)
	sc.norms = grow(sc.norms, b)
	zn, s, dzn := sc.zn, sc.s, sc.dzn
	for i := 0; i < b; i++ {
		row := zn[i*m : (i+1)*m]
		copy(row, z[i*ld:i*ld+m])
		sc.norms[i] = kernel.Normalize(row)
	}
	kernel.Sgemm(false, true, b, b, m, 1, zn, m, zn, m, 0, s, b)
	if rk.w > 0 && b > 1 {
		rankMean = rk.grad(s, t, b)
	}
	if bt != nil && bt.w > 0 {
		bndMean = bt.grad(s, b)
	}
	// s becomes G, the gradient of the loss with respect to S.
	var sumPair float64
	cp := float32(0)
	if b > 1 {
		cp = float32(2 * wPair / float64(b*(b-1)))
	}
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			k := i*b + j
			if i == j {
				s[k] = 0
				continue
			}
			e := s[k] - t[k]
			sumPair += float64(e) * float64(e)
			s[k] = cp * e
		}
	}
	var sumTop float64
	if len(pairs) > 0 {
		ct := 2 * wTop / float64(len(pairs))
		for _, p := range pairs {
			if p.i == p.j {
				continue
			}
			// s[k] now holds cp·e; recover e from zn directly.
			e := kernel.Dot(zn[int(p.i)*m:int(p.i+1)*m], zn[int(p.j)*m:int(p.j+1)*m]) - t[int(p.i)*b+int(p.j)]
			sumTop += float64(e) * float64(e)
			s[int(p.i)*b+int(p.j)] += float32(ct * float64(e))
		}
		topMean = sumTop / float64(len(pairs))
	}
	if b > 1 {
		pairMean = sumPair / float64(b*(b-1))
	}
	if rk.w > 0 && b > 1 {
		for k, v := range rk.g {
			s[k] += v
		}
	}
	if bt != nil && bt.w > 0 {
		for k, p := range bt.pos {
			s[int(p.i)*b+int(p.j)] += bt.gpos[k]
		}
		for k, p := range bt.neg {
			s[int(p.i)*b+int(p.j)] += bt.gneg[k]
		}
	}
	// H = G + Gᵀ, in place.
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			h := s[i*b+j] + s[j*b+i]
			s[i*b+j], s[j*b+i] = h, h
		}
		s[i*b+i] *= 2
	}
	kernel.Sgemm(false, false, b, m, b, 1, s, b, zn, m, 0, dzn, m)
	addNormGrad(dz, ld, dzn, zn, sc.norms, b, m)
	return pairMean, topMean, rankMean, bndMean
}

// boundaryTerm is the boundary term, aimed at recall@k: each anchor i of
// the batch has in-batch positives P_i (rows sampled from its K nearest
// neighbours in the full space) and hard negatives H_i (rows sampled from
// its full-space ranks K+1..HardRank, the rows a prefix most often lets
// into the top K), and for every positive p, with s the prefix
// similarities,
//
//	ℓ_ip = −log( exp(s_ip/τ) / (exp(s_ip/τ) + Σ_{h∈H_i} exp(s_ih/τ)) )
//
// The loss is w·mean_{(i,p)} ℓ_ip; with π the softmax of s/τ over
// {p} ∪ H_i its gradient is −w(1 − π_p)/(τ·|P|) with respect to s_ip and
// w·π_h/(τ·|P|) with respect to s_ih, summed over the positives.
type boundaryTerm struct {
	w, tau float64
	// pos and neg are the (anchor, row) pairs of the positives and the
	// hard negatives, each grouped by anchor in the same anchor order.
	pos, neg []pair
	// gpos and gneg receive dL/ds of each pair of pos and neg.
	gpos, gneg []float32
}

// grad writes dL/ds into gpos and gneg and returns the mean ℓ; s holds the
// prefix similarities ([b][b]).
func (bt *boundaryTerm) grad(s []float32, b int) float64 {
	bt.gpos = grow(bt.gpos, len(bt.pos))
	bt.gneg = grow(bt.gneg, len(bt.neg))
	clear(bt.gneg)
	if len(bt.pos) == 0 {
		return 0
	}
	inv := 1 / bt.tau
	c := bt.w / (bt.tau * float64(len(bt.pos)))
	var sum float64
	n0 := 0
	for p0 := 0; p0 < len(bt.pos); {
		i := bt.pos[p0].i
		p1 := p0
		for p1 < len(bt.pos) && bt.pos[p1].i == i {
			p1++
		}
		for n0 < len(bt.neg) && bt.neg[n0].i < i {
			n0++ // (anchors without positives)
		}
		n1 := n0
		for n1 < len(bt.neg) && bt.neg[n1].i == i {
			n1++
		}
		row := s[int(i)*b : int(i+1)*b]
		for k := p0; k < p1; k++ {
			sp := float64(row[bt.pos[k].j]) * inv
			mx := sp
			for _, h := range bt.neg[n0:n1] {
				mx = max(mx, float64(row[h.j])*inv)
			}
			z := math.Exp(sp - mx)
			for _, h := range bt.neg[n0:n1] {
				z += math.Exp(float64(row[h.j])*inv - mx)
			}
			pp := math.Exp(sp-mx) / z
			sum += mx + math.Log(z) - sp
			bt.gpos[k] = float32(-c * (1 - pp))
			for q, h := range bt.neg[n0:n1] {
				bt.gneg[n0+q] += float32(c * math.Exp(float64(row[h.j])*inv-mx) / z)
			}
		}
		p0, n0 = p1, n1
	}
	return sum / float64(len(bt.pos))
}

// rankTerm is the listwise term: for every row i of the batch, the
// softmax over the other rows j of the full-space similarities t_ij/τ is
// the target distribution P_i, that of the prefix similarities s^m_ij/τ is
// Q_i, and the loss is w·mean_i KL(P_i ‖ Q_i). Its gradient with respect
// to s^m_ij is w·(Q_ij − P_ij)/(τ·b).
//
// The targets are shared by the nesting's dims, so P and the entropy part
// Σ_j P_ij log P_ij are computed once per batch (set tFor to nil for a new
// batch), and log Q_ij = s^m_ij/τ − max_j − log Σ_j exp(…) comes from the
// softmax's own normaliser: a dim costs one exp per pair and no log.
type rankTerm struct {
	w, tau float64
	g      []float32 // dL/dS, [b][b]
	// pt holds the target softmaxes P ([b][b]) and plogp their Σ_j P log P
	// per row, for the targets at tFor.
	pt    []float64
	plogp []float64
	tFor  *float32
	// q holds one softmax row per goroutine chunk, sums the chunks' KL.
	q    []float64
	sums []float64
}

// rankGrain is the rows per goroutine chunk of rankTerm.grad.
const rankGrain = 32

// grad writes the gradient with respect to S into r.g and returns the
// mean KL divergence; s holds the prefix similarities ([b][b]). Rows are
// independent and run in parallel.
func (r *rankTerm) grad(s, t []float32, b int) float64 {
	r.g = grow(r.g, b*b)
	g := r.g
	c := r.w / (r.tau * float64(b))
	chunks := (b + rankGrain - 1) / rankGrain
	if r.tFor != &t[0] || len(r.pt) != b*b {
		r.pt = grow64(r.pt, b*b)
		r.plogp = grow64(r.plogp, b)
		kernel.ParallelFor(b, rankGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				p := r.pt[i*b : (i+1)*b]
				softmaxSkip(p, t[i*b:(i+1)*b], i, r.tau)
				var e float64
				for _, v := range p {
					if v > 0 {
						e += v * math.Log(v)
					}
				}
				r.plogp[i] = e
			}
		})
		r.tFor = &t[0]
	}
	r.q = grow64(r.q, chunks*b)
	// Only the first chunk of each goroutine's range writes its sum:
	// clear the others, which an earlier call may have written.
	r.sums = grow64(r.sums, chunks)
	clear(r.sums)
	inv := 1 / r.tau
	kernel.ParallelFor(b, rankGrain, func(lo, hi int) {
		q := r.q[lo/rankGrain*b : (lo/rankGrain+1)*b]
		var kl float64
		for i := lo; i < hi; i++ {
			p := r.pt[i*b : (i+1)*b]
			// KL(P‖Q) = Σ P log P − Σ_j P_j (s_j/τ) + max + log Σ exp(s_j/τ − max).
			mx, z := softmaxSkipNorm(q, s[i*b:(i+1)*b], i, r.tau)
			var ps float64
			for j, pj := range p {
				if j != i {
					ps += pj * float64(s[i*b+j])
				}
			}
			kl += r.plogp[i] - ps*inv + mx + math.Log(z)
			for j := 0; j < b; j++ {
				g[i*b+j] = float32(c * (q[j] - p[j])) // 0 at j = i
			}
		}
		r.sums[lo/rankGrain] = kl
	})
	var sum float64
	for _, v := range r.sums[:chunks] {
		sum += v
	}
	return sum / float64(b)
}

// softmaxSkip writes into p the softmax over j ≠ skip of x_j/τ; p[skip] = 0.
func softmaxSkip(p []float64, x []float32, skip int, tau float64) {
	softmaxSkipNorm(p, x, skip, tau)
}

// softmaxSkipNorm is softmaxSkip that also returns the largest x_j/τ and
// the sum z of exp(x_j/τ − max), so that log p_j = x_j/τ − max − log z.
func softmaxSkipNorm(p []float64, x []float32, skip int, tau float64) (mx, z float64) {
	mx = math.Inf(-1)
	inv := 1 / tau
	for j := range p {
		if j != skip {
			p[j] = float64(x[j]) * inv
			mx = max(mx, p[j])
		}
	}
	for j := range p {
		if j == skip {
			p[j] = 0
			continue
		}
		p[j] = math.Exp(p[j] - mx)
		z += p[j]
	}
	f := 1 / z
	for j := range p {
		p[j] *= f
	}
	return mx, z
}

func grow64(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// isoScratch holds the buffers of isoLoss.
type isoScratch struct {
	gz, gx, nz, nx, dz []float32
}

// isoLoss computes the isometry term over the b rows of z (stride lz) and
// of the inputs x (stride lx):
//
//	L = mean_{i≠j} (‖z_i − z_j‖² − ‖x_i − x_j‖²)² / σ⁴,  σ² = mean_{i≠j} ‖x_i − x_j‖²
//
// and adds w·dL/dz into dz (stride lz). The reference is isoLossRef.
func isoLoss(sc *isoScratch, z []float32, lz int, x []float32, lx, b int, w float64, dz []float32) float64 {
	if b < 2 {
		return 0
	}
	sc.gz = grow(sc.gz, b*b)
	sc.gx = grow(sc.gx, b*b)
	sc.nz = grow(sc.nz, b)
	sc.nx = grow(sc.nx, b)
	sc.dz = grow(sc.dz, b*lz)
	gz, gx := sc.gz, sc.gx
	kernel.Sgemm(false, true, b, b, lz, 1, z, lz, z, lz, 0, gz, b)
	kernel.Sgemm(false, true, b, b, lx, 1, x, lx, x, lx, 0, gx, b)
	for i := 0; i < b; i++ {
		sc.nz[i], sc.nx[i] = gz[i*b+i], gx[i*b+i]
	}
	var sig float64
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			if i != j {
				dx := sc.nx[i] + sc.nx[j] - 2*gx[i*b+j]
				gx[i*b+j] = dx
				sig += float64(dx)
			}
		}
	}
	pairs := float64(b * (b - 1))
	sig /= pairs
	if sig <= 0 {
		return 0
	}
	c := 1 / (pairs * sig * sig)
	var sum float64
	// gz becomes Δ, the distance errors (0 on the diagonal).
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			k := i*b + j
			if i == j {
				continue
			}
			d := sc.nz[i] + sc.nz[j] - 2*gz[k] - gx[k]
			gz[k] = d
			sum += float64(d) * float64(d)
		}
	}
	for i := 0; i < b; i++ {
		gz[i*b+i] = 0
	}
	// dL/dz_i = 8c·[(Σ_j Δ_ij)·z_i − (Δ·z)_i]
	kernel.Sgemm(false, false, b, lz, b, 1, gz, b, z, lz, 0, sc.dz, lz)
	f := float32(8 * c * w)
	for i := 0; i < b; i++ {
		var rs float32
		for _, d := range gz[i*b : (i+1)*b] {
			rs += d
		}
		zi, dzi, out := z[i*lz:(i+1)*lz], sc.dz[i*lz:(i+1)*lz], dz[i*lz:(i+1)*lz]
		for j := range out {
			out[j] += f * (rs*zi[j] - dzi[j])
		}
	}
	return sum * c
}

// recallTerm is the recall term (Options.RecallWeight), the loss of
// bench/adapter/ceiling inside the trainer: it ranks each anchor's K
// full-space neighbours above every other training row at every prefix,
// the question recall@K asks. Anchor i has positives P_i (its K nearest
// training rows in the full space, all of them) among the candidates C
// (rows of adapted embeddings); the candidates before nNeg are uniformly
// drawn training rows (all of them when nothing is sampled), the
// negatives N_i of anchor i being those that are neither in P_i nor i
// itself; later candidates are positives only. With s_ij the cosine of the
// re-normalised m-prefixes of anchor i and candidate j, for every positive p
//
//	ℓ_ip = −log( e^{s_ip/τ} / (e^{s_ip/τ} + w_i·Σ_{j∈N_i} e^{s_ij/τ}) )
//
// so positives do not compete with each other, and w_i (the number of
// training rows that are negatives of i over |N_i|) makes w_i·Σ_{N_i} an
// unbiased estimate of the sum over every negative when they are sampled
// (w_i = 1 when C holds every training row). The loss is w·mean_{(i,p)} ℓ_ip;
// with π_ip = e^{s_ip/τ}/(e^{s_ip/τ} + w_i·Σ_{N_i}) its gradient is
//
//	∂/∂s_ip = w·(π_ip − 1)/(τ·|P|),  ∂/∂s_ij = w·w_i·e^{s_ij/τ}·Σ_p 1/(e^{s_ip/τ} + w_i·Σ_{N_i}) /(τ·|P|)  (j ∈ N_i)
//
// with |P| the number of (anchor, positive) pairs.
type recallTerm struct {
	w, tau float64
	// pos[i] are anchor i's positives and self[i] its own candidate row
	// (−1 if it has none), as candidate rows; negW[i] is w_i.
	pos  [][]int32
	self []int32
	negW []float64
	nNeg int

	ua, uc, na, nc []float32 // unit prefixes and norms of anchors and candidates
	s, dua, duc    []float32 // S then G ([anchors][candidates]); dL/dU
	sums           []float64
	mark           [][]bool // per goroutine chunk: positives of the row at hand
}

// recallGrain is the anchors per goroutine chunk of recallTerm.loss.
const recallGrain = 8

// loss computes the term at prefix m for the anchors' rows za and the
// candidates' rows zc (strides ld), adds its gradient into dza and dzc
// (strides ld, first m columns; the two may be parts of one slice) and
// returns the mean ℓ_ip. A zero prefix has no direction: its row gets no
// gradient. The reference is recallLossRef.
func (r *recallTerm) loss(za []float32, na int, zc []float32, nc, ld, m int, dza, dzc []float32) float64 {
	if na == 0 || nc == 0 {
		return 0
	}
	r.ua, r.na = unitPrefixes(r.ua, r.na, za, na, ld, m)
	r.uc, r.nc = unitPrefixes(r.uc, r.nc, zc, nc, ld, m)
	r.s = grow(r.s, na*nc)
	kernel.Sgemm(false, true, na, nc, m, 1, r.ua, m, r.uc, m, 0, r.s, nc)
	var npos int
	for _, p := range r.pos[:na] {
		npos += len(p)
	}
	if npos == 0 {
		return 0
	}
	c := r.w / (r.tau * float64(npos))
	inv := 1 / r.tau
	chunks := (na + recallGrain - 1) / recallGrain
	r.sums = grow64(r.sums, chunks)
	clear(r.sums) // as in rankTerm.grad: one sum per goroutine's range
	for len(r.mark) < chunks {
		r.mark = append(r.mark, nil)
	}
	kernel.ParallelFor(na, recallGrain, func(lo, hi int) {
		ch := lo / recallGrain
		if len(r.mark[ch]) < nc {
			r.mark[ch] = make([]bool, nc)
		}
		mark := r.mark[ch][:nc]
		var sum float64
		for i := lo; i < hi; i++ {
			g := r.s[i*nc : (i+1)*nc] // similarities in, gradient out
			pos, own := r.pos[i], int(r.self[i])
			for _, p := range pos {
				mark[p] = true
			}
			mx := math.Inf(-1)
			for _, v := range g {
				mx = max(mx, float64(v)*inv)
			}
			// g[j] becomes e^{s_ij/τ − mx} for the negatives, 0 for the
			// other candidates but the positives, which are read first.
			var neg float64
			for j := range g {
				switch {
				case mark[j]:
				case j >= r.nNeg || j == own:
					g[j] = 0
				default:
					e := math.Exp(float64(g[j])*inv - mx)
					g[j] = float32(e)
					neg += e
				}
			}
			neg *= r.negW[i]
			var sinv float64
			for _, p := range pos {
				lp := float64(g[p])*inv - mx
				e := math.Exp(lp)
				den := e + neg
				sum += math.Log(den) - lp
				sinv += 1 / den
				g[p] = float32(c * (e/den - 1))
			}
			f := float32(c * r.negW[i] * sinv)
			for j := range g {
				if !mark[j] {
					g[j] *= f
				}
			}
			for _, p := range pos {
				mark[p] = false
			}
		}
		r.sums[ch] = sum
	})
	var sum float64
	for _, v := range r.sums[:chunks] {
		sum += v
	}
	// dU_a = G·U_c, dU_c = Gᵀ·U_a; then through the normalisation.
	r.dua = grow(r.dua, na*m)
	r.duc = grow(r.duc, nc*m)
	kernel.Sgemm(false, false, na, m, nc, 1, r.s, nc, r.uc, m, 0, r.dua, m)
	kernel.Sgemm(true, false, nc, m, na, 1, r.s, nc, r.ua, m, 0, r.duc, m)
	addNormGrad(dza, ld, r.dua, r.ua, r.na, na, m)
	addNormGrad(dzc, ld, r.duc, r.uc, r.nc, nc, m)
	return sum / float64(npos)
}

// unitPrefixes writes the re-normalised m-prefixes of the n rows of z
// (stride ld) into u ([n][m]) and their norms into nrm.
func unitPrefixes(u, nrm, z []float32, n, ld, m int) ([]float32, []float32) {
	u = grow(u, n*m)
	nrm = grow(nrm, n)
	for i := 0; i < n; i++ {
		row := u[i*m : (i+1)*m]
		copy(row, z[i*ld:i*ld+m])
		nrm[i] = kernel.Normalize(row)
	}
	return u, nrm
}

// addNormGrad adds dz_i += (du_i − u_i·(u_i·du_i))/|z_i| into the first m
// columns of the rows of dz (stride ld), the gradient through z ↦ z/|z|;
// rows of norm 0 get none.
func addNormGrad(dz []float32, ld int, du, u, nrm []float32, n, m int) {
	for i := 0; i < n; i++ {
		r := nrm[i]
		if r == 0 {
			continue
		}
		ui, gi := u[i*m:(i+1)*m], du[i*m:(i+1)*m]
		c := kernel.Dot(ui, gi)
		out := dz[i*ld : i*ld+m]
		f := 1 / r
		for j := range out {
			out[j] += (gi[j] - ui[j]*c) * f
		}
	}
}
