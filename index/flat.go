package index

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"unsafe"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
)

// Flat is the exact searcher: it scores every row at the searched dim.
//
// A single query is scanned on the calling goroutine without allocating
// when dst has capacity k (k >= 64 keeps its candidates in a pooled
// selection buffer instead of a heap, and from k >= N/64 scores every row
// first and picks the k best by a histogram threshold; see Flat.best): at dims up to 64 from the blocked copy of the
// prefixes (see Vectors) with kernel.DotBlocks16, above that row by row
// with kernel.DotRows, 512 rows per call, each chunk's best score compared
// with the current k-th best before its rows are looked at. A batch is scored
// in blocks of queries × rows by kernel.Sgemm on the prefixes in place
// (multi-core), and each score is compared with the query's current k-th
// best before it touches the heap. With FlatOptions.Int8Filter (see
// NewFlatWith) a batch is first scored on int8 codes of the rows.
//
// Cosine and L2 use per-row prefix norms (see Vectors.Prepare): Cosine
// ranks by x·q/‖x‖ and L2 by 2·x·q − ‖x‖², the scores being recovered as
// key/‖q‖ and key − ‖q‖² (so an L2 score may round to slightly above 0).
type Flat struct {
	v     *Vectors
	pool  sync.Pool  // *selBuf: selection buffers of single queries with k >= selectMinK
	codes *int8Codes // FlatOptions.Int8Filter: the rows' int8 codes, else nil
}

// selBuf is the selection buffer of one single-query scan with k >=
// selectMinK: room for 2k hits, and Flat.bestThreshold's keys of every
// row and selectKeys's scratch.
type selBuf struct {
	h    []Hit
	keys []float32
	u, c []uint32
}

// selectMinK is the k from which a single-query scan keeps its candidates
// in a selection buffer rather than a heap (see topK): a funnel's first
// stage keeps hundreds of rows.
const selectMinK = 64

var _ Searcher = (*Flat)(nil)

// NewFlat returns the exact searcher over v.
func NewFlat(v *Vectors) *Flat { return &Flat{v: v} }

// Vectors returns the storage f searches.
func (f *Flat) Vectors() *Vectors { return f.v }

// Search implements Searcher; it is exact.
func (f *Flat) Search(q []float32, dim, k int, dst []Hit) ([]Hit, error) {
	v := f.v
	if err := checkQuery(v, q, dim); err != nil {
		return dst[:0], err
	}
	k = min(max(k, 0), v.n)
	if k == 0 {
		return dst[:0], nil
	}
	q = q[:dim]
	if k < selectMinK {
		t := topK{h: dst[:0], k: k}
		f.scan(&t, q)
		return f.finish(t.sorted(), q), nil
	}
	b, _ := f.pool.Get().(*selBuf)
	if b == nil {
		b = new(selBuf)
	}
	h := f.best(b, q, k)
	slices.SortFunc(h, compareHits)
	dst = append(dst[:0], f.finish(h, q)...)
	f.pool.Put(b)
	return dst, nil
}

// best scans for the k best rows at len(q) (1 <= k <= N) in the selection
// buffer b, growing it if needed, and returns them in increasing index
// with their scan keys as scores and no ids (see finish): the first stage
// of a funnel, which reranks them anyway.
//
// When k is at least N/thresholdRatio it scores every row into b.keys and
// picks the k best by a threshold (selectKeys); otherwise it offers the
// rows to a topK in selection mode as they are scored.
func (f *Flat) best(b *selBuf, q []float32, k int) []Hit {
	if cap(b.h) < 2*k {
		b.h = make([]Hit, 0, 2*k)
	}
	if k*thresholdRatio >= f.v.n {
		if h, ok := f.bestThreshold(b, q, k); ok {
			return h
		}
	}
	t := topK{h: b.h[:0], k: k, sel: true}
	f.scan(&t, q)
	return t.best()
}

// thresholdRatio is the N/k from which a single query's selection of its
// k best rows scores every row first and picks them by a threshold
// (Flat.bestThreshold) instead of offering rows to a selection buffer:
// with k a large share of N nearly every row enters the buffer, and its
// compactions cost more than a histogram of all the keys. The threshold
// path holds 12 bytes of scratch per row for each query in flight (pooled).
// Measured on the text report's shape (BenchmarkFlatBest, 12,208 rows at
// 16 dims, loaded machine): the buffer won at k = 100, the threshold from
// k = 200 on, by 3-5x at k = 1000. A variable so that tests can force
// either path.
var thresholdRatio = 64

