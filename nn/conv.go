package nn

import (
	"math"
	"math/rand/v2"

	"github.com/gomrl/mrl/internal/kernel"
)

// Conv2d is a 2-D convolution over NHWC images with a square kernel.
// W has shape [OutC][K][K][InC]; the product runs as im2col + GEMM, a
// block of images at a time (see convBlockBytes); a 1×1 kernel with
// stride 1 and no padding skips im2col and runs as one GEMM. With
// kernel.Threads() > 1 the im2col passes split the batch among the
// goroutines, each running the block loop on its own images
// (forwardWorkers, backwardWorkers); results are then the same from run
// to run for a given kernel.Threads(). A convolution with few input
// channels (a first layer's 1 or 3, see directTaps) skips im2col too: it
// runs kernel.ConvTaps over each output row of a zero-padded copy of its
// input, and, with NoInputGrad, kernel.ConvTapsDW for dW.
type Conv2d struct {
	InC, OutC, K, Stride, Pad int
	W, B                      *Param // B is nil without bias
	NoInputGrad               bool

	x          *Tensor
	cols, dcol []float32
	dwt        []float32     // dWᵀ of the one-goroutine Backward, see transposedDW
	ws         []convScratch // per goroutine, see forwardWorkers
	y, dx      Tensor

	// The direct path's (directTaps) padded input, its per-pixel tap
	// offsets and Wᵀ.
	xpad, wt []float32
	off      []int
}

// NewConv2d returns a convolution initialised with He (Kaiming) normal
// weights, std = sqrt(2/fan_in), fan_in = k·k·inC, as used for ReLU
// networks; the bias, if any, starts at 0.
func NewConv2d(inC, outC, k, stride, pad int, bias bool, r *rand.Rand) *Conv2d {
	c := &Conv2d{InC: inC, OutC: outC, K: k, Stride: stride, Pad: pad,
		W: newParam("weight", false, outC, k, k, inC)}
	HeNormal(c.W.W, k*k*inC, r)
	if bias {
		c.B = newParam("bias", true, outC)
	}
	return c
}

func (c *Conv2d) direct() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 }

// convBlockBytes bounds the patch matrix of one block of images per
// thread: im2col, the products and col2im run a block of whole images at
// a time, so the patches stay in L2 between the passes that write and read
// them instead of going through memory (a 256×14×14 batch of 3×3×32
// patches is 58 MB). A var so tests can force small blocks.
var convBlockBytes = 1 << 20

// blockImages is the number of images in one block of n: as many as fit
// convBlockBytes per thread in rows·kk floats of patches, at least one.
func (c *Conv2d) blockImages(n, rows, kk int) int {
	perImage := rows / max(n, 1) * kk * 4
	return max(1, min(n, convBlockBytes*kernel.Threads()/max(perImage, 1)))
}

// Forward convolves x of shape [N, H, W, InC].
func (c *Conv2d) Forward(x *Tensor, train bool) *Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != c.InC {
		panic("nn: Conv2d expects NHWC input with InC channels")
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	oh, ow := kernel.ConvOut(h, c.K, c.Stride, c.Pad), kernel.ConvOut(w, c.K, c.Stride, c.Pad)
	c.x = x
	rows, kk := n*oh*ow, c.K*c.K*c.InC
	y := reshape(&c.y, n, oh, ow, c.OutC)
	switch t := convWorkers(n); {
	case c.directTaps():
		c.forwardTaps(x, y)
	case c.direct():
		kernel.Sgemm(false, true, rows, c.OutC, kk, 1, x.Data, kk, c.W.W, kk, 0, y.Data, c.OutC)
	case t > 1:
		c.forwardWorkers(t, x, y)
	default:
		g := c.blockImages(n, rows, kk)
		c.cols = grow(c.cols, g*oh*ow*kk)
		c.forwardBlocks(parallelKernels, x, y, 0, n, g, c.cols)
	}
	if c.B != nil {
		addRowBias(y.Data, c.B.W)
	}
	return y
}

// convWorkers is the number of goroutines that split a convolution's
// batch of n images among themselves (forwardWorkers, backwardWorkers):
// kernel.Threads(), or 1 (the kernels split each block instead) when
// there are fewer than two images per goroutine.
func convWorkers(n int) int {
	t := kernel.Threads()
	if n < 2*t {
		return 1
	}
	return t
}

// convScratch is one worker's buffers: its block's patches and their
// gradients, and its share of dW.
type convScratch struct {
	cols, dcol, dw []float32
}

