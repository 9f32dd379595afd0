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
	parallelFor(n*oh, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			for ox := 0; ox < ow; ox++ {
				row := dst[(r*ow+ox)*cols : (r*ow+ox+1)*cols]
				for ky := 0; ky < kh; ky++ {
					iy := oy*stride - pad + ky
					seg := row[ky*kw*c : (ky+1)*kw*c]
					if iy < 0 || iy >= h {
						clear(seg)
						continue
					}
					ix0 := ox*stride - pad
					if ix0 >= 0 && ix0+kw <= w {
						// The whole kernel row is inside: one contiguous copy.
						copy(seg, src[((b*h+iy)*w+ix0)*c:((b*h+iy)*w+ix0+kw)*c])
						continue
					}
					for kx := 0; kx < kw; kx++ {
						ix := ix0 + kx
						d := seg[kx*c : (kx+1)*c]
						if ix < 0 || ix >= w {
							clear(d)
						} else {
							copy(d, src[((b*h+iy)*w+ix)*c:((b*h+iy)*w+ix+1)*c])
						}
					}
				}
			}
		}
	})
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