// bestThreshold is best by a threshold: it writes the key of every row
// into b.keys and selects the k best with selectKeys. It reports false
// (and does nothing else useful) when a key is infinite, which the
// histogram cannot bucket.
func (f *Flat) bestThreshold(b *selBuf, q []float32, k int) ([]Hit, bool) {
	v := f.v
	n := v.n
	nb := (n + kernel.BlockRows - 1) / kernel.BlockRows
	if cap(b.keys) < nb*kernel.BlockRows {
		b.keys = make([]float32, nb*kernel.BlockRows)
	}
	keys := b.keys[:nb*kernel.BlockRows]
	dim := len(q)
	if dim <= blockMaxDim {
		blk := v.prefixBlocks(dim)
		m := v.blockWidth(dim)
		var qa [blockMaxDim + 1]float32
		copy(qa[:], q)
		qa[dim] = 1 // the L2 column; unused otherwise
		var masks [scanChunk / kernel.BlockRows]uint16
		inf := float32(math.Inf(1)) // no row is marked: only the keys are wanted
		for r0 := 0; r0 < n; r0 += scanChunk {
			wb := min(scanChunk, nb*kernel.BlockRows-r0)
			kernel.DotBlocks16(keys[r0:r0+wb], qa[:m], blk[r0*m:(r0+wb)*m], inf, masks[:wb/kernel.BlockRows])
		}
		if v.metric == mrl.L2 { // the blocks give half the key
			for i, x := range keys[:n] {
				keys[i] = 2 * x
			}
		}
	} else {
		norms := v.prefixNorms(dim)
		for r0 := 0; r0 < n; r0 += scanChunk {
			w := min(scanChunk, n-r0)
			if v.metric == mrl.Cosine {
				kernel.DotRowsScaled(keys[r0:r0+w], q, v.data[r0*v.d:], v.d, norms[r0:r0+w])
				continue
			}
			kernel.DotRows(keys[r0:r0+w], q, v.data[r0*v.d:], v.d)
			if norms != nil {
				for j, dot := range keys[r0 : r0+w] {
					keys[r0+j] = scanKey(v.metric, dot, norms[r0+j])
				}
			}
		}
	}
	if cap(b.u) < n {
		b.u = make([]uint32, n)
	}
	if cap(b.c) < n {
		b.c = make([]uint32, n)
	}
	return selectKeys(keys[:n], k, b.h[:0], b.u[:n], b.c[:n])
}

// selectKeysBuckets is the number of histogram buckets of selectKeys.
const selectKeysBuckets = 1024

// selectKeys appends to h the k best rows of keys (key keys[i] for row i;
// higher is better, ties by lower index) in increasing index, as Hits
// scored by their keys: the rows a topK keeps (NaN keys are never kept, as
// a scan's key > bar test never passes them). u and c are scratch for
// len(keys) values each. It reports false when a key is infinite.
//
// A histogram of the keys over selectKeysBuckets equal buckets (spanning
// the range of a sample of the keys; keys outside it go to the end
// buckets) finds the bucket that holds the k-th best: every row of a
// higher bucket is kept, and the rows of that bucket are ranked exactly
// (kthLargest of their orderedBits) for the rest. A key's bucket is
// monotone in the key, so a higher bucket holds only larger keys.
func selectKeys(keys []float32, k int, h []Hit, u, c []uint32) ([]Hit, bool) {
	const none = selectKeysBuckets // the bucket of a NaN key
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for i := 0; i < len(keys); i += max(1, len(keys)/256) {
		if x := keys[i]; x < lo { // NaN compares false
			lo = x
		}
		if x := keys[i]; x > hi {
			hi = x
		}
	}
	scale := float32(selectKeysBuckets-1) / (hi - lo)
	if !(hi > lo) || math.IsInf(float64(scale), 0) || scale != scale {
		lo, scale = 0, 0 // one value, no value but NaN, an infinite key or a range too small to divide by
	}
	var hist [selectKeysBuckets]int32
	u = u[:len(keys)]
	for i, x := range keys {
		if x-x != 0 { // NaN or ±Inf
			if x == x {
				return h, false
			}
			u[i] = none
			continue
		}
		f := (x - lo) * scale
		if !(f > 0) { // also NaN, from an overflow of x − lo times scale 0
			f = 0
		}
		b := uint32(min(f, selectKeysBuckets-1))
		u[i] = b
		hist[b]++
	}
	total := 0
	for _, c := range hist {
		total += int(c)
	}
	k = min(k, total)
	if k == 0 {
		return h, true
	}
	bb, above := uint32(selectKeysBuckets-1), 0 // the bucket of the k-th best; rows in higher buckets
	for above+int(hist[bb]) < k {
		above += int(hist[bb])
		bb--
	}
	// Rank the boundary bucket's rows exactly.
	c = c[:0]
	for i, b := range u {
		if b == bb {
			c = append(c, orderedBits(keys[i]))
		}
	}
	need := k - above
	t := kthLargest(c, need)
	gt := 0 // rows of the bucket above t
	for _, o := range c {
		if o > t {
			gt++
		}
	}
	ties := need - gt // rows at t to keep, the lowest indexes first
	for i, b := range u {
		switch {
		case b < bb || b == none:
			continue
		case b == bb:
			o := orderedBits(keys[i])
			if o < t || (o == t && ties == 0) {
				continue
			}
			if o == t {
				ties--
			}
		}
		h = append(h, Hit{Score: keys[i], Index: int32(i)})
	}
	return h, true
}

