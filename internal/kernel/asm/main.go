// Command asm generates the element-wise and vector kernels of package
// kernel whose AVX2 and AVX-512 versions differ only in their vector width:
// one Go program describes each kernel once, and it is emitted for 8-wide
// ymm registers (AVX2 with FMA) and 16-wide zmm registers (AVX-512 F, VL,
// BW, DQ). Where the two instruction sets differ beyond width, the
// description says so in one place: a tail of fewer elements than a
// vector is a scalar loop for AVX2 and one masked step (opmask of the
// tail's low bits; masked lanes are neither read nor written) for
// AVX-512, and a comparison writes a vector mask for AVX2 and an opmask
// register for AVX-512.
//
// Run it through go generate in package kernel (gen.go):
//
//	cd internal/kernel && go generate
//
// which writes vec_gen_amd64.s and vec_gen_amd64.go. The output is
// committed; TestGeneratedUpToDate in this module checks that it matches.
// The pure-Go twins in package kernel stay the reference for every
// kernel.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// width is one target: its name suffix, float32 lanes per vector and
// vector register allocator.
type width struct {
	name  string
	lanes int
	vec   func() VecVirtual
}

var (
	avx2   = width{"AVX2", 8, YMM}
	avx512 = width{"AVX512", 16, ZMM}
)

func (w width) masked() bool { return w.lanes == 16 }

// bytes is the size of one vector in bytes.
func (w width) bytes() int { return 4 * w.lanes }

// label makes a label unique to the function being generated.
func label(fn, name string) string { return fn + "_" + name }

// tailMask loads into a new opmask register the low n mod 16 bits
// (AVX-512 only).
func tailMask(n Register) OpmaskVirtual {
	r, one := GP64(), GP64()
	MOVQ(n, r)
	ANDQ(U8(15), r)
	MOVQ(U32(1), one)
	SHLXQ(r, one, one)
	DECQ(one)
	k := K()
	KMOVW(one.As32(), k)
	return k
}

// reduce adds the lanes of v (any width) into its low lane, returned as
// an xmm register; the AVX2 form (and the order of its additions) is the
// one the hand-written kernels used.
func reduce(v VecVirtual, w width, tail func(x Register)) Register {
	x := v.AsX()
	if w.masked() {
		y := YMM()
		VEXTRACTF64X4(U8(1), v, y)
		VADDPS(y, v.AsY(), v.AsY())
	}
	t := XMM()
	VEXTRACTF128(U8(1), v.AsY(), t)
	VADDPS(t, x, x)
	if tail != nil {
		tail(x)
	}
	VMOVHLPS(x, x, t)
	VADDPS(t, x, x)
	VMOVSHDUP(x, t)
	VADDSS(t, x, x)
	return x
}