// workerImages returns the images [lo, hi) of worker i of t: contiguous
// shares of n as equal as can be.
func workerImages(i, t, n int) (lo, hi int) { return i * n / t, (i + 1) * n / t }

// scratch returns t workers' scratch buffers.
func (c *Conv2d) scratch(t int) []convScratch {
	if len(c.ws) < t {
		c.ws = append(c.ws, make([]convScratch, t-len(c.ws))...)
	}
	return c.ws[:t]
}

// convKernels are the im2col, product and col2im a block loop runs: the
// parallel ones, or the single-goroutine ones inside a worker.
type convKernels struct {
	im2col, col2im func(dst, src []float32, n, h, w, c, kh, kw, stride, pad int)
	sgemm          func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

var (
	parallelKernels = convKernels{kernel.Im2colNHWC, kernel.Col2imNHWC, kernel.Sgemm}
	serialKernels   = convKernels{kernel.Im2colNHWCSerial, kernel.Col2imNHWCSerial, kernel.SgemmSerial}
)

// forwardBlocks runs the im2col Forward on images [i0, i1), g at a time:
// a block's patches (in cols, room for g images), then its outputs.
func (c *Conv2d) forwardBlocks(k convKernels, x, y *Tensor, i0, i1, g int, cols []float32) {
	h, w := x.Shape[1], x.Shape[2]
	pix, kk := y.Shape[1]*y.Shape[2], c.K*c.K*c.InC
	for b0 := i0; b0 < i1; b0 += g {
		nb := min(g, i1-b0)
		bc := cols[:nb*pix*kk]
		k.im2col(bc, x.Data[b0*h*w*c.InC:], nb, h, w, c.InC, c.K, c.K, c.Stride, c.Pad)
		k.sgemm(false, true, nb*pix, c.OutC, kk, 1, bc, kk, c.W.W, kk, 0, y.Data[b0*pix*c.OutC:], c.OutC)
	}
}

// backwardBlocks runs the im2col Backward on images [i0, i1), g at a
// time: a block's patches again (in cols), its share of dW added to dw
// (the first block scaling dw by beta; dw holds dWᵀ where transposedDW
// says so), and, with dx, its patch gradients (in dcol) and their col2im
// (added to dx's contents with add, else to zeros).
func (c *Conv2d) backwardBlocks(k convKernels, dy, dx *Tensor, i0, i1, g int, cols, dcol, dw []float32, beta float32, add bool) {
	h, w := c.x.Shape[1], c.x.Shape[2]
	pix, kk := dy.Shape[1]*dy.Shape[2], c.K*c.K*c.InC
	for b0 := i0; b0 < i1; b0 += g {
		nb := min(g, i1-b0)
		bc := cols[:nb*pix*kk]
		dyb := dy.Data[b0*pix*c.OutC:]
		k.im2col(bc, c.x.Data[b0*h*w*c.InC:], nb, h, w, c.InC, c.K, c.K, c.Stride, c.Pad)
		if c.transposedDW() {
			k.sgemm(true, false, kk, c.OutC, nb*pix, 1, bc, kk, dyb, c.OutC, beta, dw, c.OutC)
		} else {
			k.sgemm(true, false, c.OutC, kk, nb*pix, 1, dyb, c.OutC, bc, kk, beta, dw, kk)
		}
		beta = 1
		if dx == nil {
			continue
		}
		bd := dcol[:nb*pix*kk]
		k.sgemm(false, false, nb*pix, kk, c.OutC, 1, dyb, c.OutC, c.W.W, kk, 0, bd, kk)
		// col2im adds into the block's images, cleared here (while
		// they are about to be in cache) rather than all at once, unless
		// the gradient is added to dx's contents.
		dxb := dx.Data[b0*h*w*c.InC : (b0+nb)*h*w*c.InC]
		if !add {
			clear(dxb)
		}
		k.col2im(dxb, bd, nb, h, w, c.InC, c.K, c.K, c.Stride, c.Pad)
	}
}

// forwardWorkers is the im2col Forward on t goroutines in one parallel
// region: each takes a contiguous share of the images and runs im2col and
// the product on them, a block at a time (convBlockBytes of patches per
// goroutine), with the single-goroutine kernels. The patches a goroutine
// writes stay in its own core's cache for its product, and the pass
// forks and joins once instead of twice per block.
func (c *Conv2d) forwardWorkers(t int, x, y *Tensor) {
	c.workers(t, x.Shape[0], y.Shape[1]*y.Shape[2], false, func(_, i0, i1, g int, s *convScratch) {
		c.forwardBlocks(serialKernels, x, y, i0, i1, g, s.cols)
	})
}

// workers runs fn once for each of t goroutines in one parallel region,
// with worker i's share [i0, i1) of the n images, its block of g images
// (of pix output pixels each) and its scratch, whose cols (and, with
// dcol, dcol) hold g images' patches.
func (c *Conv2d) workers(t, n, pix int, dcol bool, fn func(i, i0, i1, g int, s *convScratch)) {
	kk := c.K * c.K * c.InC
	ws := c.scratch(t)
	kernel.ParallelFor(t, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			i0, i1 := workerImages(i, t, n)
			g := blockOf(i1-i0, pix*kk)
			s := &ws[i]
			s.cols = grow(s.cols, g*pix*kk)
			if dcol {
				s.dcol = grow(s.dcol, g*pix*kk)
			}
			fn(i, i0, i1, g, s)
		}
	})
}

