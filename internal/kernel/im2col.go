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
func Im2colNHWC(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
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
	parallelFor(n*oh, 1, func(lo, hi int) {
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
					if ox == oxLo {
						// The inside pixels: one contiguous copy each.
						for ; ox < oxHi; ox++ {
							ix0 := ox*stride - pad
							copyShort(out[ox*cols+ky*seg:ox*cols+(ky+1)*seg], srow[ix0*c:(ix0+kw)*c])
						}
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
// into dst (n×h×w×c). Entries that came from padding are dropped. The
// additions run through the vector Axpy, a kernel row at a time where it
// lies inside the image.
func Col2imNHWC(dst, src []float32, n, h, w, c, kh, kw, stride, pad int) {
	oh, ow := ConvOut(h, kh, stride, pad), ConvOut(w, kw, stride, pad)
	cols := kh * kw * c
	if len(dst) < n*h*w*c || len(src) < n*oh*ow*cols {
		panic("kernel: Col2imNHWC buffer too short")
	}
	// Images are independent, so split by image to avoid write races.
	parallelFor(n, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					row := src[((b*oh+oy)*ow+ox)*cols:]
					for ky := 0; ky < kh; ky++ {
						iy := oy*stride - pad + ky
						if iy < 0 || iy >= h {
							continue
						}
						ix0 := ox*stride - pad
						if ix0 >= 0 && ix0+kw <= w {
							// The whole kernel row is inside: one
							// contiguous vector add.
							axpy(1, row[ky*kw*c:(ky+1)*kw*c], dst[((b*h+iy)*w+ix0)*c:((b*h+iy)*w+ix0+kw)*c])
							continue
						}
						for kx := 0; kx < kw; kx++ {
							ix := ix0 + kx
							if ix < 0 || ix >= w {
								continue
							}
							axpy(1, row[(ky*kw+kx)*c:(ky*kw+kx+1)*c], dst[((b*h+iy)*w+ix)*c:((b*h+iy)*w+ix+1)*c])
						}
					}
				}
			}
		}
	})
}
