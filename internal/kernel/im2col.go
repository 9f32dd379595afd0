package kernel

// ConvOut returns the output size of a convolution along one axis:
// (in + 2*pad - k)/stride + 1.
func ConvOut(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }

// Im2colNHWC unrolls the patches of a batch of NHWC images src
// (n×h×w×c) into dst, a row-major matrix with one row per output pixel
// (n·oh·ow rows) and kh·kw·c columns ordered (ky, kx, channel):
//
//	dst[((b*oh+oy)*ow+ox)*(kh*kw*c) + (ky*kw+kx)*c + ch] =
//		src[((b*h+iy)*w+ix)*c + ch], iy = oy*stride-pad+ky, ix = ox*stride-pad+kx,
//
// and 0 where (iy, ix) falls in the padding. A convolution is then one Sgemm
// of dst with the kh·kw·c × outChannels weight matrix, giving NHWC output.
// Large batches use up to Threads() goroutines.
func Im2colNHWC(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	im2col(Threads(), dst, src, n, h, w, c, kh, kw, stride, pad)
}

// Im2colNHWCSerial is Im2colNHWC on the calling goroutine only.
func Im2colNHWCSerial(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	im2col(1, dst, src, n, h, w, c, kh, kw, stride, pad)
}

// im2col is Im2colNHWC on at most t goroutines.
func im2col(t int, dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	oh, ow := ConvOut(h, kh, stride, pad), ConvOut(w, kw, stride, pad)
	cols := kh * kw * c
	if len(src) < n*h*w*c || len(dst) < n*oh*ow*cols {
		panic("kernel: Im2colNHWC buffer too short")
	}
	// Output pixels ox in [oxLo, oxHi) read whole kernel rows inside the
	// image (ox*stride-pad >= 0 and ox*stride-pad+kw <= w); the others
	// touch the padding.
	oxLo := min(ow, (pad+stride-1)/stride)
	oxHi := oxLo
	if w-kw+pad >= 0 {
		oxHi = max(oxLo, min(ow, (w-kw+pad)/stride+1))
	}
	seg := kw * c // floats of one kernel row
	parallelForT(t, n*oh, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			out := dst[r*ow*cols : (r+1)*ow*cols]
			for ky := 0; ky < kh; ky++ {
				iy := oy*stride - pad + ky
				if iy < 0 || iy >= h {
					for ox := 0; ox < ow; ox++ {
						clear(out[ox*cols+ky*seg : ox*cols+(ky+1)*seg])
					}
					continue
				}
				srow := src[(b*h+iy)*w*c : (b*h+iy+1)*w*c]
				for ox := 0; ox < ow; ox++ {
					if ox == oxLo && oxHi > oxLo {
						// The inside pixels: one contiguous block each,
						// all in one call.
						ix0 := oxLo*stride - pad
						copyBlocks(oxHi-oxLo, seg, out[oxLo*cols+ky*seg:], cols, srow[ix0*c:], stride*c)
						ox = oxHi
						if ox == ow {
							break
						}
					}
					ix0 := ox*stride - pad
					for kx := 0; kx < kw; kx++ {
						ix := ix0 + kx
						d := out[ox*cols+ky*seg+kx*c : ox*cols+ky*seg+(kx+1)*c]
						if ix < 0 || ix >= w {
							clear(d)
						} else {
							copyShort(d, srow[ix*c:(ix+1)*c])
						}
					}
				}
			}
		}
	})
}

