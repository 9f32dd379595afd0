//go:build amd64 && !noasm

package kernel

import (
	"runtime"
	"sync/atomic"
)

// gemmShared is gemmAVX2 on t goroutines for products large enough to
// pack both operands, as BLIS and OpenBLAS thread them: the goroutines
// split m (whole 6-row panels each) and share one packed block of B.
// For every (jc, pc) block each packs its share of B's 16-wide panels
// into the shared buffer, waits for the others (a barrier), then packs
// its own rows of A and multiplies them by the whole block. So A and B
// are each packed once in all, where splitting n gave every goroutine
// all of A to pack. The B buffer is doubled: a goroutine may pack the
// next block while another still multiplies by the current one, so one
// barrier per block suffices.
func gemmShared(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, over bool) {
	kcl := kcFor(m, n)
	if useAVX512 && k <= kcSharedWhole {
		kcl = k
	}
	nk := (k + kcl - 1) / kcl
	kcs := (k + nk - 1) / nk
	ncs := min(n, ncMax)
	bsz := kcs * roundUp(ncs, gemmNR)
	shared := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(shared)
	shared.b = grow(shared.b, 2*bsz)
	// The goroutines' rows and their blocks of A come in whole tiles: 6
	// rows, or 12 with the AVX-512 kernel (else every block would end in
	// a 6-row remainder run by the narrower kernel).
	unit := gemmMR
	if useAVX512 {
		unit = 2 * gemmMR
	}
	panels := (m + unit - 1) / unit
	bar := newSpinBarrier(t)

	work := func(id int) {
		r0 := id * panels / t * unit
		r1 := min((id+1)*panels/t*unit, m)
		// Blocks of A of equal height (whole tiles), at most mcMax.
		rows := max(r1-r0, 1)
		nb := (rows + mcMax - 1) / mcMax
		mcs := roundUp((rows+nb-1)/nb, unit)
		bufs := gemmPool.Get().(*gemmBufs)
		defer gemmPool.Put(bufs)
		bufs.a = grow(bufs.a, kcs*roundUp(mcs, gemmMR)+2) // +2: packA6's overrun
		it := 0
		for jc := 0; jc < n; jc += ncs {
			nc := min(ncs, n-jc)
			np := (nc + gemmNR - 1) / gemmNR
			for pc := 0; pc < k; pc += kcs {
				kc := min(kcs, k-pc)
				bp := shared.b[it%2*bsz : it%2*bsz+bsz]
				it++
				if p0, p1 := id*np/t, (id+1)*np/t; p0 < p1 {
					j0 := p0 * gemmNR
					packB(bp[j0*kc:], transB, b, ldb, pc, jc+j0, kc, min(nc, p1*gemmNR)-j0)
				}
				bar.wait()
				load := 1
				if over && pc == 0 {
					load = 0
				}
				for ic := r0; ic < r1; ic += mcs {
					mc := min(mcs, r1-ic)
					packA(bufs.a, transA, a, lda, ic, pc, mc, kc)
					macroTiles(bufs.a, bp, mc, nc, kc, alpha, c[ic*ldc+jc:], ldc, load)
				}
			}
		}
	}
	// One chunk per goroutine: every id runs at once (the barrier needs it).
	parallelForT(t, t, 1, func(lo, hi int) {
		for id := lo; id < hi; id++ {
			work(id)
		}
	})
}

// macroTiles multiplies a packed mc×kc block of A (6-row panels) by a
// packed kc×nc block of B (16-wide panels) into C at c, in 6×16 tiles or,
// with the AVX-512 kernels, 12×32, 12×16 and 6×32 tiles (forTiles): one
// B micro-panel stays in L1 while the A panels stream from L2. gemmBlocked
// uses it too when it packs both operands.
func macroTiles(ap, bp []float32, mc, nc, kc int, alpha float32, c []float32, ldc, load int) {
	forTiles(mc, nc, true, true, func(ir, jr int) {
		tile6(kc, &ap[ir*kc], 1, gemmMR, &bp[jr*kc], gemmNR, c[ir*ldc+jr:], ldc, min(gemmMR, mc-ir), min(gemmNR, nc-jr), alpha, load)
	}, func(ir, jr, nr int) {
		b1 := &bp[jr*kc]
		if nr > gemmNR {
			b1 = &bp[(jr+gemmNR)*kc]
		}
		tile12(kc, &ap[ir*kc], &ap[(ir+gemmMR)*kc], 1, gemmMR, &bp[jr*kc], b1, gemmNR, c[ir*ldc+jr:], ldc, mc-ir, nr, alpha, load)
	}, func(ir, jr int) {
		tile6x32(kc, &ap[ir*kc], 1, gemmMR, &bp[jr*kc], &bp[(jr+gemmNR)*kc], gemmNR, c[ir*ldc+jr:], ldc, min(gemmMR, mc-ir), alpha, load)
	})
}

// spinBarrier makes n goroutines wait for each other. The waits of a
// blocked product are short and its goroutines run on their own cores, so
// a waiter spins on the generation count, yielding its thread now and
// then in case the goroutine it waits for shares it.
type spinBarrier struct {
	n     int32
	count atomic.Int32
	gen   atomic.Uint32
}

func newSpinBarrier(n int) *spinBarrier { return &spinBarrier{n: int32(n)} }

func (b *spinBarrier) wait() {
	g := b.gen.Load()
	if b.count.Add(1) == b.n {
		b.count.Store(0)
		b.gen.Add(1)
		return
	}
	for i := 1; b.gen.Load() == g; i++ {
		if i%1024 == 0 {
			runtime.Gosched()
		}
	}
}

// kcSharedWhole is the k up to which gemmShared keeps k in one block
// with the AVX-512 kernel, whose kc is 192: k = 256 ran as two blocks of
// 128, each with its shared packing and its barrier. One block of 256
// (a B micro-panel of 32 KiB, in Zen 5's 48 KiB L1d): on 2 threads, 21
// alternating rounds in one process (2026-12-02), 256³ 251 → 282 GFLOP/s
// in the median, 192×256×256 239 → 262, 384×384×256 294 → 320,
// 256×256×200 240 → 284, and 256×256×512 (two blocks either way) the
// same. The one-goroutine path keeps kc = 192 there (256 was within the
// rounds' spread at 1 thread).
const kcSharedWhole = 256