// dotLike generates dot (sub == false: Σ x·y) or sqL2 (sub: Σ (x−y)²)
// at width w: four accumulators over four vectors a step, then one vector
// a step, then the tail (scalar for AVX2, after the lanes are folded to
// 128 bits; masked for AVX-512, before).
func dotLike(w width, sub bool) {
	name := "dot" + w.name
	doc := "dotGeneric"
	if sub {
		name, doc = "sqL2"+w.name, "sqL2Generic"
	}
	TEXT(name, NOSPLIT, "func(x, y []float32) float32")
	Pragma("noescape")
	Doc(name+" is "+doc+"; len(y) >= len(x).", "")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	y := Mem{Base: Load(Param("y").Base(), GP64())}
	var k OpmaskVirtual
	if w.masked() {
		k = tailMask(n)
	}
	acc := []VecVirtual{w.vec(), w.vec(), w.vec(), w.vec()}
	for _, a := range acc {
		VXORPS(a, a, a)
	}
	step := func(t VecVirtual, off int, a VecVirtual) {
		if sub {
			VSUBPS(y.Offset(off), t, t)
			VFMADD231PS(t, t, a)
			return
		}
		VFMADD231PS(y.Offset(off), t, a)
	}
	Label(label(name, "loop4"))
	CMPQ(n, U32(4*w.lanes))
	JL(LabelRef(label(name, "loop1")))
	ts := []VecVirtual{w.vec(), w.vec(), w.vec(), w.vec()}
	for i, t := range ts {
		VMOVUPS(x.Offset(i*w.bytes()), t)
	}
	for i, t := range ts {
		step(t, i*w.bytes(), acc[i])
	}
	ADDQ(U32(4*w.bytes()), x.Base)
	ADDQ(U32(4*w.bytes()), y.Base)
	SUBQ(U32(4*w.lanes), n)
	JMP(LabelRef(label(name, "loop4")))

	Label(label(name, "loop1"))
	CMPQ(n, U32(w.lanes))
	JL(LabelRef(label(name, "tail")))
	t := w.vec()
	VMOVUPS(x, t)
	step(t, 0, acc[0])
	ADDQ(U32(w.bytes()), x.Base)
	ADDQ(U32(w.bytes()), y.Base)
	SUBQ(U32(w.lanes), n)
	JMP(LabelRef(label(name, "loop1")))

	Label(label(name, "tail"))
	var scalarTail func(Register)
	if w.masked() {
		TESTQ(n, n)
		JZ(LabelRef(label(name, "reduce")))
		tx, ty := w.vec(), w.vec()
		VMOVUPS_Z(x, k, tx)
		VMOVUPS_Z(y, k, ty)
		if sub {
			VSUBPS(ty, tx, tx)
			VFMADD231PS(tx, tx, acc[1])
		} else {
			VFMADD231PS(ty, tx, acc[1])
		}
		Label(label(name, "reduce"))
	} else {
		scalarTail = func(acc Register) {
			Label(label(name, "scalar"))
			TESTQ(n, n)
			JZ(LabelRef(label(name, "done")))
			s := XMM()
			VMOVSS(x, s)
			if sub {
				VSUBSS(y, s, s)
				VFMADD231SS(s, s, acc)
			} else {
				VFMADD231SS(y, s, acc)
			}
			ADDQ(U8(4), x.Base)
			ADDQ(U8(4), y.Base)
			DECQ(n)
			JMP(LabelRef(label(name, "scalar")))
			Label(label(name, "done"))
		}
	}
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	r := reduce(acc[0], w, scalarTail)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// axpy generates y += alpha·x at width w.
func axpy(w width) {
	name := "axpy" + w.name
	TEXT(name, NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc(name+" is axpyGeneric; len(y) >= len(x).", "")
	alpha := w.vec()
	VBROADCASTSS(paramAddr("alpha"), alpha)
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	y := Mem{Base: Load(Param("y").Base(), GP64())}
	var k OpmaskVirtual
	if w.masked() {
		k = tailMask(n)
	}
	Label(label(name, "loop4"))
	CMPQ(n, U32(4*w.lanes))
	JL(LabelRef(label(name, "loop1")))
	ts := []VecVirtual{w.vec(), w.vec(), w.vec(), w.vec()}
	for i, t := range ts {
		VMOVUPS(y.Offset(i*w.bytes()), t)
	}
	for i, t := range ts {
		VFMADD231PS(x.Offset(i*w.bytes()), alpha, t)
	}
	for i, t := range ts {
		VMOVUPS(t, y.Offset(i*w.bytes()))
	}
	ADDQ(U32(4*w.bytes()), x.Base)
	ADDQ(U32(4*w.bytes()), y.Base)
	SUBQ(U32(4*w.lanes), n)
	JMP(LabelRef(label(name, "loop4")))

	Label(label(name, "loop1"))
	CMPQ(n, U32(w.lanes))
	JL(LabelRef(label(name, "tail")))
	t := w.vec()
	VMOVUPS(y, t)
	VFMADD231PS(x, alpha, t)
	VMOVUPS(t, y)
	ADDQ(U32(w.bytes()), x.Base)
	ADDQ(U32(w.bytes()), y.Base)
	SUBQ(U32(w.lanes), n)
	JMP(LabelRef(label(name, "loop1")))

	Label(label(name, "tail"))
	TESTQ(n, n)
	JZ(LabelRef(label(name, "done")))
	if w.masked() {
		ty, tx := w.vec(), w.vec()
		VMOVUPS_Z(y, k, ty)
		VMOVUPS_Z(x, k, tx)
		VFMADD231PS(tx, alpha, ty)
		VMOVUPS(ty, k, y)
	} else {
		s := XMM()
		VMOVSS(y, s)
		VFMADD231SS(x, alpha.AsX(), s)
		VMOVSS(s, y)
		ADDQ(U8(4), x.Base)
		ADDQ(U8(4), y.Base)
		DECQ(n)
		JMP(LabelRef(label(name, "tail")))
	}
	Label(label(name, "done"))
	VZEROUPPER()
	RET()
}

// sgdMomentum generates the heavy-ball SGD update with weight decay over n
// elements at width w:
//
//	g' = g + wd·w;  v = mu·v + g';  w = w − eta·v
func sgdMomentum(w width) {
	name := "sgdMomentum" + w.name
	TEXT(name, NOSPLIT, "func(n int, w, grad, v *float32, eta, mu, wd float32)")
	Pragma("noescape")
	Doc(name+" is sgdMomentumGeneric over n > 0 elements.", "")
	n := Load(Param("n"), GP64())
	pw := Mem{Base: Load(Param("w"), GP64())}
	pg := Mem{Base: Load(Param("grad"), GP64())}
	pv := Mem{Base: Load(Param("v"), GP64())}
	eta, mu, wd := w.vec(), w.vec(), w.vec()
	VBROADCASTSS(paramAddr("eta"), eta)
	VBROADCASTSS(paramAddr("mu"), mu)
	VBROADCASTSS(paramAddr("wd"), wd)
	var k OpmaskVirtual
	if w.masked() {
		k = tailMask(n)
	}
	// update applies the step to one vector of each slice at offset off
	// (with the opmask k when masked).
	update := func(off int, k OpmaskVirtual) {
		tw, tg, tv := w.vec(), w.vec(), w.vec()
		if k != nil {
			VMOVUPS_Z(pw.Offset(off), k, tw)
			VMOVUPS_Z(pg.Offset(off), k, tg)
			VMOVUPS_Z(pv.Offset(off), k, tv)
		} else {
			VMOVUPS(pw.Offset(off), tw)
			VMOVUPS(pg.Offset(off), tg)
			VMOVUPS(pv.Offset(off), tv)
		}
		VFMADD231PS(tw, wd, tg)   // g' = g + wd·w
		VFMADD213PS(tg, mu, tv)   // v = mu·v + g'
		VFNMADD231PS(tv, eta, tw) // w = w − eta·v
		if k != nil {
			VMOVUPS(tv, k, pv.Offset(off))
			VMOVUPS(tw, k, pw.Offset(off))
		} else {
			VMOVUPS(tv, pv.Offset(off))
			VMOVUPS(tw, pw.Offset(off))
		}
	}
	advance := func(elems int) {
		for _, p := range []Mem{pw, pg, pv} {
			ADDQ(U32(4*elems), p.Base)
		}
		SUBQ(U32(elems), n)
	}
	Label(label(name, "loop2"))
	CMPQ(n, U32(2*w.lanes))
	JL(LabelRef(label(name, "loop1")))
	update(0, nil)
	update(w.bytes(), nil)
	advance(2 * w.lanes)
	JMP(LabelRef(label(name, "loop2")))

	Label(label(name, "loop1"))
	CMPQ(n, U32(w.lanes))
	JL(LabelRef(label(name, "tail")))
	update(0, nil)
	advance(w.lanes)
	JMP(LabelRef(label(name, "loop1")))

	Label(label(name, "tail"))
	TESTQ(n, n)
	JZ(LabelRef(label(name, "done")))
	if w.masked() {
		update(0, k)
	} else {
		sw, sg, sv := XMM(), XMM(), XMM()
		VMOVSS(pw, sw)
		VMOVSS(pg, sg)
		VMOVSS(pv, sv)
		VFMADD231SS(sw, wd.AsX(), sg)
		VFMADD213SS(sg, mu.AsX(), sv)
		VFNMADD231SS(sv, eta.AsX(), sw)
		VMOVSS(sv, pv)
		VMOVSS(sw, pw)
		advance(1)
		JMP(LabelRef(label(name, "tail")))
	}
	Label(label(name, "done"))
	VZEROUPPER()
	RET()
}

// relu generates dst = x where x > 0 or x is NaN (the comparison NLE 0),
// +0 elsewhere, over n > 0 elements.
func relu(w width) {
	name := "relu" + w.name
	TEXT(name, NOSPLIT, "func(n int, dst, x *float32)")
	Pragma("noescape")
	Doc(name+" is reluGeneric over n > 0 elements: dst = x where x NLE 0",
		"(x > 0 or NaN), +0 elsewhere.", "")
	n := Load(Param("n"), GP64())
	dst := Mem{Base: Load(Param("dst"), GP64())}
	x := Mem{Base: Load(Param("x"), GP64())}
	zero := w.vec()
	VXORPS(zero, zero, zero)
	var tk OpmaskVirtual
	if w.masked() {
		tk = tailMask(n)
	}
	// one keeps the lanes of t that are NLE 0 (within the opmask k, if
	// any) and stores them at dst+off.
	one := func(off int, k OpmaskVirtual) {
		t := w.vec()
		if k != nil {
			VMOVUPS_Z(x.Offset(off), k, t)
		} else {
			VMOVUPS(x.Offset(off), t)
		}
		if w.masked() {
			m := K()
			VCMPPS(U8(6), zero, t, m)
			if k != nil {
				KANDW(k, m, m)
				VMOVUPS_Z(t, m, t)
				VMOVUPS(t, k, dst.Offset(off))
				return
			}
			VMOVUPS_Z(t, m, t)
		} else {
			m := w.vec()
			VCMPPS(U8(6), zero, t, m)
			VANDPS(m, t, t)
		}
		VMOVUPS(t, dst.Offset(off))
	}
	elementwiseLoops(w, name, n, []Mem{dst, x}, one, func() {
		s, m := XMM(), XMM()
		VMOVSS(x, s)
		VCMPSS(U8(6), zero.AsX(), s, m)
		VANDPS(m, s, s)
		VMOVSS(s, dst)
	}, tk)
}

// reluBackward generates dx = dy where int32(y) > 0, +0 elsewhere, over
// n > 0 elements.
func reluBackward(w width) {
	name := "reluBackward" + w.name
	TEXT(name, NOSPLIT, "func(n int, dx, dy, y *float32)")
	Pragma("noescape")
	Doc(name+" is reluBackwardGeneric over n > 0 elements: dx = dy where",
		"int32(y) > 0, +0 elsewhere.", "")
	n := Load(Param("n"), GP64())
	dx := Mem{Base: Load(Param("dx"), GP64())}
	dy := Mem{Base: Load(Param("dy"), GP64())}
	y := Mem{Base: Load(Param("y"), GP64())}
	zero := w.vec()
	if w.masked() {
		VPXORD(zero, zero, zero)
	} else {
		VPXOR(zero, zero, zero)
	}
	var tk OpmaskVirtual
	if w.masked() {
		tk = tailMask(n)
	}
	one := func(off int, k OpmaskVirtual) {
		t := w.vec()
		if w.masked() {
			m := K()
			if k != nil {
				VMOVDQU32_Z(y.Offset(off), k, t)
			} else {
				VMOVDQU32(y.Offset(off), t)
			}
			VPCMPGTD(zero, t, m)
			VMOVUPS_Z(dy.Offset(off), m, t) // lanes past the tail are 0 in y, so m excludes them
			if k != nil {
				VMOVUPS(t, k, dx.Offset(off))
				return
			}
		} else {
			VMOVDQU(y.Offset(off), t)
			VPCMPGTD(zero, t, t)
			VANDPS(dy.Offset(off), t, t)
		}
		VMOVUPS(t, dx.Offset(off))
	}
	elementwiseLoops(w, name, n, []Mem{dx, dy, y}, one, func() {
		s, d := XMM(), XMM()
		VMOVSS(y, s)
		VPCMPGTD(zero.AsX(), s, s)
		VMOVSS(dy, d)
		VANDPS(d, s, s)
		VMOVSS(s, dx)
	}, tk)
}

// add generates dst = x + y over n > 0 elements, or with relu
// dst = max(x + y, 0) as the relu kernel takes it (NLE 0 passes).
func add(w width, relu bool) {
	name, doc := "add"+w.name, "addGeneric"
	if relu {
		name, doc = "addReLU"+w.name, "addReLUGeneric"
	}
	TEXT(name, NOSPLIT, "func(n int, dst, x, y *float32)")
	Pragma("noescape")
	Doc(name+" is "+doc+" over n > 0 elements.", "")
	n := Load(Param("n"), GP64())
	dst := Mem{Base: Load(Param("dst"), GP64())}
	x := Mem{Base: Load(Param("x"), GP64())}
	y := Mem{Base: Load(Param("y"), GP64())}
	var zero VecVirtual
	if relu {
		zero = w.vec()
		VXORPS(zero, zero, zero)
	}
	var tk OpmaskVirtual
	if w.masked() {
		tk = tailMask(n)
	}
	one := func(off int, k OpmaskVirtual) {
		t := w.vec()
		if k != nil {
			u := w.vec()
			VMOVUPS_Z(x.Offset(off), k, t)
			VMOVUPS_Z(y.Offset(off), k, u)
			VADDPS(u, t, t)
		} else {
			VMOVUPS(x.Offset(off), t)
			VADDPS(y.Offset(off), t, t)
		}
		if relu {
			if w.masked() {
				m := K()
				VCMPPS(U8(6), zero, t, m)
				VMOVUPS_Z(t, m, t)
			} else {
				m := w.vec()
				VCMPPS(U8(6), zero, t, m)
				VANDPS(m, t, t)
			}
		}
		if k != nil {
			VMOVUPS(t, k, dst.Offset(off))
			return
		}
		VMOVUPS(t, dst.Offset(off))
	}
	elementwiseLoops(w, name, n, []Mem{dst, x, y}, one, func() {
		s := XMM()
		VMOVSS(x, s)
		VADDSS(y, s, s)
		if relu {
			m := XMM()
			VCMPSS(U8(6), zero.AsX(), s, m)
			VANDPS(m, s, s)
		}
		VMOVSS(s, dst)
	}, tk)
}

// elementwiseLoops emits the loops of an element-wise kernel over n
// elements of the slices ps: four vectors a step, one vector a step, then
// the tail (scalar loop for AVX2, one masked step with tk for AVX-512).
func elementwiseLoops(w width, name string, n Register, ps []Mem, one func(off int, k OpmaskVirtual), scalar func(), tk OpmaskVirtual) {
	advance := func(elems int) {
		for _, p := range ps {
			ADDQ(U32(4*elems), p.Base)
		}
		SUBQ(U32(elems), n)
	}
	Label(label(name, "loop4"))
	CMPQ(n, U32(4*w.lanes))
	JL(LabelRef(label(name, "loop1")))
	for i := range 4 {
		one(i*w.bytes(), nil)
	}
	advance(4 * w.lanes)
	JMP(LabelRef(label(name, "loop4")))

	Label(label(name, "loop1"))
	CMPQ(n, U32(w.lanes))
	JL(LabelRef(label(name, "tail")))
	one(0, nil)
	advance(w.lanes)
	JMP(LabelRef(label(name, "loop1")))

	Label(label(name, "tail"))
	TESTQ(n, n)
	JZ(LabelRef(label(name, "done")))
	if w.masked() {
		one(0, tk)
	} else {
		scalar()
		advance(1)
		JMP(LabelRef(label(name, "tail")))
	}
	Label(label(name, "done"))
	VZEROUPPER()
	RET()
}

// rowKernel emits a kernel that runs body over the c columns of each of
// rows rows: a vector of columns at a time, then the tail. body(col, k)
// handles the vector of columns at index register col (k: the tail's
// opmask, or nil); scalar(col) one column (AVX2's tail). rowPtrs advance by
// a row after each row; a nil-able pointer advances only when not nil.
func rowKernel(w width, name string, rows, c Register, rowPtrs []Register, optional Register,
	body func(col Register, k OpmaskVirtual), scalar func(col Register)) {
	var tk OpmaskVirtual
	if w.masked() {
		tk = tailMask(c)
	}
	full := GP64()
	MOVQ(c, full)
	ANDQ(I32(-w.lanes), full)
	rowBytes := GP64()
	MOVQ(c, rowBytes)
	SHLQ(U8(2), rowBytes)
	col := GP64()

	Label(label(name, "row"))
	XORQ(col, col)
	Label(label(name, "vec"))
	CMPQ(col, full)
	JGE(LabelRef(label(name, "tail")))
	body(col, nil)
	ADDQ(U32(w.lanes), col)
	JMP(LabelRef(label(name, "vec")))

	Label(label(name, "tail"))
	if w.masked() {
		CMPQ(col, c)
		JGE(LabelRef(label(name, "next")))
		body(col, tk)
	} else {
		CMPQ(col, c)
		JGE(LabelRef(label(name, "next")))
		scalar(col)
		INCQ(col)
		JMP(LabelRef(label(name, "tail")))
	}

	Label(label(name, "next"))
	for _, p := range rowPtrs {
		ADDQ(rowBytes, p)
	}
	if optional != nil {
		TESTQ(optional, optional)
		JZ(LabelRef(label(name, "nooptional")))
		ADDQ(rowBytes, optional)
		Label(label(name, "nooptional"))
	}
	DECQ(rows)
	JNZ(LabelRef(label(name, "row")))
	VZEROUPPER()
	RET()
}

// elem is the float32 at column col of the row at base.
func elem(base Register, col Register) Mem { return Mem{Base: base, Index: col, Scale: 4} }

// normAffine generates batch norm's forward pass: per row and column,
// h = (x − mean)·inv (stored unless h is nil) and y = h·gamma + beta, or
// with relu y = max(h·gamma + beta, 0) as the relu kernel takes it (the
// comparison NLE 0: NaN passes, −0 becomes +0).
//
// With sum (and relu), y is one row that the rows' outputs are added to,
// in row order, instead of a matrix: batch norm, ReLU and the sum of a
// global average pool in one pass.
func normAffine(w width, relu, sum bool) {
	name, doc := "normAffine"+w.name, "normAffineGeneric"
	switch {
	case sum:
		name, doc = "normAffineReLUSum"+w.name, "normAffineReLUSumGeneric"
	case relu:
		name, doc = "normAffineReLU"+w.name, "normAffineReLUGeneric"
	}
	TEXT(name, NOSPLIT, "func(rows, c int, h, y, x, mean, inv, gamma, beta *float32)")
	Pragma("noescape")
	Doc(name+" is "+doc+" (rows, c > 0; h nil: not written) on",
		"pointers to the first elements; y = h·gamma + beta is fused.", "")
	rows := Load(Param("rows"), GP64())
	c := Load(Param("c"), GP64())
	h := Load(Param("h"), GP64())
	y := Load(Param("y"), GP64())
	x := Load(Param("x"), GP64())
	mean := Load(Param("mean"), GP64())
	inv := Load(Param("inv"), GP64())
	gamma := Load(Param("gamma"), GP64())
	beta := Load(Param("beta"), GP64())
	var zero VecVirtual
	if relu {
		zero = w.vec()
		VXORPS(zero, zero, zero)
	}
	// clamp applies the ReLU to o (a vector or, scalar, its low lane).
	clamp := func(o VecVirtual, scalar bool) {
		switch {
		case !relu:
		case scalar:
			m := XMM()
			VCMPSS(U8(6), zero.AsX(), o, m)
			VANDPS(m, o, o)
		case w.masked():
			m := K()
			VCMPPS(U8(6), zero, o, m)
			VMOVUPS_Z(o, m, o)
		default:
			m := w.vec()
			VCMPPS(U8(6), zero, o, m)
			VANDPS(m, o, o)
		}
	}
	rowPtrs := []Register{x, y}
	if sum {
		rowPtrs = []Register{x}
	}
	rowKernel(w, name, rows, c, rowPtrs, h, func(col Register, k OpmaskVirtual) {
		t, o, g := w.vec(), w.vec(), w.vec()
		if k != nil {
			VMOVUPS_Z(elem(x, col), k, t)
			VMOVUPS_Z(elem(mean, col), k, o)
			VSUBPS(o, t, t)
			VMOVUPS_Z(elem(inv, col), k, o)
			VMULPS(o, t, t)
			VMOVUPS_Z(elem(beta, col), k, o)
			VMOVUPS_Z(elem(gamma, col), k, g)
			VFMADD231PS(g, t, o)
		} else {
			VMOVUPS(elem(x, col), t)
			VSUBPS(elem(mean, col), t, t)
			VMULPS(elem(inv, col), t, t)
			VMOVUPS(elem(beta, col), o)
			VFMADD231PS(elem(gamma, col), t, o)
		}
		clamp(o, false)
		TESTQ(h, h)
		skip := label(name, fmt.Sprintf("noh%d", labelCount()))
		JZ(LabelRef(skip))
		if k != nil {
			VMOVUPS(t, k, elem(h, col))
		} else {
			VMOVUPS(t, elem(h, col))
		}
		Label(skip)
		if sum {
			if k != nil {
				VMOVUPS_Z(elem(y, col), k, g)
				VADDPS(o, g, o)
			} else {
				VADDPS(elem(y, col), o, o)
			}
		}
		if k != nil {
			VMOVUPS(o, k, elem(y, col))
		} else {
			VMOVUPS(o, elem(y, col))
		}
	}, func(col Register) {
		t, o := XMM(), XMM()
		VMOVSS(elem(x, col), t)
		VSUBSS(elem(mean, col), t, t)
		VMULSS(elem(inv, col), t, t)
		VMOVSS(elem(beta, col), o)
		VFMADD231SS(elem(gamma, col), t, o)
		clamp(o, true)
		TESTQ(h, h)
		skip := label(name, fmt.Sprintf("noh%d", labelCount()))
		JZ(LabelRef(skip))
		VMOVSS(t, elem(h, col))
		Label(skip)
		if sum {
			VADDSS(elem(y, col), o, o)
		}
		VMOVSS(o, elem(y, col))
	})
}

// normBackward generates batch norm's input gradient: per row and column,
// dx = k·(dy − m1 − h·m2); with relu, dy is first cut to 0 where the
// forward ReLU blocked, int32(h·gamma + beta) <= 0 (h·gamma + beta fused
// as in normAffine, so the test sees the bits the forward clamped).
//
// With bcast (and relu), dy is one row, the gradient of every row (as a
// global average pool's backward spreads it).
func normBackward(w width, relu, bcast bool) {
	name, doc, sig := "normBackward"+w.name, "normBackwardGeneric", "func(rows, c int, dx, dy, h, k, m1, m2 *float32)"
	switch {
	case bcast:
		name, doc, sig = "normBackwardReLURow"+w.name, "normBackwardReLURowGeneric", "func(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 *float32)"
	case relu:
		name, doc, sig = "normBackwardReLU"+w.name, "normBackwardReLUGeneric", "func(rows, c int, dx, dy, h, gamma, beta, k, m1, m2 *float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" is "+doc+" (rows, c > 0) on pointers to the first",
		"elements; h·m2 is fused into the subtraction.", "")
	rows := Load(Param("rows"), GP64())
	c := Load(Param("c"), GP64())
	dx := Load(Param("dx"), GP64())
	dy := Load(Param("dy"), GP64())
	h := Load(Param("h"), GP64())
	var gamma, beta Register
	var zero VecVirtual
	if relu {
		gamma = Load(Param("gamma"), GP64())
		beta = Load(Param("beta"), GP64())
		zero = w.vec()
		if w.masked() {
			VPXORD(zero, zero, zero)
		} else {
			VPXOR(zero, zero, zero)
		}
	}
	kk := Load(Param("k"), GP64())
	m1 := Load(Param("m1"), GP64())
	m2 := Load(Param("m2"), GP64())
	rowPtrs := []Register{dy, dx, h}
	if bcast {
		rowPtrs = []Register{dx, h}
	}
	rowKernel(w, name, rows, c, rowPtrs, nil, func(col Register, k OpmaskVirtual) {
		t, u := w.vec(), w.vec()
		if relu {
			// u = h; t = dy where int32(h·gamma + beta) > 0, else 0.
			g := w.vec()
			if k != nil {
				o := w.vec()
				VMOVUPS_Z(elem(h, col), k, u)
				VMOVUPS_Z(elem(gamma, col), k, g)
				VMOVUPS_Z(elem(beta, col), k, o)
				VFMADD213PS(o, u, g)
			} else {
				VMOVUPS(elem(h, col), u)
				VMOVUPS(elem(gamma, col), g)
				VFMADD213PS(elem(beta, col), u, g)
			}
			if w.masked() {
				// Lanes past the tail are 0 in g, so m excludes them.
				m := K()
				VPCMPGTD(zero, g, m)
				VMOVUPS_Z(elem(dy, col), m, t)
			} else {
				VPCMPGTD(zero, g, g)
				VANDPS(elem(dy, col), g, t)
			}
			if k != nil {
				o := w.vec()
				VMOVUPS_Z(elem(m1, col), k, o)
				VSUBPS(o, t, t)
				VMOVUPS_Z(elem(m2, col), k, o)
				VFNMADD231PS(o, u, t)
				VMOVUPS_Z(elem(kk, col), k, o)
				VMULPS(o, t, t)
				VMOVUPS(t, k, elem(dx, col))
				return
			}
			VSUBPS(elem(m1, col), t, t)
			VFNMADD231PS(elem(m2, col), u, t)
			VMULPS(elem(kk, col), t, t)
			VMOVUPS(t, elem(dx, col))
			return
		}
		if k != nil {
			o := w.vec()
			VMOVUPS_Z(elem(dy, col), k, t)
			VMOVUPS_Z(elem(m1, col), k, o)
			VSUBPS(o, t, t)
			VMOVUPS_Z(elem(h, col), k, u)
			VMOVUPS_Z(elem(m2, col), k, o)
			VFNMADD231PS(o, u, t)
			VMOVUPS_Z(elem(kk, col), k, o)
			VMULPS(o, t, t)
			VMOVUPS(t, k, elem(dx, col))
			return
		}
		VMOVUPS(elem(dy, col), t)
		VSUBPS(elem(m1, col), t, t)
		VMOVUPS(elem(h, col), u)
		VFNMADD231PS(elem(m2, col), u, t)
		VMULPS(elem(kk, col), t, t)
		VMOVUPS(t, elem(dx, col))
	}, func(col Register) {
		t, u := XMM(), XMM()
		if relu {
			g := XMM()
			VMOVSS(elem(h, col), u)
			VMOVSS(elem(gamma, col), g)
			VFMADD213SS(elem(beta, col), u, g)
			VPCMPGTD(zero.AsX(), g, g)
			VMOVSS(elem(dy, col), t)
			VANDPS(g, t, t)
		} else {
			VMOVSS(elem(dy, col), t)
		}
		VSUBSS(elem(m1, col), t, t)
		if !relu {
			VMOVSS(elem(h, col), u)
		}
		VFNMADD231SS(elem(m2, col), u, t)
		VMULSS(elem(kk, col), t, t)
		VMOVSS(t, elem(dx, col))
	})
}

// colSums generates batch norm's column sums at width w, accumulating in
// float64 into s1 and s2 for every column j over the rows:
//
//	shift (prod == false): d = x − shift[j] in float32, then s1 += d, s2 += d·d
//	prod:                  s1 += x, s2 += x·y
//	prod, relu:            g = x where int32(y·gamma[j] + beta[j]) > 0, else 0;
//	                       s1 += g, s2 += g·y
//
// (relu is batch norm's backward sums through the ReLU that followed it:
// x is dy, y the normalised input h, and y·gamma + beta is fused as in
// normAffine.) The columns go in strips of up to four vectors of float64
// (16 columns for AVX2, 32 for AVX-512) whose sums stay in registers
// while the strip runs down all the rows, then in strips of two and one
// vector; the last columns that fill no vector run as a masked strip
// (AVX-512) or one column at a time (AVX2). Each column's sum is still
// taken row by row, the order of the pure-Go twins.
//
// With bcast (and relu), x is one row, the same for every row.
func colSums(w width, prod, relu, bcast bool) {
	name := "colSumsShift" + w.name
	doc := "colSumsShiftedGeneric"
	sig := "func(rows, c int, s1, s2 *float64, x, shift *float32)"
	switch {
	case bcast:
		name, doc = "colSumsProdReLURow"+w.name, "colSumsDotReLURowGeneric"
		sig = "func(rows, c int, s1, s2 *float64, x, y, gamma, beta *float32)"
	case relu:
		name, doc = "colSumsProdReLU"+w.name, "colSumsDotReLUGeneric"
		sig = "func(rows, c int, s1, s2 *float64, x, y, gamma, beta *float32)"
	case prod:
		name, doc = "colSumsProd"+w.name, "colSumsDotGeneric"
		sig = "func(rows, c int, s1, s2 *float64, x, y *float32)"
	}
	other := "shift"
	if prod {
		other = "y"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name+" is "+doc+" (rows, c > 0) on pointers to the first elements;",
		"each column's float64 sums stay in registers over all the rows.", "")
	rows := Load(Param("rows"), GP64())
	c := Load(Param("c"), GP64())
	s1 := Load(Param("s1"), GP64())
	s2 := Load(Param("s2"), GP64())
	x := Load(Param("x"), GP64())
	o := Load(Param(other), GP64())
	// half is a vector of dl float32s (xmm for AVX2, ymm for AVX-512).
	half := func() VecVirtual {
		if w.masked() {
			return YMM()
		}
		return XMM()
	}
	var gamma, beta Register
	var zero VecVirtual
	if relu {
		gamma = Load(Param("gamma"), GP64())
		beta = Load(Param("beta"), GP64())
		zero = half()
		VPXOR(zero, zero, zero)
	}
	dl := w.lanes / 2 // float64 lanes per vector
	rowBytes := GP64()
	MOVQ(c, rowBytes)
	SHLQ(U8(2), rowBytes)
	col := GP64()
	XORQ(col, col)
	left := GP64() // columns not yet summed
	MOVQ(c, left)
	// The sums of the strip at col (indexed, so that relu's two more
	// pointers still leave the strip enough registers).
	p1 := Mem{Base: s1, Index: col, Scale: 8}
	p2 := Mem{Base: s2, Index: col, Scale: 8}
	pg := Mem{Base: gamma, Index: col, Scale: 4}
	pb := Mem{Base: beta, Index: col, Scale: 4}
	// masked sets t to the x at off where int32(u·gamma + beta) > 0 and to
	// 0 elsewhere, u being the y at off (relu; k: the tail's opmask).
	masked := func(t, u VecVirtual, px Register, off int, k OpmaskVirtual) {
		g := half()
		if k != nil {
			e := half()
			VMOVUPS_Z(pg.Offset(off), k, g)
			VMOVUPS_Z(pb.Offset(off), k, e)
			VFMADD213PS(e, u, g)
		} else {
			VMOVUPS(pg.Offset(off), g)
			VFMADD213PS(pb.Offset(off), u, g)
		}
		if w.masked() {
			// Lanes past the tail are 0 in g, so m excludes them.
			m := K()
			VPCMPGTD(zero, g, m)
			VMOVUPS_Z(Mem{Base: px}.Offset(off), m, t)
			return
		}
		VPCMPGTD(zero, g, g)
		VANDPS(Mem{Base: px}.Offset(off), g, t)
	}
	// strip emits the loop over all rows for nv vectors of columns from
	// col (k: the opmask of a last partial vector, or nil).
	strip := func(tag string, nv int, k OpmaskVirtual) {
		px, po, r := GP64(), GP64(), GP64()
		LEAQ(Mem{Base: x, Index: col, Scale: 4}, px)
		LEAQ(Mem{Base: o, Index: col, Scale: 4}, po)
		MOVQ(rows, r)
		a1 := make([]VecVirtual, nv)
		a2 := make([]VecVirtual, nv)
		sh := make([]VecVirtual, nv)
		for i := range nv {
			a1[i], a2[i] = w.vec(), w.vec()
			if k != nil {
				VMOVUPD_Z(p1.Offset(8*dl*i), k, a1[i])
				VMOVUPD_Z(p2.Offset(8*dl*i), k, a2[i])
			} else {
				VMOVUPD(p1.Offset(8*dl*i), a1[i])
				VMOVUPD(p2.Offset(8*dl*i), a2[i])
			}
			if !prod {
				sh[i] = half()
				if k != nil {
					VMOVUPS_Z(Mem{Base: po}.Offset(4*dl*i), k, sh[i])
				} else {
					VMOVUPS(Mem{Base: po}.Offset(4*dl*i), sh[i])
				}
			}
		}
		Label(label(name, tag))
		for i := range nv {
			off := 4 * dl * i
			t, d := half(), w.vec()
			if relu {
				u, e := half(), w.vec()
				if k != nil {
					VMOVUPS_Z(Mem{Base: po}.Offset(off), k, u)
				} else {
					VMOVUPS(Mem{Base: po}.Offset(off), u)
				}
				masked(t, u, px, off, k)
				VCVTPS2PD(t, d)
				VCVTPS2PD(u, e)
				VADDPD(d, a1[i], a1[i])
				VFMADD231PD(e, d, a2[i])
				continue
			}
			if k != nil {
				VMOVUPS_Z(Mem{Base: px}.Offset(off), k, t)
			} else {
				VMOVUPS(Mem{Base: px}.Offset(off), t)
			}
			if prod {
				u, e := half(), w.vec()
				VCVTPS2PD(t, d)
				if k != nil {
					VMOVUPS_Z(Mem{Base: po}.Offset(off), k, u)
				} else {
					VMOVUPS(Mem{Base: po}.Offset(off), u)
				}
				VCVTPS2PD(u, e)
				VADDPD(d, a1[i], a1[i])
				VFMADD231PD(e, d, a2[i])
				continue
			}
			VSUBPS(sh[i], t, t)
			VCVTPS2PD(t, d)
			VADDPD(d, a1[i], a1[i])
			VFMADD231PD(d, d, a2[i])
		}
		if !bcast {
			ADDQ(rowBytes, px)
		}
		if prod {
			ADDQ(rowBytes, po)
		}
		DECQ(r)
		JNZ(LabelRef(label(name, tag)))
		for i := range nv {
			if k != nil {
				VMOVUPD(a1[i], k, p1.Offset(8*dl*i))
				VMOVUPD(a2[i], k, p2.Offset(8*dl*i))
			} else {
				VMOVUPD(a1[i], p1.Offset(8*dl*i))
				VMOVUPD(a2[i], p2.Offset(8*dl*i))
			}
		}
		ADDQ(U32(nv*dl), col)
		SUBQ(U32(nv*dl), left)
	}
	Label(label(name, "strip4"))
	CMPQ(left, U32(4*dl))
	JL(LabelRef(label(name, "strip2")))
	strip("rows4", 4, nil)
	JMP(LabelRef(label(name, "strip4")))
	Label(label(name, "strip2"))
	CMPQ(left, U32(2*dl))
	JL(LabelRef(label(name, "strip1")))
	strip("rows2", 2, nil)
	Label(label(name, "strip1"))
	CMPQ(left, U32(dl))
	JL(LabelRef(label(name, "tail")))
	strip("rows1", 1, nil)
	Label(label(name, "tail"))
	TESTQ(left, left)
	JZ(LabelRef(label(name, "done")))
	if w.masked() {
		// The low left bits (left < 8).
		one := GP64()
		MOVQ(U32(1), one)
		SHLXQ(left, one, one)
		DECQ(one)
		k := K()
		KMOVW(one.As32(), k)
		strip("rowsk", 1, k)
	} else {
		// One column at a time down the rows.
		px, po, r := GP64(), GP64(), GP64()
		LEAQ(Mem{Base: x, Index: col, Scale: 4}, px)
		LEAQ(Mem{Base: o, Index: col, Scale: 4}, po)
		a1, a2, sh := XMM(), XMM(), XMM()
		VMOVSD(p1, a1)
		VMOVSD(p2, a2)
		if !prod {
			VMOVSS(Mem{Base: po}, sh)
		}
		MOVQ(rows, r)
		Label(label(name, "rowss"))
		t := XMM()
		switch {
		case relu:
			u, g := XMM(), XMM()
			VMOVSS(Mem{Base: po}, u)
			VMOVSS(pg, g)
			VFMADD213SS(pb, u, g)
			VPCMPGTD(zero, g, g)
			VMOVSS(Mem{Base: px}, t)
			VANDPS(g, t, t)
			VCVTSS2SD(t, t, t)
			VCVTSS2SD(u, u, u)
			VADDSD(t, a1, a1)
			VFMADD231SD(u, t, a2)
			ADDQ(rowBytes, po)
		case prod:
			u := XMM()
			VMOVSS(Mem{Base: px}, t)
			VCVTSS2SD(t, t, t)
			VMOVSS(Mem{Base: po}, u)
			VCVTSS2SD(u, u, u)
			VADDSD(t, a1, a1)
			VFMADD231SD(u, t, a2)
			ADDQ(rowBytes, po)
		default:
			VMOVSS(Mem{Base: px}, t)
			VSUBSS(sh, t, t)
			VCVTSS2SD(t, t, t)
			VADDSD(t, a1, a1)
			VFMADD231SD(t, t, a2)
		}
		if !bcast {
			ADDQ(rowBytes, px)
		}
		DECQ(r)
		JNZ(LabelRef(label(name, "rowss")))
		VMOVSD(a1, p1)
		VMOVSD(a2, p2)
		INCQ(col)
		DECQ(left)
		JMP(LabelRef(label(name, "tail")))
	}
	Label(label(name, "done"))
	VZEROUPPER()
	RET()
}

// blocks generates the strided block copy of im2col (add == false) or the
// strided block sum of col2im (add): for n blocks of seg floats, block i
// at dst + i·dstStride and src + i·srcStride (in floats),
//
//	copy: dst block = src block;  add: dst block += src block
//
// a block after the other, so that blocks overlapping in dst (col2im of a
// stride smaller than the kernel) add in order. Each block goes a vector
// at a time, then its tail (masked for AVX-512, scalar for AVX2).
func blocks(w width, add bool) {
	name, doc := "copyBlocks"+w.name, "copyBlocksGeneric"
	if add {
		name, doc = "addBlocks"+w.name, "addBlocksGeneric"
	}
	TEXT(name, NOSPLIT, "func(n, seg int, dst *float32, dstStride int, src *float32, srcStride int)")
	Pragma("noescape")
	Doc(name+" is "+doc+" (n, seg > 0) on pointers to the first elements.", "")
	n := Load(Param("n"), GP64())
	seg := Load(Param("seg"), GP64())
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	src := Load(Param("src"), GP64())
	ss := Load(Param("srcStride"), GP64())
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ss)
	var tk OpmaskVirtual
	if w.masked() {
		tk = tailMask(seg)
	}
	full := GP64()
	MOVQ(seg, full)
	ANDQ(I32(-w.lanes), full)
	col := GP64()
	one := func(k OpmaskVirtual) {
		t := w.vec()
		if k != nil {
			VMOVUPS_Z(elem(src, col), k, t)
			if add {
				u := w.vec()
				VMOVUPS_Z(elem(dst, col), k, u)
				VADDPS(u, t, t)
			}
			VMOVUPS(t, k, elem(dst, col))
			return
		}
		VMOVUPS(elem(src, col), t)
		if add {
			VADDPS(elem(dst, col), t, t)
		}
		VMOVUPS(t, elem(dst, col))
	}
	Label(label(name, "block"))
	XORQ(col, col)
	Label(label(name, "vec"))
	CMPQ(col, full)
	JGE(LabelRef(label(name, "tail")))
	one(nil)
	ADDQ(U32(w.lanes), col)
	JMP(LabelRef(label(name, "vec")))

	Label(label(name, "tail"))
	CMPQ(col, seg)
	JGE(LabelRef(label(name, "next")))
	if w.masked() {
		one(tk)
	} else {
		t := XMM()
		VMOVSS(elem(src, col), t)
		if add {
			VADDSS(elem(dst, col), t, t)
		}
		VMOVSS(t, elem(dst, col))
		INCQ(col)
		JMP(LabelRef(label(name, "tail")))
	}

	Label(label(name, "next"))
	ADDQ(ds, dst)
	ADDQ(ss, src)
	DECQ(n)
	JNZ(LabelRef(label(name, "block")))
	VZEROUPPER()
	RET()
}

// paramAddr is the stack address of the scalar parameter name.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

var labels int

func labelCount() int { labels++; return labels }

// convTaps generates a direct convolution's forward over nv (1 or 2)
// lane blocks of output channels (ConvTaps): per pixel p of n, nv
// vectors of outputs y[p·ys:] = Σ_t x[p·step + off[t]]·w[t·ws:], the
// sum over the taps in order, each a fused multiply-add of the broadcast
// input into the accumulator. A group of pixels a step (8, or 4 for two
// AVX2 vectors: enough accumulators to hide the FMA latency within the
// registers), then one.
func convTaps(w width, nv int) {
	name := "convTaps" + w.name
	group := 8
	if nv == 2 {
		name = "convTaps2" + w.name
		if !w.masked() {
			group = 4
		}
	}
	TEXT(name, NOSPLIT, "func(n int, x *float32, step int, off *int, taps int, wt *float32, ws int, y *float32, ys int)")
	Pragma("noescape")
	Doc(name+" is convTapsGeneric on "+[]string{"", "one vector", "two vectors"}[nv]+" of output channels: n > 0,", "taps > 0, strides in floats.")
	n := Load(Param("n"), GP64())
	xp := Load(Param("x"), GP64())
	s := Load(Param("step"), GP64())
	ws := Load(Param("ws"), GP64())
	yp := Load(Param("y"), GP64())
	ys := Load(Param("ys"), GP64())
	SHLQ(U8(2), s)
	SHLQ(U8(2), ws)
	SHLQ(U8(2), ys)
	s3 := GP64()
	LEAQ(Mem{Base: s, Index: s, Scale: 2}, s3)

	// row returns the address of pixel j's row from base (pixel 0) and
	// base4 (pixel 4) with stride st (st3 = 3·st).
	row := func(j int, base, base4, st, st3 Register) Mem {
		if j >= 4 {
			base = base4
		}
		switch j % 4 {
		case 1:
			return Mem{Base: base, Index: st, Scale: 1}
		case 2:
			return Mem{Base: base, Index: st, Scale: 2}
		case 3:
			return Mem{Base: base, Index: st3, Scale: 1}
		}
		return Mem{Base: base}
	}
	// pixels runs the taps over np pixels from xp and stores their
	// outputs from yp.
	pixels := func(np int, tag string) {
		acc := make([][]VecVirtual, np)
		for j := range acc {
			for range nv {
				a := w.vec()
				VXORPS(a, a, a)
				acc[j] = append(acc[j], a)
			}
		}
		t := Load(Param("taps"), GP64())
		oc := Load(Param("off"), GP64())
		wc := Load(Param("wt"), GP64())
		q, q4 := GP64(), GP64()
		Label(label(name, "tap"+tag))
		MOVQ(Mem{Base: oc}, q)
		LEAQ(Mem{Base: xp, Index: q, Scale: 4}, q)
		wv := make([]VecVirtual, nv)
		for v := range wv {
			wv[v] = w.vec()
			VMOVUPS(Mem{Base: wc, Disp: v * w.bytes()}, wv[v])
		}
		if np > 4 {
			LEAQ(Mem{Base: q, Index: s, Scale: 4}, q4)
		}
		for j := range np {
			b := w.vec()
			VBROADCASTSS(row(j, q, q4, s, s3), b)
			for v := range nv {
				VFMADD231PS(wv[v], b, acc[j][v])
			}
		}
		ADDQ(U8(8), oc)
		ADDQ(ws, wc)
		DECQ(t)
		JNZ(LabelRef(label(name, "tap"+tag)))
		// Stores: y rows at yp + j·ys.
		if np > 1 {
			LEAQ(Mem{Base: ys, Index: ys, Scale: 2}, q)
		}
		if np > 4 {
			LEAQ(Mem{Base: yp, Index: ys, Scale: 4}, q4)
		}
		for j := range np {
			m := row(j, yp, q4, ys, q)
			for v := range nv {
				VMOVUPS(acc[j][v], m.Offset(v*w.bytes()))
			}
		}
	}

	Label(label(name, "loop"))
	CMPQ(n, U8(group))
	JL(LabelRef(label(name, "loop1")))
	pixels(group, "g")
	LEAQ(Mem{Base: xp, Index: s, Scale: uint8(group)}, xp)
	LEAQ(Mem{Base: yp, Index: ys, Scale: uint8(group)}, yp)
	SUBQ(U8(group), n)
	JMP(LabelRef(label(name, "loop")))

	Label(label(name, "loop1"))
	TESTQ(n, n)
	JZ(LabelRef(label(name, "done")))
	pixels(1, "1")
	ADDQ(s, xp)
	ADDQ(ys, yp)
	DECQ(n)
	JMP(LabelRef(label(name, "loop1")))

	Label(label(name, "done"))
	VZEROUPPER()
	RET()
}

// convTapsDW3 generates a direct convolution's weight gradient for three
// taps over one lane block of output channels (ConvTapsDW): dw[t·dws:] +=
// e_t + o_t, where e_t sums x[p·step + off[t]]·dy[p·dys:] over the even
// pixels p in order and o_t over the odd ones (two sets of accumulators
// hide the FMA latency), each term a fused multiply-add.
func convTapsDW3(w width) {
	name := "convTapsDW3" + w.name
	TEXT(name, NOSPLIT, "func(n int, x *float32, step int, off *int, dy *float32, dys int, dw *float32, dws int)")
	Pragma("noescape")
	Doc(name+" is convTapsDWGeneric on three taps and one vector of output", "channels: n > 0, strides in floats.")
	n := Load(Param("n"), GP64())
	xp := Load(Param("x"), GP64())
	s := Load(Param("step"), GP64())
	offp := Load(Param("off"), GP64())
	dyp := Load(Param("dy"), GP64())
	dys := Load(Param("dys"), GP64())
	SHLQ(U8(2), s)
	SHLQ(U8(2), dys)
	var o [3]GPVirtual
	for t := range o {
		o[t] = GP64()
		MOVQ(Mem{Base: offp, Disp: 8 * t}, o[t])
		SHLQ(U8(2), o[t])
	}
	var e, od [3]VecVirtual
	for t := range 3 {
		e[t], od[t] = w.vec(), w.vec()
		VXORPS(e[t], e[t], e[t])
		VXORPS(od[t], od[t], od[t])
	}
	xq := GP64()
	Label(label(name, "pair"))
	CMPQ(n, U8(2))
	JL(LabelRef(label(name, "single")))
	d0, d1 := w.vec(), w.vec()
	VMOVUPS(Mem{Base: dyp}, d0)
	VMOVUPS(Mem{Base: dyp, Index: dys, Scale: 1}, d1)
	LEAQ(Mem{Base: xp, Index: s, Scale: 1}, xq)
	for t := range 3 {
		b := w.vec()
		VBROADCASTSS(Mem{Base: xp, Index: o[t], Scale: 1}, b)
		VFMADD231PS(d0, b, e[t])
		b2 := w.vec()
		VBROADCASTSS(Mem{Base: xq, Index: o[t], Scale: 1}, b2)
		VFMADD231PS(d1, b2, od[t])
	}
	LEAQ(Mem{Base: xp, Index: s, Scale: 2}, xp)
	LEAQ(Mem{Base: dyp, Index: dys, Scale: 2}, dyp)
	SUBQ(U8(2), n)
	JMP(LabelRef(label(name, "pair")))

	Label(label(name, "single"))
	TESTQ(n, n)
	JZ(LabelRef(label(name, "done")))
	d := w.vec()
	VMOVUPS(Mem{Base: dyp}, d)
	for t := range 3 {
		b := w.vec()
		VBROADCASTSS(Mem{Base: xp, Index: o[t], Scale: 1}, b)
		VFMADD231PS(d, b, e[t])
	}

	Label(label(name, "done"))
	dwp := Load(Param("dw"), GP64())
	dws := Load(Param("dws"), GP64())
	SHLQ(U8(2), dws)
	for t := range 3 {
		m := Mem{Base: dwp}
		if t > 0 {
			m = Mem{Base: dwp, Index: dws, Scale: uint8(t)}
		}
		VADDPS(od[t], e[t], e[t])
		VADDPS(m, e[t], e[t])
		VMOVUPS(e[t], m)
	}
	VZEROUPPER()
	RET()
}

func main() {
	ConstraintExpr("amd64,!noasm")
	for _, w := range []width{avx2, avx512} {
		dotLike(w, false)
		dotLike(w, true)
		axpy(w)
		sgdMomentum(w)
		relu(w)
		reluBackward(w)
		normAffine(w, false, false)
		normAffine(w, true, false)
		normAffine(w, true, true)
		normBackward(w, false, false)
		normBackward(w, true, false)
		normBackward(w, true, true)
		colSums(w, false, false, false)
		colSums(w, true, false, false)
		colSums(w, true, true, false)
		colSums(w, true, true, true)
		blocks(w, false)
		blocks(w, true)
		add(w, false)
		add(w, true)
		convTaps(w, 1)
		convTaps(w, 2)
		convTapsDW3(w)
	}
	Generate()
}