// scan offers every row to t, keyed at len(q).
func (f *Flat) scan(t *topK, q []float32) {
	if len(q) <= blockMaxDim {
		f.scanBlocks(t, q)
	} else {
		f.scanRows(t, q)
	}
}

// scanChunk is the number of rows a single-query scan scores per kernel
// call before offering them to the top-k (a multiple of kernel.BlockRows).
const scanChunk = 512

// scanBlocks scans the blocked copy at len(q) (see Vectors.prefixBlocks).
// The kernel marks the rows that beat the current k-th best, so only those
// are looked at; the bar it was given may have risen since, so each is
// compared again.
func (f *Flat) scanBlocks(t *topK, q []float32) {
	v := f.v
	dim := len(q)
	blk := v.prefixBlocks(dim)
	m := v.blockWidth(dim)
	var qa [blockMaxDim + 1]float32
	copy(qa[:], q)
	qa[dim] = 1 // the L2 column; unused otherwise
	qb := qa[:m]
	// L2 blocks give half the key; halving the bar is exact.
	scale := float32(1)
	if v.metric == mrl.L2 {
		scale = 2
	}
	var buf [scanChunk]float32
	var masks [scanChunk / kernel.BlockRows]uint16
	bar := float32(math.Inf(-1)) // the score to beat: t.worst() once t is full
	for r0 := 0; r0 < v.n; r0 += scanChunk {
		w := min(scanChunk, v.n-r0)
		nb := (w + kernel.BlockRows - 1) / kernel.BlockRows
		wb := nb * kernel.BlockRows
		if kernel.DotBlocks16(buf[:wb], qb, blk[r0*m:(r0+wb)*m], bar/scale, masks[:nb]) == 0 {
			continue
		}
		for b, mask := range masks[:nb] {
			for mask != 0 {
				j := b*kernel.BlockRows + bits.TrailingZeros16(mask)
				mask &= mask - 1
				if j >= w {
					break // zero rows padding the last block
				}
				// Rows come in increasing index, so a tie with the bar loses.
				if key := buf[j] * scale; key > bar {
					t.push(Hit{Score: key, Index: int32(r0 + j)})
					if t.full() {
						bar = t.worst()
					}
				}
			}
		}
	}
}

