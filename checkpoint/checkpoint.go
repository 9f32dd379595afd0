package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Format is the value of the "format" metadata key of every checkpoint.
const Format = "mrl-checkpoint"

// Version is the format version this package writes, and the newest it
// reads.
const Version = 1

// Reserved metadata keys, set by Encode; File.Meta must not use them.
const (
	KeyFormat       = "format"
	KeyVersion      = "version"
	KeyCRC32C       = "crc32c"        // CRC-32C of the data region
	KeyHeaderCRC32C = "header_crc32c" // CRC-32C of the canonical header
)

const metadataKey = "__metadata__"

// Errors returned by Decode and Load, to test with errors.Is. The returned
// error says what is wrong and where.
var (
	// ErrCorrupt reports a file that is damaged: truncated, malformed, or
	// failing a checksum.
	ErrCorrupt = errors.New("checkpoint: corrupt file")
	// ErrFormat reports a well-formed file that is not an mrl-checkpoint
	// this package can read: the format key is missing or different, or a
	// tensor has a dtype other than F32.
	ErrFormat = errors.New("checkpoint: unsupported format")
	// ErrVersion reports a checkpoint written by a newer version of the
	// format than this build reads.
	ErrVersion = errors.New("checkpoint: unsupported version")
)

// Tensor is a named float32 tensor, stored row-major.
type Tensor struct {
	Name  string
	Shape []int     // [] or nil is a scalar, which holds one element
	Data  []float32 // len(Data) == product of Shape
}

// File is the content of a checkpoint.
type File struct {
	// Meta is the user's metadata. The keys "format", "version", "crc32c"
	// and "header_crc32c" are reserved: Encode sets them and Decode strips
	// them.
	Meta map[string]string
	// Tensors in any order; names must be unique. Encode stores them in
	// name order and Decode returns them so.
	Tensors []Tensor
}

// Get returns the first tensor named name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Add appends a tensor. It does not copy shape or data, and does not check
// them; Encode does.
func (f *File) Add(name string, shape []int, data []float32) {
	f.Tensors = append(f.Tensors, Tensor{Name: name, Shape: shape, Data: data})
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func hex32(c uint32) string { return fmt.Sprintf("%08x", c) }

// entry is one tensor's header entry: what the canonical header needs.
type entry struct {
	name       string
	dtype      string
	shape      []uint64
	begin, end uint64
}

// numElems returns the product of shape and whether 4 times it fits in a
// uint64. A shape with a zero dimension has no elements, whatever the
// other dimensions are.
func numElems(shape []uint64) (uint64, bool) {
	if slices.Contains(shape, 0) {
		return 0, true
	}
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, n <= math.MaxUint64/4
}

// Encode writes f to w in the format described in the package doc. It
// checks f first and writes nothing if f is invalid: a tensor with an
// empty, duplicate, reserved or non-UTF-8 name, a negative dimension, or a
// len(Data) that disagrees with Shape; or Meta with a reserved or
// non-UTF-8 key or value. It reads the tensor data twice (once for the
// checksum, once to write it) and does not copy it whole.
func Encode(w io.Writer, f *File) error {
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if f.Tensors[a].Name < f.Tensors[b].Name {
			return -1
		}
		if f.Tensors[a].Name > f.Tensors[b].Name {
			return 1
		}
		return 0
	})
	entries := make([]entry, len(order))
	var off uint64
	for i, ti := range order {
		t := &f.Tensors[ti]
		switch {
		case t.Name == "":
			return errors.New("checkpoint: tensor with empty name")
		case t.Name == metadataKey:
			return fmt.Errorf("checkpoint: tensor name %q is reserved", t.Name)
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("checkpoint: tensor name %q is not valid UTF-8", t.Name)
		case i > 0 && t.Name == entries[i-1].name:
			return fmt.Errorf("checkpoint: two tensors named %q", t.Name)
		}
		shape := make([]uint64, len(t.Shape))
		for j, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("checkpoint: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			shape[j] = uint64(d)
		}
		n, ok := numElems(shape)
		if !ok || n != uint64(len(t.Data)) {
			return fmt.Errorf("checkpoint: tensor %q: len(Data) = %d, want product of shape %v", t.Name, len(t.Data), t.Shape)
		}
		entries[i] = entry{name: t.Name, dtype: "F32", shape: shape, begin: off, end: off + 4*n}
		off += 4 * n
	}

	meta := make(map[string]string, len(f.Meta)+4)
	for k, v := range f.Meta {
		switch k {
		case KeyFormat, KeyVersion, KeyCRC32C, KeyHeaderCRC32C:
			return fmt.Errorf("checkpoint: metadata key %q is reserved", k)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("checkpoint: metadata %q: %q is not valid UTF-8", k, v)
		}
		meta[k] = v
	}

	var buf [32 << 10]byte
	crc := uint32(0)
	for _, ti := range order {
		forChunks(f.Tensors[ti].Data, buf[:], func(b []byte) error {
			crc = crc32.Update(crc, castagnoli, b)
			return nil
		})
	}
	meta[KeyFormat] = Format
	meta[KeyVersion] = strconv.Itoa(Version)
	meta[KeyCRC32C] = hex32(crc)
	meta[KeyHeaderCRC32C] = hex32(crc32.Checksum(appendHeader(nil, meta, entries, true), castagnoli))
	hdr := appendHeader(make([]byte, 8, 512), meta, entries, false)
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	binary.LittleEndian.PutUint64(hdr, uint64(len(hdr)-8))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, ti := range order {
		if err := forChunks(f.Tensors[ti].Data, buf[:], func(b []byte) error {
			_, err := w.Write(b)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// forChunks calls fn on the little-endian bytes of data, len(buf) bytes at
// a time.
func forChunks(data []float32, buf []byte, fn func([]byte) error) error {
	for len(data) > 0 {
		n := min(len(data), len(buf)/4)
		for i, v := range data[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if err := fn(buf[:4*n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// appendHeader appends the canonical JSON header for meta and entries
// (sorted by name) to b, leaving out "header_crc32c" if canonical.
func appendHeader(b []byte, meta map[string]string, entries []entry, canonical bool) []byte {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		if canonical && k == KeyHeaderCRC32C {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, `{"__metadata__":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, meta[k])
	}
	b = append(b, '}')
	for _, e := range entries {
		b = append(b, ',')
		b = appendString(b, e.name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, e.dtype)
		b = append(b, `,"shape":[`...)
		for i, d := range e.shape {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, d, 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendUint(b, e.begin, 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, e.end, 10)
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// appendString appends s, valid UTF-8, as a JSON string, escaping only
// what JSON requires.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
