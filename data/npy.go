package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file; the format version follows it.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length a file may claim. NumPy itself
// refuses headers over 10000 bytes unless told otherwise.
const maxNPYHeader = 1 << 20

// maxNPYDims bounds the number of dimensions, as NumPy does (32 before
// NumPy 2, 64 since).
const maxNPYDims = 64

// npyHeader is the parsed header of a .npy file.
type npyHeader struct {
	descr   string // e.g. "<f4"
	kind    byte   // 'f', 'i' or 'u'
	size    int    // bytes per element
	fortran bool
	shape   []int
	count   int // product of shape
}

// ReadNPY reads a NumPy .npy array (format version 1, 2 or 3) in C order
// and returns its elements as float32 with its shape. The dtype must be
// little-endian float ('<f4', '<f8', converted to float32) or integer ('|u1',
// '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8', converted by value, not
// scaled). A 0-d array has shape [] and one element.
func ReadNPY(r io.Reader) (data []float32, shape []int, err error) {
	h, raw, err := readNPY(r)
	if err != nil {
		return nil, nil, err
	}
	return npyFloats(h, raw), h.shape, nil
}

// npyFloats converts the elements of raw, described by h, to float32.
func npyFloats(h npyHeader, raw []byte) []float32 {
	data := make([]float32, h.count)
	le := binary.LittleEndian
	switch h.descr[1:] {
	case "f4":
		for i := range data {
			data[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case "f8":
		for i := range data {
			data[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	default:
		for i := range data {
			v, u := npyInt(h, raw, i)
			if h.kind == 'u' {
				data[i] = float32(u)
			} else {
				data[i] = float32(v)
			}
		}
	}
	return data
}

// ReadNPYLabels reads a 1-D .npy array of integers ('|u1', '|i1', '<i2',
// '<u2', '<i4', '<u4', '<i8', '<u8') whose values fit in an int32.
func ReadNPYLabels(r io.Reader) ([]int32, error) {
	h, raw, err := readNPY(r)
	if err != nil {
		return nil, err
	}
	if h.kind == 'f' {
		return nil, fmt.Errorf("%w: npy labels: dtype %s, want an integer dtype", ErrFormat, h.descr)
	}
	if len(h.shape) != 1 {
		return nil, fmt.Errorf("%w: npy labels: shape %v, want 1-D", ErrFormat, h.shape)
	}
	y := make([]int32, h.count)
	for i := range y {
		v, u := npyInt(h, raw, i)
		if (h.kind == 'u' && u > math.MaxInt32) || (h.kind == 'i' && (v < math.MinInt32 || v > math.MaxInt32)) {
			if h.kind == 'u' {
				v = int64(min(u, math.MaxInt64))
			}
			return nil, fmt.Errorf("%w: npy labels: element %d = %d does not fit in int32", ErrLabel, i, v)
		}
		y[i] = int32(v)
	}
	return y, nil
}

// npyInt decodes integer element i of raw as signed (v) or unsigned (u),
// according to h.kind.
func npyInt(h npyHeader, raw []byte, i int) (v int64, u uint64) {
	le := binary.LittleEndian
	switch h.size {
	case 1:
		u = uint64(raw[i])
		v = int64(int8(raw[i]))
	case 2:
		u = uint64(le.Uint16(raw[2*i:]))
		v = int64(int16(le.Uint16(raw[2*i:])))
	case 4:
		u = uint64(le.Uint32(raw[4*i:]))
		v = int64(int32(le.Uint32(raw[4*i:])))
	case 8:
		u = le.Uint64(raw[8*i:])
		v = int64(u)
	}
	return v, u
}

// WriteNPY writes data as a version 1.0 .npy array of dtype '<f4' with the
// given shape, C order. The product of shape must be len(data).
func WriteNPY(w io.Writer, data []float32, shape []int) error {
	count := 1
	dims := make([]string, len(shape))
	for i, s := range shape {
		if s < 0 {
			return fmt.Errorf("%w: WriteNPY: negative dimension in shape %v", ErrFormat, shape)
		}
		count *= s
		dims[i] = strconv.Itoa(s)
	}
	if count != len(data) {
		return fmt.Errorf("%w: WriteNPY: shape %v holds %d elements, data has %d", ErrMismatch, shape, count, len(data))
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	if len(shape) > maxNPYDims {
		return fmt.Errorf("%w: WriteNPY: %d dimensions, at most %d", ErrFormat, len(shape), maxNPYDims)
	}
	// Pad with spaces so that magic+version+length+header+'\n' is a multiple
	// of 64, as NumPy does. With at most 64 dimensions the header fits
	// version 1.0's 16-bit length.
	pad := 63 - (len(npyMagic)+2+2+len(dict))%64
	var buf bytes.Buffer
	buf.WriteString(npyMagic)
	buf.Write([]byte{1, 0})
	buf.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(dict)+pad+1)))
	buf.WriteString(dict)
	buf.WriteString(strings.Repeat(" ", pad))
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	const chunk = 1 << 14
	b := make([]byte, 0, 4*min(len(data), chunk))
	for len(data) > 0 {
		n := min(len(data), chunk)
		b = b[:0]
		for _, v := range data[:n] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// LoadNPY reads features from xPath and labels from yPath (each may be
// gzipped, as with [OpenIDX]). X must be 2-D
// (N, D); 3-D (N, H, W), read as single-channel images; or 4-D (N, H, W, C),
// read as NHWC images. An X of dtype uint8 is scaled by 1/255; other dtypes
// are used as they are. Y must be 1-D of an integer dtype with N
// non-negative entries; Classes = max label + 1.
func LoadNPY(name, xPath, yPath string) (*Dataset, error) {
	var (
		h   npyHeader
		raw []byte
		y   []int32
	)
	err := withFile(xPath, func(r io.Reader) (err error) {
		h, raw, err = readNPY(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = withFile(yPath, func(r io.Reader) (err error) {
		y, err = ReadNPYLabels(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	d := &Dataset{Name: name, Y: y}
	switch s := h.shape; len(s) {
	case 2:
		d.N, d.Dim = s[0], s[1]
	case 3:
		d.N, d.H, d.W, d.C = s[0], s[1], s[2], 1
		d.Dim = s[1] * s[2]
	case 4:
		d.N, d.H, d.W, d.C = s[0], s[1], s[2], s[3]
		d.Dim = s[1] * s[2] * s[3]
	default:
		return nil, fmt.Errorf("%w: %s: X shape %v, want (N, D), (N, H, W) or (N, H, W, C)", ErrFormat, xPath, s)
	}
	if d.N != len(y) {
		return nil, fmt.Errorf("%w: %s: %d rows in %s, %d labels in %s", ErrMismatch, name, d.N, xPath, len(y), yPath)
	}
	d.X = npyFloats(h, raw)
	raw = nil
	if h.descr[1:] == "u1" {
		for i := range d.X {
			d.X[i] /= 255
		}
	}
	if err := d.setClasses(); err != nil {
		return nil, fmt.Errorf("data: %s: %w", yPath, err)
	}
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: %s: element %d (row %d) is %v", ErrValue, xPath, i, i/max(d.Dim, 1), v)
		}
	}
	return d, nil
}

// readNPY reads the header and the raw little-endian element bytes.
func readNPY(r io.Reader) (npyHeader, []byte, error) {
	var h npyHeader
	var pre [10]byte
	if err := readHeader(r, pre[:8], "npy preamble"); err != nil {
		return h, nil, err
	}
	if string(pre[:6]) != npyMagic {
		return h, nil, fmt.Errorf("%w: npy: expected %q, got %q", ErrMagic, npyMagic, pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch {
	case major == 1 && minor == 0:
		if err := readHeader(r, pre[8:10], "npy header length"); err != nil {
			return h, nil, err
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:]))
	case (major == 2 || major == 3) && minor == 0:
		var b [4]byte
		if err := readHeader(r, b[:], "npy header length"); err != nil {
			return h, nil, err
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxNPYHeader {
			return h, nil, fmt.Errorf("%w: npy: header length %d over the %d-byte limit", ErrFormat, n, maxNPYHeader)
		}
		hlen = int(n)
	default:
		return h, nil, fmt.Errorf("%w: npy: version %d.%d, want 1.0, 2.0 or 3.0", ErrFormat, major, minor)
	}
	hb := make([]byte, hlen)
	if err := readHeader(r, hb, "npy header"); err != nil {
		return h, nil, err
	}
	h, err := parseNPYHeader(string(hb))
	if err != nil {
		return h, nil, err
	}
	raw, err := readPayload(r, h.count*h.size, "npy data")
	return h, raw, err
}

// parseNPYHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }, and checks
// that the array is one this package can read.
func parseNPYHeader(s string) (npyHeader, error) {
	var h npyHeader
	p := &pyParser{s: strings.TrimRight(s, " \t\r\n\x00")}
	fail := func(format string, args ...any) (npyHeader, error) {
		return npyHeader{}, fmt.Errorf("%w: npy header %q: %s", ErrFormat, truncate(s, 120), fmt.Sprintf(format, args...))
	}
	if !p.eat('{') {
		return fail("want a dict")
	}
	seen := map[string]bool{}
	for !p.eat('}') {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return fail("want 'key': value at offset %d", p.i)
		}
		if seen[key] {
			return fail("duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			if h.descr, ok = p.str(); !ok {
				return fail("descr is not a string")
			}
		case "fortran_order":
			if h.fortran, ok = p.boolean(); !ok {
				return fail("fortran_order is not True or False")
			}
		case "shape":
			if h.shape, ok = p.tuple(); !ok {
				return fail("shape is not a tuple of non-negative integers")
			}
		default:
			return fail("unexpected key %q", key)
		}
		if !p.eat(',') && !p.peek('}') {
			return fail("want ',' or '}' at offset %d", p.i)
		}
	}
	if p.i != len(p.s) {
		return fail("trailing text at offset %d", p.i)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return fail("missing key %q", k)
		}
	}
	if len(h.shape) > maxNPYDims {
		return fail("%d dimensions, at most %d", len(h.shape), maxNPYDims)
	}
	if h.fortran && len(h.shape) > 1 {
		return fail("fortran_order is True; only C order is supported (save with np.save(f, np.ascontiguousarray(a)))")
	}
	if len(h.descr) < 3 {
		return fail("unsupported dtype %q", h.descr)
	}
	order, kind := h.descr[0], h.descr[1]
	size, err := strconv.Atoi(h.descr[2:])
	switch {
	case err != nil || !strings.Contains("fiu", string(kind)) ||
		(kind == 'f' && size != 4 && size != 8) ||
		(kind != 'f' && size != 1 && size != 2 && size != 4 && size != 8):
		return fail("unsupported dtype %q; want <f4, <f8 or an integer type such as <i8 or |u1", h.descr)
	case size > 1 && order != '<':
		return fail("dtype %q is not little-endian; want '<'", h.descr)
	case size == 1 && !strings.Contains("|<>=", string(order)):
		return fail("unsupported dtype %q", h.descr)
	}
	h.kind, h.size = kind, size
	h.count = 1
	for _, d := range h.shape {
		if d > 0 && h.count > int(maxPayload)/size/d {
			return fail("shape %v holds more than %d bytes", h.shape, maxPayload)
		}
		h.count *= d
	}
	return h, nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// pyParser reads the few Python literals a .npy header uses.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// peek reports whether the next non-space byte is c.
func (p *pyParser) peek(c byte) bool {
	p.skip()
	return p.i < len(p.s) && p.s[p.i] == c
}

// eat consumes c if it is the next non-space byte.
func (p *pyParser) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *pyParser) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

func (p *pyParser) boolean() (bool, bool) {
	p.skip()
	for _, w := range []string{"True", "False"} {
		if strings.HasPrefix(p.s[p.i:], w) {
			p.i += len(w)
			return w == "True", true
		}
	}
	return false, false
}

// tuple reads a tuple of non-negative integers, allowing Python 2's "L"
// suffix: (), (3,), (3, 4).
func (p *pyParser) tuple() ([]int, bool) {
	if !p.eat('(') {
		return nil, false
	}
	dims := []int{}
	for !p.eat(')') {
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil || d < 0 {
			return nil, false
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		dims = append(dims, d)
		if !p.eat(',') && !p.peek(')') {
			return nil, false
		}
	}
	return dims, true
}