// scanRows scans the row-major vectors, scanChunk rows per kernel call.
func (f *Flat) scanRows(t *topK, q []float32) {
	v := f.v
	norms := v.prefixNorms(len(q))
	metric, d, data := v.metric, v.d, v.data
	var buf [scanChunk]float32
	bar := float32(math.Inf(-1)) // the score to beat: t.worst() once t is full
	for r0 := 0; r0 < v.n; r0 += scanChunk {
		w := min(scanChunk, v.n-r0)
		var best float32
		if metric == mrl.Cosine {
			// The keys dot·(1/‖x‖) straight from the kernel, with their
			// largest: a chunk that cannot enter the top-k is skipped as
			// for inner products.
			best = kernel.DotRowsScaled(buf[:w], q, data[r0*d:], d, norms[r0:r0+w])
		} else {
			best = kernel.DotRows(buf[:w], q, data[r0*d:], d)
		}
		if norms == nil || metric == mrl.Cosine {
			if best <= bar {
				continue
			}
			for j, key := range buf[:w] {
				if key > bar {
					t.push(Hit{Score: key, Index: int32(r0 + j)})
					if t.full() {
						bar = t.worst()
					}
				}
			}
			continue
		}
		nr := norms[r0 : r0+w]
		for j, dot := range buf[:w] {
			if key := scanKey(metric, dot, nr[j]); key > bar {
				t.push(Hit{Score: key, Index: int32(r0 + j)})
				if t.full() {
					bar = t.worst()
				}
			}
		}
	}
}

// finish turns keys into scores and fills in ids.
func (f *Flat) finish(h []Hit, q []float32) []Hit {
	a, b := queryScale(f.v.metric, q)
	for i := range h {
		h[i].Score = h[i].Score*a + b
		h[i].ID = f.v.ids[h[i].Index]
	}
	return h
}

// SearchBatch implements Searcher; it is exact.
//
// The queries are packed in panels of 16 and scored against six rows at a
// time by kernel.ScanTile (32 queries against twelve rows with the AVX-512
// kernels: kernel.ScanTileShape), which applies the metric's per-row key
// and compares the keys with each query's current k-th best in registers:
// the heap is touched only for the (rare) tiles with a hit, and no score
// matrix is ever written out. Rows are taken in chunks that stay in the L2
// cache while every panel passes over them; panels are spread over
// kernel.Threads() goroutines. From k = 64 on each query selects its k best
// in a buffer of 2k hits instead of a heap, as Search does, with the
// queries taken in blocks whose buffers stay under 32 MiB.
func (f *Flat) SearchBatch(q []float32, ldq, dim, k int, dst [][]Hit) ([][]Hit, error) {
	return f.searchBatch(q, ldq, dim, k, dst, true)
}

// searchBatch is SearchBatch; unless sorted, each query's hits come in no
// particular order (a funnel's first stage).
func (f *Flat) searchBatch(q []float32, ldq, dim, k int, dst [][]Hit, sorted bool) ([][]Hit, error) {
	v := f.v
	nq, err := checkBatch(v, q, ldq, dim)
	if err != nil {
		return dst[:0], err
	}
	dst = batchDst(dst, nq)
	k = min(max(k, 0), v.n)
	if k == 0 || nq == 0 {
		return dst, nil
	}
	_, panel := kernel.ScanTileShape()
	if k < selectMinK {
		f.searchBlock(q, ldq, dim, k, nq, nil, dst, sorted)
		return dst, nil
	}
	// From selectMinK on (a funnel's first stage keeps hundreds of rows)
	// each query keeps its candidates in a selection buffer of 2k hits, as
	// Search does: a heap of that size costs more per candidate than the
	// scan itself. The queries go in blocks whose buffers take at most
	// selBatchBytes.
	block := max(panel, selBatchBytes/(2*k*hitBytes)/panel*panel)
	block = min(block, nq)
	bufs := make([]Hit, block*2*k)
	for b0 := 0; b0 < nq; b0 += block {
		b1 := min(b0+block, nq)
		f.searchBlock(q[b0*ldq:], ldq, dim, k, b1-b0, bufs, dst[b0:b1], sorted)
	}
	return dst, nil
}

// selBatchBytes bounds the selection buffers of one block of queries of
// SearchBatch (2k hits per query).
const selBatchBytes = 32 << 20

// hitBytes is the size of a Hit.
const hitBytes = int(unsafe.Sizeof(Hit{}))

// searchBlock is searchBatch on nq queries; with bufs (2k hits per query)
// each query selects its k best in a buffer instead of a heap.
func (f *Flat) searchBlock(q []float32, ldq, dim, k, nq int, bufs []Hit, dst [][]Hit, sorted bool) {
	heaps := make([]topK, nq)
	for i := range heaps {
		if bufs != nil {
			heaps[i] = topK{h: bufs[i*2*k : i*2*k : (i+1)*2*k], k: k, sel: true}
		} else {
			heaps[i] = topK{h: dst[i][:0], k: k}
		}
	}
	if !f.Int8Filter(dim) || !f.searchBlockInt8(q, ldq, dim, nq, heaps) {
		f.scanFloat(q, ldq, dim, nq, heaps)
	}
	f.collect(q, ldq, dim, nq, heaps, bufs, dst, sorted)
}