// copyShort is copy(dst, src) for len(src) <= len(dst), in a plain loop
// when src is shorter than 16 floats: im2col of a few channels (a first
// layer's 1 or 3) copies 1-9 floats at a time, where a call of memmove
// costs more than the copy.
func copyShort(dst, src []float32) {
	if len(src) >= 16 {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// Col2imNHWC is the adjoint of Im2colNHWC: it adds every entry of the patch
// matrix src back into the image position it was read from, accumulating
// into dst (n×h×w×c). Entries that came from padding are dropped. For each
// output row and kernel row, the pixels whose kernel row lies inside the
// image add in one addBlocks call, the others a channel vector at a time;
// every image position still receives its terms in the order of
// (oy, ox), one kernel row per oy. Large batches use up to Threads()
// goroutines (each image is summed by one, so the result does not depend
// on their number).
func Col2imNHWC(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	col2im(Threads(), dst, src, n, h, w, c, kh, kw, stride, pad)
}

// Col2imNHWCSerial is Col2imNHWC on the calling goroutine only.
func Col2imNHWCSerial(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	col2im(1, dst, src, n, h, w, c, kh, kw, stride, pad)
}

// col2im is Col2imNHWC on at most t goroutines.
func col2im(t int, dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	oh, ow := ConvOut(h, kh, stride, pad), ConvOut(w, kw, stride, pad)
	cols := kh * kw * c
	if len(dst) < n*h*w*c || len(src) < n*oh*ow*cols {
		panic("kernel: Col2imNHWC buffer too short")
	}
	// As in Im2colNHWC: pixels ox in [oxLo, oxHi) have their kernel rows
	// inside the image.
	oxLo := min(ow, (pad+stride-1)/stride)
	oxHi := oxLo
	if w-kw+pad >= 0 {
		oxHi = max(oxLo, min(ow, (w-kw+pad)/stride+1))
	}
	seg := kw * c
	// edge adds the kernel row ky of pixel ox one channel vector at a
	// time, skipping the padding.
	edge := func(drow, prow []float32, ox, ky int) {
		ix0 := ox*stride - pad
		for kx := 0; kx < kw; kx++ {
			if ix := ix0 + kx; ix >= 0 && ix < w {
				addBlocks(1, c, drow[ix*c:], 0, prow[ox*cols+ky*seg+kx*c:], 0)
			}
		}
	}
	// Images are independent, so split by image to avoid write races.
	parallelForT(t, n, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			for oy := 0; oy < oh; oy++ {
				prow := src[(b*oh+oy)*ow*cols : (b*oh+oy+1)*ow*cols]
				for ky := 0; ky < kh; ky++ {
					iy := oy*stride - pad + ky
					if iy < 0 || iy >= h {
						continue
					}
					drow := dst[(b*h+iy)*w*c : (b*h+iy+1)*w*c]
					for ox := 0; ox < oxLo; ox++ {
						edge(drow, prow, ox, ky)
					}
					if oxHi > oxLo {
						ix0 := oxLo*stride - pad
						addBlocks(oxHi-oxLo, seg, drow[ix0*c:], stride*c, prow[oxLo*cols+ky*seg:], cols)
					}
					for ox := oxHi; ox < ow; ox++ {
						edge(drow, prow, ox, ky)
					}
				}
			}
		}
	})
}

// copyBlocks copies n blocks of seg floats, block i from src[i*srcStride:]
// to dst[i*dstStride:], in order:
//
//	for i := range n {
//		copy(dst[i*dstStride:][:seg], src[i*srcStride:][:seg])
//	}
//
// It is im2col's inner loop (the kernel rows of the output pixels of one
// image row), one call instead of a memmove per block.
func copyBlocks(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	checkBlocks(n, seg, dst, dstStride, src, srcStride, "copyBlocks")
	if n == 0 || seg == 0 {
		return
	}
	copyBlocksImpl(n, seg, dst, dstStride, src, srcStride)
}

// addBlocks adds n blocks of seg floats, block i of src[i*srcStride:]
// into dst[i*dstStride:], a block after the other (blocks may overlap in
// dst):
//
//	for i := range n {
//		d, s := dst[i*dstStride:][:seg], src[i*srcStride:][:seg]
//		for j := range d {
//			d[j] += s[j]
//		}
//	}
//
// It is col2im's inner loop.
func addBlocks(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	checkBlocks(n, seg, dst, dstStride, src, srcStride, "addBlocks")
	if n == 0 || seg == 0 {
		return
	}
	addBlocksImpl(n, seg, dst, dstStride, src, srcStride)
}

func checkBlocks(n, seg int, dst []float32, dstStride int, src []float32, srcStride int, msg string) {
	if n < 0 || seg < 0 || dstStride < 0 || srcStride < 0 {
		panic("kernel: " + msg + " negative size")
	}
	if n > 0 && (len(dst) < (n-1)*dstStride+seg || len(src) < (n-1)*srcStride+seg) {
		panic("kernel: " + msg + " buffer too short")
	}
}

func copyBlocksGeneric(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	for i := range n {
		copy(dst[i*dstStride:][:seg], src[i*srcStride:][:seg])
	}
}

func addBlocksGeneric(n, seg int, dst []float32, dstStride int, src []float32, srcStride int) {
	for i := range n {
		d, s := dst[i*dstStride:][:seg], src[i*srcStride:][:seg]
		for j := range d {
			d[j] += s[j]
		}
	}
}