// blockOf is the number of images of one goroutine's block out of n:
// as many as fit convBlockBytes in floats floats each, at least one.
func blockOf(n, floats int) int {
	return max(1, min(n, convBlockBytes/max(4*floats, 1)))
}

// Backward adds dW = dyᵀ·cols (and db) and returns dx = col2im(dy·W).
// With im2col it runs a block of images at a time, as Forward: the
// block's patches again, its share of dW, its patch gradients and their
// col2im.
func (c *Conv2d) Backward(dy *Tensor) *Tensor { return c.backward(dy, nil) }

// BackwardAdd is Backward with dx added to acc (InputGradAdder), on
// every path with an input gradient (the direct one, directTaps, has its
// im2col backward then); it reports false, having done nothing, with
// NoInputGrad or where acc is not of the input's size.
func (c *Conv2d) BackwardAdd(dy, acc *Tensor) bool {
	if c.NoInputGrad || len(acc.Data) != len(c.x.Data) {
		return false
	}
	c.backward(dy, acc)
	return true
}

// backward is Backward, adding dx to acc's contents when acc is not nil
// (and returning acc).
func (c *Conv2d) backward(dy, acc *Tensor) *Tensor {
	n, h, w := c.x.Shape[0], c.x.Shape[1], c.x.Shape[2]
	rows, kk := dy.Shape[0]*dy.Shape[1]*dy.Shape[2], c.K*c.K*c.InC
	if c.B != nil {
		sumRows(c.B.G, dy.Data)
	}
	var dx *Tensor
	add := acc != nil
	switch {
	case add:
		dx = acc
	case !c.NoInputGrad:
		dx = reshape(&c.dx, n, h, w, c.InC)
	}
	if c.directTaps() && dx == nil {
		c.backwardTaps(dy)
		return nil
	}
	if c.direct() {
		kernel.Sgemm(true, false, c.OutC, kk, rows, 1, dy.Data, c.OutC, c.x.Data, kk, 1, c.W.G, kk)
		if dx != nil {
			beta := float32(0)
			if add {
				beta = 1
			}
			kernel.Sgemm(false, false, rows, kk, c.OutC, 1, dy.Data, c.OutC, c.W.W, kk, beta, dx.Data, kk)
		}
		return dx
	}
	if t := convWorkers(n); t > 1 {
		c.backwardWorkers(t, dy, dx, add)
		return dx
	}
	g := c.blockImages(n, rows, kk)
	pix := dy.Shape[1] * dy.Shape[2]
	c.cols = grow(c.cols, g*pix*kk)
	if dx != nil {
		c.dcol = grow(c.dcol, g*pix*kk)
	}
	if c.transposedDW() {
		if n == 0 {
			return dx // no block would overwrite dwt's last contents
		}
		c.dwt = grow(c.dwt, len(c.W.G))
		c.backwardBlocks(parallelKernels, dy, dx, 0, n, g, c.cols, c.dcol, c.dwt, 0, add)
		addTransposed(c.W.G, c.dwt, kk, c.OutC)
		return dx
	}
	c.backwardBlocks(parallelKernels, dy, dx, 0, n, g, c.cols, c.dcol, c.W.G, 1, add)
	return dx
}

// directTapsMaxC is the largest number of input channels for which a
// convolution runs directly (directTaps); a var so tests can run both
// paths on the same layer.
var directTapsMaxC = 4

