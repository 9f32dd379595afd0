package index

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unsafe"

	"github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/atomicfile"
)

// The index file format, version 2. All integers are little-endian; every
// section's payload starts at a multiple of 8 bytes so that a later version
// can map the vectors in place.
//
//	header (64 bytes)
//	  0  magic "MRLINDEX"
//	  8  version uint32 (1, or 2 for a file with a NAME section)
//	 12  metric uint32 (mrl.Metric: 0 cosine, 1 inner product, 2 L2)
//	 16  N uint64 (rows)
//	 24  D uint64 (floats per row)
//	 32  file length uint64 (all bytes, header included)
//	 40  reserved, zero (20 bytes)
//	 60  CRC-32C (Castagnoli) of bytes 0..59, uint32
//	sections, each
//	  tag [4]byte, reserved uint32 (zero), payload length L uint64,
//	  payload (L bytes), zero padding to a multiple of 8,
//	  CRC-32C of the payload uint32, reserved uint32 (zero)
//
// Encode writes two sections: "IDS_" (N uint64 ids) then "VECS" (N·D
// float32, row-major), and for rows with string ids (NewVectorsNamed) a
// third, "NAME": N uint32 byte lengths, then the N names' bytes; only such
// a file is marked version 2, so files without names stay readable by
// version-1 readers. EncodeHNSW adds an "hnsw" section (the graph, see
// EncodeHNSW). A reader skips a section it does not know whose tag
// starts with a lower-case letter (optional data, such as a later version's
// statistics) and rejects any other unknown tag with ErrVersion.
const (
	fileMagic     = "MRLINDEX"
	headerSize    = 64
	sectionHeader = 16
	sectionFooter = 8
)

// FileVersion is the version of the index file format Encode writes and
// the newest Decode reads.
const FileVersion = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func pad8(n uint64) uint64 { return (n + 7) &^ 7 }

func sectionSize(payload uint64) uint64 { return sectionHeader + pad8(payload) + sectionFooter }

// Encode writes v in the index file format to w.
func Encode(w io.Writer, v *Vectors) error { return encodeVectors(w, v, 0) }