// scanFloat scores the nq queries against every row with kernel.ScanTile
// and offers the hits to heaps; see SearchBatch.
func (f *Flat) scanFloat(q []float32, ldq, dim, nq int, heaps []topK) {
	group, panel := kernel.ScanTileShape()
	np := (nq + panel - 1) / panel
	qp := make([]float32, np*dim*panel)
	thr := make([]float32, np*panel)
	for j := range thr {
		if j >= nq {
			thr[j] = float32(math.Inf(1)) // padding: never a hit
			continue
		}
		thr[j] = float32(math.Inf(-1)) // every row is a hit until k are held
		b := qp[(j/panel)*dim*panel:]
		for p, x := range q[j*ldq : j*ldq+dim] {
			b[p*panel+j%panel] = x
		}
	}
	// Rows per chunk: about 64 KiB of prefixes, a multiple of the group.
	chunk := max(group, 16384/dim/group*group)
	kernel.ParallelFor(np, 1, func(lo, hi int) {
		f.scanPanels(heaps, qp[lo*dim*panel:hi*dim*panel], thr[lo*panel:hi*panel], lo*panel, dim, chunk, group, panel)
	})
}

// collect turns the nq heaps into dst's results (copied into dst[i] when
// bufs holds the selection buffers).
func (f *Flat) collect(q []float32, ldq, dim, nq int, heaps []topK, bufs []Hit, dst [][]Hit, sorted bool) {
	kernel.ParallelFor(nq, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			t := &heaps[i]
			var res []Hit
			if sorted {
				res = t.sorted()
			} else {
				res = t.best()
			}
			res = f.finish(res, q[i*ldq:i*ldq+dim])
			if bufs != nil {
				res = append(dst[i][:0], res...)
			}
			dst[i] = res
		}
	})
}

// scanPanels runs the panels of packed queries qp (panel queries each,
// thresholds thr, first query q0) over every row, group rows at a time;
// see SearchBatch.
func (f *Flat) scanPanels(heaps []topK, qp, thr []float32, q0, dim, chunk, group, panel int) {
	v := f.v
	n, d, data := v.n, v.d, v.data
	norms := v.prefixNorms(dim)
	var cbuf [12 * 32]float32 // the largest tile
	c := cbuf[:group*panel]
	// The scales and offsets of every group of a chunk, set once per
	// chunk rather than once per panel and group.
	sos := make([]float32, (chunk+group-1)/group*2*group)
	var pad []float32 // the last, partial group of rows, zero-padded
	for r0 := 0; r0 < n; r0 += chunk {
		r1 := min(r0+chunk, n)
		for g := r0; g < r1; g += group {
			rows := min(group, r1-g)
			f.tileScales(sos[(g-r0)/group*2*group:][:2*group], norms, g, rows)
		}
		for p := 0; p < len(thr)/panel; p++ {
			b := qp[p*dim*panel : (p+1)*dim*panel]
			th := thr[p*panel : (p+1)*panel]
			for g := r0; g < r1; g += group {
				rows := min(group, r1-g)
				a, lda := data[g*d:], d
				if rows < group {
					if pad == nil {
						pad = make([]float32, group*dim)
					}
					clear(pad)
					for i := 0; i < rows; i++ {
						copy(pad[i*dim:(i+1)*dim], data[(g+i)*d:(g+i)*d+dim])
					}
					a, lda = pad, dim
				}
				so := sos[(g-r0)/group*2*group:][:2*group]
				mask := kernel.ScanTile(dim, a, lda, b, so, th, c)
				for mask != 0 {
					j := bits.TrailingZeros32(mask)
					mask &= mask - 1
					t := &heaps[q0+p*panel+j]
					for i := 0; i < rows; i++ {
						key := c[i*panel+j]
						// Rows come in increasing index, so a tie with the worst loses.
						if t.full() && key <= t.worst() {
							continue
						}
						t.push(Hit{Score: key, Index: int32(g + i)})
					}
					if t.full() {
						th[j] = t.worst()
					}
				}
			}
		}
	}
}