// directTaps reports whether the convolution runs without im2col, as
// kernel.ConvTaps over each output row: where it has few input channels,
// im2col copies a few floats at a time and the product's k is a handful.
// On Zen 5 (2026-12-02, BenchmarkConvStem: 256 images, forward and dW,
// direct against im2col + GEMM), a 1→16 3×3 stem on 28×28 took 0.36 and
// 0.32 ms against 0.90 and 1.31 with the AVX-512 kernels, 0.41 and 0.56
// against 1.55 and 1.62 with AVX2; 3→32 on 32×32 1.38 and 2.23 against
// 2.47 and 7.36 (AVX-512), 2.94 and 4.14 against 3.88 and 8.26 (AVX2).
func (c *Conv2d) directTaps() bool { return c.InC <= directTapsMaxC && !c.direct() }

// tapGeometry returns the direct path's padded image size and, in c.off,
// the offset of every tap (ky, kx, channel: W's column order) from its
// pixel's first input in the padded image.
func (c *Conv2d) tapGeometry(h, w int) (hp, wp int) {
	hp, wp = h+2*c.Pad, w+2*c.Pad
	c.off = c.off[:0]
	for ky := range c.K {
		for kx := range c.K {
			for ch := range c.InC {
				c.off = append(c.off, (ky*wp+kx)*c.InC+ch)
			}
		}
	}
	return hp, wp
}

// forwardTaps is Forward's direct path: x zero-padded into c.xpad (x
// itself without padding), Wᵀ into c.wt, then one kernel.ConvTaps per
// output row.
func (c *Conv2d) forwardTaps(x, y *Tensor) {
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	oh, ow := y.Shape[1], y.Shape[2]
	hp, wp := c.tapGeometry(h, w)
	kk := c.K * c.K * c.InC
	c.wt = grow(c.wt, kk*c.OutC)
	for o := range c.OutC {
		for t, v := range c.W.W[o*kk : (o+1)*kk] {
			c.wt[t*c.OutC+o] = v
		}
	}
	src := c.padded(x)
	row := ow * c.OutC
	kernel.ParallelFor(n*oh, max(1, elemGrain/max(row, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			kernel.ConvTaps(ow, c.OutC, y.Data[r*row:(r+1)*row], src[(b*hp+oy*c.Stride)*wp*c.InC:], c.Stride*c.InC, c.off, c.wt)
		}
	})
}

// padded returns x's images with Pad zeros round each (in c.xpad), or
// x's data without padding.
func (c *Conv2d) padded(x *Tensor) []float32 {
	if c.Pad == 0 {
		return x.Data
	}
	n, h, w, ch := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	hp, wp := h+2*c.Pad, w+2*c.Pad
	c.xpad = grow(c.xpad, n*hp*wp*ch)
	img := hp * wp * ch
	kernel.ParallelFor(n, max(1, elemGrain/max(img, 1)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			p := c.xpad[b*img : (b+1)*img]
			clear(p[:c.Pad*wp*ch])
			clear(p[(c.Pad+h)*wp*ch:])
			for iy := range h {
				r := p[(c.Pad+iy)*wp*ch : (c.Pad+iy+1)*wp*ch]
				clear(r[:c.Pad*ch])
				copy(r[c.Pad*ch:], x.Data[(b*h+iy)*w*ch:(b*h+iy+1)*w*ch])
				clear(r[(c.Pad+w)*ch:])
			}
		}
	})
	return c.xpad
}

// backwardTaps adds dW on the direct path (no input gradient): the
// output rows split among kernel.Threads() goroutines in contiguous
// shares, each summing its share of dWᵀ with kernel.ConvTapsDW into its
// own buffer, added to W.G transposed in goroutine order (so the result
// is the same from run to run for a given kernel.Threads()).
func (c *Conv2d) backwardTaps(dy *Tensor) {
	n, h, w := c.x.Shape[0], c.x.Shape[1], c.x.Shape[2]
	oh, ow := dy.Shape[1], dy.Shape[2]
	hp, wp := h+2*c.Pad, w+2*c.Pad
	src := c.xpad
	if c.Pad == 0 {
		src = c.x.Data
	}
	kk, rows, row := c.K*c.K*c.InC, n*oh, ow*c.OutC
	if rows == 0 {
		return
	}
	t := kernel.Threads()
	ws := c.scratch(t)
	kernel.ParallelFor(t, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := &ws[i]
			s.dw = grow(s.dw, kk*c.OutC)
			clear(s.dw)
			r0, r1 := workerImages(i, t, rows)
			for r := r0; r < r1; r++ {
				b, oy := r/oh, r%oh
				kernel.ConvTapsDW(ow, c.OutC, s.dw, src[(b*hp+oy*c.Stride)*wp*c.InC:], c.Stride*c.InC, c.off, dy.Data[r*row:(r+1)*row])
			}
		}
	})
	for _, s := range ws {
		addTransposed(c.W.G, s.dw, kk, c.OutC)
	}
}