// encodeVectors writes the header, declaring extra bytes of sections
// (whole, see sectionSize) that the caller writes after, then the IDS_ and
// VECS sections.
func encodeVectors(w io.Writer, v *Vectors, extra uint64) error {
	n, d := uint64(v.n), uint64(v.d)
	total := headerSize + sectionSize(8*n) + sectionSize(4*n*d) + extra
	version := uint32(1)
	var nameBytes uint64
	if v.names != nil {
		version = 2
		nameBytes = 4 * n
		for _, s := range v.names {
			nameBytes += uint64(len(s))
		}
		total += sectionSize(nameBytes)
	}
	var h [headerSize]byte
	le := binary.LittleEndian
	copy(h[:], fileMagic)
	le.PutUint32(h[8:], version)
	le.PutUint32(h[12:], uint32(v.metric))
	le.PutUint64(h[16:], n)
	le.PutUint64(h[24:], d)
	le.PutUint64(h[32:], total)
	le.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	if err := writeSection(w, "IDS_", 8*n, buf, func(put func(b []byte) error) error {
		for i := 0; i < len(v.ids); {
			b := buf[:0]
			for ; i < len(v.ids) && len(b)+8 <= cap(b); i++ {
				b = le.AppendUint64(b, v.ids[i])
			}
			if err := put(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := writeSection(w, "VECS", 4*n*d, buf, func(put func(b []byte) error) error {
		for i := 0; i < len(v.data); {
			b := buf[:0]
			for ; i < len(v.data) && len(b)+4 <= cap(b); i++ {
				b = le.AppendUint32(b, math.Float32bits(v.data[i]))
			}
			if err := put(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if v.names == nil {
		return nil
	}
	return writeSection(w, "NAME", nameBytes, buf, func(put func(b []byte) error) error {
		for i := 0; i < len(v.names); {
			b := buf[:0]
			for ; i < len(v.names) && len(b)+4 <= cap(b); i++ {
				b = le.AppendUint32(b, uint32(len(v.names[i])))
			}
			if err := put(b); err != nil {
				return err
			}
		}
		for _, s := range v.names {
			if err := put([]byte(s)); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeSection writes one section whose payload of length size is
// produced by body through put.
func writeSection(w io.Writer, tag string, size uint64, scratch []byte, body func(put func(b []byte) error) error) error {
	var h [sectionHeader]byte
	copy(h[:4], tag)
	binary.LittleEndian.PutUint64(h[8:], size)
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	var crc uint32
	var wrote uint64
	err := body(func(b []byte) error {
		crc = crc32.Update(crc, castagnoli, b)
		wrote += uint64(len(b))
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if wrote != size {
		panic("index: section size mismatch") // a bug in Encode
	}
	var f [8 + sectionFooter]byte
	p := pad8(size) - size
	binary.LittleEndian.PutUint32(f[p:], crc)
	_, err = w.Write(f[:p+sectionFooter])
	return err
}

// littleEndian reports whether this machine stores numbers as the index
// file does, so that Decode can copy sections instead of converting them.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// copyLE fills dst from the little-endian values in src (len(src) ≥ the
// bytes of dst) with one copy and reports true on a little-endian
// machine, where the file's layout is the memory's; elsewhere it leaves
// dst to the caller's conversion loop and reports false.
func copyLE[T uint64 | int32 | float32](dst []T, src []byte) bool {
	if !littleEndian {
		return false
	}
	if len(dst) > 0 {
		size := int(unsafe.Sizeof(dst[0]))
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), size*len(dst)), src)
	}
	return true
}

// Decode reads an index file held in b. Its errors wrap ErrFormat (not an
// index file), ErrVersion (written by a newer version), ErrTruncated
// (shorter than its header says) or ErrCorrupt (a checksum, length or value
// is wrong).
func Decode(b []byte) (*Vectors, error) {
	le := binary.LittleEndian
	if len(b) < len(fileMagic) || string(b[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if len(b) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, less than the %d-byte header", ErrTruncated, len(b), headerSize)
	}
	if ver := le.Uint32(b[8:]); ver > FileVersion {
		return nil, fmt.Errorf("%w: file version %d is newer than this build's %d", ErrVersion, ver, FileVersion)
	} else if ver == 0 {
		return nil, fmt.Errorf("%w: file version 0", ErrCorrupt)
	}
	if got, want := crc32.Checksum(b[:60], castagnoli), le.Uint32(b[60:]); got != want {
		return nil, fmt.Errorf("%w: header checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	metric := mrl.Metric(le.Uint32(b[12:]))
	n, d, total := le.Uint64(b[16:]), le.Uint64(b[24:]), le.Uint64(b[32:])
	for _, x := range b[40:60] {
		if x != 0 {
			return nil, fmt.Errorf("%w: reserved header bytes are not zero", ErrCorrupt)
		}
	}
	switch {
	case total < uint64(len(b)):
		return nil, fmt.Errorf("%w: %d bytes after the %d the header declares", ErrCorrupt, uint64(len(b))-total, total)
	case total > uint64(len(b)):
		return nil, fmt.Errorf("%w: %d bytes, header declares %d", ErrTruncated, len(b), total)
	case n > math.MaxInt32 || d < 1 || d > math.MaxInt32:
		return nil, fmt.Errorf("%w: shape %d×%d", ErrCorrupt, n, d)
	}
	var ids []uint64
	var data []float32
	var names []string
	for off := uint64(headerSize); off < total; {
		if total-off < sectionHeader+sectionFooter {
			return nil, fmt.Errorf("%w: %d stray bytes at offset %d", ErrCorrupt, total-off, off)
		}
		tag := string(b[off : off+4])
		size := le.Uint64(b[off+8:])
		if le.Uint32(b[off+4:]) != 0 || size > total-off-sectionHeader-sectionFooter || sectionSize(size) > total-off {
			return nil, fmt.Errorf("%w: section %q at offset %d: bad header", ErrCorrupt, tag, off)
		}
		payload := b[off+sectionHeader : off+sectionHeader+size]
		foot := off + sectionHeader + pad8(size)
		for _, x := range b[off+sectionHeader+size : foot] {
			if x != 0 {
				return nil, fmt.Errorf("%w: section %q: non-zero padding", ErrCorrupt, tag)
			}
		}
		if got, want := crc32.Checksum(payload, castagnoli), le.Uint32(b[foot:]); got != want || le.Uint32(b[foot+4:]) != 0 {
			return nil, fmt.Errorf("%w: section %q: checksum %08x, want %08x", ErrCorrupt, tag, got, want)
		}
		off += sectionSize(size)
		switch {
		case tag == "IDS_" && ids == nil:
			if size != 8*n {
				return nil, fmt.Errorf("%w: section IDS_ holds %d bytes for %d ids", ErrCorrupt, size, n)
			}
			ids = make([]uint64, n)
			if !copyLE(ids, payload) {
				for i := range ids {
					ids[i] = le.Uint64(payload[8*i:])
				}
			}
		case tag == "VECS" && data == nil:
			if size%(4*d) != 0 || size/(4*d) != n {
				return nil, fmt.Errorf("%w: section VECS holds %d bytes for %d×%d floats", ErrCorrupt, size, n, d)
			}
			data = make([]float32, n*d)
			if !copyLE(data, payload) {
				for i := range data {
					data[i] = math.Float32frombits(le.Uint32(payload[4*i:]))
				}
			}
		case tag == "NAME" && names == nil:
			var err error
			if names, err = decodeNames(payload, n); err != nil {
				return nil, err
			}
		case tag == "IDS_" || tag == "VECS" || tag == "NAME":
			return nil, fmt.Errorf("%w: section %q repeated", ErrCorrupt, tag)
		case tag[0] >= 'a' && tag[0] <= 'z':
			// optional section of a later version: skip
		default:
			return nil, fmt.Errorf("%w: unknown required section %q", ErrVersion, tag)
		}
	}
	if ids == nil || data == nil {
		return nil, fmt.Errorf("%w: missing section IDS_ or VECS", ErrCorrupt)
	}
	if names == nil {
		v, err := NewVectors(data, int(n), int(d), metric, ids)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return v, nil
	}
	for i, id := range ids {
		if id != uint64(i) {
			return nil, fmt.Errorf("%w: row %d of a file with string ids has id %d", ErrCorrupt, i, id)
		}
	}
	v, err := NewVectorsNamed(data, int(n), int(d), metric, names)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return v, nil
}

// decodeNames reads a NAME section's payload: n uint32 lengths, then the
// names' bytes.
func decodeNames(p []byte, n uint64) ([]string, error) {
	if uint64(len(p)) < 4*n {
		return nil, fmt.Errorf("%w: section NAME holds %d bytes for %d lengths", ErrCorrupt, len(p), n)
	}
	rest := p[4*n:]
	names := make([]string, n)
	for i := range names {
		l := uint64(binary.LittleEndian.Uint32(p[4*i:]))
		if l > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: section NAME: name %d of %d bytes overruns the section", ErrCorrupt, i, l)
		}
		names[i], rest = string(rest[:l]), rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: section NAME: %d stray bytes", ErrCorrupt, len(rest))
	}
	return names, nil
}

// Save writes v to path atomically: it encodes v into a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory, so that after a crash path holds the old file or the new one,
// whole. On error the temporary file is removed and path is untouched.
func Save(path string, v *Vectors) error {
	if err := save(path, v); err != nil {
		return fmt.Errorf("index: save %s: %w", path, err)
	}
	return nil
}

func save(path string, v *Vectors) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, v) })
}

// Load reads the index file at path (see Decode for its errors).
// The file is mapped, not read into memory (see ReadMapped).
func Load(path string) (*Vectors, error) { return loadFile(path, Decode) }

// loadFile decodes the file at path with decode through ReadMapped. An
// error opening the file names it already; a decoding error gets the path.
func loadFile[T any](path string, decode func([]byte) (T, error)) (T, error) {
	var x T
	read := false
	err := ReadMapped(path, func(b []byte) (err error) {
		read = true
		x, err = decode(b)
		return err
	})
	switch {
	case err != nil && !read:
		return x, fmt.Errorf("index: load: %w", err)
	case err != nil:
		return x, fmt.Errorf("load %s: %w", path, err)
	}
	return x, nil
}