// transposedDW reports whether the im2col Backward forms dWᵀ = colsᵀ·dy
// (kk×OutC, added to W.G transposed at the end) rather than dW = dyᵀ·cols
// (OutC×kk): the product with the longer side as its rows. On Zen 5 at
// one thread (2026-12-02; the CNN's shapes, k = a block's pixels)
// 32×144 ran at 122 GFLOP/s and 144×32 at 183 with the AVX-512 kernel,
// 81 and 94 with AVX2; 64×576 against 576×64: 169 and 184, 88 and 100.
// Where OutC is the longer side (a 1×1 shortcut, 32×64) dW was as fast
// or faster.
func (c *Conv2d) transposedDW() bool { return c.K*c.K*c.InC > c.OutC }

// addTransposed adds the transpose of t (rows×cols) to d (cols×rows).
func addTransposed(d, t []float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		for j, v := range t[i*cols : (i+1)*cols] {
			d[j*rows+i] += v
		}
	}
}

// backwardWorkers is the im2col Backward on t goroutines in one parallel
// region, split as forwardWorkers: each runs the block loop of Backward
// on its share of the images with the single-goroutine kernels. The
// first goroutine adds its share of dW into W.G, the others write theirs
// to their own buffers, which are added to W.G after the join in
// goroutine order, so the result is the same from run to run for a given
// number of goroutines. Where transposedDW, every goroutine writes its
// share of dWᵀ to its own buffer, and each is added transposed, in
// goroutine order.
func (c *Conv2d) backwardWorkers(t int, dy, dx *Tensor, add bool) {
	tr := c.transposedDW()
	c.workers(t, c.x.Shape[0], dy.Shape[1]*dy.Shape[2], dx != nil, func(i, i0, i1, g int, s *convScratch) {
		dw, beta := c.W.G, float32(1)
		if i > 0 || tr {
			s.dw = grow(s.dw, len(c.W.G))
			dw, beta = s.dw, 0 // the first block overwrites
		}
		c.backwardBlocks(serialKernels, dy, dx, i0, i1, g, s.cols, s.dcol, dw, beta, add)
	})
	kk := c.K * c.K * c.InC
	for i, s := range c.ws[:t] {
		switch {
		case tr:
			addTransposed(c.W.G, s.dw, kk, c.OutC)
		case i > 0:
			kernel.Axpy(1, s.dw, c.W.G)
		}
	}
}

// Params returns W and, with bias, b.
func (c *Conv2d) Params() []*Param {
	if c.B == nil {
		return []*Param{c.W}
	}
	return []*Param{c.W, c.B}
}

// addRowBias adds b to every len(b)-long row of y.
func addRowBias(y, b []float32) {
	c := len(b)
	for i := 0; i+c <= len(y); i += c {
		row := y[i : i+c]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// sumRows adds every len(g)-long row of y into g.
func sumRows(g, y []float32) {
	c := len(g)
	for i := 0; i+c <= len(y); i += c {
		row := y[i : i+c]
		for j, v := range row {
			g[j] += v
		}
	}
}

// Uniform fills w with values uniform in [-bound, bound). A nil r leaves
// w as it is (see model.Model.Replica, whose weights are replaced).
func Uniform(w []float32, bound float64, r *rand.Rand) {
	if r == nil {
		return
	}
	for i := range w {
		w[i] = float32((r.Float64()*2 - 1) * bound)
	}
}

// HeNormal fills w with N(0, 2/fanIn) (Kaiming normal, fan-in mode, ReLU
// gain). A nil r leaves w as it is.
func HeNormal(w []float32, fanIn int, r *rand.Rand) {
	if r == nil {
		return
	}
	std := math.Sqrt(2 / float64(fanIn))
	for i := range w {
		w[i] = float32(r.NormFloat64() * std)
	}
}

// XavierUniform fills w with U(±sqrt(6/(fanIn+fanOut))) (Glorot uniform).
func XavierUniform(w []float32, fanIn, fanOut int, r *rand.Rand) {
	Uniform(w, math.Sqrt(6/float64(fanIn+fanOut)), r)
}
